// Beast-free parts of the listener: the HTTP metric families and the
// mapping of a TLS client certificate to a configured caller.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>

#include "edxgate/base/hex.h"
#include "edxgate/base/ossl.h"
#include "edxgate/gateway/server.h"

namespace edxgate::gateway {

HttpMetrics::HttpMetrics(MetricsRegistry& r)
    : requests(r.counter("edxgate_http_requests_total", "HTTP requests by listener, route, method and status.",
                         {"listener", "route", "method", "status"})),
      latency(r.histogram("edxgate_http_request_duration_seconds",
                          "Time from the first header byte to the end of the response.", {"listener", "route"},
                          MetricsRegistry::latency_buckets())),
      connections(r.gauge("edxgate_http_connections", "Open connections by listener.", {"listener"})),
      refused(r.counter("edxgate_http_connections_refused_total", "Connections refused or cut, by listener and reason.",
                        {"listener", "reason"})) {}

Caller identify_certificate(const X509* cert, const std::vector<config::Client>& clients) {
  Caller c;
  if (!cert) return c;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1) return c;
  c.fingerprint = "sha256:" + to_hex(md, md_len);
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  // RFC 2253 order and escaping, but UTF-8 left as is (Vietnamese names).
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  c.subject.assign(data, static_cast<size_t>(n));
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
  };
  for (const auto& cl : clients) {
    bool hit = !cl.fingerprint.empty() ? lower(cl.fingerprint) == c.fingerprint
                                       : (!cl.subject.empty() && cl.subject == c.subject);
    if (!hit) continue;
    c.name = cl.name;
    c.role = cl.role;
    c.organ_ids = cl.organ_ids;
    c.sign_keys = cl.sign_keys;
    c.remote_signing_certs = cl.remote_signing_certs;
    break;
  }
  return c;
}

}  // namespace edxgate::gateway
