// A test PKI made with the openssl CLI in a temp dir, once per test binary:
// root -> intermediate -> signers (good, good2, expired, not-yet-valid,
// revoked, wrong-usage, RSA-1024, EC P-256, EC P-384), a signer of an
// unconfigured root (untrusted), the CRLs of both CAs, and an OCSP responder
// run through `openssl ocsp`. Plus helpers shared by the crypto tests.
#pragma once

#include <openssl/evp.h>

#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "edxgate/crypto/revocation.h"
#include "edxgate/crypto/signer.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/crypto/x509.h"
#include "edxgate/edxml/xml.h"

namespace edxgate::crypto::test {

// Runs a shell command; throws with its output when it fails.
std::string sh(const std::string& cmd);
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// The CRL distribution point and OCSP responder URLs written in the signers.
inline constexpr const char* kCrlUrl = "http://crl.edxgate.test/inter.crl";
inline constexpr const char* kOcspUrl = "http://ocsp.edxgate.test/";

class Pki {
 public:
  static const Pki& get();  // built on first use; removed at exit
  std::string dir;
  std::string path(const std::string& name) const { return dir + "/" + name; }
  // "<name>.pem" / "<name>.key" for: root, inter, good, good2, expired, notyet,
  // revoked, usage, rsa1024, ec256, ec384, untrusted, other_root.
  Certificate cert(const std::string& name) const;
  // root.crl.pem and inter.crl.pem (revoked is on it).
  TrustStore trust(bool with_crls = true) const;
  // Answers a DER OCSP request with `openssl ocsp` over the intermediate's index.
  std::vector<uint8_t> ocsp_answer(const std::vector<uint8_t>& request) const;

 private:
  Pki();
  void build();
};

// A software Signer over a PEM private key file (tests only).
class SoftwareSigner : public Signer {
 public:
  explicit SoftwareSigner(const std::string& key_pem_path);
  ~SoftwareSigner() override;
  Result<std::vector<uint8_t>> sign(std::span<const uint8_t> data, SignatureAlgorithm alg) override;

 private:
  EVP_PKEY* key_ = nullptr;
};

// A minimal edXML envelope (one attachment of `attachment_bytes` of 'A's).
std::string envelope_xml(size_t attachment_bytes = 16, const std::string& organ_id = "000.00.00.G06");
edxml::XmlDocPtr parse(const std::string& xml);
std::string serialize(xmlDoc* doc);

// Signs envelope_xml() with `signer_name`'s key (SoftwareSigner), checking
// with a chain-less verifier; returns the signed XML text.
std::string signed_envelope(const std::string& signer_name, SignatureAlgorithm alg = SignatureAlgorithm::rsa_sha256,
                            bool include_chain = false, const std::string& xml = envelope_xml());

VerifyPolicy strict_policy();  // hard revocation, now
// verify_both with the test PKI's trust (with or without its CRLs).
Verification verify_text(const std::string& xml, const VerifyPolicy& policy = strict_policy(),
                         std::shared_ptr<RevocationSource> online = nullptr, bool with_crls = true);

// Verifies `xml` with the DOM verifier (Verifier::verify) and, from a file,
// with the streaming verifier alone (verify_file and read_and_verify, dual
// verification off) and in dual mode; adds a test failure unless all give
// the same validity and code (and dual mode checked). Returns the DOM
// verifier's result.
Verification verify_both(const TrustStore& trust, const VerifyPolicy& policy, std::shared_ptr<RevocationSource> online,
                         const std::string& xml);

// Envelope fixtures: signature templates signed by the xmlsec1 CLI.
inline constexpr const char* kRsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
inline constexpr const char* kSha256 = "http://www.w3.org/2001/04/xmlenc#sha256";
inline constexpr const char* kExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
inline constexpr const char* kEnvelopedXml =
    R"(<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>)";
inline constexpr const char* kExcXml = R"(<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>)";

// `s` with the first `from` replaced by `to` (throws if there is none).
std::string replace(std::string s, const std::string& from, const std::string& to);

// An xmlsec1 template (a ds:Signature with a default namespace, as xmlsec1's
// own templates and many SDKs write it).
std::string signature_template(const std::string& sig_method = kRsaSha256, const std::string& digest = kSha256,
                               const std::string& ref_uri = "",
                               const std::string& transforms = std::string(kEnvelopedXml) + kExcXml,
                               const std::string& key_info = "<X509Data><X509Certificate/></X509Data>",
                               const std::string& c14n = std::string("<CanonicalizationMethod Algorithm=\"") +
                                                         kExcC14n + "\"/>");

// `tmpl` inserted as the last child of edXMLHeader.
std::string with_template(const std::string& tmpl, const std::string& xml = envelope_xml());

// Signs a template with the xmlsec1 CLI and `name`'s key and certificate.
std::string xmlsec_sign(const std::string& xml, const std::string& name, const std::string& extra = "");

// A Fetcher that serves fixed answers by URL and records calls.
class FakeFetcher : public Fetcher {
 public:
  std::map<std::string, std::vector<uint8_t>> answers;
  bool ocsp_via_pki = false;  // answer POSTs to kOcspUrl with Pki::ocsp_answer
  int calls = 0;
  Result<std::vector<uint8_t>> fetch(const std::string& url, std::string_view content_type,
                                     std::span<const uint8_t> body) override;
};

}  // namespace edxgate::crypto::test
