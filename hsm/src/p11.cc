#include "p11.h"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <cstdio>
#include <cstring>

namespace edxgate::hsm {

void DlCloser::operator()(void* dl) const noexcept { ::dlclose(dl); }

namespace p11 {
namespace {

struct CkrName {
  CK_RV rv;
  const char* name;
};
constexpr CkrName kCkrNames[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
};

// DigestInfo prefixes (RFC 8017 section 9.2, note 1).
constexpr uint8_t kSha256Prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
constexpr uint8_t kSha384Prefix[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
constexpr uint8_t kSha512Prefix[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

bool token_matches(const TokenInfo& t, const Pkcs11Uri& u) {
  return (!u.token || *u.token == t.label) && (!u.serial || *u.serial == t.serial) &&
         (!u.manufacturer || *u.manufacturer == t.manufacturer) && (!u.model || *u.model == t.model) &&
         (!u.slot_id || *u.slot_id == t.slot_id);
}

}  // namespace

std::string ckr_name(CK_RV rv) {
  for (const auto& n : kCkrNames) {
    if (n.rv == rv) return n.name;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR_0x%lx", static_cast<unsigned long>(rv));
  return buf;
}

Error ckr_error(CK_RV rv, std::string_view what) {
  switch (rv) {
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
      return make_error(ErrorKind::unavailable, "token.absent", "token not present");
    case CKR_PIN_INCORRECT:
      return make_error(ErrorKind::forbidden, "pin.incorrect", "the PIN is incorrect");
    case CKR_PIN_LOCKED:
      return make_error(ErrorKind::forbidden, "pin.locked", "the PIN is locked; the security officer must unblock it");
    case CKR_PIN_EXPIRED:
      return make_error(ErrorKind::forbidden, "pin.expired", "the PIN has expired; change it before using the token");
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return make_error(ErrorKind::invalid, "pin.invalid", "the PIN has characters or a length the token refuses");
    case CKR_USER_NOT_LOGGED_IN:
      return make_error(ErrorKind::unauthorized, "pin.required", std::string(what) + " needs a login: give the PIN");
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
      return make_error(ErrorKind::unavailable, "session.lost", std::string(what) + " failed: the session was closed");
    default:
      return make_error(ErrorKind::io, "p11.error", std::string(what) + " failed: " + ckr_name(rv));
  }
}

bool is_session_lost(CK_RV rv) {
  switch (rv) {
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
    case CKR_DEVICE_ERROR:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_TOKEN_NOT_RECOGNIZED:
      return true;
    default:
      return false;
  }
}

std::string padded(const unsigned char* field, size_t size) {
  size_t n = size;
  while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0')) --n;
  return std::string(reinterpret_cast<const char*>(field), n);
}

void Session::reset() {
  if (h_ != CK_INVALID_HANDLE) (*api_)->C_CloseSession(h_);
  h_ = CK_INVALID_HANDLE;
}

Result<Session> open_session(const Pkcs11Api& api, CK_SLOT_ID slot, bool rw) {
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
  CK_RV rv = api->C_OpenSession(slot, flags, nullptr, nullptr, &h);
  if (rv != CKR_OK) return ckr_error(rv, "opening a session");
  return Session(api, h);
}

Result<std::vector<uint8_t>> get_bytes(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                                       CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  CK_RV rv = api->C_GetAttributeValue(s, o, &a, 1);
  if (rv != CKR_OK) return ckr_error(rv, "reading an attribute");
  if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return make_error(ErrorKind::io, "p11.error", "reading an attribute failed: the value is unavailable");
  }
  std::vector<uint8_t> out(a.ulValueLen);
  a.pValue = out.data();
  rv = api->C_GetAttributeValue(s, o, &a, 1);
  if (rv != CKR_OK) return ckr_error(rv, "reading an attribute");
  out.resize(a.ulValueLen);
  return out;
}

bool get_bool(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, bool fallback) {
  CK_BBOOL v = CK_FALSE;
  CK_ATTRIBUTE a{type, &v, sizeof v};
  if (api->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen != sizeof v) {
    return fallback;
  }
  return v == CK_TRUE;
}

Result<CK_ULONG> get_ulong(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
  CK_ULONG v = 0;
  CK_ATTRIBUTE a{type, &v, sizeof v};
  CK_RV rv = api->C_GetAttributeValue(s, o, &a, 1);
  if (rv != CKR_OK) return ckr_error(rv, "reading an attribute");
  return v;
}

Result<std::vector<CK_OBJECT_HANDLE>> find(const Pkcs11Api& api, CK_SESSION_HANDLE s, std::vector<CK_ATTRIBUTE> tmpl,
                                           size_t max) {
  CK_RV rv = api->C_FindObjectsInit(s, tmpl.data(), tmpl.size());
  if (rv != CKR_OK) return ckr_error(rv, "searching the token");
  std::vector<CK_OBJECT_HANDLE> out;
  CK_OBJECT_HANDLE batch[64];
  while (out.size() < max) {
    CK_ULONG n = 0;
    rv = api->C_FindObjects(s, batch, 64, &n);
    if (rv != CKR_OK || n == 0) break;
    out.insert(out.end(), batch, batch + n);
  }
  api->C_FindObjectsFinal(s);
  if (rv != CKR_OK) return ckr_error(rv, "searching the token");
  if (out.size() > max) out.resize(max);
  return out;
}

std::vector<CK_ATTRIBUTE> object_template(const CK_OBJECT_CLASS* cls, const Pkcs11Uri& uri) {
  std::vector<CK_ATTRIBUTE> t;
  t.push_back({CKA_CLASS, const_cast<CK_OBJECT_CLASS*>(cls), sizeof *cls});
  if (uri.object) {
    t.push_back({CKA_LABEL, const_cast<char*>(uri.object->data()), uri.object->size()});
  }
  if (uri.id) t.push_back({CKA_ID, const_cast<uint8_t*>(uri.id->data()), uri.id->size()});
  return t;
}

Result<TokenInfo> token_info(const Pkcs11Api& api, CK_SLOT_ID slot) {
  TokenInfo t;
  t.slot_id = slot;
  CK_SLOT_INFO si{};
  CK_RV rv = api->C_GetSlotInfo(slot, &si);
  if (rv != CKR_OK) return ckr_error(rv, "reading slot information");
  t.slot_description = padded(si.slotDescription, sizeof si.slotDescription);
  t.removable = si.flags & CKF_REMOVABLE_DEVICE;
  if (!(si.flags & CKF_TOKEN_PRESENT)) return make_error(ErrorKind::unavailable, "token.absent", "token not present");
  CK_TOKEN_INFO ti{};
  rv = api->C_GetTokenInfo(slot, &ti);
  if (rv != CKR_OK) return ckr_error(rv, "reading token information");
  t.present = true;
  t.label = padded(ti.label, sizeof ti.label);
  t.serial = padded(ti.serialNumber, sizeof ti.serialNumber);
  t.manufacturer = padded(ti.manufacturerID, sizeof ti.manufacturerID);
  t.model = padded(ti.model, sizeof ti.model);
  t.initialized = ti.flags & CKF_TOKEN_INITIALIZED;
  t.login_required = ti.flags & CKF_LOGIN_REQUIRED;
  t.user_pin_initialized = ti.flags & CKF_USER_PIN_INITIALIZED;
  t.read_only = ti.flags & CKF_WRITE_PROTECTED;
  t.pin_count_low = ti.flags & CKF_USER_PIN_COUNT_LOW;
  t.pin_final_try = ti.flags & CKF_USER_PIN_FINAL_TRY;
  t.pin_locked = ti.flags & CKF_USER_PIN_LOCKED;
  t.pin_to_be_changed = ti.flags & CKF_USER_PIN_TO_BE_CHANGED;
  return t;
}

Result<TokenInfo> find_token(const Pkcs11Api& api, const Pkcs11Uri& selector) {
  CK_ULONG n = 0;
  CK_RV rv = api->C_GetSlotList(CK_TRUE, nullptr, &n);
  if (rv != CKR_OK) return ckr_error(rv, "listing slots");
  std::vector<CK_SLOT_ID> slots(n);
  rv = api->C_GetSlotList(CK_TRUE, slots.data(), &n);
  if (rv != CKR_OK) return ckr_error(rv, "listing slots");
  slots.resize(n);
  std::vector<TokenInfo> hits;
  for (CK_SLOT_ID slot : slots) {
    auto t = token_info(api, slot);
    if (!t.ok() || !t->initialized) continue;  // emptied meanwhile, or blank
    if (token_matches(*t, selector)) hits.push_back(std::move(t.value()));
  }
  if (hits.empty()) return make_error(ErrorKind::unavailable, "token.absent", "token not present");
  if (hits.size() > 1) {
    return make_error(ErrorKind::usage, "token.ambiguous",
                      std::to_string(hits.size()) + " tokens match; name one with --token pkcs11:token=...;serial=...");
  }
  return std::move(hits.front());
}

std::string object_uri(const TokenInfo& token, const std::string& label, const std::vector<uint8_t>& id,
                       std::string_view type) {
  Pkcs11Uri u;
  u.token = token.label;
  u.serial = token.serial;
  if (!label.empty()) u.object = label;
  if (!id.empty()) u.id = id;
  u.type = std::string(type);
  return u.to_string();
}

Status login(const Pkcs11Api& api, CK_SLOT_ID slot, CK_SESSION_HANDLE s, const SecretString& pin,
             bool refuse_final_try) {
  auto before = token_info(api, slot);
  if (!before.ok()) return before.error();
  if (before->pin_locked) return ckr_error(CKR_PIN_LOCKED, "login");
  if (refuse_final_try && before->pin_final_try) {
    return make_error(ErrorKind::forbidden, "pin.final_try",
                      "the token has one PIN try left; not risking it without an officer "
                      "(log in once with edxgate to reset the counter)");
  }
  CK_RV rv = api->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.c_str())), pin.size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return {};
  if (rv == CKR_PIN_INCORRECT) {
    auto after = token_info(api, slot);
    if (after.ok() && after->pin_locked) return ckr_error(CKR_PIN_LOCKED, "login");
    if (after.ok() && after->pin_final_try) {
      return make_error(ErrorKind::forbidden, "pin.final_try",
                        "the PIN is incorrect; one try is left before the token locks the PIN");
    }
  }
  return ckr_error(rv, "login");
}

Result<CK_OBJECT_HANDLE> find_private_key(const Pkcs11Api& api, CK_SESSION_HANDLE s, const Pkcs11Uri& uri) {
  if (uri.type && *uri.type != "private") {
    return make_error(ErrorKind::usage, "key.not_found",
                      "the key URI names type=" + *uri.type + "; a signing key has type=private");
  }
  if (!uri.object && !uri.id) {
    return make_error(ErrorKind::usage, "key.not_found", "name the key with object= or id= (or --label/--id)");
  }
  static const CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  auto found = find(api, s, object_template(&cls, uri), 16);
  if (!found.ok()) return found.error();
  if (found->empty()) {
    return make_error(ErrorKind::not_found, "key.not_found", "no private key on the token matches " + uri.to_string());
  }
  if (found->size() > 1) {
    return make_error(ErrorKind::usage, "key.ambiguous",
                      std::to_string(found->size()) + " private keys match; give both object= and id=");
  }
  return found->front();
}

namespace {

Result<ossl::EvpPkeyPtr> rsa_public(const std::vector<uint8_t>& n_bytes, const std::vector<uint8_t>& e_bytes) {
  ossl::BignumPtr n(BN_bin2bn(n_bytes.data(), static_cast<int>(n_bytes.size()), nullptr));
  ossl::BignumPtr e(BN_bin2bn(e_bytes.data(), static_cast<int>(e_bytes.size()), nullptr));
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), "n", n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), "e", e.get())) {
    return make_error(ErrorKind::internal, "p11.error", "cannot build the RSA public key: " + ossl::last_error());
  }
  ossl::ParamsPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return make_error(ErrorKind::internal, "p11.error", "cannot build the RSA public key: " + ossl::last_error());
  }
  return ossl::EvpPkeyPtr(raw);
}

Result<ossl::EvpPkeyPtr> ec_public(const std::vector<uint8_t>& params_der, const std::vector<uint8_t>& point_attr) {
  const unsigned char* p = params_der.data();
  ossl::Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params_der.size())));
  if (!oid) return make_error(ErrorKind::invalid, "p11.error", "the token's EC parameters are not a named curve");
  const char* group = OBJ_nid2sn(OBJ_obj2nid(oid.get()));
  // CKA_EC_POINT is a DER OCTET STRING; some tokens give the bare point.
  std::vector<uint8_t> point = point_attr;
  const unsigned char* q = point_attr.data();
  ossl::OctetStringPtr os(d2i_ASN1_OCTET_STRING(nullptr, &q, static_cast<long>(point_attr.size())));
  if (os && q == point_attr.data() + point_attr.size()) {
    point.assign(ASN1_STRING_get0_data(os.get()), ASN1_STRING_get0_data(os.get()) + ASN1_STRING_length(os.get()));
  }
  ERR_clear_error();
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!group || !bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), "group", group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), "pub", point.data(), point.size())) {
    return make_error(ErrorKind::internal, "p11.error", "cannot build the EC public key: " + ossl::last_error());
  }
  ossl::ParamsPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return make_error(ErrorKind::internal, "p11.error", "cannot build the EC public key: " + ossl::last_error());
  }
  return ossl::EvpPkeyPtr(raw);
}

Result<ossl::EvpPkeyPtr> public_from_object(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o) {
  auto type = get_ulong(api, s, o, CKA_KEY_TYPE);
  if (!type.ok()) return type.error();
  if (*type == CKK_RSA) {
    auto n = get_bytes(api, s, o, CKA_MODULUS);
    auto e = get_bytes(api, s, o, CKA_PUBLIC_EXPONENT);
    if (!n.ok()) return n.error();
    if (!e.ok()) return e.error();
    return rsa_public(*n, *e);
  }
  if (*type == CKK_EC) {
    auto params = get_bytes(api, s, o, CKA_EC_PARAMS);
    auto point = get_bytes(api, s, o, CKA_EC_POINT);
    if (!params.ok()) return params.error();
    if (!point.ok()) return point.error();
    return ec_public(*params, *point);
  }
  return make_error(ErrorKind::invalid, "key.type", "the key is neither RSA nor EC");
}

}  // namespace

Result<ossl::EvpPkeyPtr> public_key(const Pkcs11Api& api, CK_SESSION_HANDLE s, const std::vector<uint8_t>& id,
                                    CK_OBJECT_HANDLE priv) {
  static const CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
  Pkcs11Uri by_id;
  by_id.id = id;
  auto pubs = find(api, s, object_template(&cls, by_id), 2);
  if (pubs.ok() && pubs->size() == 1) {
    auto k = public_from_object(api, s, pubs->front());
    if (k.ok()) return k;
  }
  // Many tokens keep the public components on the private key object too.
  return public_from_object(api, s, priv);
}

Result<KeyInfo> describe_key(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const TokenInfo& token) {
  KeyInfo k;
  auto label = get_bytes(api, s, key, CKA_LABEL);
  if (label.ok()) k.label.assign(label->begin(), label->end());
  auto id = get_bytes(api, s, key, CKA_ID);
  if (id.ok()) k.id = std::move(id.value());
  auto type = get_ulong(api, s, key, CKA_KEY_TYPE);
  if (!type.ok()) return type.error();
  auto pub = public_key(api, s, k.id, key);
  if (*type == CKK_EC) {
    k.spec.type = KeyType::ec;
  } else if (*type != CKK_RSA) {
    return make_error(ErrorKind::invalid, "key.type", "the key is neither RSA nor EC");
  }
  if (pub.ok()) k.spec.bits = static_cast<unsigned>(EVP_PKEY_get_bits(pub->get()));
  k.sensitive = get_bool(api, s, key, CKA_SENSITIVE, false);
  k.extractable = get_bool(api, s, key, CKA_EXTRACTABLE, true);
  k.always_sensitive = get_bool(api, s, key, CKA_ALWAYS_SENSITIVE, false);
  k.never_extractable = get_bool(api, s, key, CKA_NEVER_EXTRACTABLE, false);
  k.can_sign = get_bool(api, s, key, CKA_SIGN, false);
  static const CK_OBJECT_CLASS cert_cls = CKO_CERTIFICATE;
  Pkcs11Uri by_id;
  by_id.id = k.id;
  if (!k.id.empty()) {
    auto certs = find(api, s, object_template(&cert_cls, by_id), 1);
    k.has_certificate = certs.ok() && !certs->empty();
  }
  k.uri = object_uri(token, k.label, k.id, "private");
  return k;
}

Result<std::vector<uint8_t>> sign_digest(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, KeyType type,
                                         const std::vector<uint8_t>& digest, int digest_nid, CK_RV* raw_rv) {
  std::vector<uint8_t> input;
  CK_MECHANISM mech{type == KeyType::rsa ? CKM_RSA_PKCS : CKM_ECDSA, nullptr, 0};
  if (type == KeyType::rsa) {
    const uint8_t* prefix = kSha256Prefix;
    size_t len = sizeof kSha256Prefix;
    if (digest_nid == NID_sha384) {
      prefix = kSha384Prefix;
      len = sizeof kSha384Prefix;
    } else if (digest_nid == NID_sha512) {
      prefix = kSha512Prefix;
      len = sizeof kSha512Prefix;
    }
    input.assign(prefix, prefix + len);
  }
  input.insert(input.end(), digest.begin(), digest.end());
  auto fail = [&](CK_RV rv) -> Error {
    if (raw_rv) *raw_rv = rv;
    Error e = ckr_error(rv, "signing");
    if (e.code == "p11.error") e.code = "sign.failed";  // still of kind io: the token failed
    return e;
  };
  CK_RV rv = api->C_SignInit(s, &mech, key);
  if (rv != CKR_OK) return fail(rv);
  std::vector<uint8_t> sig(1024);  // RSA-8192 or EC P-521 fit
  CK_ULONG len = sig.size();
  rv = api->C_Sign(s, input.data(), input.size(), sig.data(), &len);
  if (rv != CKR_OK) return fail(rv);
  sig.resize(len);
  if (raw_rv) *raw_rv = CKR_OK;
  return sig;
}

}  // namespace p11
}  // namespace edxgate::hsm
