#include "edxgate/gateway/push_endpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "edxgate/base/digest.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/base/log.h"

namespace edxgate::gateway {

Response vdxp_answer(unsigned http_status, std::string_view error_code, std::string_view desc,
                     std::string_view doc_id) {
  json::bj::object o;
  o["status"] = error_code == "0" ? "OK" : "FAIL";
  o["ErrorCode"] = std::string(error_code);
  o["ErrorDesc"] = std::string(desc);
  if (!doc_id.empty()) o["DocId"] = std::string(doc_id);
  return Response::json(http_status, o);
}

Result<std::string> EngineSink::accept(IncomingDelivery& d) {
  auto r = engine_.accept(d);
  if (!r.ok()) return r.error();
  const std::string id = std::to_string(r->document);
  return r->kind == workflow::Accepted::Kind::status_message ? "status:" + id : id;
}

Result<std::string> SpoolSink::accept(IncomingDelivery& d) {
  EDX_TRY(fs::make_dirs(dir_));
  auto id = sha256_file_hex(d.file);
  if (!id.ok()) return id.error();
  const std::string final_path = dir_ + "/" + *id + ".edxml";
  if (::access(final_path.c_str(), F_OK) == 0) return *id;  // already stored: once
  {
    fs::UniqueFd fd(::open(d.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || ::fsync(fd.get()) != 0)
      return make_error(ErrorKind::io, "io.sync", "cannot sync a delivered envelope");
  }
  json::bj::object meta;
  meta["message_type"] = d.message_type;
  meta["from"] = d.from;
  meta["system_id"] = d.system_id;
  meta["size"] = d.size;
  EDX_TRY(fs::write_file_atomic(dir_ + "/" + *id + ".json", json::bj::serialize(meta)));
  if (::rename(d.file.c_str(), final_path.c_str()) != 0)
    return make_error(ErrorKind::io, "io.rename", "cannot move a delivered envelope into the incoming directory");
  EDX_TRY(fs::fsync_dir(dir_));
  return *id;
}

PushEndpoint::PushEndpoint(PushEndpointOptions options, IncomingSink& sink) : opt_(std::move(options)), sink_(sink) {}

void PushEndpoint::add_routes(Router& router) {
  Route r{"POST", "/vdxp/sendEdoc", Access::only({config::Role::axis}),
          [this](Request& req, const Caller&, const PathParams&) { return handle(req); }, opt_.max_envelope_bytes};
  r.check_head = [this](const Request& head, const Caller&) { return check_head(head); };
  router.add(std::move(r));
}

Result<vdxp::VerifiedCall> PushEndpoint::authenticate(const Request& req) const {
  vdxp::VerifyOptions vo;
  vo.timestamp_window = opt_.timestamp_window;
  return vdxp::verify(
      [&req](std::string_view n) { return req.headers.get(n); },
      [this](std::string_view id) -> const SecretString* { return id == opt_.system_id ? opt_.secret.get() : nullptr; },
      {"messagetype", "from", "hash-file"}, vo, vdxp::Clock::now());
}

std::optional<Response> PushEndpoint::check_head(const Request& head) const {
  auto call = authenticate(head);
  if (call.ok()) return std::nullopt;
  log::warn("axis delivery refused", {{"reason", call.error().code}, {"peer", head.remote_address}});
  return vdxp_answer(401, call.error().code, call.error().message);
}

Response PushEndpoint::handle(Request& req) {
  // Checked again on the whole request: cheap, and the handler stands alone.
  auto call = authenticate(req);
  if (!call.ok()) {
    log::warn("axis delivery refused", {{"reason", call.error().code}, {"peer", req.remote_address}});
    return vdxp_answer(401, call.error().code, call.error().message);
  }
  if (req.body.size() == 0) return vdxp_answer(400, "vdxp.empty", "the delivery has no envelope");
  // The sender organ is what the envelope's From is checked against.
  if (call->param("from").empty()) return vdxp_answer(400, "vdxp.from", "the delivery has no from header");
  const std::string hash_file = call->param("hash-file");
  auto sent = req.body.in_file() ? vdxp::match_sent_file(req.body.path(), hash_file)
                                 : vdxp::match_sent_bytes(req.body.memory(), hash_file);
  if (!sent.ok()) {
    if (sent.error().code != "vdxp.hash_file") {
      log::error("cannot hash an axis delivery", {{"error", sent.error().message}});
      return vdxp_answer(503, "io.spool", "cannot read the delivery; retry later");
    }
    log::warn("axis delivery refused", {{"reason", sent.error().code}, {"peer", req.remote_address}});
    return vdxp_answer(400, sent.error().code, "the envelope does not match the signed hash-file");
  }
  IncomingDelivery d;
  d.size = sent->size;
  d.sha256 = sent->sha256_hex;
  d.message_type = call->param("messagetype");
  d.from = call->param("from");
  d.system_id = call->system_id;
  std::string temp;
  if (req.body.in_file()) {
    temp = req.body.take_file();
    // The SDK's CRLF after the file is not part of it.
    if (sent->size != req.body.size() && ::truncate(temp.c_str(), static_cast<off_t>(sent->size)) != 0) {
      ::unlink(temp.c_str());
      return vdxp_answer(503, "io.spool", "cannot spool the delivery; retry later");
    }
  } else {
    temp = opt_.spool_dir + "/push-XXXXXX";
    int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) return vdxp_answer(503, "io.spool", "cannot spool the delivery; retry later");
    fs::UniqueFd guard(fd);
    const std::string_view m = std::string_view(req.body.memory()).substr(0, sent->size);
    if (::write(fd, m.data(), m.size()) != static_cast<ssize_t>(m.size())) {
      ::unlink(temp.c_str());
      return vdxp_answer(503, "io.spool", "cannot spool the delivery; retry later");
    }
  }
  d.file = temp;
  struct Cleanup {
    std::string p;
    ~Cleanup() { ::unlink(p.c_str()); }  // harmless after a rename
  } cleanup{temp};
  auto id = sink_.accept(d);
  if (!id.ok()) {
    // What the engine refuses for its content (a status message about an
    // unknown document, from the wrong sender, with a bad signature) is
    // final: answered 422 so that the axis does not retry it. Our own
    // trouble (disk, store) is 503: the axis retries.
    const unsigned status = http_status(id.error().kind);
    if (status != 500 && status != 503) {
      log::warn("axis delivery refused", {{"reason", id.error().code}, {"from", d.from}});
      return vdxp_answer(422, id.error().code, id.error().message);
    }
    log::error("cannot store an axis delivery", {{"error", id.error().message}});
    return vdxp_answer(503, id.error().code, "the delivery could not be stored; retry later");
  }
  log::info("axis delivery stored", {{"id", *id}, {"from", d.from}, {"type", d.message_type}});
  return vdxp_answer(200, "0", "", *id);
}

}  // namespace edxgate::gateway
