// Owning handles for OpenSSL objects, declared once for every part.
//
// Each alias is a std::unique_ptr whose deleter is the object's OpenSSL free
// function, so no part frees an OpenSSL handle by hand. Add an alias here
// rather than a local one where a new handle type is needed.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace edxgate::ossl {

template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const noexcept { F(p); }
};
template <class T, void (*F)(T*)>
using Ptr = std::unique_ptr<T, Free<T, F>>;

namespace detail {
inline void bio_free(BIO* b) { BIO_free_all(b); }
inline void x509_stack_free(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
inline void crl_stack_free(STACK_OF(X509_CRL) * s) { sk_X509_CRL_pop_free(s, X509_CRL_free); }
inline void dist_points_free(STACK_OF(DIST_POINT) * s) { CRL_DIST_POINTS_free(s); }
inline void aia_free(AUTHORITY_INFO_ACCESS* a) { AUTHORITY_INFO_ACCESS_free(a); }
inline void general_names_free(GENERAL_NAMES* g) { GENERAL_NAMES_free(g); }
inline void general_name_free(GENERAL_NAME* g) { GENERAL_NAME_free(g); }
inline void ia5_string_free(ASN1_IA5STRING* s) { ASN1_IA5STRING_free(s); }
inline void extension_free(X509_EXTENSION* e) { X509_EXTENSION_free(e); }
inline void extensions_free(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
inline void asn1_object_free(ASN1_OBJECT* o) { ASN1_OBJECT_free(o); }
inline void octet_string_free(ASN1_OCTET_STRING* o) { ASN1_OCTET_STRING_free(o); }
inline void bit_string_free(ASN1_BIT_STRING* o) { ASN1_BIT_STRING_free(o); }
inline void asn1_time_free(ASN1_TIME* t) { ASN1_TIME_free(t); }
inline void openssl_string_free(char* p) { OPENSSL_free(p); }
inline void openssl_bytes_free(unsigned char* p) { OPENSSL_free(p); }
}  // namespace detail

using BioPtr = Ptr<BIO, detail::bio_free>;
using BignumPtr = Ptr<BIGNUM, BN_free>;
using EvpPkeyPtr = Ptr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdPtr = Ptr<EVP_MD, EVP_MD_free>;
using EvpMdCtxPtr = Ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpMacPtr = Ptr<EVP_MAC, EVP_MAC_free>;
using EvpMacCtxPtr = Ptr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using EcdsaSigPtr = Ptr<ECDSA_SIG, ECDSA_SIG_free>;
using ParamBldPtr = Ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamsPtr = Ptr<OSSL_PARAM, OSSL_PARAM_free>;
using X509Ptr = Ptr<X509, X509_free>;
using X509CrlPtr = Ptr<X509_CRL, X509_CRL_free>;
using X509ReqPtr = Ptr<X509_REQ, X509_REQ_free>;
using X509NamePtr = Ptr<X509_NAME, X509_NAME_free>;
using X509AlgorPtr = Ptr<X509_ALGOR, X509_ALGOR_free>;
using X509StorePtr = Ptr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = Ptr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509StackPtr = Ptr<STACK_OF(X509), detail::x509_stack_free>;
using CrlStackPtr = Ptr<STACK_OF(X509_CRL), detail::crl_stack_free>;
using DistPointsPtr = Ptr<STACK_OF(DIST_POINT), detail::dist_points_free>;
using AiaPtr = Ptr<AUTHORITY_INFO_ACCESS, detail::aia_free>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES, detail::general_names_free>;
using GeneralNamePtr = Ptr<GENERAL_NAME, detail::general_name_free>;
using Ia5StringPtr = Ptr<ASN1_IA5STRING, detail::ia5_string_free>;
using X509ExtensionPtr = Ptr<X509_EXTENSION, detail::extension_free>;
using ExtensionsPtr = Ptr<STACK_OF(X509_EXTENSION), detail::extensions_free>;
using Asn1ObjectPtr = Ptr<ASN1_OBJECT, detail::asn1_object_free>;
using OctetStringPtr = Ptr<ASN1_OCTET_STRING, detail::octet_string_free>;
using BitStringPtr = Ptr<ASN1_BIT_STRING, detail::bit_string_free>;
using Asn1TimePtr = Ptr<ASN1_TIME, detail::asn1_time_free>;
using OcspRequestPtr = Ptr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponsePtr = Ptr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicPtr = Ptr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = Ptr<OCSP_CERTID, OCSP_CERTID_free>;
using OpensslStringPtr = Ptr<char, detail::openssl_string_free>;
using OpensslBytesPtr = Ptr<unsigned char, detail::openssl_bytes_free>;

// A new owning reference to `x` (up-ref'd), for handing to an owner.
inline X509Ptr share(X509* x) {
  X509_up_ref(x);
  return X509Ptr(x);
}

// The queued OpenSSL error text (the queue is cleared), for messages and
// logs; OpenSSL's error strings never hold secrets.
std::string last_error();

}  // namespace edxgate::ossl
