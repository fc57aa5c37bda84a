#include "edxgate/workflow/keys.h"

#include <unistd.h>

#include <mutex>
#include <optional>

#include "edxgate/base/mutex.h"
#include "edxgate/crypto/signing.h"
#include "edxgate/hsm/pin.h"
#include "edxgate/hsm/token.h"
#include "edxgate/hsm/token_signer.h"
#include "edxgate/hsm/uri.h"

namespace edxgate::workflow {
namespace {

// A token signer that holds the provider's token lock for as long as it
// lives: its session is the only one the gateway has on the token, so when it
// is destroyed (session closed) the token is logged out again.
class LockedSigner final : public crypto::Signer {
 public:
  LockedSigner(std::shared_ptr<std::mutex> mu, std::unique_lock<std::mutex> lock, std::unique_ptr<crypto::Signer> s)
      : mu_(std::move(mu)), lock_(std::move(lock)), s_(std::move(s)) {}
  Result<std::vector<uint8_t>> sign(std::span<const uint8_t> data, crypto::SignatureAlgorithm alg) override {
    return s_->sign(data, alg);
  }

 private:
  std::shared_ptr<std::mutex> mu_;     // outlives the lock
  std::unique_lock<std::mutex> lock_;  // declared before s_: released after the session is closed
  std::unique_ptr<crypto::Signer> s_;
};

class HsmKeyProvider;

// The organization's kept session, lent for one use: it takes the token lock
// for each signature only (not for its own life, as LockedSigner does), so
// the caller's work around the signature (canonicalizing, verifying, storing
// the signed envelope) runs in parallel with other signatures. The session may
// have been closed since (a person's PIN was used): it is opened again, under
// the same lock, with the configured PIN.
class LentSigner final : public crypto::Signer {
 public:
  explicit LentSigner(HsmKeyProvider& provider) : provider_(provider) {}
  Result<std::vector<uint8_t>> sign(std::span<const uint8_t> data, crypto::SignatureAlgorithm alg) override;

 private:
  HsmKeyProvider& provider_;  // outlives the keys it opens
};

class HsmKeyProvider final : public KeyProvider {
 public:
  HsmKeyProvider(config::Hsm cfg, AuditSink* audit) : cfg_(std::move(cfg)), audit_(audit) {}

  // PKCS#11 login state is per application, shared by all its sessions, and
  // C_Login while logged in answers CKR_USER_ALREADY_LOGGED_IN without
  // checking the PIN (which hsm::login takes as success). So a session kept
  // open with the configured PIN, or another request's signing session, would
  // let any PIN through. Every use of the token therefore holds token_mu_
  // from login until its session is closed (the token is then logged out).
  // The unattended key's session (the configured PIN) is kept open between
  // uses, so status messages and organization signatures skip the login, and
  // the lock is taken for each of its signatures only (LentSigner), not while
  // the caller builds, verifies and stores the envelope around it. It is
  // closed, under the same lock, before any login with a person's PIN: that
  // PIN is then really checked by the token, and the next organization
  // signature opens the session again. No other code of the
  // daemon opens sessions on the token.
  Result<SigningKey> open(const std::string& key_uri, const SecretString* pin) override {
    const std::string uri_text = key_uri.empty() ? cfg_.key_uri : key_uri;
    if (uri_text.empty())
      return make_error(ErrorKind::invalid, "sign.no_key", "no key is configured ([hsm] key_uri) or given");
    auto uri = hsm::Pkcs11Uri::parse(uri_text);
    if (!uri.ok()) return uri.error();
    const bool configured_key = key_uri.empty() || key_uri == cfg_.key_uri;
    if (!pin) {
      if (!configured_key || !has_unattended_key()) {
        return make_error(ErrorKind::invalid, "pin.missing", "a PIN is needed to sign with this key");
      }
      std::unique_lock token_lock(*token_mu_);
      auto kept = kept_signer();
      if (!kept.ok()) return kept.error();
      const crypto::Certificate cert = *kept_signer_cert_;
      token_lock.unlock();  // taken again for each signature (LentSigner)
      return finish(std::make_unique<LentSigner>(*this), cert);
    }
    auto module = loaded_module();
    if (!module.ok()) return module.error();
    std::unique_lock token_lock(*token_mu_);
    kept_.reset();  // closes the organization's session: the token logs out, and checks the PIN below
    SecretString copy(pin->view());
    auto signer = hsm::TokenSigner::open(*module, *uri, std::move(copy), {"gateway", audit_});
    if (!signer.ok()) return signer.error();
    auto cert = certificate_for(*module, *uri, (*signer)->key().id);
    if (!cert.ok()) return cert.error();
    if (configured_key) {
      MutexLock lock(mu_);
      kept_cert_ = *cert;
    }
    return finish(std::make_unique<LockedSigner>(token_mu_, std::move(token_lock), std::move(signer.value())), *cert);
  }

  // One signature with the organization's session, under the token lock.
  Result<std::vector<uint8_t>> sign_kept(std::span<const uint8_t> data, crypto::SignatureAlgorithm alg) {
    std::lock_guard token_lock(*token_mu_);
    auto kept = kept_signer();
    if (!kept.ok()) return kept.error();
    return (*kept)->sign(data, alg);
  }

  bool has_unattended_key() const override {
    return !cfg_.key_uri.empty() && (!cfg_.pin_file.empty() || !cfg_.pin_credential.empty());
  }

  std::optional<crypto::Certificate> configured_certificate() const override {
    MutexLock lock(mu_);
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
    // A token in use (a signing session open) is present; opening another
    // session now could keep it logged in after that one closes.
    auto module = loaded_module();
    if (!module.ok()) return module.error();
    std::unique_lock token_lock(*token_mu_, std::try_to_lock);
    if (!token_lock.owns_lock()) return {};
    auto tokens = hsm::list_tokens(**module);
    if (!tokens.ok()) return tokens.error();
    auto session = hsm::TokenSession::open(*module, *uri);
    if (!session.ok())
      return make_error(ErrorKind::unavailable, "ready.token",
                        "the signing token is not reachable: " + session.error().message);
    return {};
  }

 private:
  // The PKCS#11 module, loaded on first use (a signature or the readiness
  // check), not at start: an idle daemon does not carry the module and what
  // it allocates (issue 15; ~1 MB for SoftHSM2). Kept loaded from then on; a
  // failed load is retried at the next use.
  Result<std::shared_ptr<hsm::Module>> loaded_module() const {
    MutexLock lock(module_mu_);
    if (!module_) {
      auto m = hsm::Module::load(cfg_.module);
      if (!m.ok()) return m.error();
      module_ = std::move(m.value());
    }
    return module_;
  }

  // The organization's session, opened (logged in with the configured PIN)
  // if it is not. REQUIRES: *token_mu_ held.
  Result<hsm::TokenSigner*> kept_signer() {
    if (kept_) return kept_.get();
    auto module = loaded_module();
    if (!module.ok()) return module.error();
    auto uri = hsm::Pkcs11Uri::parse(cfg_.key_uri);
    if (!uri.ok()) return uri.error();
    auto pin =
        !cfg_.pin_file.empty() ? hsm::read_pin_file(cfg_.pin_file) : hsm::read_pin_credential(cfg_.pin_credential);
    if (!pin.ok()) return pin.error();
    auto signer = hsm::TokenSigner::open(*module, *uri, std::move(pin.value()), {"gateway", audit_});
    if (!signer.ok()) return signer.error();
    auto cert = certificate_for(*module, *uri, (*signer)->key().id);
    if (!cert.ok()) return cert.error();
    kept_ = std::move(signer.value());
    kept_signer_cert_ = *cert;
    MutexLock lock(mu_);
    kept_cert_ = *cert;
    return kept_.get();
  }

  Result<crypto::Certificate> certificate_for(const std::shared_ptr<hsm::Module>& module, const hsm::Pkcs11Uri& uri,
                                              const std::vector<uint8_t>& key_id) {
    if (!cfg_.cert.empty()) {
      auto c = crypto::Certificate::load_file(cfg_.cert);
      if (!c.ok()) return c.error();
      return c->front();
    }
    auto cert = hsm::token_certificate(module, uri, key_id);
    if (cert.ok() || cert.error().code != "cert.missing") return cert;
    return make_error(ErrorKind::invalid, "sign.certificate",
                      "the token holds no certificate for this key and [hsm] cert is not set");
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
  mutable Mutex module_mu_;
  mutable std::shared_ptr<hsm::Module> module_ GUARDED_BY(module_mu_);
  AuditSink* audit_;
  mutable Mutex mu_;
  std::optional<crypto::Certificate> kept_cert_ GUARDED_BY(mu_);
  // A plain std::mutex, outside the thread-safety analysis: its lock is
  // handed to the LockedSigner and held for that signer's life, beyond any
  // scope the analysis could follow.
  std::shared_ptr<std::mutex> token_mu_ = std::make_shared<std::mutex>();
  // The unattended key's open session and its certificate; used and changed
  // only under *token_mu_ (outside the analysis, see above).
  std::unique_ptr<hsm::TokenSigner> kept_;
  std::optional<crypto::Certificate> kept_signer_cert_;
};

Result<std::vector<uint8_t>> LentSigner::sign(std::span<const uint8_t> data, crypto::SignatureAlgorithm alg) {
  return provider_.sign_kept(data, alg);
}

}  // namespace

Result<std::unique_ptr<KeyProvider>> make_hsm_key_provider(const config::Hsm& cfg, AuditSink* audit) {
  // The module is loaded on first use; what can be told without loading it
  // is still an error now (the messages and codes of hsm::Module::load).
  if (cfg.module.empty() || cfg.module.front() != '/') {
    return make_error(ErrorKind::usage, "module.load", "the PKCS#11 module must be given by absolute path");
  }
  if (::access(cfg.module.c_str(), R_OK) != 0) {
    return make_error(ErrorKind::io, "module.load", "cannot load the PKCS#11 module " + cfg.module);
  }
  return std::unique_ptr<KeyProvider>(std::make_unique<HsmKeyProvider>(cfg, audit));
}

}  // namespace edxgate::workflow
