// RevocationSource: CRL distribution points and OCSP, cached.
#include "edxgate/crypto/revocation.h"

#include <openssl/err.h>

#include <algorithm>

#include "edxgate/base/log.h"
#include "edxgate/base/ossl.h"

namespace edxgate::crypto {

namespace {

std::vector<std::string> crl_urls(X509* x) {
  std::vector<std::string> out;
  ossl::DistPointsPtr dps(
      static_cast<STACK_OF(DIST_POINT)*>(X509_get_ext_d2i(x, NID_crl_distribution_points, nullptr, nullptr)));
  for (int i = 0; dps && i < sk_DIST_POINT_num(dps.get()); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
    if (!dp->distpoint || dp->distpoint->type != 0) continue;  // fullName only
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      if (gn->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = gn->d.uniformResourceIdentifier;
      std::string u(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                    static_cast<size_t>(ASN1_STRING_length(uri)));
      if (u.rfind("http://", 0) == 0) out.push_back(u);
    }
  }
  ERR_clear_error();
  return out;
}

std::vector<std::string> ocsp_urls(X509* x) {
  std::vector<std::string> out;
  ossl::AiaPtr aia(static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(x, NID_info_access, nullptr, nullptr)));
  for (int i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
    ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
    if (OBJ_obj2nid(ad->method) != NID_ad_OCSP || ad->location->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = ad->location->d.uniformResourceIdentifier;
    std::string u(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                  static_cast<size_t>(ASN1_STRING_length(uri)));
    if (u.rfind("http://", 0) == 0) out.push_back(u);
  }
  ERR_clear_error();
  return out;
}

time_t gen_to_time(const ASN1_GENERALIZEDTIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

// Verifies a basic OCSP response for (cert, issuer): signed by the issuer or
// a delegated responder it issued (id-kp-OCSPSigning, checked by OpenSSL).
RevocationStatus read_ocsp(std::span<const uint8_t> der, OCSP_CERTID* id, const Certificate& issuer, time_t at,
                           time_t& next_update) {
  const unsigned char* p = der.data();
  ossl::OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp || OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return RevocationStatus::unknown;
  }
  ossl::OcspBasicPtr basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return RevocationStatus::unknown;
  ossl::X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), issuer.get());
  ossl::X509StackPtr certs(sk_X509_new_null());
  sk_X509_push(certs.get(), ossl::share(issuer.get()).release());
  // The issuer is the root of trust for its own status answers.
  X509_VERIFY_PARAM_set_flags(X509_STORE_get0_param(store.get()), X509_V_FLAG_PARTIAL_CHAIN);
  if (OCSP_basic_verify(basic.get(), certs.get(), store.get(), 0) != 1) {
    log::warn("OCSP answer signature rejected", {{"detail", ossl::last_error()}});
    return RevocationStatus::unknown;
  }
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  if (OCSP_resp_find_status(basic.get(), id, &status, &reason, &rev, &thisupd, &nextupd) != 1) {
    return RevocationStatus::unknown;
  }
  // Current now (5 min skew), and not older than a day without nextUpdate.
  if (OCSP_check_validity(thisupd, nextupd, 300, nextupd ? -1 : 86400) != 1) {
    ERR_clear_error();
    return RevocationStatus::unknown;
  }
  next_update = nextupd ? gen_to_time(nextupd) : 0;
  if (status == V_OCSP_CERTSTATUS_GOOD) return RevocationStatus::good;
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    (void)at;  // a revocation, whenever it happened, is reported as such
    return RevocationStatus::revoked;
  }
  return RevocationStatus::unknown;
}

}  // namespace

RevocationSource::RevocationSource(std::shared_ptr<Fetcher> fetcher, OnlineRevocationOptions options)
    : fetcher_(std::move(fetcher)), options_(options) {}

std::vector<Crl> RevocationSource::crls_for(const Certificate& cert) {
  std::vector<Crl> out;
  const time_t now = time(nullptr);
  for (const auto& url : crl_urls(cert.get())) {
    {
      MutexLock lock(mu_);
      auto it = crl_cache_.find(url);
      if (it != crl_cache_.end() && it->second.expires > now) {
        out.insert(out.end(), it->second.crls.begin(), it->second.crls.end());
        continue;
      }
    }
    auto body = fetcher_->fetch(url, "", {});
    if (!body.ok()) {
      log::warn("CRL fetch failed", {{"url", url}, {"error", body.error().message}});
      continue;
    }
    auto crls = Crl::parse({reinterpret_cast<const char*>(body->data()), body->size()});
    if (!crls.ok()) {
      log::warn("fetched CRL unparsable", {{"url", url}});
      continue;
    }
    time_t expires = now + options_.cache_s;
    for (const auto& c : *crls) {
      if (c.next_update() != 0) expires = std::min(expires, c.next_update());
    }
    out.insert(out.end(), crls->begin(), crls->end());
    MutexLock lock(mu_);
    crl_cache_[url] = CachedCrls{std::move(crls.value()), expires};
  }
  return out;
}

RevocationStatus RevocationSource::ocsp_status(const Certificate& cert, const Certificate& issuer, time_t at) {
  const time_t now = time(nullptr);
  const std::string key = issuer.sha256_hex() + ":" + cert.serial_hex();
  {
    MutexLock lock(mu_);
    auto it = ocsp_cache_.find(key);
    if (it != ocsp_cache_.end() && it->second.expires > now) return it->second.status;
  }
  RevocationStatus status = RevocationStatus::unknown;
  time_t next_update = 0;
  for (const auto& url : ocsp_urls(cert.get())) {
    ossl::OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert.get(), issuer.get()));
    ossl::OcspRequestPtr req(OCSP_REQUEST_new());
    if (!id || !req) break;
    ossl::OcspCertIdPtr id_for_req(OCSP_CERTID_dup(id.get()));
    if (!id_for_req || !OCSP_request_add0_id(req.get(), id_for_req.get())) break;
    id_for_req.release();  // now owned by req
    int n = i2d_OCSP_REQUEST(req.get(), nullptr);
    if (n <= 0) break;
    std::vector<uint8_t> der(static_cast<size_t>(n));
    unsigned char* p = der.data();
    i2d_OCSP_REQUEST(req.get(), &p);
    auto body = fetcher_->fetch(url, "application/ocsp-request", der);
    if (!body.ok()) {
      log::warn("OCSP request failed", {{"url", url}, {"error", body.error().message}});
      continue;
    }
    status = read_ocsp(*body, id.get(), issuer, at, next_update);
    if (status != RevocationStatus::unknown) break;
  }
  ERR_clear_error();
  if (status != RevocationStatus::unknown) {
    time_t expires = now + options_.cache_s;
    if (next_update != 0) expires = std::min(expires, next_update);
    MutexLock lock(mu_);
    ocsp_cache_[key] = CachedOcsp{status, expires};
  }
  return status;
}

}  // namespace edxgate::crypto
