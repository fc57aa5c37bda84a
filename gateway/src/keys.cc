#include "edxgate/gateway/keys.h"

#include <mutex>

#include "edxgate/crypto/signing.h"
#include "edxgate/hsm/pin.h"
#include "edxgate/hsm/token.h"
#include "edxgate/hsm/token_signer.h"
#include "edxgate/hsm/uri.h"

namespace edxgate::gateway {
namespace {

// Delegates to a signer owned elsewhere (the kept unattended key).
class SharedSigner final : public crypto::Signer {
 public:
  explicit SharedSigner(std::shared_ptr<crypto::Signer> s) : s_(std::move(s)) {}
  Result<std::vector<uint8_t>> sign(std::span<const uint8_t> data, crypto::SignatureAlgorithm alg) override {
    return s_->sign(data, alg);
  }

 private:
  std::shared_ptr<crypto::Signer> s_;
};

class HsmKeyProvider final : public KeyProvider {
 public:
  HsmKeyProvider(config::Hsm cfg, std::shared_ptr<hsm::Module> module, AuditSink* audit)
      : cfg_(std::move(cfg)), module_(std::move(module)), audit_(audit) {}

  Result<SigningKey> open(const std::string& key_uri, const SecretString* pin) override {
    const std::string uri_text = key_uri.empty() ? cfg_.key_uri : key_uri;
    if (uri_text.empty()) return make_error("sign.no_key", "no key is configured ([hsm] key_uri) or given");
    auto uri = hsm::Pkcs11Uri::parse(uri_text);
    if (!uri.ok()) return uri.error();
    const bool configured_key = key_uri.empty() || key_uri == cfg_.key_uri;
    if (!pin) {
      if (!configured_key || !has_unattended_key()) {
        return make_error("pin.missing", "a PIN is needed to sign with this key");
      }
      std::lock_guard lock(mu_);
      if (!kept_) {
        auto p = !cfg_.pin_file.empty() ? hsm::read_pin_file(cfg_.pin_file)
                                        : hsm::read_pin_credential(cfg_.pin_credential);
        if (!p.ok()) return p.error();
        auto signer = hsm::TokenSigner::open(module_, *uri, std::move(p.value()), {"gateway", audit_});
        if (!signer.ok()) return signer.error();
        auto cert = certificate_for(*uri, (*signer)->key().id);
        if (!cert.ok()) return cert.error();
        kept_ = std::shared_ptr<crypto::Signer>(std::move(signer.value()));
        kept_cert_ = *cert;
      }
      return finish(std::make_unique<SharedSigner>(kept_), *kept_cert_);
    }
    SecretString copy(pin->view());
    auto signer = hsm::TokenSigner::open(module_, *uri, std::move(copy), {"gateway", audit_});
    if (!signer.ok()) return signer.error();
    auto cert = certificate_for(*uri, (*signer)->key().id);
    if (!cert.ok()) return cert.error();
    return finish(std::move(signer.value()), *cert);
  }

  bool has_unattended_key() const override {
    return !cfg_.key_uri.empty() && (!cfg_.pin_file.empty() || !cfg_.pin_credential.empty());
  }

  std::optional<crypto::Certificate> configured_certificate() const override {
    std::lock_guard lock(mu_);
    if (kept_cert_) return kept_cert_;
    if (!cfg_.cert.empty()) {
      auto c = crypto::Certificate::load_file(cfg_.cert);
      if (c.ok() && !c->empty()) return c->front();
    }
    return std::nullopt;
  }

  Status check() const override {
    if (cfg_.key_uri.empty()) return {};
    auto uri = hsm::Pkcs11Uri::parse(cfg_.key_uri);
    if (!uri.ok()) return uri.error();
    auto tokens = hsm::list_tokens(*module_);
    if (!tokens.ok()) return tokens.error();
    auto session = hsm::TokenSession::open(module_, *uri);
    if (!session.ok()) return make_error("ready.token", "the signing token is not reachable: " + session.error().message);
    return {};
  }

 private:
  Result<crypto::Certificate> certificate_for(const hsm::Pkcs11Uri& uri, const std::vector<uint8_t>& key_id) {
    if (!cfg_.cert.empty()) {
      auto c = crypto::Certificate::load_file(cfg_.cert);
      if (!c.ok()) return c.error();
      return c->front();
    }
    auto session = hsm::TokenSession::open(module_, uri);
    if (!session.ok()) return session.error();
    auto certs = session->certificates();
    if (!certs.ok()) return certs.error();
    for (const auto& c : *certs) {
      if (c.id == key_id) {
        auto parsed = crypto::Certificate::parse(c.pem);
        if (!parsed.ok()) return parsed.error();
        return parsed->front();
      }
    }
    return make_error("sign.certificate", "the token holds no certificate for this key and [hsm] cert is not set");
  }

  Result<SigningKey> finish(std::unique_ptr<crypto::Signer> signer, const crypto::Certificate& cert) {
    SigningKey k;
    k.signer = std::move(signer);
    k.certificate = cert;
    if (!cfg_.chain.empty()) {
      auto chain = crypto::Certificate::load_file(cfg_.chain);
      if (!chain.ok()) return chain.error();
      k.chain = std::move(chain.value());
    }
    k.algorithm = crypto::default_algorithm(cert);
    return k;
  }

  config::Hsm cfg_;
  std::shared_ptr<hsm::Module> module_;
  AuditSink* audit_;
  mutable std::mutex mu_;
  std::shared_ptr<crypto::Signer> kept_;
  std::optional<crypto::Certificate> kept_cert_;
};

}  // namespace

Result<std::unique_ptr<KeyProvider>> make_hsm_key_provider(const config::Hsm& cfg, AuditSink* audit) {
  auto module = hsm::Module::load(cfg.module);
  if (!module.ok()) return module.error();
  return std::unique_ptr<KeyProvider>(std::make_unique<HsmKeyProvider>(cfg, std::move(module.value()), audit));
}

}  // namespace edxgate::gateway
