// Certificates, CRLs, the trust store, and chain validation.
//
// Certificate and Crl are immutable shared handles: copies share one OpenSSL
// object (reference-counted), so they are cheap to pass around and safe to
// read from several threads. A TrustStore is built once (from config) and then
// only read.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/result.h"

namespace edxgate::crypto {

class RevocationSource;

// One X.509 certificate. Never null once constructed by a factory.
class Certificate {
 public:
  // Every certificate in `bytes`: PEM (one or more blocks) or a single DER.
  // Errors: "cert.parse".
  static Result<std::vector<Certificate>> parse(std::string_view bytes);
  static Result<Certificate> from_der(std::span<const uint8_t> der);
  // Reads a PEM or DER file. Errors: "io.read", "cert.parse".
  static Result<std::vector<Certificate>> load_file(const std::string& path);
  // Adopts one reference to `x` (caller's reference is transferred).
  static Certificate adopt(X509* x);

  X509* get() const { return x_.get(); }
  std::string subject() const;  // RFC 2253
  std::string issuer() const;   // RFC 2253
  std::string serial_hex() const;
  std::string sha256_hex() const;  // fingerprint of the DER
  std::vector<uint8_t> der() const;
  std::string pem() const;
  time_t not_before() const;
  time_t not_after() const;
  bool operator==(const Certificate& o) const;

 private:
  std::shared_ptr<X509> x_;
};

// One CRL. Never null once constructed by a factory.
class Crl {
 public:
  // Every CRL in `bytes` (PEM blocks or one DER). Errors: "crl.parse".
  static Result<std::vector<Crl>> parse(std::string_view bytes);
  static Result<std::vector<Crl>> load_file(const std::string& path);
  X509_CRL* get() const { return c_.get(); }
  std::string issuer() const;
  time_t next_update() const;  // 0 when the CRL has none

 private:
  std::shared_ptr<X509_CRL> c_;
};

// A short description of a certificate, for results, logs and --json.
struct CertSummary {
  std::string subject;
  std::string issuer;
  std::string serial;  // hex
  std::string sha256;  // hex fingerprint
  time_t not_before = 0;
  time_t not_after = 0;
};
CertSummary summarize(const Certificate& cert);

// The configured trust: anchors (trusted as given), intermediates (may be used
// to build a chain, not trusted by themselves) and CRLs.
class TrustStore {
 public:
  void add_anchor(Certificate c) { anchors_.push_back(std::move(c)); }
  void add_intermediate(Certificate c) { intermediates_.push_back(std::move(c)); }
  void add_crl(Crl c) { crls_.push_back(std::move(c)); }
  // Loads every file (PEM or DER). Errors name the file.
  Status add_anchor_file(const std::string& path);
  Status add_intermediate_file(const std::string& path);
  Status add_crl_file(const std::string& path);

  const std::vector<Certificate>& anchors() const { return anchors_; }
  const std::vector<Certificate>& intermediates() const { return intermediates_; }
  const std::vector<Crl>& crls() const { return crls_; }

 private:
  std::vector<Certificate> anchors_;
  std::vector<Certificate> intermediates_;
  std::vector<Crl> crls_;
};

// What to do when the revocation status of a certificate cannot be had
// (no CRL configured or fetched, no OCSP answer): refuse (hard), accept with a
// warning (soft), or do not check revocation at all (off).
enum class RevocationMode { hard, soft, off };
std::string_view revocation_mode_name(RevocationMode m);
bool parse_revocation_mode(std::string_view s, RevocationMode& out);

struct ChainOptions {
  std::optional<time_t> at;  // validation time; empty = now
  RevocationMode revocation = RevocationMode::hard;
  // Require digitalSignature or nonRepudiation in the leaf's key usage.
  bool require_signing_usage = true;
};

// A validated chain, leaf first, anchor last.
struct ValidatedChain {
  std::vector<Certificate> chain;
  std::vector<std::string> warnings;  // e.g. soft-fail revocation
};

// Builds and validates the chain of `leaf` to one of the store's anchors at
// the given time (X509_V_FLAG_X509_STRICT), using the store's intermediates
// and `extra` (e.g. certificates carried in the signature), then checks the
// leaf's key usage and the revocation status of every certificate below the
// anchor (configured CRLs, then `online` CRL fetching / OCSP if given).
// Errors: "cert.untrusted", "cert.chain", "cert.expired", "cert.not_yet_valid",
// "cert.usage", "cert.revoked", "revocation.unavailable".
Result<ValidatedChain> validate_chain(const Certificate& leaf, std::span<const Certificate> extra,
                                      const TrustStore& store, const ChainOptions& options,
                                      RevocationSource* online = nullptr);

// "2026-11-23T09:13:10Z" <-> time_t. Accepts "YYYY-MM-DD" (midnight UTC),
// "YYYY-MM-DDTHH:MM:SSZ" and "YYYY-MM-DD HH:MM:SS" (UTC).
std::optional<time_t> parse_time(std::string_view s);
std::string format_time(time_t t);

}  // namespace edxgate::crypto
