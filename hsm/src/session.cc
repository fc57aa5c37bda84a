// TokenSession: opening, login, key generation, listing and deletion.
#include <openssl/rand.h>

#include "p11.h"

namespace edxgate::hsm {
namespace {

constexpr uint8_t kP256Oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr uint8_t kP384Oid[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

bool label_or_id_taken(const Pkcs11Api& api, CK_SESSION_HANDLE s, const std::string& label,
                       const std::vector<uint8_t>& id, std::string& what) {
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
    Pkcs11Uri by_id;
    by_id.id = id;
    auto hits = p11::find(api, s, p11::object_template(&cls, by_id), 1);
    if (hits.ok() && !hits->empty()) {
      what = "id " + to_hex(id);
      return true;
    }
  }
  CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
  Pkcs11Uri by_label;
  by_label.object = label;
  auto hits = p11::find(api, s, p11::object_template(&priv, by_label), 1);
  if (hits.ok() && !hits->empty()) {
    what = "label '" + label + "'";
    return true;
  }
  return false;
}

}  // namespace

TokenSession::TokenSession(std::shared_ptr<Module> module, TokenInfo token, unsigned long session, Actor actor)
    : module_(std::move(module)), token_(std::move(token)), session_(session), actor_(std::move(actor)) {}

TokenSession::TokenSession(TokenSession&& o) noexcept
    : module_(std::move(o.module_)),
      token_(std::move(o.token_)),
      session_(std::exchange(o.session_, 0)),
      actor_(std::move(o.actor_)) {}

TokenSession::~TokenSession() {
  if (session_ != 0 && module_) module_->api()->C_CloseSession(session_);
}

Result<TokenSession> TokenSession::open(std::shared_ptr<Module> module, const Pkcs11Uri& selector, Actor actor) {
  auto token = p11::find_token(module->api(), selector);
  if (!token.ok()) return token.error();
  auto s = p11::open_session(module->api(), token->slot_id, !token->read_only);
  if (!s.ok()) return s.error();
  return TokenSession(std::move(module), std::move(token.value()), s->release(), std::move(actor));
}

Status TokenSession::audit(std::string_view action, std::string_view object, std::string_view outcome,
                           std::string_view detail) {
  if (!actor_.audit) return {};
  return actor_.audit->append(
      AuditEvent{actor_.name, std::string(action), std::string(object), std::string(outcome), std::string(detail)});
}

Status TokenSession::login(const SecretString& pin, bool refuse_final_try) {
  Status st = p11::login(module_->api(), token_.slot_id, session_, pin, refuse_final_try);
  if (!st.ok() && st.error().code.rfind("pin.", 0) == 0) {
    Status a = audit("pin.failed", token_.uri(), "failed", st.error().code);
    if (!a.ok()) return a.error();
  }
  return st;
}

Result<KeyInfo> TokenSession::generate_key(const KeySpec& spec, const std::string& label, std::vector<uint8_t> id) {
  const Pkcs11Api& api = module_->api();
  bool ok_spec = spec.type == KeyType::rsa ? (spec.bits == 2048 || spec.bits == 3072 || spec.bits == 4096)
                                           : (spec.bits == 256 || spec.bits == 384);
  if (!ok_spec) return KeySpec::parse("?").error();
  if (label.empty() || label.size() > 128) {
    return make_error(ErrorKind::usage, "usage.label", "a key needs a label of 1 to 128 bytes");
  }
  if (id.empty()) {
    id.resize(16);
    if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) {
      return make_error(ErrorKind::io, "p11.error", "cannot draw a random key id");
    }
  }
  std::string taken;
  if (label_or_id_taken(api, session_, label, id, taken)) {
    return make_error(ErrorKind::conflict, "key.exists", "the token already has a key with " + taken);
  }
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY, priv_cls = CKO_PRIVATE_KEY;
  CK_KEY_TYPE kt = spec.type == KeyType::rsa ? CKK_RSA : CKK_EC;
  CK_ULONG bits = spec.bits;
  uint8_t exponent[] = {0x01, 0x00, 0x01};
  auto* label_ptr = const_cast<char*>(label.data());
  std::vector<CK_ATTRIBUTE> pub = {
      {CKA_CLASS, &pub_cls, sizeof pub_cls},
      {CKA_KEY_TYPE, &kt, sizeof kt},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &no, sizeof no},
      {CKA_VERIFY, &yes, sizeof yes},
      {CKA_ENCRYPT, &no, sizeof no},
      {CKA_WRAP, &no, sizeof no},
      {CKA_LABEL, label_ptr, label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  if (spec.type == KeyType::rsa) {
    pub.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
    pub.push_back({CKA_PUBLIC_EXPONENT, exponent, sizeof exponent});
  } else if (spec.bits == 256) {
    pub.push_back({CKA_EC_PARAMS, const_cast<uint8_t*>(kP256Oid), sizeof kP256Oid});
  } else {
    pub.push_back({CKA_EC_PARAMS, const_cast<uint8_t*>(kP384Oid), sizeof kP384Oid});
  }
  std::vector<CK_ATTRIBUTE> priv = {
      {CKA_CLASS, &priv_cls, sizeof priv_cls},
      {CKA_KEY_TYPE, &kt, sizeof kt},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_SIGN, &yes, sizeof yes},
      {CKA_DECRYPT, &no, sizeof no},
      {CKA_UNWRAP, &no, sizeof no},
      {CKA_DERIVE, &no, sizeof no},
      {CKA_LABEL, label_ptr, label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  CK_MECHANISM mech{spec.type == KeyType::rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
  std::string uri = p11::object_uri(token_, label, id, "private");
  CK_RV rv = api->C_GenerateKeyPair(session_, &mech, pub.data(), pub.size(), priv.data(), priv.size(), &hpub, &hpriv);
  if (rv != CKR_OK) {
    Error e = p11::ckr_error(rv, "generating the key");
    if (e.code == "p11.error") e.code = "key.generate";  // still of kind io: the token failed
    Status a = audit("key.generate", uri, "failed", e.code);
    if (!a.ok()) return a.error();
    return e;
  }
  auto info = p11::describe_key(api, session_, hpriv, token_);
  // The token must have honoured the template; a key it would let out is destroyed.
  if (!info.ok() || !info->sensitive || info->extractable || !info->can_sign ||
      !p11::get_bool(api, session_, hpriv, CKA_PRIVATE, false)) {
    api->C_DestroyObject(session_, hpriv);
    api->C_DestroyObject(session_, hpub);
    (void)audit("key.generate", uri, "failed", "key.policy");
    return make_error(ErrorKind::invalid, "key.policy",
                      "the token did not make the key sensitive and non-extractable; destroyed it");
  }
  EDX_TRY(audit("key.generate", uri, "ok", spec.to_string()));
  return info;
}

Result<std::vector<KeyInfo>> TokenSession::keys() {
  static const CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  auto found = p11::find(module_->api(), session_, p11::object_template(&cls, Pkcs11Uri{}));
  if (!found.ok()) return found.error();
  std::vector<KeyInfo> out;
  for (CK_OBJECT_HANDLE h : *found) {
    auto k = p11::describe_key(module_->api(), session_, h, token_);
    if (k.ok()) out.push_back(std::move(k.value()));
  }
  return out;
}

Result<KeyInfo> TokenSession::find_key(const Pkcs11Uri& selector) {
  auto h = p11::find_private_key(module_->api(), session_, selector);
  if (!h.ok()) return h.error();
  return p11::describe_key(module_->api(), session_, *h, token_);
}

Status TokenSession::delete_key(const Pkcs11Uri& selector) {
  const Pkcs11Api& api = module_->api();
  auto h = p11::find_private_key(api, session_, selector);
  if (!h.ok()) return h.error();
  auto key = p11::describe_key(api, session_, *h, token_);
  if (!key.ok()) return key.error();
  std::vector<CK_OBJECT_HANDLE> doomed{*h};
  if (!key->id.empty()) {
    for (CK_OBJECT_CLASS cls : {CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
      Pkcs11Uri by_id;
      by_id.id = key->id;
      auto more = p11::find(api, session_, p11::object_template(&cls, by_id), 16);
      if (more.ok()) doomed.insert(doomed.end(), more->begin(), more->end());
    }
  }
  for (CK_OBJECT_HANDLE o : doomed) {
    CK_RV rv = api->C_DestroyObject(session_, o);
    if (rv != CKR_OK) {
      Error e = p11::ckr_error(rv, "deleting the key");
      (void)audit("key.delete", key->uri, "failed", e.code);
      return e;
    }
  }
  return audit("key.delete", key->uri, "ok", std::to_string(doomed.size()) + " objects destroyed");
}

}  // namespace edxgate::hsm
