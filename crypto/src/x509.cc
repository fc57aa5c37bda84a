#include "edxgate/crypto/x509.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "edxgate/base/fs.h"
#include "edxgate/base/hex.h"
#include "edxgate/base/mutex.h"
#include "edxgate/base/ossl.h"

namespace edxgate::crypto {

namespace {

std::string name_string(const X509_NAME* name) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

time_t asn1_to_time(const ASN1_TIME* t) {
  if (!t) return 0;
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

bool looks_pem(std::string_view bytes) { return bytes.find("-----BEGIN ") != std::string_view::npos; }

ossl::BioPtr mem_bio(std::string_view bytes) {
  return ossl::BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

Result<std::string> read_all(const std::string& path) {
  constexpr size_t kMaxPkiFile = 64 * 1024 * 1024;
  return fs::read_file(path, kMaxPkiFile);
}

}  // namespace

namespace {

// Parsing a certificate costs far more than comparing its bytes (OpenSSL 3
// decodes its public key through the provider decoders), and the same few
// certificates arrive again and again: a peer's signer and CA in every
// envelope's KeyInfo, our own in every status message we sign. The last
// kCapacity distinct DER encodings parsed keep their X509, shared read-only
// by every Certificate made from the same bytes; the oldest is dropped first.
class DerCache {
 public:
  static constexpr size_t kCapacity = 64;
  static constexpr size_t kMaxDer = 16 * 1024;  // a larger encoding is parsed, not kept

  std::shared_ptr<X509> find(std::string_view der) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    auto it = map_.find(der);
    return it == map_.end() ? nullptr : it->second;
  }

  void keep(std::string_view der, const std::shared_ptr<X509>& x) EXCLUDES(mu_) {
    if (der.size() > kMaxDer) return;
    MutexLock lock(mu_);
    if (!map_.try_emplace(std::string(der), x).second) return;  // a racing parse kept it first
    order_.emplace_back(der);
    if (order_.size() > kCapacity) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<X509>, Hash, std::equal_to<>> map_ GUARDED_BY(mu_);
  std::deque<std::string> order_ GUARDED_BY(mu_);  // oldest first
};

DerCache& der_cache() {
  static DerCache* cache = new DerCache;  // never destroyed: used until exit
  return *cache;
}

}  // namespace

// --- Certificate -----------------------------------------------------------

Certificate Certificate::adopt(X509* x) {
  Certificate c;
  c.x_ = std::shared_ptr<X509>(x, X509_free);
  return c;
}

Result<Certificate> Certificate::from_der(std::span<const uint8_t> der) {
  const std::string_view key(reinterpret_cast<const char*>(der.data()), der.size());
  Certificate c;
  c.x_ = der_cache().find(key);
  if (c.x_) return c;
  const unsigned char* p = der.data();
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x || p != der.data() + der.size()) {
    ERR_clear_error();
    return make_error(ErrorKind::invalid, "cert.parse", "the certificate is not valid DER");
  }
  c = adopt(x.release());
  der_cache().keep(key, c.x_);
  return c;
}

Result<std::vector<Certificate>> Certificate::parse(std::string_view bytes) {
  std::vector<Certificate> out;
  if (looks_pem(bytes)) {
    auto bio = mem_bio(bytes);
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.push_back(adopt(x));
    ERR_clear_error();  // the loop ends on "no start line"
  } else {
    auto one = from_der({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    if (!one.ok()) return one.error();
    out.push_back(std::move(one.value()));
  }
  if (out.empty()) return make_error(ErrorKind::invalid, "cert.parse", "no certificate found in the PEM input");
  return out;
}

Result<std::vector<Certificate>> Certificate::load_file(const std::string& path) {
  auto data = read_all(path);
  if (!data.ok()) return data.error();
  auto certs = parse(*data);
  if (!certs.ok()) return make_error(certs.error().kind, certs.error().code, path + ": " + certs.error().message);
  return certs;
}

std::string Certificate::subject() const { return name_string(X509_get_subject_name(get())); }
std::string Certificate::issuer() const { return name_string(X509_get_issuer_name(get())); }

std::string Certificate::serial_hex() const {
  ossl::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(get()), nullptr));
  if (!bn) return "";
  ossl::OpensslStringPtr s(BN_bn2hex(bn.get()));
  return s ? std::string(s.get()) : "";
}

std::string Certificate::sha256_hex() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(get(), EVP_sha256(), md, &n);
  return to_hex(md, n);
}

std::vector<uint8_t> Certificate::der() const {
  int n = i2d_X509(get(), nullptr);
  if (n <= 0) return {};
  std::vector<uint8_t> out(static_cast<size_t>(n));
  unsigned char* p = out.data();
  i2d_X509(get(), &p);
  return out;
}

std::string Certificate::pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

time_t Certificate::not_before() const { return asn1_to_time(X509_get0_notBefore(get())); }
time_t Certificate::not_after() const { return asn1_to_time(X509_get0_notAfter(get())); }
bool Certificate::operator==(const Certificate& o) const { return X509_cmp(get(), o.get()) == 0; }

CertSummary summarize(const Certificate& c) {
  return CertSummary{c.subject(), c.issuer(), c.serial_hex(), c.sha256_hex(), c.not_before(), c.not_after()};
}

// --- Crl ---------------------------------------------------------------------

Result<std::vector<Crl>> Crl::parse(std::string_view bytes) {
  std::vector<Crl> out;
  auto push = [&](X509_CRL* c) {
    Crl crl;
    crl.c_ = std::shared_ptr<X509_CRL>(c, X509_CRL_free);
    out.push_back(std::move(crl));
  };
  if (looks_pem(bytes)) {
    auto bio = mem_bio(bytes);
    while (X509_CRL* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) push(c);
    ERR_clear_error();
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
    X509_CRL* c = d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size()));
    if (c) push(c);
    ERR_clear_error();
  }
  if (out.empty())
    return make_error(ErrorKind::invalid, "crl.parse", "no CRL found in the input (PEM or DER expected)");
  return out;
}

Result<std::vector<Crl>> Crl::load_file(const std::string& path) {
  auto data = read_all(path);
  if (!data.ok()) return data.error();
  auto crls = parse(*data);
  if (!crls.ok()) return make_error(crls.error().kind, crls.error().code, path + ": " + crls.error().message);
  return crls;
}

std::string Crl::issuer() const { return name_string(X509_CRL_get_issuer(get())); }
time_t Crl::next_update() const { return asn1_to_time(X509_CRL_get0_nextUpdate(get())); }

// --- TrustStore --------------------------------------------------------------

Status TrustStore::add_anchor_file(const std::string& path) {
  auto certs = Certificate::load_file(path);
  if (!certs.ok()) return certs.error();
  for (auto& c : *certs) add_anchor(std::move(c));
  return {};
}

Status TrustStore::add_intermediate_file(const std::string& path) {
  auto certs = Certificate::load_file(path);
  if (!certs.ok()) return certs.error();
  for (auto& c : *certs) add_intermediate(std::move(c));
  return {};
}

Status TrustStore::add_crl_file(const std::string& path) {
  auto crls = Crl::load_file(path);
  if (!crls.ok()) return crls.error();
  for (auto& c : *crls) add_crl(std::move(c));
  return {};
}

std::string_view revocation_mode_name(RevocationMode m) {
  switch (m) {
    case RevocationMode::hard:
      return "hard";
    case RevocationMode::soft:
      return "soft";
    case RevocationMode::off:
      return "off";
  }
  return "";
}

bool parse_revocation_mode(std::string_view s, RevocationMode& out) {
  for (auto m : {RevocationMode::hard, RevocationMode::soft, RevocationMode::off}) {
    if (revocation_mode_name(m) == s) {
      out = m;
      return true;
    }
  }
  return false;
}

// --- time --------------------------------------------------------------------

std::optional<time_t> parse_time(std::string_view s) {
  struct tm tm {};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  std::string str(s);
  char tail = 0;
  int n = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) return std::nullopt;
  if (static_cast<size_t>(n) != str.size()) {
    char sep = str[static_cast<size_t>(n)];
    if (sep != 'T' && sep != ' ') return std::nullopt;
    int m = 0;
    if (std::sscanf(str.c_str() + n + 1, "%2d:%2d:%2d%n", &h, &mi, &se, &m) != 3) return std::nullopt;
    const size_t end = static_cast<size_t>(n) + 1 + static_cast<size_t>(m);
    if (end < str.size()) tail = str[end];
    if (end + (tail ? 1 : 0) != str.size() || (tail && tail != 'Z')) return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return timegm(&tm);
}

std::string format_time(time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "";
  return buf;
}

}  // namespace edxgate::crypto
