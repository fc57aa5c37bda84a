#include "edxgate/gateway/push_endpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/base/log.h"
#include "ossl.h"

namespace edxgate::gateway {
namespace {

Result<std::string> sha256_file_hex(const std::string& path) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error("io.open", "cannot open a delivered envelope");
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("io.read", "cannot read a delivered envelope");
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
  }
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), d, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[d[i] >> 4];
    out += kHex[d[i] & 15];
  }
  return out;
}

}  // namespace

Response vdxp_answer(unsigned http_status, std::string_view error_code, std::string_view desc,
                     std::string_view doc_id) {
  json::bj::object o;
  o["status"] = error_code == "0" ? "OK" : "FAIL";
  o["ErrorCode"] = std::string(error_code);
  o["ErrorDesc"] = std::string(desc);
  if (!doc_id.empty()) o["DocId"] = std::string(doc_id);
  return Response::json(http_status, o);
}

Result<std::string> SpoolSink::accept(IncomingDelivery& d) {
  EDX_TRY(fs::make_dirs(dir_));
  auto id = sha256_file_hex(d.file);
  if (!id.ok()) return id.error();
  const std::string final_path = dir_ + "/" + *id + ".edxml";
  if (::access(final_path.c_str(), F_OK) == 0) return *id;  // already stored: once
  {
    fs::UniqueFd fd(::open(d.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || ::fsync(fd.get()) != 0) return make_error("io.sync", "cannot sync a delivered envelope");
  }
  json::bj::object meta;
  meta["message_type"] = d.message_type;
  meta["from"] = d.from;
  meta["system_id"] = d.system_id;
  meta["size"] = d.size;
  EDX_TRY(fs::write_file_atomic(dir_ + "/" + *id + ".json", json::bj::serialize(meta)));
  if (::rename(d.file.c_str(), final_path.c_str()) != 0)
    return make_error("io.rename", "cannot move a delivered envelope into the incoming directory");
  EDX_TRY(fs::fsync_dir(dir_));
  return *id;
}

PushEndpoint::PushEndpoint(PushEndpointOptions options, IncomingSink& sink)
    : opt_(std::move(options)), sink_(sink), guard_(opt_.replay_window) {}

void PushEndpoint::add_routes(Router& router) {
  router.add({"POST", "/vdxp/sendEdoc", Access::only({config::Role::axis}),
              [this](Request& req, const Caller&, const PathParams&) { return handle(req); },
              opt_.max_envelope_bytes});
}

Response PushEndpoint::handle(Request& req) {
  auto call = vdxp::verify(
      [&req](std::string_view n) { return req.headers.get(n); },
      [this](std::string_view id) -> const SecretString* {
        return id == opt_.system_id ? opt_.secret.get() : nullptr;
      },
      {"messagetype", "hash-file"}, guard_, vdxp::Clock::now());
  if (!call.ok()) {
    log::warn("axis delivery refused", {{"reason", call.error().code}, {"peer", req.remote_address}});
    return vdxp_answer(401, call.error().code, call.error().message);
  }
  auto param = [&](const char* k) {
    auto it = call->params.find(k);
    return it == call->params.end() ? std::string() : it->second;
  };
  if (req.body.size() == 0) return vdxp_answer(400, "vdxp.empty", "the delivery has no envelope");
  IncomingDelivery d;
  d.size = req.body.size();
  d.message_type = param("messagetype");
  d.from = param("from");
  d.system_id = call->system_id;
  std::string temp;
  if (req.body.in_file()) {
    temp = req.body.take_file();
  } else {
    temp = opt_.spool_dir + "/push-XXXXXX";
    int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0) return vdxp_answer(503, "io.spool", "cannot spool the delivery; retry later");
    fs::UniqueFd guard(fd);
    const std::string& m = req.body.memory();
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
  auto hash = vdxp::hash_file_hex(temp);
  if (!hash.ok() || *hash != param("hash-file"))
    return vdxp_answer(400, "vdxp.hash_file", "the envelope does not match the signed hash-file");
  auto id = sink_.accept(d);
  if (!id.ok()) {
    log::error("cannot store an axis delivery", {{"error", id.error().message}});
    return vdxp_answer(503, id.error().code, "the delivery could not be stored; retry later");
  }
  log::info("axis delivery stored", {{"id", *id}, {"from", d.from}, {"type", d.message_type}});
  return vdxp_answer(200, "0", "", *id);
}

}  // namespace edxgate::gateway
