// Signing keys for the engine: the KeyProvider seam and its PKCS#11 form.
//
// make_hsm_key_provider is the KeyProvider of a gateway with a PKCS#11 token
// ([hsm] in the config). The module is loaded once, on first use (a signature
// or the readiness check: an idle daemon does not map it); a module path that
// is not absolute or not readable is refused at creation. A signing call with a PIN
// opens a TokenSigner for that one call (the PIN lives in locked memory and is
// wiped when the call ends; it is never stored). With no PIN in the request,
// the configured PIN (pin_file or pin_credential) is used when there is one
// ("unattended", e.g. the agency's HSM key that signs status messages); its
// session is kept open between uses and the token lock taken for each of its
// signatures only. A use with a person's PIN holds the lock from login until
// its session is closed (which logs the token out), and closes the kept
// session first: PKCS#11 login is shared by all sessions of the process, so a
// session left logged in would let a request's wrong PIN through. Signing on
// the token is serialised.
// The certificate comes from [hsm] cert, else from the token (the certificate
// object with the key's CKA_ID).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edxgate/base/audit.h"
#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/config/config.h"
#include "edxgate/crypto/signer.h"
#include "edxgate/crypto/signing.h"
#include "edxgate/crypto/x509.h"

namespace edxgate::workflow {

// A key ready to sign: the signer (a token session) and its certificate.
struct SigningKey {
  std::unique_ptr<crypto::Signer> signer;
  crypto::Certificate certificate;
  std::vector<crypto::Certificate> chain;
  crypto::SignatureAlgorithm algorithm = crypto::SignatureAlgorithm::rsa_sha256;
};

// Opens signing keys. `key_uri` "" means the configured key; `pin` null
// means the configured PIN (file or credential), if any ("pin.missing").
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual Result<SigningKey> open(const std::string& key_uri, const SecretString* pin) = 0;
  // Whether a key can be opened without a PIN in the request (for status
  // messages, which the gateway signs on its own when it can).
  virtual bool has_unattended_key() const = 0;
  // The configured key's certificate (for days-to-expiry), if known.
  virtual std::optional<crypto::Certificate> configured_certificate() const = 0;
  // Readiness: the token of the configured key is present.
  virtual Status check() const = 0;
};

Result<std::unique_ptr<KeyProvider>> make_hsm_key_provider(const config::Hsm& hsm, AuditSink* audit);

}  // namespace edxgate::workflow
