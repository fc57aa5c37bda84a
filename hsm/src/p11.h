// The raw PKCS#11 layer: the module's function list and the few helpers the
// hsm sources share (error mapping, attributes, object search, token lookup).
//
// libp11 loads and initialises the module (Module); this layer asks the same
// loaded instance for its function list for what libp11 0.4.12 does not offer:
// exact CKR codes for PIN errors, key generation with an attribute template of
// our choosing, sessions we own and re-open (TokenSigner), attribute reads.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/ossl.h"
#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"
#include "edxgate/hsm/token.h"

namespace edxgate::hsm {

// A reference on a shared library (dlopen), dropped with dlclose.
struct DlCloser {
  void operator()(void* dl) const noexcept;
};
using DlHandle = std::unique_ptr<void, DlCloser>;

// The module's function list; `dl` is our own reference on the library
// (dlopen'ed after libp11 loaded it, so it is the same instance).
class Pkcs11Api {
 public:
  Pkcs11Api(DlHandle dl, CK_FUNCTION_LIST_PTR f) : dl_(std::move(dl)), f_(f) {}
  Pkcs11Api(const Pkcs11Api&) = delete;
  Pkcs11Api& operator=(const Pkcs11Api&) = delete;
  const CK_FUNCTION_LIST* operator->() const { return f_; }

 private:
  DlHandle dl_;
  CK_FUNCTION_LIST_PTR f_;
};

// A DN string (RFC 4514 "CN=..,O=..,C=VN" or "/C=VN/O=../CN=..") as an
// X509_NAME with UTF-8 values ("csr.subject" when it is not valid).
Result<ossl::X509NamePtr> parse_subject(std::string_view dn);

namespace p11 {

// "CKR_PIN_INCORRECT", or "CKR_0x..." for codes we do not name.
std::string ckr_name(CK_RV rv);
// The error for a failed call: token.absent, pin.*, session.lost, p11.error.
Error ckr_error(CK_RV rv, std::string_view what);
// True when the failure means the token or the session is gone (re-open).
bool is_session_lost(CK_RV rv);

// A blank-padded PKCS#11 text field, trailing blanks removed.
std::string padded(const unsigned char* field, size_t size);

// Session handle that closes itself.
class Session {
 public:
  Session(const Pkcs11Api& api, CK_SESSION_HANDLE h) : api_(&api), h_(h) {}
  ~Session() { reset(); }
  Session(Session&& o) noexcept : api_(o.api_), h_(o.release()) {}
  Session& operator=(Session&&) = delete;
  CK_SESSION_HANDLE get() const { return h_; }
  CK_SESSION_HANDLE release() {
    CK_SESSION_HANDLE h = h_;
    h_ = CK_INVALID_HANDLE;
    return h;
  }
  void reset();

 private:
  const Pkcs11Api* api_;
  CK_SESSION_HANDLE h_;
};

Result<Session> open_session(const Pkcs11Api& api, CK_SLOT_ID slot, bool rw);

// Attribute reads. get_bytes fails when the attribute is missing or sensitive.
Result<std::vector<uint8_t>> get_bytes(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                                       CK_ATTRIBUTE_TYPE type);
// The CK_BBOOL attribute, or `fallback` when the token does not have it.
bool get_bool(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, bool fallback);
Result<CK_ULONG> get_ulong(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);

// Objects matching `tmpl` (at most `max`).
Result<std::vector<CK_OBJECT_HANDLE>> find(const Pkcs11Api& api, CK_SESSION_HANDLE s, std::vector<CK_ATTRIBUTE> tmpl,
                                           size_t max = 4096);
// The template selecting objects of `cls` with the URI's object= and id=.
// `cls` and the strings must outlive the template.
std::vector<CK_ATTRIBUTE> object_template(const CK_OBJECT_CLASS* cls, const Pkcs11Uri& uri);

// Token info of one slot (token.absent when the slot is empty).
Result<TokenInfo> token_info(const Pkcs11Api& api, CK_SLOT_ID slot);
// The one token with a token present that `selector` names.
Result<TokenInfo> find_token(const Pkcs11Api& api, const Pkcs11Uri& selector);
// pkcs11: URI of an object on `token`.
std::string object_uri(const TokenInfo& token, const std::string& label, const std::vector<uint8_t>& id,
                       std::string_view type);

// C_Login as the user with the distinct PIN errors; `already logged in` is ok.
Status login(const Pkcs11Api& api, CK_SLOT_ID slot, CK_SESSION_HANDLE s, const SecretString& pin,
             bool refuse_final_try);

// The one private key `uri` names (object= / id=; type= must be private).
Result<CK_OBJECT_HANDLE> find_private_key(const Pkcs11Api& api, CK_SESSION_HANDLE s, const Pkcs11Uri& uri);
// The public key of the pair with CKA_ID `id`, built from the public key object
// (or, failing that, the private key's public attributes).
Result<ossl::EvpPkeyPtr> public_key(const Pkcs11Api& api, CK_SESSION_HANDLE s, const std::vector<uint8_t>& id,
                                    CK_OBJECT_HANDLE priv);
// KeyInfo of a private key object.
Result<KeyInfo> describe_key(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const TokenInfo& token);

// Signs a digest with the key: RSA PKCS#1 v1.5 (DigestInfo built here) or raw
// ECDSA (r||s as the token returns it). `digest_nid` is NID_sha256/384/512.
Result<std::vector<uint8_t>> sign_digest(const Pkcs11Api& api, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, KeyType type,
                                         const std::vector<uint8_t>& digest, int digest_nid, CK_RV* raw_rv = nullptr);

}  // namespace p11
}  // namespace edxgate::hsm
