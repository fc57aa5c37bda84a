#include "test_pki.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <libxml/xmlsave.h>
#include <openssl/pem.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include <array>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "edxgate/crypto/signing.h"
#include "run_cli.h"

namespace edxgate::crypto::test {

std::string sh(const std::string& cmd) {
  auto r = edxgate::test::run_command(cmd);
  if (r.code != 0) throw std::runtime_error("command failed (" + std::to_string(r.code) + "): " + cmd + "\n" + r.out);
  return r.out;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

namespace {

const char* kCaConfig = R"(
[ req ]
distinguished_name = dn
[ dn ]
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = @DIR@
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 825
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
organizationName = optional
[ ca_root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ ca_sub ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ signer ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.edxgate.test/inter.crl
authorityInfoAccess = OCSP;URI:http://ocsp.edxgate.test/
[ usage ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ocsp ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

std::string q(const std::string& s) { return "'" + s + "'"; }

void make_key(const std::string& dir, const std::string& name, const std::string& kind) {
  std::string opt = kind == "ec256"     ? "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
                    : kind == "ec384"   ? "-algorithm EC -pkeyopt ec_paramgen_curve:P-384"
                    : kind == "rsa1024" ? "-algorithm RSA -pkeyopt rsa_keygen_bits:1024"
                                        : "-algorithm RSA -pkeyopt rsa_keygen_bits:2048";
  sh("openssl genpkey " + opt + " -out " + q(dir + "/" + name + ".key"));
}

// A CA directory `<dir>/<ca>-ca` with its config; self-signed when parent is "".
void make_ca(const std::string& dir, const std::string& ca, const std::string& parent, const std::string& cn) {
  std::string cadir = dir + "/" + ca + "-ca";
  sh("mkdir -p " + q(cadir + "/new") + " && touch " + q(cadir + "/index.txt") + " && echo 1000 > " +
     q(cadir + "/serial") + " && echo 1000 > " + q(cadir + "/crlnumber"));
  std::string cnf = kCaConfig;
  cnf.replace(cnf.find("@DIR@"), 5, cadir);
  write_text(cadir + "/ca.cnf", cnf);
  make_key(dir, ca, "rsa");
  sh("cp " + q(dir + "/" + ca + ".key") + " " + q(cadir + "/ca.key"));
  if (parent.empty()) {
    // Self-signed through `openssl ca` so the validity can start in the past.
    sh("openssl req -new -key " + q(cadir + "/ca.key") + " -subj " + q("/CN=" + cn + "/O=edxgate test") + " -config " +
       q(cadir + "/ca.cnf") + " -out " + q(cadir + "/ca.csr"));
    sh("openssl ca -batch -notext -selfsign -keyfile " + q(cadir + "/ca.key") + " -config " + q(cadir + "/ca.cnf") +
       " -extensions ca_root -startdate 20150101000000Z -enddate 20450101000000Z -in " + q(cadir + "/ca.csr") +
       " -out " + q(cadir + "/ca.pem"));
  } else {
    std::string pdir = dir + "/" + parent + "-ca";
    sh("openssl req -new -key " + q(cadir + "/ca.key") + " -subj " + q("/CN=" + cn + "/O=edxgate test") + " -config " +
       q(cadir + "/ca.cnf") + " -out " + q(cadir + "/ca.csr"));
    sh("openssl ca -batch -notext -config " + q(pdir + "/ca.cnf") +
       " -extensions ca_sub -startdate 20150601000000Z -enddate 20440101000000Z -in " + q(cadir + "/ca.csr") +
       " -out " + q(cadir + "/ca.pem"));
  }
  sh("cp " + q(cadir + "/ca.pem") + " " + q(dir + "/" + ca + ".pem"));
}

void issue(const std::string& dir, const std::string& ca, const std::string& name, const std::string& kind,
           const std::string& ext, const std::string& dates = "") {
  std::string cadir = dir + "/" + ca + "-ca";
  make_key(dir, name, kind);
  sh("openssl req -new -key " + q(dir + "/" + name + ".key") + " -subj " +
     q("/CN=edxgate test " + name + "/O=edxgate test") + " -config " + q(cadir + "/ca.cnf") + " -out " +
     q(dir + "/" + name + ".csr"));
  sh("openssl ca -batch -notext -config " + q(cadir + "/ca.cnf") + " -extensions " + ext + " " + dates + " -in " +
     q(dir + "/" + name + ".csr") + " -out " + q(dir + "/" + name + ".pem"));
}

void gencrl(const std::string& dir, const std::string& ca) {
  std::string cadir = dir + "/" + ca + "-ca";
  sh("openssl ca -config " + q(cadir + "/ca.cnf") + " -gencrl -out " + q(dir + "/" + ca + ".crl.pem"));
  sh("openssl crl -in " + q(dir + "/" + ca + ".crl.pem") + " -outform DER -out " + q(dir + "/" + ca + ".crl.der"));
}

}  // namespace

// Making the PKI takes seconds and ctest runs each test in its own process,
// so the PKI is made once per build tree (under a lock; remade after a day so
// its CRLs stay current) and each process works on its own copy.
Pki::Pki() {
  const std::string cache = std::string(EDXGATE_BINARY_DIR) + "/tests/crypto/pki-cache";
  sh("mkdir -p '" + std::string(EDXGATE_BINARY_DIR) + "/tests/crypto'");
  int lock = ::open((cache + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock the PKI cache");
  struct stat st {};
  bool fresh = ::stat((cache + "/.complete").c_str(), &st) == 0 && time(nullptr) - st.st_mtime < 86400;
  if (!fresh) {
    sh("rm -rf '" + cache + "' && mkdir -p '" + cache + "'");
    dir = cache;
    build();
    sh("touch '" + cache + "/.complete'");
  }
  char tmpl[] = "/tmp/edxgate-crypto-pki-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir = tmpl;
  sh("cp -a '" + cache + "/.' '" + dir + "/'");
  ::flock(lock, LOCK_UN);
  ::close(lock);
}

void Pki::build() {
  make_ca(dir, "root", "", "edxgate Test Root");
  make_ca(dir, "inter", "root", "edxgate Test Intermediate");
  issue(dir, "inter", "good", "rsa", "signer");
  issue(dir, "inter", "good2", "rsa", "signer");
  issue(dir, "inter", "expired", "rsa", "signer", "-startdate 20200101000000Z -enddate 20210101000000Z");
  issue(dir, "inter", "notyet", "rsa", "signer", "-startdate 20400101000000Z -enddate 20410101000000Z");
  issue(dir, "inter", "revoked", "rsa", "signer");
  issue(dir, "inter", "usage", "rsa", "usage");
  issue(dir, "inter", "rsa1024", "rsa1024", "signer");
  issue(dir, "inter", "ec256", "ec256", "signer");
  issue(dir, "inter", "ec384", "ec384", "signer");
  issue(dir, "inter", "ocsp", "rsa", "ocsp");
  sh("openssl ca -config " + q(dir + "/inter-ca/ca.cnf") + " -revoke " + q(dir + "/revoked.pem") +
     " -crl_reason keyCompromise");
  gencrl(dir, "root");
  gencrl(dir, "inter");
  make_ca(dir, "other_root", "", "edxgate Unconfigured Root");
  issue(dir, "other_root", "untrusted", "rsa", "signer");
}

const Pki& Pki::get() {
  static Pki* pki = [] {
    auto* p = new Pki();
    std::atexit([] { std::system(("rm -rf '" + Pki::get().dir + "'").c_str()); });
    return p;
  }();
  return *pki;
}

Certificate Pki::cert(const std::string& name) const {
  auto certs = Certificate::load_file(path(name + ".pem"));
  if (!certs.ok()) throw std::runtime_error(certs.error().message);
  return certs->front();
}

TrustStore Pki::trust(bool with_crls) const {
  TrustStore t;
  t.add_anchor(cert("root"));
  t.add_intermediate(cert("inter"));
  if (with_crls) {
    (void)t.add_crl_file(path("root.crl.pem"));
    (void)t.add_crl_file(path("inter.crl.pem"));
  }
  return t;
}

std::vector<uint8_t> Pki::ocsp_answer(const std::vector<uint8_t>& request) const {
  char tmpl[] = "/tmp/edxgate-ocsp-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  std::string t = tmpl;
  write_text(t + "/req.der", std::string(request.begin(), request.end()));
  sh("openssl ocsp -index " + q(path("inter-ca/index.txt")) + " -CA " + q(path("inter.pem")) + " -rsigner " +
     q(path("ocsp.pem")) + " -rkey " + q(path("ocsp.key")) + " -reqin " + q(t + "/req.der") + " -respout " +
     q(t + "/resp.der") + " -ndays 1");
  std::string resp = read_text(t + "/resp.der");
  sh("rm -rf " + q(t));
  return {resp.begin(), resp.end()};
}

SoftwareSigner::SoftwareSigner(const std::string& key_pem_path) {
  FILE* f = fopen(key_pem_path.c_str(), "r");
  if (!f) throw std::runtime_error("cannot open " + key_pem_path);
  key_ = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  fclose(f);
  if (!key_) throw std::runtime_error("cannot read key " + key_pem_path);
}

SoftwareSigner::~SoftwareSigner() { EVP_PKEY_free(key_); }

Result<std::vector<uint8_t>> SoftwareSigner::sign(std::span<const uint8_t> data, SignatureAlgorithm alg) {
  const EVP_MD* md = digest_of(alg) == DigestAlgorithm::sha256   ? EVP_sha256()
                     : digest_of(alg) == DigestAlgorithm::sha384 ? EVP_sha384()
                                                                 : EVP_sha512();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::vector<uint8_t> sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, md, nullptr, key_) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, data.data(), data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, sig.data(), &len, data.data(), data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return make_error(ErrorKind::internal, "sign.failed", "software signing failed");
  if (!is_ecdsa(alg)) return sig;
  // DER -> r||s of the curve's width.
  const unsigned char* p = sig.data();
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  size_t width = static_cast<size_t>((EVP_PKEY_get_bits(key_) + 7) / 8);
  std::vector<uint8_t> raw(2 * width);
  BN_bn2binpad(ECDSA_SIG_get0_r(es), raw.data(), static_cast<int>(width));
  BN_bn2binpad(ECDSA_SIG_get0_s(es), raw.data() + width, static_cast<int>(width));
  ECDSA_SIG_free(es);
  return raw;
}

std::string envelope_xml(size_t attachment_bytes, const std::string& organ_id) {
  std::string raw(attachment_bytes, 'A');
  std::string b64(4 * ((raw.size() + 2) / 3) + 1, '\0');
  b64.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                 reinterpret_cast<const unsigned char*>(raw.data()),
                                                 static_cast<int>(raw.size()))));
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope>
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>)" +
         organ_id + R"(</edXML:OrganId><edXML:OrganName>Bộ Thử nghiệm</edXML:OrganName></edXML:From>
        <edXML:To><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:To>
        <edXML:Code><edXML:CodeNumber>251</edXML:CodeNumber><edXML:CodeNotation>TMĐT-TTTH</edXML:CodeNotation></edXML:Code>
        <edXML:Subject>Thử nghiệm chữ ký số</edXML:Subject>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader><edXML:OrganId>)" +
         organ_id + R"(</edXML:OrganId><edXML:Timestamp>2026/11/23 09:00:00</edXML:Timestamp></edXML:TraceHeader>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference><edXML:ContentId>cid:1</edXML:ContentId><edXML:AttachmentName>a.txt</edXML:AttachmentName></edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <edXML:AttachmentEncoded>
    <edXML:Attachment><edXML:ContentId>1</edXML:ContentId><edXML:AttachmentName>a.txt</edXML:AttachmentName><edXML:ContentTransferEncoded>)" +
         b64 + R"(</edXML:ContentTransferEncoded></edXML:Attachment>
  </edXML:AttachmentEncoded>
</edXML:edXML>
)";
}

edxml::XmlDocPtr parse(const std::string& xml) {
  auto doc = edxml::parse_xml(xml, edxml::Limits{});
  if (!doc.ok()) throw std::runtime_error("test parse failed: " + doc.error().code + ": " + doc.error().message);
  return std::move(doc.value());
}

std::string serialize(xmlDoc* doc) {
  xmlChar* mem = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
  std::string out(reinterpret_cast<char*>(mem), static_cast<size_t>(size));
  xmlFree(mem);
  return out;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  if (at == std::string::npos) throw std::runtime_error("test fixture: '" + from + "' not found");
  return s.replace(at, from.size(), to);
}

std::string signature_template(const std::string& sig_method, const std::string& digest, const std::string& ref_uri,
                               const std::string& transforms, const std::string& key_info, const std::string& c14n) {
  return R"(<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>)" + c14n +
         R"(<SignatureMethod Algorithm=")" + sig_method + R"("/><Reference URI=")" + ref_uri + R"(">)" +
         "<Transforms>" + transforms + R"(</Transforms><DigestMethod Algorithm=")" + digest +
         R"("/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo>)" + key_info +
         "</KeyInfo></Signature>";
}

std::string with_template(const std::string& tmpl, const std::string& xml) {
  return replace(xml, "</edXML:edXMLHeader>", tmpl + "</edXML:edXMLHeader>");
}

std::string xmlsec_sign(const std::string& xml, const std::string& name, const std::string& extra) {
  const Pki& pki = Pki::get();
  std::string in = pki.path("tmpl-" + name + ".xml"), out = pki.path("signed-" + name + ".xml");
  write_text(in, xml);
  sh("xmlsec1 --sign " + extra + " --privkey-pem '" + pki.path(name + ".key") + "," + pki.path(name + ".pem") +
     "' --output '" + out + "' '" + in + "'");
  return read_text(out);
}

VerifyPolicy strict_policy() { return VerifyPolicy{}; }

std::string signed_envelope(const std::string& signer_name, SignatureAlgorithm alg, bool include_chain,
                            const std::string& xml) {
  const Pki& pki = Pki::get();
  SoftwareSigner signer(pki.path(signer_name + ".key"));
  VerifyPolicy self_check;
  self_check.validate_chain = false;
  Verifier verifier(TrustStore{}, self_check);
  std::vector<Certificate> chain{pki.cert("inter")};
  auto signed_doc = sign(parse(xml), signer, pki.cert(signer_name), chain, SignOptions{alg, include_chain}, verifier);
  if (!signed_doc.ok()) {
    throw std::runtime_error("test signing failed: " + signed_doc.error().code + ": " + signed_doc.error().message);
  }
  return serialize(signed_doc->get());
}

Verification verify_text(const std::string& xml, const VerifyPolicy& policy, std::shared_ptr<RevocationSource> online,
                         bool with_crls) {
  return verify_both(Pki::get().trust(with_crls), policy, std::move(online), xml);
}

Verification verify_both(const TrustStore& trust, const VerifyPolicy& policy, std::shared_ptr<RevocationSource> online,
                         const std::string& xml) {
  static std::atomic<int> counter{0};
  const std::string file =
      Pki::get().path("both-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".xml");
  write_text(file, xml);
  VerifyPolicy streaming_only = policy, dual = policy;
  streaming_only.max_dual_bytes = 0;
  dual.max_dual_bytes = 1ull << 40;
  Verification dom;
  if (auto doc = edxml::parse_xml(xml, edxml::Limits{}); doc.ok()) {
    dom = Verifier(trust, policy, online).verify(doc->get());
  } else {
    dom.code = doc.error().code;
    dom.kind = doc.error().kind;
  }
  const Verifier stream(trust, streaming_only, online);
  Verification s = stream.verify_file(file, edxml::Limits{});
  EXPECT_EQ(s.valid, dom.valid) << "streaming " << s.code << ": " << s.message << " / DOM " << dom.code;
  EXPECT_EQ(s.code, dom.code) << "streaming: " << s.message << " / DOM: " << dom.message;
  if (!dom.valid) {
    EXPECT_EQ(s.kind, dom.kind) << s.code;
  }
  EXPECT_FALSE(s.dual_checked);

  char dir[] = "/tmp/edxgate-crypto-read-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  edxml::ReadOptions ro;
  ro.attachment_dir = dir;
  VerifiedEnvelope read = stream.read_and_verify(file, ro);
  // An envelope the reader refuses before the XML is whole (attachment
  // decoding) has no verdict to compare.
  if (read.envelope.ok() || read.verification.code.rfind("edxml.", 0) != 0) {
    EXPECT_EQ(read.verification.valid, dom.valid) << read.verification.code << ": " << read.verification.message;
    EXPECT_EQ(read.verification.code, dom.code) << read.verification.message;
    if (!dom.valid) {
      EXPECT_EQ(read.verification.kind, dom.kind) << dom.code;
    }
  }
  sh("rm -rf '" + std::string(dir) + "'");

  Verification d = Verifier(trust, dual, online).verify_file(file, edxml::Limits{});
  EXPECT_EQ(d.code, dom.code) << d.message;
  EXPECT_TRUE(d.dual_checked || d.code.rfind("xml.", 0) == 0) << d.code;
  std::remove(file.c_str());
  return dom;
}

Result<std::vector<uint8_t>> FakeFetcher::fetch(const std::string& url, std::string_view,
                                                std::span<const uint8_t> body) {
  ++calls;
  if (ocsp_via_pki && url == kOcspUrl && !body.empty()) {
    return Pki::get().ocsp_answer(std::vector<uint8_t>(body.begin(), body.end()));
  }
  auto it = answers.find(url);
  if (it == answers.end()) return make_error(ErrorKind::unavailable, "fetch.status", "not found");
  return it->second;
}

}  // namespace edxgate::crypto::test
