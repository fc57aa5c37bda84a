// RAII aliases for the OpenSSL handles the hsm sources hold.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace edxgate::hsm::ossl {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
template <class T, void (*F)(T*)>
using Ptr = std::unique_ptr<T, Deleter<T, F>>;

inline void bio_free(BIO* b) { BIO_free_all(b); }
inline void gens_free(GENERAL_NAMES* g) { GENERAL_NAMES_free(g); }
inline void exts_free(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
inline void asn1_obj_free(ASN1_OBJECT* o) { ASN1_OBJECT_free(o); }
inline void octet_free(ASN1_OCTET_STRING* o) { ASN1_OCTET_STRING_free(o); }
inline void bitstr_free(ASN1_BIT_STRING* o) { ASN1_BIT_STRING_free(o); }
inline void time_free(ASN1_TIME* t) { ASN1_TIME_free(t); }
inline void ecdsa_sig_free(ECDSA_SIG* s) { ECDSA_SIG_free(s); }

using Bio = Ptr<BIO, bio_free>;
using Bignum = Ptr<BIGNUM, BN_free>;
using EvpPkey = Ptr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtx = Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMd = Ptr<EVP_MD, EVP_MD_free>;
using ParamBld = Ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using Params = Ptr<OSSL_PARAM, OSSL_PARAM_free>;
using X509Ptr = Ptr<X509, X509_free>;
using X509Req = Ptr<X509_REQ, X509_REQ_free>;
using X509Name = Ptr<X509_NAME, X509_NAME_free>;
using X509Algor = Ptr<X509_ALGOR, X509_ALGOR_free>;
using GeneralNames = Ptr<GENERAL_NAMES, gens_free>;
using Extensions = Ptr<STACK_OF(X509_EXTENSION), exts_free>;
using Asn1Object = Ptr<ASN1_OBJECT, asn1_obj_free>;
using OctetString = Ptr<ASN1_OCTET_STRING, octet_free>;
using BitString = Ptr<ASN1_BIT_STRING, bitstr_free>;
using Asn1Time = Ptr<ASN1_TIME, time_free>;
using EcdsaSig = Ptr<ECDSA_SIG, ecdsa_sig_free>;
using KeyUsage = Ptr<ASN1_BIT_STRING, bitstr_free>;

// The text of the last OpenSSL error (for messages), and clears the queue.
std::string last_error();

}  // namespace edxgate::hsm::ossl
