// Owning handles for the OpenSSL and xmlsec objects crypto uses. Every C
// handle in crypto/src is held by one of these; nothing is freed by hand.
#pragma once

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace edxgate::crypto::ossl {

template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const noexcept { F(p); }
};

using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL, X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX, X509_STORE_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG, ECDSA_SIG_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, Free<OCSP_REQUEST, OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Free<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, Free<OCSP_BASICRESP, OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Free<OCSP_CERTID, OCSP_CERTID_free>>;

inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
inline void free_crl_stack(STACK_OF(X509_CRL) * s) { sk_X509_CRL_pop_free(s, X509_CRL_free); }
inline void free_dist_points(STACK_OF(DIST_POINT) * s) { CRL_DIST_POINTS_free(s); }
inline void free_aia(AUTHORITY_INFO_ACCESS* a) { AUTHORITY_INFO_ACCESS_free(a); }
inline void free_openssl_string(char* p) { OPENSSL_free(p); }
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Free<STACK_OF(X509), free_x509_stack>>;
using CrlStackPtr = std::unique_ptr<STACK_OF(X509_CRL), Free<STACK_OF(X509_CRL), free_crl_stack>>;
using DistPointsPtr = std::unique_ptr<STACK_OF(DIST_POINT), Free<STACK_OF(DIST_POINT), free_dist_points>>;
using AiaPtr = std::unique_ptr<AUTHORITY_INFO_ACCESS, Free<AUTHORITY_INFO_ACCESS, free_aia>>;
using OpensslStringPtr = std::unique_ptr<char, Free<char, free_openssl_string>>;

// A new X509 reference to `x` (up-ref'd), for handing to an owner.
inline X509Ptr share(X509* x) {
  X509_up_ref(x);
  return X509Ptr(x);
}

// The queued OpenSSL error text (cleared), for log lines; never secret.
std::string last_error();

}  // namespace edxgate::crypto::ossl
