#include "simulator.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "edxgate/base/base64.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/base/log.h"
#include "edxgate/edxml/reader.h"
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
  // 19 characters for any 4-digit year; 0 (contents unspecified) only if it did not fit.
  if (std::strftime(buf, sizeof buf, "%Y/%m/%d %H:%M:%S", &tm) == 0) return "";
  return buf;
}

constexpr size_t kMaxLogged = 2000;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Whom an envelope is for, as the axis routes it: a document's To organs, or
// the organ a status message answers (its ResponseFor, the document's
// sender). Read with the hardened edXML reader, attachments only hashed.
struct Routing {
  bool is_status = false;
  std::vector<std::string> organs;
};

Result<Routing> routing_of(const std::string& file) {
  auto env = edxml::read_envelope_file(file, edxml::ReadOptions{});
  if (!env.ok()) return env.error();
  Routing r;
  std::set<std::string> seen;
  auto add = [&](const std::string& id) {
    if (!id.empty() && seen.insert(id).second) r.organs.push_back(id);
  };
  if (env->status) {
    r.is_status = true;
    add(env->status->response_for.organ_id);
  } else if (env->message) {
    for (const auto& o : env->message->to) add(o.organ_id);
  }
  if (r.organs.empty())
    return make_error(ErrorKind::malformed, "vdxp.to", "the envelope names no organ to deliver it to");
  return r;
}

// The first bytes of a body and whether it ends with CRLF, read without
// taking it from the request.
void describe_body(const Request& req, LoggedCall& c) {
  c.body_bytes = static_cast<int64_t>(req.body.size());
  std::string head, tail;
  if (req.body.in_file()) {
    fs::UniqueFd fd(::open(req.body.path().c_str(), O_RDONLY | O_CLOEXEC));
    char buf[17];
    if (fd.valid()) {
      ssize_t n = ::pread(fd.get(), buf, sizeof buf, 0);
      if (n > 0) head.assign(buf, static_cast<size_t>(n));
      if (req.body.size() >= 2 && ::pread(fd.get(), buf, 2, static_cast<off_t>(req.body.size() - 2)) == 2)
        tail.assign(buf, 2);
    }
  } else {
    const std::string& m = req.body.memory();
    head = m.substr(0, 17);
    if (m.size() >= 2) tail = m.substr(m.size() - 2);
  }
  c.body_ends_crlf = tail == "\r\n";
  if (head.size() <= 16 && std::all_of(head.begin(), head.end(), [](char ch) { return ch >= 0x20 && ch < 0x7f; }))
    c.body = head;
}

Status write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t w = ::write(fd, s.data(), s.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return make_error(ErrorKind::io, "io.write", "write failed");
    s.remove_prefix(static_cast<size_t>(w));
  }
  return {};
}

}  // namespace

Simulator::Simulator(SimOptions options) : opt_(std::move(options)), push_timestamp_(gateway::vdxp::Clock::now()) {
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
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  pusher_.join();
}

void Simulator::add_routes(gateway::Router& r) {
  using gateway::Access;
  // Every axis call is logged with the status it was answered.
  auto bind = [this](Response (Simulator::*fn)(Request&)) {
    return [this, fn](Request& req, const gateway::Caller&, const gateway::PathParams&) {
      LoggedCall c;
      c.call = req.path;
      c.method = req.method;
      c.headers = req.headers.fields();
      describe_body(req, c);
      Response resp = (this->*fn)(req);
      c.status = resp.status;
      record(std::move(c));
      return resp;
    };
  };
  auto control = [this](Response (Simulator::*fn)(Request&)) {
    return [this, fn](Request& req, const gateway::Caller&, const gateway::PathParams&) { return (this->*fn)(req); };
  };
  gateway::Route send{"POST", "/sendEdoc", Access::public_route(), bind(&Simulator::send_edoc),
                      opt_.max_envelope_bytes};
  // A wrong MAC is refused before the (maybe large) body is read.
  send.check_head = [this](const Request& head, const gateway::Caller&) -> std::optional<Response> {
    auto call = authenticate(head, {"messagetype", "from", "hash-file"});
    if (call.ok()) return std::nullopt;
    LoggedCall c;
    c.call = head.path;
    c.method = head.method;
    c.headers = head.headers.fields();
    c.status = 401;
    record(std::move(c));
    return vdxp_answer(401, call.error().code, call.error().message);
  };
  r.add(std::move(send));
  r.add({"POST", "/getReceivedEdocList", Access::public_route(), bind(&Simulator::list), 4096});
  r.add({"POST", "/getEdoc", Access::public_route(), bind(&Simulator::get), 4096});
  r.add({"POST", "/updateStatus", Access::public_route(), bind(&Simulator::update_status), 4096});
  r.add({"GET", "/countReceiveEdoc", Access::public_route(), bind(&Simulator::count), 4096});
  // The SDK's path; "getAgencyList" is how the call is usually named, served alike.
  r.add({"POST", "/getAgenciesList", Access::public_route(), bind(&Simulator::agencies), 4096});
  r.add({"POST", "/getAgencyList", Access::public_route(), bind(&Simulator::agencies), 4096});
  r.add({"POST", "/_sim/fault", Access::public_route(), control(&Simulator::control_fault), 4096});
  r.add({"GET", "/_sim/items", Access::public_route(), control(&Simulator::control_items), 4096});
  r.add({"GET", "/_sim/calls", Access::public_route(), control(&Simulator::control_calls), 4096});
  r.add({"GET", "/_sim/requests", Access::public_route(), control(&Simulator::control_requests), 4096});
}

void Simulator::record(LoggedCall call) {
  MutexLock lock(mu_);
  log_.push_back(std::move(call));
  while (log_.size() > kMaxLogged) log_.pop_front();
}

const SystemEntry* Simulator::system(std::string_view id) const {
  for (const auto& s : opt_.systems)
    if (s.system_id == id) return &s;
  return nullptr;
}

const SystemEntry* Simulator::organ(std::string_view organ_id) const {
  for (const auto& s : opt_.systems)
    if (s.organ_id == organ_id) return &s;
  return nullptr;
}

std::optional<Response> Simulator::inject_fault(std::string_view call, std::string_view system_id) {
  Fault f;
  {
    MutexLock lock(mu_);
    if (fault_.mode == "none" || fault_.remaining == 0) return std::nullopt;
    if (!fault_.call.empty() && fault_.call != call) return std::nullopt;
    if (!fault_.system.empty() && fault_.system != system_id) return std::nullopt;
    if (fault_.remaining > 0) --fault_.remaining;
    f = fault_;
  }
  if (f.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.delay_ms));
  if (f.mode == "refuse") {
    return vdxp_answer(f.http_status, "SIM_REFUSE", "the simulator refuses this call on purpose");
  }
  if (f.mode == "drop") {
    Response r;
    r.drop_connection = true;
    return r;
  }
  return std::nullopt;  // delay: answer normally, late
}

Result<gateway::vdxp::VerifiedCall> Simulator::authenticate(const Request& req,
                                                            const std::vector<std::string>& required) const {
  gateway::vdxp::VerifyOptions vo;
  vo.timestamp_window = opt_.timestamp_window;
  return gateway::vdxp::verify([&req](std::string_view n) { return req.headers.get(n); },
                               [this](std::string_view id) -> const SecretString* {
                                 const SystemEntry* s = system(id);
                                 return s ? s->secret.get() : nullptr;
                               },
                               required, vo, gateway::vdxp::Clock::now());
}

Response Simulator::send_edoc(Request& req) {
  // The caller is known before a fault applies, so a fault may target one system.
  auto call = authenticate(req, {"messagetype", "from", "hash-file"});
  if (call.ok()) {
    MutexLock lock(mu_);
    ++calls_["sendEdoc:" + call->system_id];
  }
  if (auto f = inject_fault("sendEdoc", call.ok() ? call->system_id : "")) return *f;
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  const SystemEntry* sender = system(call->system_id);
  const std::string from = call->param("from");
  if (!iequals(from, sender->organ_id))
    return vdxp_answer(403, "SENDER", "Don vi gui " + from.substr(0, 60) + " khong dung voi ma da dang ky");
  const std::string type = call->param("messagetype");
  if (type != "edoc" && type != "status")
    return vdxp_answer(400, "MESSAGETYPE", "messagetype is edoc or status, not " + type.substr(0, 40));
  if (req.body.size() == 0) return vdxp_answer(400, "EMPTY", "the request carries no envelope");
  const std::string hash_file = call->param("hash-file");
  auto sent = req.body.in_file() ? gateway::vdxp::match_sent_file(req.body.path(), hash_file)
                                 : gateway::vdxp::match_sent_bytes(req.body.memory(), hash_file);
  if (!sent.ok()) return vdxp_answer(400, "HASH", "the envelope does not match hash-file");
  // The same file from the same system is the same document: answered again, routed once.
  const std::string key = sender->system_id + ":" + sent->sha256_hex;
  {
    MutexLock lock(mu_);
    if (auto it = sent_.find(key); it != sent_.end()) return vdxp_answer(200, "0", "", it->second);
  }

  uint64_t seq = 0;
  {
    MutexLock lock(mu_);
    seq = ++next_id_;
  }
  const std::string file = opt_.data_dir + "/" + std::to_string(seq) + ".edxml";
  if (req.body.in_file()) {
    std::string tmp = req.body.take_file();
    if (::truncate(tmp.c_str(), static_cast<off_t>(sent->size)) != 0 || ::rename(tmp.c_str(), file.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return vdxp_answer(503, "STORE", "the simulator cannot store the envelope");
    }
  } else if (!fs::write_file_atomic(file, std::string_view(req.body.memory()).substr(0, sent->size)).ok()) {
    return vdxp_answer(503, "STORE", "the simulator cannot store the envelope");
  }
  auto route = routing_of(file);
  if (!route.ok()) {
    ::unlink(file.c_str());
    return vdxp_answer(400, "EDXML", "the envelope cannot be routed: " + route.error().message.substr(0, 300));
  }
  if (route->is_status != (type == "status")) {
    ::unlink(file.c_str());
    return vdxp_answer(400, "MESSAGETYPE", "messagetype " + type + " does not match the envelope");
  }
  for (const auto& o : route->organs)
    if (!organ(o)) {
      ::unlink(file.c_str());
      return vdxp_answer(404, "RECEIVER", "the recipient " + o.substr(0, 60) + " is not connected to the axis");
    }
  std::string first;
  {
    MutexLock lock(mu_);
    if (auto it = sent_.find(key); it != sent_.end()) {  // the same file, sent meanwhile
      ::unlink(file.c_str());
      return vdxp_answer(200, "0", "", it->second);
    }
    for (size_t i = 0; i < route->organs.size(); ++i) {
      Item it;
      it.doc_id = i == 0 ? std::to_string(seq) : std::to_string(seq) + "-" + std::to_string(i);
      it.from_system = sender->system_id;
      it.from_organ = sender->organ_id;
      it.to_organ = route->organs[i];
      it.message_type = type;
      it.file = file;
      it.created_time = it.updated_time = now_text();
      if (first.empty()) first = it.doc_id;
      if (!organ(it.to_organ)->push_url.empty()) {
        const auto now = std::chrono::steady_clock::now();
        push_queue_.push_back({it.doc_id, now, now, 0});
      }
      items_[it.doc_id] = std::move(it);
    }
    sent_[key] = first;
  }
  cv_.notify_all();
  log::info("sim: envelope accepted", {{"doc_id", first}, {"from", sender->organ_id}, {"type", type}});
  return vdxp_answer(200, "0", "", first);
}

Response Simulator::list(Request& req) {
  if (auto f = inject_fault("getReceivedEdocList")) return *f;
  auto call = authenticate(req, {"messagetype"});
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  const std::string organ = system(call->system_id)->organ_id;
  const std::string type = call->param("messagetype");
  unsigned long page = 1, size = 100;
  try {
    if (auto p = call->param("pageIndex"); !p.empty()) page = std::max(1ul, std::stoul(p));
    if (auto p = call->param("pageSize"); !p.empty()) size = std::clamp(std::stoul(p), 1ul, 1000ul);
  } catch (...) {
    return vdxp_answer(400, "PAGING", "pageIndex and pageSize must be numbers");
  }
  bj::array data;
  MutexLock lock(mu_);
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
  std::string file, id = call->param("docId");
  {
    MutexLock lock(mu_);
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
    base64::Encoder encoder;  // one line, as the axis answers
    std::string encoded = R"({"status":"OK","ErrorCode":"0","ErrorDesc":"","data":")";
    std::vector<char> buf(48 * 1024);
    while (true) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return vdxp_answer(503, "STORE", "the simulator cannot read the envelope");
      encoder.update(std::string_view(buf.data(), static_cast<size_t>(n)), encoded);
      if (n == 0) encoder.finish(encoded);
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
  const std::string status = call->param("status");
  if (!kAllowed.count(status)) return vdxp_answer(400, "STATUS", "unknown status " + status.substr(0, 40));
  const std::string organ = system(call->system_id)->organ_id;
  MutexLock lock(mu_);
  auto it = items_.find(call->param("docId"));
  if (it == items_.end() || it->second.to_organ != organ) return vdxp_answer(404, "NOT_FOUND", "no such document");
  it->second.status = status;
  it->second.updated_time = now_text();
  return vdxp_answer(200, "0", "");
}

// getAgenciesList: the directory file's entries as the answer's data.
Response Simulator::agencies(Request& req) {
  if (auto f = inject_fault("getAgenciesList")) return *f;
  auto call = authenticate(req, {});
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  bj::value data = bj::array{};
  if (!opt_.directory_file.empty()) {
    auto text = fs::read_file(opt_.directory_file, 512ull << 20);
    if (!text.ok()) return vdxp_answer(503, "DIRECTORY", "the simulator cannot read its directory file");
    auto v = json::parse(*text, 8);
    if (!v.ok() || !v->is_array()) return vdxp_answer(503, "DIRECTORY", "the directory file is not a JSON array");
    data = std::move(*v);
  }
  bj::object answer;
  answer["status"] = "OK";
  answer["ErrorCode"] = "0";
  answer["ErrorDesc"] = "";
  answer["data"] = std::move(data);
  return Response::json(200, answer);
}

Response Simulator::count(Request& req) {
  if (auto f = inject_fault("countReceiveEdoc")) return *f;
  auto call = authenticate(req, {});
  if (!call.ok()) return vdxp_answer(401, call.error().code, call.error().message);
  const std::string organ = system(call->system_id)->organ_id;
  size_t n = 0;
  {
    MutexLock lock(mu_);
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
  if (const auto* c = o.if_contains("count"); c && c->is_int64())
    f.remaining = static_cast<int>(c->get_int64());
  else
    f.remaining = -1;
  if (const auto* c = o.if_contains("call"); c && c->is_string()) f.call = c->get_string();
  if (const auto* c = o.if_contains("system"); c && c->is_string()) f.system = c->get_string();
  if (const auto* d = o.if_contains("delay_ms"); d && d->is_int64())
    f.delay_ms = static_cast<int>(std::clamp<int64_t>(d->get_int64(), 0, 600000));
  if (const auto* h = o.if_contains("http_status"); h && h->is_int64()) {
    if (h->get_int64() < 200 || h->get_int64() > 599)
      return Response::problem(400, "sim.fault", "http_status is an HTTP status (200..599)");
    f.http_status = static_cast<unsigned>(h->get_int64());
  }
  {
    MutexLock lock(mu_);
    fault_ = f;
  }
  return Response::json(
      200,
      bj::object{
          {"mode", f.mode}, {"call", f.call}, {"system", f.system}, {"count", f.remaining}, {"delay_ms", f.delay_ms}});
}

Response Simulator::control_items(Request&) {
  bj::array a;
  MutexLock lock(mu_);
  for (const auto& [id, it] : items_) {
    a.push_back(bj::object{{"docId", it.doc_id},
                           {"from", it.from_organ},
                           {"to", it.to_organ},
                           {"messageType", it.message_type},
                           {"status", it.status},
                           {"file", it.file},
                           {"pushAttempts", it.push_attempts}});
  }
  return Response::json(200, a);
}

Response Simulator::control_calls(Request&) {
  bj::object o;
  MutexLock lock(mu_);
  for (const auto& [k, n] : calls_) o[k] = n;
  return Response::json(200, o);
}

Response Simulator::control_requests(Request&) {
  bj::array a;
  MutexLock lock(mu_);
  for (const auto& c : log_) {
    bj::array headers;
    for (const auto& [k, v] : c.headers) headers.push_back(bj::array{bj::value(k), bj::value(v)});
    bj::object o{{"call", c.call},
                 {"method", c.method},
                 {"headers", std::move(headers)},
                 {"bodyBytes", c.body_bytes},
                 {"bodyEndsWithCrlf", c.body_ends_crlf},
                 {"status", c.status}};
    if (c.body_bytes >= 0 && static_cast<size_t>(c.body_bytes) == c.body.size()) o["body"] = c.body;
    a.push_back(std::move(o));
  }
  return Response::json(200, a);
}

bool Simulator::push(const Item& item) {
  const SystemEntry* to = organ(item.to_organ);
  if (!to || to->push_url.empty()) return false;
  auto client = gateway::HttpsClient::create(to->push_url, opt_.push_client);
  auto hash = gateway::vdxp::hash_file_hex(item.file);
  if (!client.ok() || !hash.ok()) return false;
  // As an SDK client sends it: from, servicetype, messagetype, hash-file; no
  // `to`; the file followed by CRLF; the one timestamp of this process.
  auto headers = gateway::vdxp::sign(
      {{"from", item.from_organ}, {"servicetype", "eDoc"}, {"messagetype", item.message_type}, {"hash-file", *hash}},
      gateway::vdxp::kContentTypeFile, to->system_id, *to->secret, push_timestamp_);
  if (!headers.ok()) return false;
  gateway::ClientRequest req;
  req.path = "/vdxp/sendEdoc";
  req.body_file = item.file;
  req.body_file_suffix = std::string(gateway::vdxp::kFileTrailer);
  req.content_type = std::string(gateway::vdxp::kContentTypeFile);
  for (auto& h : *headers) req.headers.emplace_back(h.name, h.value);
  auto resp = client->send(req);
  if (!resp.ok() || (resp->status != 200 && resp->status != 201)) {
    log::warn("sim: push failed",
              {{"doc_id", item.doc_id},
               {"error", resp.ok() ? "HTTP " + std::to_string(resp->status) : resp.error().message}});
    return false;
  }
  auto v = json::parse(resp->body, 4);
  return v.ok() && gateway::check_vdxp_answer(*v).ok();
}

void Simulator::push_loop() {
  MutexLock lock(mu_);
  while (true) {
    if (stop_) return;
    if (push_queue_.empty()) {
      lock.wait(cv_);
      continue;
    }
    // The job due first.
    auto next = std::min_element(push_queue_.begin(), push_queue_.end(),
                                 [](const PushJob& a, const PushJob& b) { return a.due < b.due; });
    if (next->due > std::chrono::steady_clock::now()) {
      lock.wait_until(cv_, next->due);
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
