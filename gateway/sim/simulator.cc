#include "simulator.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "../src/base64.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/base/log.h"
#include "edxgate/gateway/axis.h"
#include "edxgate/gateway/push_endpoint.h"

namespace edxgate::sim {

using gateway::Request;
using gateway::Response;
using gateway::vdxp_answer;
namespace bj = json::bj;

namespace {

std::string now_text() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y/%m/%d %H:%M:%S", &tm);
  return buf;
}

std::string param(const gateway::vdxp::VerifiedCall& c, const char* key) {
  auto it = c.params.find(key);
  return it == c.params.end() ? std::string() : it->second;
}

// The `to` header: a JSON array of organ ids, as strings or as objects with
// an OrganId (or organId / code) member.
Result<std::vector<std::string>> parse_recipients(const std::string& text) {
  auto v = json::parse(text, 3);
  if (!v.ok() || !v->is_array() || v->get_array().empty())
    return make_error("vdxp.to", "the to header is not a non-empty JSON array");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& e : v->get_array()) {
    std::string id;
    if (e.is_string()) {
      id = e.get_string();
    } else if (e.is_object()) {
      for (const char* k : {"OrganId", "organId", "code"})
        if (const auto* x = e.get_object().if_contains(k); x && x->is_string()) id = x->get_string();
    }
    if (id.empty()) return make_error("vdxp.to", "an entry of the to header names no organ id");
    if (seen.insert(id).second) out.push_back(id);
  }
  return out;
}

Status write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t w = ::write(fd, s.data(), s.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return make_error("io.write", "write failed");
    s.remove_prefix(static_cast<size_t>(w));
  }
  return {};
}

}  // namespace

Simulator::Simulator(SimOptions options) : opt_(std::move(options)), guard_(opt_.replay_window) {
  // Item ids stay unique across restarts (a real axis never reuses one, and
  // getEdoc answers are cached on disk by id).
  next_id_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count()) *
             1000;
  pusher_ = std::thread([this] { push_loop(); });
}

Simulator::~Simulator() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  pusher_.join();
}

void Simulator::add_routes(gateway::Router& r) {
  using gateway::Access;
  auto bind = [this](Response (Simulator::*fn)(Request&)) {
    return [this, fn](Request& req, const gateway::Caller&, const gateway::PathParams&) { return (this->*fn)(req); };
  };
  r.add({"POST", "/sendEdoc", Access::public_route(), bind(&Simulator::send_edoc), opt_.max_envelope_bytes});
  r.add({"POST", "/getReceivedEdocList", Access::public_route(), bind(&Simulator::list), 4096});
  r.add({"POST", "/getEdoc", Access::public_route(), bind(&Simulator::get), 4096});
  r.add({"POST", "/updateStatus", Access::public_route(), bind(&Simulator::update_status), 4096});
  r.add({"GET", "/countReceiveEdoc", Access::public_route(), bind(&Simulator::count), 4096});
  r.add({"POST", "/_sim/fault", Access::public_route(), bind(&Simulator::control_fault), 4096});
  r.add({"GET", "/_sim/items", Access::public_route(), bind(&Simulator::control_items), 4096});
  r.add({"GET", "/_sim/calls", Access::public_route(), bind(&Simulator::control_calls), 4096});
}

const SystemEntry* Simulator::system(std::string_view id) const {
  for (const auto& s : opt_.systems)
    if (s.system_id == id) return &s;
  return nullptr;
}

std::optional<Response> Simulator::inject_fault(std::string_view call, std::string_view system_id) {
  Fault f;
  {
    std::lock_guard lock(mu_);
    if (fault_.mode == "none" || fault_.remaining == 0) return std::nullopt;
    if (!fault_.call.empty() && fault_.call != call) return std::nullopt;
    if (!fault_.system.empty() && fault_.system != system_id) return std::nullopt;
    if (fault_.remaining > 0) --fault_.remaining;
    f = fault_;
  }
  if (f.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.delay_ms));
  if (f.mode == "refuse") return vdxp_answer(503, "SIM_REFUSE", "the simulator refuses this call on purpose");
  if (f.mode == "drop") {
    Response r;
    r.drop_connection = true;
    return r;
  }
  return std::nullopt;  // delay: answer normally, late
}

Result<gateway::vdxp::VerifiedCall> Simulator::authenticate(Request& req, const std::vector<std::string>& required) {
  return gateway::vdxp::verify(
      [&req](std::string_view n) { return req.headers.get(n); },
      [this](std::string_view id) -> const SecretString* {
        const SystemEntry* s = system(id);
        return s ? s->secret.get() : nullptr;
      },
      required, guard_, gateway::vdxp::Clock::now());
}

Response Simulator::send_edoc(Request& req) {
  // The caller is known before a fault applies, so a fault may target one system.
  auto call = authenticate(req, {"messagetype", "from", "to", "hash-file"});
  if (call.ok()) {
    std::lock_guard lock(mu_);
    ++calls_["sendEdoc:" + call->system_id];
  }
  if (auto f = inject_fault("sendEdoc", call.ok() ? call->system_id : "")) return *f;
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  const SystemEntry* sender = system(call->system_id);
  const std::string from = param(*call, "from");
  if (from != sender->organ_id)
    return vdxp_answer(403, "SENDER", "Don vi gui " + from + " khong dung voi ma da dang ky");
  auto to = parse_recipients(param(*call, "to"));
  if (!to.ok()) return vdxp_answer(400, to.error().code, to.error().message);
  for (const auto& organ : *to) {
    bool known = false;
    for (const auto& s : opt_.systems) known = known || s.organ_id == organ;
    if (!known) return vdxp_answer(404, "RECEIVER", "the recipient " + organ + " is not connected to the axis");
  }
  if (req.body.size() == 0) return vdxp_answer(400, "EMPTY", "the request carries no envelope");

  uint64_t seq;
  {
    std::lock_guard lock(mu_);
    seq = ++next_id_;
  }
  const std::string file = opt_.data_dir + "/" + std::to_string(seq) + ".edxml";
  if (req.body.in_file()) {
    std::string tmp = req.body.take_file();
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return vdxp_answer(503, "STORE", "the simulator cannot store the envelope");
    }
  } else if (!fs::write_file_atomic(file, req.body.memory()).ok()) {
    return vdxp_answer(503, "STORE", "the simulator cannot store the envelope");
  }
  auto hash = gateway::vdxp::hash_file_hex(file);
  if (!hash.ok() || *hash != param(*call, "hash-file")) {
    ::unlink(file.c_str());
    return vdxp_answer(400, "HASH", "the envelope does not match hash-file");
  }
  std::string first;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < to->size(); ++i) {
      Item it;
      it.doc_id = i == 0 ? std::to_string(seq) : std::to_string(seq) + "-" + std::to_string(i);
      it.from_system = sender->system_id;
      it.from_organ = from;
      it.to_organ = (*to)[i];
      it.message_type = param(*call, "messagetype");
      it.file = file;
      it.created_time = it.updated_time = now_text();
      if (first.empty()) first = it.doc_id;
      for (const auto& s : opt_.systems)
        if (s.organ_id == it.to_organ && !s.push_url.empty()) {
          const auto now = std::chrono::steady_clock::now();
          push_queue_.push_back({it.doc_id, now, now, 0});
        }
      items_[it.doc_id] = std::move(it);
    }
  }
  cv_.notify_all();
  log::info("sim: envelope accepted", {{"doc_id", first}, {"from", from}, {"to", param(*call, "to")}});
  return vdxp_answer(200, "0", "", first);
}

Response Simulator::list(Request& req) {
  if (auto f = inject_fault("getReceivedEdocList")) return *f;
  auto call = authenticate(req, {"messagetype"});
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  const std::string organ = system(call->system_id)->organ_id;
  const std::string type = param(*call, "messagetype");
  unsigned long page = 1, size = 100;
  try {
    if (auto p = param(*call, "pageIndex"); !p.empty()) page = std::max(1ul, std::stoul(p));
    if (auto p = param(*call, "pageSize"); !p.empty()) size = std::clamp(std::stoul(p), 1ul, 1000ul);
  } catch (...) {
    return vdxp_answer(400, "PAGING", "pageIndex and pageSize must be numbers");
  }
  bj::array data;
  std::lock_guard lock(mu_);
  size_t index = 0;
  for (const auto& [id, it] : items_) {
    const bool is_status = it.message_type == "status";
    if (it.to_organ != organ || (type == "status") != is_status) continue;
    if (it.status != "pending" && it.status != "inbox") continue;
    if (index++ < (page - 1) * size || data.size() >= size) continue;
    bj::object o;
    o["docId"] = it.doc_id;
    o["serviceType"] = "eDoc";
    o["messageType"] = it.message_type;
    o["created_time"] = it.created_time;
    o["updated_time"] = it.updated_time;
    o["from"] = it.from_organ;
    o["to"] = it.to_organ;
    o["status"] = it.status;
    o["status_desc"] = it.status_desc;
    data.push_back(std::move(o));
  }
  bj::object answer;
  answer["status"] = "OK";
  answer["ErrorCode"] = "0";
  answer["ErrorDesc"] = "";
  answer["data"] = std::move(data);
  return Response::json(200, answer);
}

Response Simulator::get(Request& req) {
  if (auto f = inject_fault("getEdoc")) return *f;
  auto call = authenticate(req, {"docId"});
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  const std::string organ = system(call->system_id)->organ_id;
  std::string file, id = param(*call, "docId");
  {
    std::lock_guard lock(mu_);
    auto it = items_.find(id);
    if (it == items_.end() || it->second.to_organ != organ) return vdxp_answer(404, "NOT_FOUND", "no such document");
    file = it->second.file;
  }
  // The answer is built once per item as a file and streamed from there.
  const std::string answer = opt_.data_dir + "/" + id + ".answer.json";
  if (::access(answer.c_str(), F_OK) != 0) {
    auto out = fs::AtomicFile::create(opt_.data_dir);
    fs::UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!out.ok() || !in.valid()) return vdxp_answer(503, "STORE", "the simulator cannot read the envelope");
    std::string carry, encoded = R"({"status":"OK","ErrorCode":"0","ErrorDesc":"","data":")";
    std::vector<char> buf(48 * 1024);
    while (true) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return vdxp_answer(503, "STORE", "the simulator cannot read the envelope");
      gateway::b64::encode(std::string_view(buf.data(), static_cast<size_t>(n)), carry, encoded, n == 0);
      if (n == 0) encoded += "\"}";
      if (!write_all(out->fd(), encoded).ok()) return vdxp_answer(503, "STORE", "cannot write the answer");
      encoded.clear();
      if (n == 0) break;
    }
    if (!out->commit(id + ".answer.json").ok()) return vdxp_answer(503, "STORE", "cannot write the answer");
  }
  Response r;
  r.body_file = answer;
  return r;
}

Response Simulator::update_status(Request& req) {
  if (auto f = inject_fault("updateStatus")) return *f;
  auto call = authenticate(req, {"docId", "status"});
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  static const std::set<std::string> kAllowed = {"inbox", "acceptance", "rejection", "processing", "done", "fail"};
  const std::string status = param(*call, "status");
  if (!kAllowed.count(status)) return vdxp_answer(400, "STATUS", "unknown status " + status.substr(0, 40));
  const std::string organ = system(call->system_id)->organ_id;
  std::lock_guard lock(mu_);
  auto it = items_.find(param(*call, "docId"));
  if (it == items_.end() || it->second.to_organ != organ) return vdxp_answer(404, "NOT_FOUND", "no such document");
  it->second.status = status;
  it->second.updated_time = now_text();
  return vdxp_answer(200, "0", "");
}

Response Simulator::count(Request& req) {
  if (auto f = inject_fault("countReceiveEdoc")) return *f;
  auto call = authenticate(req, {});
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  const std::string organ = system(call->system_id)->organ_id;
  size_t n = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, it] : items_)
      if (it.to_organ == organ && it.message_type != "status" && it.status == "pending") ++n;
  }
  bj::object o;
  o["status"] = "OK";
  o["ErrorCode"] = "0";
  o["count"] = n;
  return Response::json(200, o);
}

Response Simulator::control_fault(Request& req) {
  auto text = req.body.read_all(4096);
  if (!text.ok()) return Response::from_error(413, text.error());
  auto v = json::parse(*text, 2);
  if (!v.ok() || !v->is_object()) return Response::problem(400, "sim.fault", "the body must be a JSON object");
  const auto& o = v->get_object();
  Fault f;
  if (const auto* m = o.if_contains("mode"); m && m->is_string()) f.mode = m->get_string();
  if (f.mode != "none" && f.mode != "refuse" && f.mode != "delay" && f.mode != "drop")
    return Response::problem(400, "sim.fault", "mode is one of none, refuse, delay, drop");
  if (const auto* c = o.if_contains("count"); c && c->is_int64()) f.remaining = static_cast<int>(c->get_int64());
  else f.remaining = -1;
  if (const auto* c = o.if_contains("call"); c && c->is_string()) f.call = c->get_string();
  if (const auto* c = o.if_contains("system"); c && c->is_string()) f.system = c->get_string();
  if (const auto* d = o.if_contains("delay_ms"); d && d->is_int64())
    f.delay_ms = static_cast<int>(std::clamp<int64_t>(d->get_int64(), 0, 600000));
  {
    std::lock_guard lock(mu_);
    fault_ = f;
  }
  return Response::json(200, bj::object{{"mode", f.mode}, {"call", f.call}, {"system", f.system},
                                        {"count", f.remaining}, {"delay_ms", f.delay_ms}});
}

Response Simulator::control_items(Request&) {
  bj::array a;
  std::lock_guard lock(mu_);
  for (const auto& [id, it] : items_) {
    a.push_back(bj::object{{"docId", it.doc_id}, {"from", it.from_organ}, {"to", it.to_organ},
                           {"messageType", it.message_type}, {"status", it.status}, {"file", it.file},
                           {"pushAttempts", it.push_attempts}});
  }
  return Response::json(200, a);
}

Response Simulator::control_calls(Request&) {
  bj::object o;
  std::lock_guard lock(mu_);
  for (const auto& [k, n] : calls_) o[k] = n;
  return Response::json(200, o);
}

bool Simulator::push(const Item& item) {
  const SystemEntry* to = nullptr;
  for (const auto& s : opt_.systems)
    if (s.organ_id == item.to_organ && !s.push_url.empty()) to = &s;
  if (!to) return false;
  auto client = gateway::HttpsClient::create(to->push_url, opt_.push_client);
  auto hash = gateway::vdxp::hash_file_hex(item.file);
  if (!client.ok() || !hash.ok()) return false;
  bj::array recipients{bj::value(item.to_organ)};
  auto headers = gateway::vdxp::sign({{"servicetype", "eDoc"},
                                      {"messagetype", item.message_type},
                                      {"from", item.from_organ},
                                      {"to", bj::serialize(recipients)},
                                      {"hash-file", *hash}},
                                     to->system_id, *to->secret, gateway::vdxp::Clock::now());
  if (!headers.ok()) return false;
  gateway::ClientRequest req;
  req.path = "/vdxp/sendEdoc";
  req.body_file = item.file;
  req.content_type = "application/octet-stream";
  for (auto& h : *headers) req.headers.emplace_back(h.name, h.value);
  auto resp = client->send(req);
  if (!resp.ok() || resp->status != 200) {
    log::warn("sim: push failed", {{"doc_id", item.doc_id},
                                   {"error", resp.ok() ? "HTTP " + std::to_string(resp->status) : resp.error().message}});
    return false;
  }
  auto v = json::parse(resp->body, 4);
  return v.ok() && gateway::check_vdxp_answer(*v).ok();
}

void Simulator::push_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    if (stop_) return;
    if (push_queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    // The job due first.
    auto next = std::min_element(push_queue_.begin(), push_queue_.end(),
                                 [](const PushJob& a, const PushJob& b) { return a.due < b.due; });
    if (next->due > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, next->due);
      continue;
    }
    PushJob job = *next;
    push_queue_.erase(next);
    Item item = items_[job.doc_id];
    if (item.status != "pending") continue;  // pulled and marked meanwhile
    ++items_[job.doc_id].push_attempts;
    lock.unlock();
    const bool ok = push(item);
    lock.lock();
    if (ok) {
      items_[job.doc_id].status = "pushed";
      items_[job.doc_id].updated_time = now_text();
      continue;
    }
    // Like the axis: try again later; meanwhile the recipient can still pull it.
    const auto now = std::chrono::steady_clock::now();
    if (now - job.first >= opt_.push_give_up) {
      log::warn("sim: push given up", {{"doc_id", job.doc_id}});
      continue;
    }
    job.due = now + opt_.push_retry * (1 << std::min(job.attempt, 4));
    ++job.attempt;
    push_queue_.push_back(job);
  }
}

}  // namespace edxgate::sim
