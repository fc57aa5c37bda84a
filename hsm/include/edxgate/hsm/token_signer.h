// TokenSigner: the crypto::Signer that signs with a key on a PKCS#11 token.
//
// It keeps one logged-in session for its key and serialises calls on it, so
// it may be shared by any number of threads. The data is hashed in software
// and the token signs the hash (CKM_RSA_PKCS over a DigestInfo, CKM_ECDSA),
// which every token supports. When the token goes away the session is
// dropped; a call while it is absent fails with "token.absent" ("token not
// present"), and the first call after it is back opens a new session, logs in
// again with the PIN held in locked memory, and finds the key by its id.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "edxgate/base/mutex.h"
#include "edxgate/crypto/signer.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/hsm/token.h"

namespace edxgate::hsm {

class TokenSigner : public crypto::Signer {
 public:
  // Opens the key `key_uri` names (a private key: object= and/or id=, plus
  // token fields when the module has several tokens), logs in and checks the
  // key may sign. A token at its final PIN try is not risked.
  static Result<std::unique_ptr<TokenSigner>> open(std::shared_ptr<Module> module, const Pkcs11Uri& key_uri,
                                                   SecretString pin, Actor actor = {"gateway", nullptr});
  ~TokenSigner() override;

  // Returns PKCS#1 v1.5 bytes (RSA) or r||s of fixed width (ECDSA). Errors:
  // "token.absent", "pin.*", "sign.algorithm" (alg does not fit the key),
  // "sign.failed".
  Result<std::vector<uint8_t>> sign(std::span<const uint8_t> data, crypto::SignatureAlgorithm alg) override
      EXCLUDES(mu_);

  const KeyInfo& key() const { return key_; }
  // The key's SubjectPublicKeyInfo (DER), read from the token at open.
  const std::vector<uint8_t>& public_key_der() const { return public_key_der_; }

 private:
  struct State;
  TokenSigner(std::shared_ptr<Module> module, Pkcs11Uri token_uri, KeyInfo key, SecretString pin, Actor actor);
  Status reopen_locked() REQUIRES(mu_);
  void drop_session_locked() REQUIRES(mu_);

  std::shared_ptr<Module> module_;
  Pkcs11Uri token_uri_;  // serial + label of the token, to find it again
  KeyInfo key_;
  SecretString pin_;
  Actor actor_;
  std::vector<uint8_t> public_key_der_;
  Mutex mu_;  // guards the fields below and every call on the session
  unsigned long session_ GUARDED_BY(mu_) = 0;
  unsigned long key_handle_ GUARDED_BY(mu_) = 0;
  bool open_ GUARDED_BY(mu_) = false;
};

// The certificate stored on the token next to the key with `key_id` (same
// CKA_ID), on the token `token_uri` names. "cert.missing" when there is none.
Result<crypto::Certificate> token_certificate(std::shared_ptr<Module> module, const Pkcs11Uri& token_uri,
                                              const std::vector<uint8_t>& key_id);

}  // namespace edxgate::hsm
