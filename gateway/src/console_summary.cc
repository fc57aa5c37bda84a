// GET /v1/summary: what an officer checks first (console.h).
#include <time.h>

#include <algorithm>
#include <ctime>

#include "console_text.h"
#include "edxgate/base/log.h"
#include "edxgate/gateway/console.h"

namespace edxgate::gateway {

namespace bj = json::bj;
using store::Direction;
using store::State;

namespace {

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

// The engine records a quarantine as "quarantined: <code>: <what>" in the
// document's signer summary; anything else is shown whole, without a code.
std::pair<std::string, std::string> quarantine_reason(const std::string& summary) {
  static constexpr std::string_view kPrefix = "quarantined: ";
  if (summary.rfind(kPrefix, 0) != 0) return {"", summary};
  const std::string rest = summary.substr(kPrefix.size());
  const size_t colon = rest.find(": ");
  if (colon == std::string::npos || colon == 0 || colon > 64 || rest.find(' ') < colon) return {"", rest};
  return {rest.substr(0, colon), rest.substr(colon + 2)};
}

bj::object documents_by_state(const store::StoreStats& s) {
  bj::object outgoing, incoming;
  for (const auto& c : s.documents) {
    bj::object& o = c.direction == Direction::outgoing ? outgoing : incoming;
    o[store::state_name(c.state)] = c.count;
  }
  return bj::object{{"outgoing", std::move(outgoing)}, {"incoming", std::move(incoming)}};
}

bj::object certificate_json(const WatchedCertificate& w, time_t now) {
  const crypto::CertSummary s = crypto::summarize(w.certificate);
  // Whole days left, rounded down; negative once expired.
  const double seconds = std::difftime(s.not_after, now);
  const int64_t days = static_cast<int64_t>(seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400));
  return bj::object{{"role", w.role},
                    {"source", w.source},
                    {"subject", s.subject},
                    {"issuer", s.issuer},
                    {"serial", s.serial},
                    {"sha256", s.sha256},
                    {"not_before", edxgate::iso_time(int64_t{s.not_before} * 1000)},
                    {"not_after", edxgate::iso_time(int64_t{s.not_after} * 1000)},
                    {"days_to_expiry", days}};
}

// The highest audit row number: rows are numbered from 1, so a search over
// "is there a row after n" finds it in O(log n) indexed reads, whatever the
// length of the log (and even across a gap in a broken chain).
Result<int64_t> last_audit_seq(store::Store& store) {
  auto after = [&](int64_t n) -> Result<bool> {
    auto r = store.audit_rows(n, 1);
    if (!r.ok()) return r.error();
    return !r->empty();
  };
  int64_t lo = 0, hi = 1;  // invariant: a row after lo exists, none after hi (once found)
  auto any = after(0);
  if (!any.ok()) return any.error();
  if (!*any) return int64_t{0};
  for (;;) {
    auto more = after(hi);
    if (!more.ok()) return more.error();
    if (!*more) break;
    lo = hi;
    if (hi > (int64_t{1} << 61)) return hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    auto more = after(mid);
    if (!more.ok()) return more.error();
    (*more ? lo : hi) = mid;
  }
  return hi;
}

}  // namespace

OperatorSummary::OperatorSummary(store::Store& store, const Readiness* readiness,
                                 std::vector<WatchedCertificate> certificates, std::chrono::seconds audit_check_ttl)
    : store_(store), readiness_(readiness), certificates_(std::move(certificates)), audit_ttl_(audit_check_ttl) {}

Result<store::AuditCheck> OperatorSummary::audit_check(int64_t now, int64_t& checked_ms) {
  MutexLock lock(audit_mu_);
  if (!audit_ || audit_ttl_.count() == 0 || now - audit_checked_ms_ >= audit_ttl_.count() * 1000) {
    auto check = store_.verify_audit();
    if (!check.ok()) return check.error();
    audit_ = *check;
    audit_checked_ms_ = now;
    if (!check->ok) log::warn("the audit chain is broken", {{"first_bad_seq", std::to_string(check->first_bad_seq)}});
  }
  checked_ms = audit_checked_ms_;
  return *audit_;
}

Result<bj::object> OperatorSummary::build() {
  const int64_t now = now_ms();
  bj::object out;
  out["generated"] = edxgate::iso_time(now);

  auto stats = store_.stats();
  if (!stats.ok()) return stats.error();
  out["documents"] = documents_by_state(*stats);

  // The outbox: depth, age of the oldest pending item, the first items.
  store::OutboxQuery oq;
  oq.state = store::OutboxState::pending;
  oq.limit = kOutboxItems;
  auto items = store_.list_outbox(oq);
  if (!items.ok()) return items.error();
  bj::array pending;
  for (const auto& it : *items) {
    pending.push_back(bj::object{{"id", std::to_string(it.id)},
                                 {"document_id", std::to_string(it.document_id)},
                                 {"kind", it.kind},
                                 {"destination", it.destination},
                                 {"attempts", it.attempts},
                                 {"next_attempt", edxgate::iso_time(it.next_attempt_ms)},
                                 {"last_error", it.last_error},
                                 {"created", edxgate::iso_time(it.created_ms)}});
  }
  bj::object outbox{{"pending", stats->outbox_pending}, {"items", std::move(pending)}};
  if (stats->outbox_pending > 0 && stats->outbox_oldest_created_ms > 0) {
    outbox["oldest_created"] = edxgate::iso_time(stats->outbox_oldest_created_ms);
    outbox["oldest_age_s"] = std::max<int64_t>(0, (now - stats->outbox_oldest_created_ms) / 1000);
  } else {
    outbox["oldest_created"] = nullptr;
    outbox["oldest_age_s"] = nullptr;
  }
  out["outbox"] = std::move(outbox);

  // Quarantined documents, newest first, with the reason code.
  store::DocumentQuery dq;
  dq.direction = Direction::incoming;
  dq.state = State::quarantined;
  dq.limit = kQuarantined;
  auto quarantined = store_.list_documents(dq);
  if (!quarantined.ok()) return quarantined.error();
  bj::array q;
  for (const auto& d : quarantined->documents) {
    auto [code, reason] = quarantine_reason(d.signer_summary);
    q.push_back(bj::object{{"id", std::to_string(d.id)},
                           {"document_id", d.envelope_id},
                           {"from", d.sender},
                           {"subject", d.subject},
                           {"received", edxgate::iso_time(d.created_ms)},
                           {"reason_code", code},
                           {"reason", reason}});
  }
  out["quarantined"] = std::move(q);

  // The readiness checks, as /readyz answers them.
  bj::object checks{{"ready", true}, {"checks", bj::object{}}};
  if (readiness_) {
    Response r = readiness_->evaluate();
    auto v = json::parse(r.body);
    if (v.ok() && v->is_object()) checks = v->as_object();
  }
  out["checks"] = std::move(checks);

  bj::array certs;
  const time_t now_s = static_cast<time_t>(now / 1000);
  for (const auto& w : certificates_) certs.push_back(certificate_json(w, now_s));
  std::stable_sort(certs.begin(), certs.end(), [](const bj::value& a, const bj::value& b) {
    return a.as_object().at("days_to_expiry").as_int64() < b.as_object().at("days_to_expiry").as_int64();
  });
  out["certificates"] = std::move(certs);

  // The audit chain, walked (or its last walk), and its last rows, newest first.
  int64_t checked_ms = 0;
  auto check = audit_check(now, checked_ms);
  if (!check.ok()) return check.error();
  bj::object chain{{"ok", check->ok},
                   {"rows", check->rows},
                   {"head_sha256", check->head_sha256},
                   {"checked", edxgate::iso_time(checked_ms)}};
  if (!check->ok) {
    chain["first_bad_seq"] = check->first_bad_seq;
    chain["problem"] = check->problem;
  }
  auto last = last_audit_seq(store_);
  if (!last.ok()) return last.error();
  auto page = store_.audit_rows(std::max<int64_t>(0, *last - kAuditRows), kAuditRows);
  if (!page.ok()) return page.error();
  const std::vector<store::AuditRow>& rows = *page;
  bj::array recent;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    recent.push_back(bj::object{{"seq", it->seq},
                                {"at", edxgate::iso_time(it->at_ms)},
                                {"actor", it->event.actor},
                                {"action", it->event.action},
                                {"object", it->event.object},
                                {"outcome", it->event.outcome},
                                {"detail", it->event.detail}});
  }
  out["audit"] = bj::object{{"chain", std::move(chain)}, {"recent", std::move(recent)}};
  return out;
}

std::vector<WatchedCertificate> watched_certificates(const config::Config& cfg,
                                                     const std::optional<crypto::Certificate>& signing) {
  std::vector<WatchedCertificate> out;
  if (signing) out.push_back({"signing", cfg.hsm.key_uri, *signing});
  auto add = [&](const std::string& role, const std::string& file) {
    if (file.empty()) return;
    auto certs = crypto::Certificate::load_file(file);
    if (!certs.ok()) {
      log::warn("a configured certificate cannot be read for the console", {{"file", file}});
      return;
    }
    for (auto& c : *certs) out.push_back({role, file, std::move(c)});
  };
  for (const auto& f : cfg.trust.anchors) add("trust_anchor", f);
  for (const auto& f : cfg.trust.intermediates) add("intermediate", f);
  add("tls_server", cfg.server.tls_cert);
  add("client_ca", cfg.server.client_ca);
  add("axis_client", cfg.axis.client_cert);
  return out;
}

}  // namespace edxgate::gateway
