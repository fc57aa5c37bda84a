// edxgate commands of the crypto part: verify and sign.
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/config/config.h"
#include "edxgate/crypto/signing.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/edxml/options.h"
#include "edxgate/edxml/xml.h"
#include "edxgate/hsm/pin.h"
#include "edxgate/hsm/token.h"
#include "edxgate/hsm/token_signer.h"
#include "edxgate/hsm/uri.h"

#include <libxml/xmlsave.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace edxgate::cli {
namespace {

namespace bj = edxgate::json::bj;
using crypto::Verification;

// What --config and the trust options say; the options add to the config.
struct Setup {
  config::Config cfg;
  crypto::TrustStore trust;
  crypto::VerifyPolicy policy;
  std::shared_ptr<crypto::RevocationSource> online;
  edxml::Limits limits;
  bool any_anchor = false;
};

// What --config, the trust options and the files they name hold is how the
// command was set up, not the envelope it checks: any problem with them is a
// usage error (exit 2), whatever its kind where it was found.
Error setup_error(Error e) {
  e.kind = ErrorKind::usage;
  return e;
}

Error config_error(Error e) {
  if (e.code.rfind("config.", 0) != 0) e.code = "config." + e.code;
  return setup_error(std::move(e));
}

Result<Setup> load_setup(const Args& args) {
  Setup s;
  if (args.has("--config")) {
    auto cfg = config::load(args.get("--config"));
    if (!cfg.ok()) return config_error(cfg.error());
    s.cfg = std::move(cfg.value());
  }
  const config::Trust& t = s.cfg.trust;
  auto add_all = [](const std::vector<std::string>& files, auto add) -> Status {
    for (const auto& f : files) {
      if (Status st = add(f); !st.ok()) return setup_error(st.error());
    }
    return {};
  };
  auto anchors = t.anchors, inters = t.intermediates, crls = t.crls;
  for (auto& f : args.all("--trust-anchor")) anchors.push_back(f);
  for (auto& f : args.all("--intermediate")) inters.push_back(f);
  for (auto& f : args.all("--crl")) crls.push_back(f);
  EDX_TRY(add_all(anchors, [&](const std::string& f) { return s.trust.add_anchor_file(f); }));
  EDX_TRY(add_all(inters, [&](const std::string& f) { return s.trust.add_intermediate_file(f); }));
  EDX_TRY(add_all(crls, [&](const std::string& f) { return s.trust.add_crl_file(f); }));
  s.any_anchor = !anchors.empty();

  std::string mode = args.get("--revocation", t.revocation);
  if (!crypto::parse_revocation_mode(mode, s.policy.chain.revocation)) {
    return make_error(ErrorKind::usage, "usage.revocation",
                      "revocation mode must be hard, soft or off, not '" + mode + "'");
  }
  if (args.has("--at")) {
    auto at = crypto::parse_time(args.get("--at"));
    if (!at) return make_error(ErrorKind::usage, "usage.at", "--at takes YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    s.policy.chain.at = *at;
  }
  for (const auto& ex : t.sha1_exceptions) {
    auto until = crypto::parse_time(ex.until);
    if (!until)
      return make_error(ErrorKind::usage, "config.trust", "sha1_exception until '" + ex.until + "' is not YYYY-MM-DD");
    s.policy.sha1_exceptions.push_back({ex.sender, *until});
  }
  s.policy.max_dual_bytes = t.max_dual_bytes;
  if (args.has("--dual-max-bytes")) {
    const std::string n = args.get("--dual-max-bytes");
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(n.c_str(), &end, 10);
    if (n.empty() || n[0] == '-' || *end != '\0' || errno != 0) {
      return make_error(ErrorKind::usage, "usage.dual",
                        "--dual-max-bytes takes a number of bytes (0: no dual verification)");
    }
    s.policy.max_dual_bytes = v;
  }
  bool fetch_crl = t.fetch_crl || args.has("--online");
  bool ocsp = t.ocsp || args.has("--online");
  if (fetch_crl || ocsp) {
    crypto::OnlineRevocationOptions o{fetch_crl, ocsp, t.revocation_cache_s};
    s.online = std::make_shared<crypto::RevocationSource>(crypto::make_http_fetcher(), o);
  }
  s.limits = edxml::limits_from(s.cfg.edxml);
  return s;
}

bj::object cert_json(const crypto::CertSummary& c) {
  return bj::object{{"subject", c.subject},
                    {"issuer", c.issuer},
                    {"serial", c.serial},
                    {"sha256", c.sha256},
                    {"not_before", crypto::format_time(c.not_before)},
                    {"not_after", crypto::format_time(c.not_after)}};
}

bj::object verification_json(const std::string& file, const Verification& v) {
  bj::array chain, warnings;
  for (const auto& c : v.chain) chain.push_back(cert_json(c));
  for (const auto& w : v.warnings) warnings.push_back(bj::string(w));
  bj::object o{{"file", file},
               {"valid", v.valid},
               {"code", v.code},
               {"message", v.message},
               {"signature_algorithm", v.signature_algorithm},
               {"digest_algorithm", v.digest_algorithm},
               {"chain", std::move(chain)},
               {"warnings", std::move(warnings)},
               {"dual_checked", v.dual_checked}};
  o["signer"] = v.signer ? bj::value(cert_json(*v.signer)) : bj::value(nullptr);
  return o;
}

int run_verify(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--trust-anchor", "", true, true},
                                 {"--intermediate", "", true, true},
                                 {"--crl", "", true, true},
                                 {"--at", "", true},
                                 {"--revocation", "", true},
                                 {"--online"},
                                 {"--json"},
                                 {"--dual-max-bytes", "", true},
                                 {"--config", "", true}});
  if (!args.ok()) return fail_coded(args.error());
  if (args->positional().size() != 1) return fail(kExitUsage, "verify takes one FILE (see --help)");
  const std::string file = args->positional()[0];
  auto setup = load_setup(*args);
  if (!setup.ok()) return fail_coded(setup.error());
  if (!setup->any_anchor) {
    return fail(kExitUsage, "no trust anchor: give --trust-anchor or a --config with [trust] anchors");
  }
  // The streaming verifier: one pass, memory bounded by the header; the DOM
  // verifier too for files up to max_dual_bytes.
  crypto::Verifier verifier(std::move(setup->trust), setup->policy, setup->online);
  Verification v = verifier.verify_file(file, setup->limits);
  // A file that cannot be read gets no verdict: an I/O error of the command.
  if (!v.valid && v.kind == ErrorKind::io) return fail_coded(make_error(v.kind, v.code, v.message));
  if (args->has("--json")) {
    std::cout << json::pretty(verification_json(file, v));
  } else if (v.valid) {
    std::cout << "valid: " << v.signer->subject << " (serial " << v.signer->serial << ", issuer " << v.signer->issuer
              << "), " << v.signature_algorithm << "\n";
    for (const auto& w : v.warnings) std::cout << "warning: " << w << "\n";
  } else {
    std::cout << "invalid: " << v.code << ": " << v.message << "\n";
  }
  return v.valid ? kExitOk : kExitInvalid;
}

Result<crypto::Certificate> certificate_on_token(std::shared_ptr<hsm::Module> module, const hsm::Pkcs11Uri& key_uri,
                                                 const std::vector<uint8_t>& key_id) {
  auto cert = hsm::token_certificate(std::move(module), key_uri, key_id);
  if (!cert.ok() && cert.error().code == "cert.missing") {
    return make_error(ErrorKind::usage, "usage.cert", "the token holds no certificate for this key; give --cert");
  }
  return cert;
}

int run_sign(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--module", "", true},
                                 {"--key", "", true},
                                 {"--pin-file", "", true},
                                 {"--cert", "", true},
                                 {"--chain", "", true},
                                 {"--alg", "", true},
                                 {"--out", "-o", true},
                                 {"--trust-anchor", "", true, true},
                                 {"--intermediate", "", true, true},
                                 {"--crl", "", true, true},
                                 {"--revocation", "", true},
                                 {"--config", "", true}});
  if (!args.ok()) return fail_coded(args.error());
  if (args->positional().size() != 1 || !args->has("--out") || !args->has("--key")) {
    return fail(kExitUsage, "sign needs --key URI, IN and -o OUT (see --help)");
  }
  crypto::SignOptions options;
  if (args->has("--alg") && !crypto::parse_signature_name(args->get("--alg"), options.algorithm)) {
    return fail(kExitUsage, "unknown --alg '" + args->get("--alg") + "' (rsa-sha256, rsa-sha512, ecdsa-sha256, ...)");
  }
  auto setup = load_setup(*args);
  if (!setup.ok()) return fail_coded(setup.error());
  auto uri = hsm::Pkcs11Uri::parse(args->get("--key"));
  if (!uri.ok()) return fail_coded(uri.error());
  std::string module_path = args->get("--module", uri->module_path.value_or(setup->cfg.hsm.module));
  auto module = hsm::Module::load(module_path);
  if (!module.ok()) return fail_coded(module.error());
  Result<SecretString> pin = args->has("--pin-file") ? hsm::read_pin_file(args->get("--pin-file"))
                             : uri->pin_source       ? hsm::read_pin_file(*uri->pin_source)
                                                     : hsm::read_pin_terminal("Token PIN: ");
  if (!pin.ok()) return fail_coded(pin.error());
  auto signer = hsm::TokenSigner::open(*module, *uri, std::move(pin.value()));
  if (!signer.ok()) return fail_coded(signer.error());

  Result<crypto::Certificate> cert = args->has("--cert") ? [&]() -> Result<crypto::Certificate> {
    auto c = crypto::Certificate::load_file(args->get("--cert"));
    if (!c.ok()) return setup_error(c.error());
    return c->front();
  }()
      : certificate_on_token(*module, *uri, (*signer)->key().id);
  if (!cert.ok()) return fail_coded(cert.error());
  if (!args->has("--alg")) options.algorithm = crypto::default_algorithm(*cert);
  std::vector<crypto::Certificate> chain;
  if (args->has("--chain")) {
    auto c = crypto::Certificate::load_file(args->get("--chain"));
    if (!c.ok()) return fail_coded(setup_error(c.error()));
    chain = std::move(c.value());
    options.include_chain = true;
  }
  // The self-check validates the chain when trust is configured.
  crypto::VerifyPolicy policy = setup->policy;
  policy.validate_chain = setup->any_anchor;
  crypto::Verifier verifier(std::move(setup->trust), policy, setup->online);
  // Streamed (memory bounded by the header) into a temp file beside OUT,
  // renamed over it once signed and checked.
  const std::filesystem::path out(args->get("--out"));
  auto file = fs::AtomicFile::create(out.parent_path().empty() ? "." : out.parent_path().string(), 0644);
  if (!file.ok()) return fail_coded(file.error());
  auto signed_ok = crypto::sign_file(args->positional()[0], file->temp_path(), **signer, *cert, chain, options,
                                     verifier, setup->limits);
  if (!signed_ok.ok()) return fail_coded(signed_ok.error());
  if (auto st = file->commit(out.filename().string()); !st.ok()) return fail_coded(st.error());
  std::cout << "signed: " << args->get("--out") << " (" << crypto::signature_name(options.algorithm) << ", "
            << cert->subject() << ")\n";
  if (!setup->any_anchor) std::cout << "note: no trust anchor given; the chain was not validated\n";
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"verify", "verify the signature of an edXML envelope under the strict policy",
     "usage: edxgate verify [--trust-anchor F]... [--intermediate F]... [--crl F]...\n"
     "                      [--at TIME] [--revocation hard|soft|off] [--online] [--json]\n"
     "                      [--dual-max-bytes N] [--config FILE] FILE\n\n"
     "Streams FILE once through the hardened parser (memory bounded by the header, not the\n"
     "attachments), then accepts it only if it carries exactly one\n"
     "enveloped XML signature over the whole document, in edXMLHeader, with RSA (>= 2048)\n"
     "or ECDSA (>= P-256) and SHA-256/384/512, made by the key of the certificate in KeyInfo,\n"
     "which chains to a trust anchor, is valid at TIME (default now), has a signing key\n"
     "usage and is not revoked.\n\n"
     "  --trust-anchor F   PEM/DER trust anchor(s); adds to [trust] anchors of --config\n"
     "  --intermediate F   intermediate CA certificate(s) usable to build the chain\n"
     "  --crl F            CRL file(s) (PEM or DER)\n"
     "  --at TIME          validate at TIME: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)\n"
     "  --revocation MODE  hard (default: refuse when status unknown), soft (warn), off\n"
     "  --online           fetch CRLs from distribution points and ask OCSP responders\n"
     "  --dual-max-bytes N a FILE of at most N bytes is also verified by the DOM verifier\n"
     "                     (xmlsec1) and refused as sig.disagreement if the two differ\n"
     "                     (default: [trust] max_dual_bytes, 16 MiB; 0: never)\n"
     "  --json             print the result as JSON\n"
     "  --config FILE      read [trust] and [edxml] limits from an edxgate config\n\n"
     "Prints 'valid: ...' or 'invalid: CODE: reason' on one line.\n"
     "exit codes: 0 valid, 1 invalid, 2 usage or I/O error\n",
     run_verify},
    {"sign", "sign an edXML envelope with a key on a PKCS#11 token",
     "usage: edxgate sign [--module PATH] --key PKCS11_URI [--pin-file F] [--cert F]\n"
     "                    [--chain F] [--alg A] [--trust-anchor F]... [--config FILE]\n"
     "                    IN -o OUT\n\n"
     "Adds an enveloped XML signature over the whole envelope (exclusive C14N) as the\n"
     "last child of edXMLHeader; the token signs, the key never leaves it. The result is\n"
     "verified before it is written (atomically) to OUT.\n\n"
     "  --module PATH      PKCS#11 module (default: [hsm] module, else SoftHSM2)\n"
     "  --key URI          the private key, e.g. 'pkcs11:token=gw;object=signing'\n"
     "  --pin-file F       file holding the user PIN (mode 0600); else asked on the terminal\n"
     "  --cert F           signer certificate (default: the token's certificate of the key)\n"
     "  --chain F          intermediate certificates to include in KeyInfo\n"
     "  --alg A            rsa-sha256, rsa-sha384, rsa-sha512, ecdsa-sha256, ecdsa-sha384,\n"
     "                     ecdsa-sha512 (default: rsa-sha256, or ECDSA matching the curve)\n"
     "  --trust-anchor F   validate the chain in the self-check (also from --config)\n"
     "exit codes: 0 signed, 1 refused, 2 usage, I/O or token error\n",
     run_sign},
};

}  // namespace

std::span<const Command> crypto_commands() { return kCommands; }

}  // namespace edxgate::cli
