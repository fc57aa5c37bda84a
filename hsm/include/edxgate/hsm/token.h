// PKCS#11 modules, tokens, keys, CSRs and certificates for security officers.
//
// A Module is one loaded PKCS#11 library (loaded and initialised through
// libp11). A TokenSession is one read/write session on one token, used for
// the officer's operations: key generation on the token, CSRs signed by the
// token key, certificate import and listing, key deletion. Private keys never
// leave the token: they are generated there sensitive and non-extractable, and
// nothing here can read or import private key material.
//
// Errors (Error::code): "module.load", "token.absent" ("token not present"),
// "token.ambiguous", "pin.incorrect", "pin.final_try", "pin.locked",
// "pin.required", "key.not_found", "key.ambiguous", "key.exists",
// "key.policy", "cert.key_mismatch", "cert.exists", "cert.parse", "csr.subject",
// "csr.email", "audit.write" / "audit.open", "p11.error".
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/audit.h"
#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/hsm/uri.h"

namespace edxgate::hsm {

// Debian's SoftHSM2 module, the default when no module is configured.
inline constexpr std::string_view kDefaultModule = "/usr/lib/softhsm/libsofthsm2.so";

// A slot and the token in it, with the flags an officer needs to see.
struct TokenInfo {
  unsigned long slot_id = 0;
  std::string slot_description;
  bool present = false;  // a token is in the slot (all fields below need it)
  bool removable = false;
  std::string label, serial, manufacturer, model;
  bool initialized = false;
  bool login_required = false;
  bool user_pin_initialized = false;
  bool read_only = false;
  bool pin_count_low = false;  // a wrong PIN was entered since the last good one
  bool pin_final_try = false;  // the next wrong PIN locks the user PIN
  bool pin_locked = false;
  bool pin_to_be_changed = false;
  // pkcs11:token=...;serial=... selecting this token.
  std::string uri() const;
};

struct TokenList {
  std::string module_manufacturer, module_description;
  std::vector<TokenInfo> slots;
};

class Pkcs11Api;  // the module's function list (private)

// One PKCS#11 library loaded into the process. PKCS#11 initialisation is
// process-wide, so load() returns the same Module for the same path while any
// holder keeps it alive; the library is finalised and unloaded when the last
// holder lets go. Thread-safe.
class Module {
 public:
  static Result<std::shared_ptr<Module>> load(const std::string& path = std::string(kDefaultModule));
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& path() const { return path_; }
  // Internals for the hsm sources (opaque to other parts).
  struct Libp11;
  const Pkcs11Api& api() const { return *api_; }
  Libp11& libp11() const { return *p11_; }

 private:
  Module(std::string path, std::unique_ptr<Libp11> p11, std::unique_ptr<Pkcs11Api> api);
  std::string path_;
  std::unique_ptr<Libp11> p11_;  // libp11 context: owns dlopen + C_Initialize/C_Finalize
  std::unique_ptr<Pkcs11Api> api_;
};

// Every slot of the module, with or without a token.
Result<TokenList> list_tokens(Module& module);

enum class KeyType { rsa, ec };

// What to generate: RSA 2048/3072/4096 or EC P-256/P-384.
struct KeySpec {
  KeyType type = KeyType::rsa;
  unsigned bits = 2048;  // RSA modulus size, or the EC field size (256, 384)
  // "rsa:2048", "ec:P-256", ...
  static Result<KeySpec> parse(std::string_view text);
  std::string to_string() const;
};

// A private key on the token, with the attributes that make it safe to use.
struct KeyInfo {
  std::string label;
  std::vector<uint8_t> id;
  KeySpec spec;
  bool sensitive = false, extractable = true;
  bool always_sensitive = false, never_extractable = false;
  bool can_sign = false;
  bool has_certificate = false;  // a certificate object with the same CKA_ID
  std::string uri;               // pkcs11:token=..;serial=..;object=..;id=..;type=private
};

// A certificate object on the token, decoded.
struct CertInfo {
  std::string label;
  std::vector<uint8_t> id;
  std::string subject, issuer;        // RFC 2253 with UTF-8 values
  std::string serial;                 // hex
  std::string not_before, not_after;  // ISO 8601 UTC
  std::time_t not_after_time = 0;
  long days_to_expiry = 0;             // whole days left, rounded down; negative once expired
  std::vector<std::string> key_usage;  // "digitalSignature", "nonRepudiation", ...
  bool has_private_key = false;        // a private key with the same CKA_ID is on the token
  std::string uri;
  std::string pem;
};

// Who acts, for the audit trail ("officer:cli", "gateway").
struct Actor {
  std::string name = "officer:cli";
  AuditSink* audit = nullptr;  // not owned; null = events are not recorded
};

// A read/write session on one token. Not thread-safe: one officer operation at
// a time (TokenSigner is the thread-safe signing path).
class TokenSession {
 public:
  // Opens a session on the one token `selector` names (any token fields; an
  // empty selector works when the module has exactly one token).
  static Result<TokenSession> open(std::shared_ptr<Module> module, const Pkcs11Uri& selector, Actor actor = {});
  ~TokenSession();
  TokenSession(TokenSession&&) noexcept;
  TokenSession& operator=(TokenSession&&) = delete;

  const TokenInfo& token() const { return token_; }

  // Logs the user in. Distinct errors for a wrong PIN ("pin.incorrect"), a
  // wrong PIN after which one try is left ("pin.final_try") and a locked PIN
  // ("pin.locked"); failures are audited. With `refuse_final_try`, a token
  // already at its final try is not risked (for unattended PIN sources).
  Status login(const SecretString& pin, bool refuse_final_try = false);

  // Generates a key pair on the token: private key CKA_TOKEN, CKA_PRIVATE,
  // CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_SIGN only; the attributes are read
  // back and the key destroyed if the token did not honour them. An empty
  // `id` picks 16 random bytes. Refuses a label or id already in use.
  Result<KeyInfo> generate_key(const KeySpec& spec, const std::string& label, std::vector<uint8_t> id = {});
  // Private keys (needs login).
  Result<std::vector<KeyInfo>> keys();
  // The one private key `selector` names (object=, id=).
  Result<KeyInfo> find_key(const Pkcs11Uri& selector);
  // Destroys the private key, its public key and certificate (same CKA_ID).
  Status delete_key(const Pkcs11Uri& selector);

  // A PKCS#10 request signed by the token key. `subject` is an RFC 4514
  // string ("CN=Trần Hữu Linh,O=Bộ Công Thương,C=VN") or the OpenSSL slash
  // form ("/C=VN/O=.../CN=..."); values are UTF-8. Returns PEM.
  Result<std::string> make_csr(const Pkcs11Uri& key, std::string_view subject, std::string_view email = {});

  // Stores a certificate (PEM or DER) next to its key (same CKA_ID and
  // label), refusing one whose public key is not the key's ("cert.key_mismatch")
  // and, unless `replace`, a key that already has a certificate.
  Result<CertInfo> import_certificate(const Pkcs11Uri& key, std::string_view cert_bytes, bool replace = false);
  // Certificate objects (public; has_private_key is only known after login).
  Result<std::vector<CertInfo>> certificates();

 private:
  TokenSession(std::shared_ptr<Module> module, TokenInfo token, unsigned long session, Actor actor);
  Status audit(std::string_view action, std::string_view object, std::string_view outcome, std::string_view detail);
  std::shared_ptr<Module> module_;
  TokenInfo token_;
  unsigned long session_ = 0;  // CK_SESSION_HANDLE, 0 after a move
  Actor actor_;
};

// A certificate's fields, from PEM or DER bytes (also used by the CLI to
// describe a certificate file).
Result<CertInfo> describe_certificate(std::string_view cert_bytes);

}  // namespace edxgate::hsm
