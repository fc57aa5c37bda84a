#include "edxgate/gateway/api_directory.h"

#include <charconv>
#include <ctime>

#include "edxgate/base/json.h"
#include "edxgate/base/log.h"
#include "edxgate/gateway/http.h"

namespace edxgate::gateway {

namespace bj = json::bj;

DirectorySync::DirectorySync(workflow::AxisTransport* axis, store::Store& store, workflow::AxisDirectoryLimits limits,
                             std::chrono::hours refresh)
    : axis_(axis), store_(store), limits_(limits), refresh_(refresh) {}

DirectorySync::~DirectorySync() { stop(); }

Result<uint64_t> DirectorySync::sync_now(const std::string& actor) {
  if (!axis_) return make_error(ErrorKind::unavailable, "axis.unsupported", "this gateway has no axis configured");
  std::lock_guard lock(sync_mu_);
  return workflow::sync_directory(*axis_, store_, limits_, actor);
}

void DirectorySync::start() {
  if (!axis_ || worker_.joinable()) return;
  worker_ = std::thread([this] { loop(); });
}

void DirectorySync::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DirectorySync::loop() {
  for (;;) {
    auto n = sync_now("system:directory");
    if (!n.ok()) {
      log::warn("agency directory sync failed", {{"code", n.error().code}, {"error", n.error().message}});
    }
    std::unique_lock lock(mu_);
    // After a failure, try again within the hour rather than a whole period later.
    auto wait = refresh_.count() == 0 ? std::chrono::hours::max() : refresh_;
    if (!n.ok() && (refresh_.count() == 0 || refresh_ > std::chrono::hours(1))) wait = std::chrono::hours(1);
    if (wait == std::chrono::hours::max()) {
      cv_.wait(lock, [&] { return stop_; });
    } else {
      cv_.wait_for(lock, wait, [&] { return stop_; });
    }
    if (stop_) return;
  }
}

namespace {

constexpr uint32_t kDefaultLimit = 20;
constexpr uint32_t kMaxLimit = 1000;
constexpr size_t kMaxQueryBytes = 256;

Response error_response(const Error& e) {
  const unsigned status = http_status(e.kind);
  if (status >= 500) log::error("request failed", {{"code", e.code}, {"error", e.message}});
  return Response::problem(status, e.code, status >= 500 ? "the gateway could not complete the request" : e.message);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The decoded value of query parameter `name` (first occurrence).
std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) != name) continue;
    std::string_view raw = eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out.push_back(' ');
      } else if (raw[i] == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 && hex_value(raw[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2])));
        i += 2;
      } else {
        out.push_back(raw[i]);
      }
    }
    return out;
  }
  return std::nullopt;
}

// A request a browser sent for a page of another site (as api.cc refuses
// on every POST route).
bool cross_site(const Request& req) {
  if (req.headers.count("Sec-Fetch-Site") > 0) {
    auto site = req.headers.get("Sec-Fetch-Site");
    if (!site || (*site != "same-origin" && *site != "none")) return true;
  }
  if (req.headers.count("Origin") > 0) {
    auto origin = req.headers.get("Origin");
    auto host = req.headers.get("Host");
    if (!origin || !host || *origin != "https://" + *host) return true;
  }
  return false;
}

std::string iso_time(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Response search(store::Store& store, const Request& req) {
  const std::string q = query_value(req.query, "q").value_or("");
  if (q.size() > kMaxQueryBytes) return Response::problem(400, "api.query", "q is at most 256 bytes");
  uint32_t limit = kDefaultLimit;
  if (auto s = query_value(req.query, "limit"); s && !s->empty()) {
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), limit);
    if (ec != std::errc() || end != s->data() + s->size() || limit == 0 || limit > kMaxLimit) {
      return Response::problem(400, "api.limit", "limit must be 1..1000");
    }
  }
  auto info = store.agency_directory_info();
  if (!info.ok()) return error_response(info.error());
  auto found = store.search_agencies(q, limit);
  if (!found.ok()) return error_response(found.error());
  bj::array agencies;
  for (const auto& a : *found) {
    agencies.push_back(bj::object{
        {"code", a.code}, {"name", a.name}, {"id", a.id}, {"pid", a.pid}, {"mail", a.mail}, {"old_code", a.old_code}});
  }
  bj::object o;
  o["agencies"] = std::move(agencies);
  o["directory_entries"] = info->count;
  o["synced"] = info->synced_ms ? bj::value(iso_time(info->synced_ms)) : bj::value(nullptr);
  return Response::json(200, o);
}

}  // namespace

void add_directory_routes(Router& router, store::Store& store, std::shared_ptr<DirectorySync> sync) {
  using config::Role;
  router.add({"GET", "/v1/agencies", Access::only({Role::system, Role::officer, Role::leader}),
              [&store](Request& q, const Caller&, const PathParams&) { return search(store, q); }});
  router.add({"POST", "/v1/agencies/sync", Access::only({Role::officer}),
              [sync](Request& q, const Caller& c, const PathParams&) {
                if (cross_site(q)) {
                  return Response::problem(403, "api.cross_site",
                                           "a request sent for a page of another site is refused");
                }
                auto n = sync->sync_now(c.name);
                if (!n.ok()) return error_response(n.error());
                return Response::json(200, bj::object{{"entries", *n}});
              },
              1024});
}

}  // namespace edxgate::gateway
