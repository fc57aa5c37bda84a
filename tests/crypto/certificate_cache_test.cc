// Certificate::from_der keeps the X509 of the DER encodings it parsed last
// (x509.cc DerCache): the same bytes give the same parsed certificate, a
// Certificate outlives its cache entry, and the cache changes no verdict on
// bytes it has not seen whole.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <vector>

#include "../support/test_pki.h"
#include "edxgate/base/ossl.h"
#include "edxgate/crypto/x509.h"

namespace edxgate::crypto::test {
namespace {

// A self-signed certificate with serial `serial` (distinct DER each time).
std::vector<uint8_t> self_signed_der(EVP_PKEY* key, long serial) {
  ossl::X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("cache test"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key);
  EXPECT_GT(X509_sign(x.get(), key, EVP_sha256()), 0);
  unsigned char* raw = nullptr;
  const int len = i2d_X509(x.get(), &raw);
  ossl::OpensslBytesPtr owned(raw);
  EXPECT_GT(len, 0);
  return std::vector<uint8_t>(raw, raw + len);
}

TEST(CertificateCache, TheSameBytesGiveTheSameParsedCertificate) {
  const std::vector<uint8_t> der = Pki::get().cert("good").der();
  auto a = Certificate::from_der(der);
  auto b = Certificate::from_der(der);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(a->subject(), Pki::get().cert("good").subject());
  EXPECT_EQ(a->der(), der);
}

TEST(CertificateCache, ACertificateOutlivesItsEntryAndBadBytesAreStillRefused) {
  ossl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  ASSERT_TRUE(key);
  const std::vector<uint8_t> first_der = self_signed_der(key.get(), 1);
  auto first = Certificate::from_der(first_der);
  ASSERT_TRUE(first.ok());
  const std::string serial = first->serial_hex();
  // More distinct certificates than the cache holds push the first one out.
  for (long i = 2; i < 200; ++i) ASSERT_TRUE(Certificate::from_der(self_signed_der(key.get(), i)).ok());
  EXPECT_EQ(first->serial_hex(), serial);  // still whole
  auto again = Certificate::from_der(first_der);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == *first);
  // Bytes past a cached encoding, or a cut one, are not a certificate.
  std::vector<uint8_t> longer = first_der;
  longer.push_back(0);
  EXPECT_EQ(Certificate::from_der(longer).error().code, "cert.parse");
  std::vector<uint8_t> shorter(first_der.begin(), first_der.end() - 1);
  EXPECT_EQ(Certificate::from_der(shorter).error().code, "cert.parse");
  EXPECT_TRUE(Certificate::from_der(first_der).ok());
}

}  // namespace
}  // namespace edxgate::crypto::test
