#include "edxgate/hsm/token_signer.h"

#include <openssl/objects.h>

#include "p11.h"

namespace edxgate::hsm {
namespace {

int digest_nid(crypto::SignatureAlgorithm alg) {
  switch (crypto::digest_of(alg)) {
    case crypto::DigestAlgorithm::sha384:
      return NID_sha384;
    case crypto::DigestAlgorithm::sha512:
      return NID_sha512;
    default:
      return NID_sha256;
  }
}

}  // namespace

TokenSigner::TokenSigner(std::shared_ptr<Module> module, Pkcs11Uri token_uri, KeyInfo key, SecretString pin,
                         Actor actor)
    : module_(std::move(module)),
      token_uri_(std::move(token_uri)),
      key_(std::move(key)),
      pin_(std::move(pin)),
      actor_(std::move(actor)) {}

TokenSigner::~TokenSigner() {
  MutexLock lock(mu_);
  drop_session_locked();
}

Result<std::unique_ptr<TokenSigner>> TokenSigner::open(std::shared_ptr<Module> module, const Pkcs11Uri& key_uri,
                                                       SecretString pin, Actor actor) {
  auto session = TokenSession::open(module, key_uri, actor);
  if (!session.ok()) return session.error();
  EDX_TRY(session->login(pin, /*refuse_final_try=*/true));
  auto key = session->find_key(key_uri);
  if (!key.ok()) return key.error();
  if (!key->can_sign) {
    return make_error(ErrorKind::invalid, "key.policy", "the key " + key->uri + " is not allowed to sign (CKA_SIGN)");
  }
  if (key->id.empty()) {
    return make_error(ErrorKind::invalid, "key.policy", "the key has no CKA_ID; give it one to use it for signing");
  }
  Pkcs11Uri token_uri;
  token_uri.token = session->token().label;
  token_uri.serial = session->token().serial;
  std::unique_ptr<TokenSigner> signer(
      new TokenSigner(module, token_uri, std::move(key.value()), std::move(pin), std::move(actor)));
  MutexLock lock(signer->mu_);
  EDX_TRY(signer->reopen_locked());
  return signer;
}

void TokenSigner::drop_session_locked() {
  if (open_) module_->api()->C_CloseSession(session_);
  open_ = false;
  session_ = 0;
  key_handle_ = 0;
}

// Finds the token again (its slot may have changed), opens a session, logs in
// and finds the key by its id and label.
Status TokenSigner::reopen_locked() {
  drop_session_locked();
  const Pkcs11Api& api = module_->api();
  auto token = p11::find_token(api, token_uri_);
  if (!token.ok()) return token.error();
  auto s = p11::open_session(api, token->slot_id, false);
  if (!s.ok()) return s.error();
  Status st = p11::login(api, token->slot_id, s->get(), pin_, /*refuse_final_try=*/true);
  if (!st.ok()) {
    if (actor_.audit && st.error().code.rfind("pin.", 0) == 0) {
      (void)actor_.audit->append(AuditEvent{actor_.name, "pin.failed", key_.uri, "failed", st.error().code});
    }
    return st;
  }
  Pkcs11Uri key_uri;
  key_uri.id = key_.id;
  if (!key_.label.empty()) key_uri.object = key_.label;
  auto h = p11::find_private_key(api, s->get(), key_uri);
  if (!h.ok()) return h.error();
  // Public key material must be the one we opened: a different key under the
  // same id and label is not ours.
  auto pub = p11::public_key(api, s->get(), key_.id, *h);
  if (!pub.ok()) return pub.error();
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pub->get(), &der);
  ossl::OpensslBytesPtr owned(der);
  std::vector<uint8_t> spki;
  if (len > 0) spki.assign(der, der + len);
  if (public_key_der_.empty()) {
    public_key_der_ = std::move(spki);
  } else if (spki != public_key_der_) {
    return make_error(ErrorKind::conflict, "key.changed",
                      "the key " + key_.uri +
                          " on the token is not the one "
                          "this signer opened; refusing to sign with it");
  }
  session_ = s->release();
  key_handle_ = *h;
  open_ = true;
  return {};
}

Result<std::vector<uint8_t>> TokenSigner::sign(std::span<const uint8_t> data, crypto::SignatureAlgorithm alg) {
  const bool ec_alg = crypto::is_ecdsa(alg);
  if (ec_alg != (key_.spec.type == KeyType::ec)) {
    return make_error(ErrorKind::invalid, "sign.algorithm",
                      std::string("the key is ") + (key_.spec.type == KeyType::ec ? "EC" : "RSA") +
                          " but the algorithm is " + std::string(crypto::signature_name(alg)));
  }
  const int nid = digest_nid(alg);
  std::vector<uint8_t> digest(EVP_MAX_MD_SIZE);
  unsigned int dlen = 0;
  if (!EVP_Digest(data.data(), data.size(), digest.data(), &dlen, EVP_get_digestbynid(nid), nullptr)) {
    return make_error(ErrorKind::internal, "sign.failed", "cannot hash the data: " + ossl::last_error());
  }
  digest.resize(dlen);

  MutexLock lock(mu_);
  // Two rounds: a session lost to a token that was pulled and put back is
  // re-opened once within the same call.
  for (int round = 0; round < 2; ++round) {
    if (!open_) EDX_TRY(reopen_locked());
    CK_RV rv = CKR_OK;
    auto sig = p11::sign_digest(module_->api(), session_, key_handle_, key_.spec.type, digest, nid, &rv);
    if (sig.ok()) {
      if (key_.spec.type == KeyType::ec && sig->size() != 2 * ((key_.spec.bits + 7) / 8)) {
        return make_error(ErrorKind::io, "sign.failed", "the token returned an ECDSA signature of the wrong size");
      }
      return sig;
    }
    if (!p11::is_session_lost(rv)) return sig.error();
    drop_session_locked();
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED) {
      // Try once to find it again (it may be back already); else "absent".
      continue;
    }
  }
  return make_error(ErrorKind::unavailable, "token.absent", "token not present");
}

Result<crypto::Certificate> token_certificate(std::shared_ptr<Module> module, const Pkcs11Uri& token_uri,
                                              const std::vector<uint8_t>& key_id) {
  auto session = TokenSession::open(std::move(module), token_uri);
  if (!session.ok()) return session.error();
  auto certs = session->certificates();
  if (!certs.ok()) return certs.error();
  for (const auto& c : *certs) {
    if (c.id != key_id) continue;
    auto parsed = crypto::Certificate::parse(c.pem);
    if (!parsed.ok()) return parsed.error();
    return parsed->front();
  }
  return make_error(ErrorKind::not_found, "cert.missing", "the token holds no certificate for this key");
}

}  // namespace edxgate::hsm
