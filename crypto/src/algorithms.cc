#include "edxgate/crypto/signer.h"

namespace edxgate::crypto {

std::string_view signature_uri(SignatureAlgorithm alg) {
  switch (alg) {
    case SignatureAlgorithm::rsa_sha256:
      return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    case SignatureAlgorithm::rsa_sha384:
      return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
    case SignatureAlgorithm::rsa_sha512:
      return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
    case SignatureAlgorithm::ecdsa_sha256:
      return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
    case SignatureAlgorithm::ecdsa_sha384:
      return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
    case SignatureAlgorithm::ecdsa_sha512:
      return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";
  }
  return "";
}

DigestAlgorithm digest_of(SignatureAlgorithm alg) {
  switch (alg) {
    case SignatureAlgorithm::rsa_sha384:
    case SignatureAlgorithm::ecdsa_sha384:
      return DigestAlgorithm::sha384;
    case SignatureAlgorithm::rsa_sha512:
    case SignatureAlgorithm::ecdsa_sha512:
      return DigestAlgorithm::sha512;
    default:
      return DigestAlgorithm::sha256;
  }
}

namespace {
struct NameEntry {
  SignatureAlgorithm alg;
  std::string_view name;
};
constexpr NameEntry kNames[] = {
    {SignatureAlgorithm::rsa_sha256, "rsa-sha256"},     {SignatureAlgorithm::rsa_sha384, "rsa-sha384"},
    {SignatureAlgorithm::rsa_sha512, "rsa-sha512"},     {SignatureAlgorithm::ecdsa_sha256, "ecdsa-sha256"},
    {SignatureAlgorithm::ecdsa_sha384, "ecdsa-sha384"}, {SignatureAlgorithm::ecdsa_sha512, "ecdsa-sha512"},
};
}  // namespace

std::string_view signature_name(SignatureAlgorithm alg) {
  for (const auto& e : kNames) {
    if (e.alg == alg) return e.name;
  }
  return "";
}

bool parse_signature_name(std::string_view name, SignatureAlgorithm& out) {
  for (const auto& e : kNames) {
    if (e.name == name) {
      out = e.alg;
      return true;
    }
  }
  return false;
}

}  // namespace edxgate::crypto
