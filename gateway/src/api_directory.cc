#include "edxgate/gateway/api_directory.h"

#include <charconv>
#include <ctime>

#include "api_common.h"
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

std::string iso_time(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "";
  return buf;
}

Response search(store::Store& store, const Request& req) {
  const std::string q = query_param(req.query, "q").value_or("");
  if (q.size() > kMaxQueryBytes) return Response::problem(400, "api.query", "q is at most 256 bytes");
  uint32_t limit = kDefaultLimit;
  if (auto s = query_param(req.query, "limit"); s && !s->empty()) {
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

void add_directory_routes(Router& router, store::Store& store, const std::shared_ptr<DirectorySync>& sync) {
  using config::Role;
  router.add({"GET", "/v1/agencies", Access::only({Role::system, Role::officer, Role::leader}),
              [&store](Request& q, const Caller&, const PathParams&) { return search(store, q); }});
  router.add({"POST", "/v1/agencies/sync", Access::only({Role::officer}),
              [sync](Request& q, const Caller& c, const PathParams&) {
                if (cross_site(q)) return cross_site_refusal();
                auto n = sync->sync_now(c.name);
                if (!n.ok()) return error_response(n.error());
                return Response::json(200, bj::object{{"entries", *n}});
              },
              1024});
}

}  // namespace edxgate::gateway
