// The VDXP adapter behind AxisTransport (axis.h). Every call builds its
// headers afresh with vdxp::sign, in the SDK's dialect; every answer is
// parsed strictly, except getEdoc's base64, read as leniently as the SDK.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json/basic_parser_impl.hpp>

#include <cstdio>
#include <filesystem>

#include "edxgate/base/base64.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/gateway/axis.h"
#include "edxgate/gateway/vdxp.h"

namespace edxgate::gateway {

std::string_view axis_message_type_name(AxisMessageType t) {
  switch (t) {
    case AxisMessageType::edoc:
      return "edoc";
    case AxisMessageType::status:
      return "status";
  }
  return "edoc";
}

std::string_view axis_item_status_name(AxisItemStatus s) {
  switch (s) {
    case AxisItemStatus::processing:
      return "processing";
    case AxisItemStatus::done:
      return "done";
    case AxisItemStatus::fail:
      return "fail";
  }
  return "fail";
}

namespace {

namespace bj = json::bj;

// A scalar field as text ("" when absent); numbers are accepted where the
// axis may send them, anything else is malformed.
Result<std::string> text_field(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::string();
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return make_error(ErrorKind::unavailable, "axis.malformed", "the axis answer's " + std::string(key) + " is not text");
}

Status check_code(std::string_view status, std::string_view code, std::string_view desc) {
  if (status == "OK" && (code == "0" || code.empty())) return {};
  std::string why = desc.empty() ? "no reason given" : std::string(desc.substr(0, 300));
  return make_error(ErrorKind::invalid, "axis.refused",
                    "the axis refused the call (status " + std::string(status.substr(0, 20)) + ", ErrorCode " +
                        std::string(code.substr(0, 20)) + "): " + why);
}

// getEdoc's `data` read as the axis SDK reads it: every byte outside the
// alphabet skipped, the first '=' ends the data (what follows is ignored), and
// the last quantum may come without its padding. Base's lenient decoder does
// the decoding; this only cuts the text at the first '=' and pads the last
// quantum.
class SdkLenientBase64 {
 public:
  bool update(std::string_view in, std::string& out) {
    if (ended_) return true;
    if (const size_t eq = in.find('='); eq != std::string_view::npos) {
      in = in.substr(0, eq);
      ended_ = true;
    }
    for (char c : in) chars_ += is_alphabet(c);
    return decoder_.update(in, out);
  }
  // False when a lone character is left (it holds no whole byte).
  bool finish(std::string& out) {
    static constexpr std::string_view kPad[4] = {"", "", "==", "="};
    if (chars_ % 4 == 1) return false;
    return decoder_.update(kPad[chars_ % 4], out) && decoder_.finish(out);
  }

 private:
  static bool is_alphabet(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  }
  base64::Decoder decoder_{base64::Mode::lenient};
  uint64_t chars_ = 0;  // alphabet characters before the first '='
  bool ended_ = false;
};

// SAX handler for the getEdoc answer: decodes the top-level "data" string
// straight into a file and keeps the small status fields.
struct EdocAnswerHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = 256;
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit EdocAnswerHandler(int out_fd) : fd(out_fd) {}

  int fd;
  int depth = 0;
  bool top_is_object = false;
  std::string key;
  std::string status, code, desc;
  bool have_data = false;
  bool bad_base64 = false;
  bool io_failed = false;
  uint64_t decoded = 0;
  uint64_t max_decoded = 0;
  SdkLenientBase64 decoder;
  std::string scratch;
  bool data_open = false;  // inside the "data" string

  bool fail(boost::system::error_code& ec) {
    ec = boost::json::error::syntax;
    return false;
  }
  bool write_out(boost::system::error_code& ec) {
    decoded += scratch.size();
    if (decoded > max_decoded) return fail(ec);
    const char* p = scratch.data();
    size_t n = scratch.size();
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        io_failed = true;
        return fail(ec);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    scratch.clear();
    return true;
  }
  bool begin_value(boost::system::error_code& ec) {
    if (depth == 0) return fail(ec);  // the document must be an object
    return true;
  }
  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    if (depth == 0) top_is_object = true;
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    --depth;
    return true;
  }
  bool on_array_begin(boost::system::error_code& ec) {
    if (!begin_value(ec)) return false;
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, boost::system::error_code&) {
    --depth;
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    if (depth == 1) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    if (depth == 1) {
      key.append(s.data(), s.size());
      current = key;
      key.clear();
    }
    return true;
  }
  std::string current;
  std::string* target_for_key() {
    if (current == "status") return &status;
    if (current == "ErrorCode") return &code;
    if (current == "ErrorDesc") return &desc;
    return nullptr;
  }
  bool string_piece(boost::json::string_view s, bool last, boost::system::error_code& ec) {
    if (depth != 1) return true;
    if (current == "data") {
      if (!data_open) {
        if (have_data) return fail(ec);  // "data" twice
        have_data = data_open = true;
      }
      if (last) data_open = false;
      if (!decoder.update(std::string_view(s.data(), s.size()), scratch)) {
        bad_base64 = true;
        return fail(ec);
      }
      if (!write_out(ec)) return false;
      if (last) {
        if (!decoder.finish(scratch)) {
          bad_base64 = true;
          return fail(ec);
        }
        return write_out(ec);
      }
      return true;
    }
    if (std::string* t = target_for_key()) {
      if (t->size() + s.size() > 4096) return fail(ec);
      t->append(s.data(), s.size());
    }
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
    return string_piece(s, false, ec);
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
    return string_piece(s, true, ec);
  }
  bool number(boost::json::string_view text, boost::system::error_code& ec) {
    if (depth == 1)
      if (std::string* t = target_for_key()) t->assign(text.data(), text.size());
    return begin_value(ec);
  }
  bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(int64_t, boost::json::string_view s, boost::system::error_code& ec) { return number(s, ec); }
  bool on_uint64(uint64_t, boost::json::string_view s, boost::system::error_code& ec) { return number(s, ec); }
  bool on_double(double, boost::json::string_view s, boost::system::error_code& ec) { return number(s, ec); }
  bool on_bool(bool, boost::system::error_code& ec) { return begin_value(ec); }
  bool on_null(boost::system::error_code& ec) { return begin_value(ec); }
  bool on_comment_part(boost::json::string_view, boost::system::error_code& ec) { return fail(ec); }
  bool on_comment(boost::json::string_view, boost::system::error_code& ec) { return fail(ec); }
};

// Removes a file when it goes out of scope unless released.
struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

class VdxpTransport final : public AxisTransport {
 public:
  VdxpTransport(VdxpOptions o, HttpsClient c) : opt_(std::move(o)), client_(std::move(c)) {}

  Result<std::string> send_envelope(const std::string& file, const std::vector<std::string>& to,
                                    AxisMessageType type) override {
    if (to.empty())
      return make_error(ErrorKind::invalid, "axis.param", "an envelope needs at least one recipient organ id");
    auto hash = vdxp::hash_file_hex(file);
    if (!hash.ok()) return hash.error();
    Body body;
    body.file = file;
    body.bytes = std::string(vdxp::kFileTrailer);
    auto answer = call("sendEdoc",
                       {{"from", opt_.organ_id},
                        {"servicetype", "eDoc"},
                        {"messagetype", std::string(axis_message_type_name(type))},
                        {"hash-file", *hash}},
                       vdxp::kContentTypeFile, body);
    if (!answer.ok()) return answer.error();
    const auto& o = answer->get_object();
    auto id = text_field(o, "DocId");
    if (!id.ok()) return id.error();
    if (id->empty())
      return make_error(ErrorKind::unavailable, "axis.malformed", "the axis accepted the envelope but gave no DocId");
    return *id;
  }

  Result<std::string> send_status(const std::string& file, const std::vector<std::string>& to) override {
    return send_envelope(file, to, AxisMessageType::status);
  }

  Result<std::vector<AxisReceivedItem>> list_received(const AxisListQuery& q) override {
    vdxp::Params params = {{"servicetype", "eDoc"},
                           {"messagetype", std::string(axis_message_type_name(q.message_type))}};
    if (q.page_index) params.emplace_back("pageIndex", std::to_string(q.page_index));
    if (q.page_size) params.emplace_back("pageSize", std::to_string(q.page_size));
    auto answer = call("getReceivedEdocList", params, vdxp::kContentTypeJson, Body{});
    if (!answer.ok()) return answer.error();
    const bj::value* data = answer->get_object().if_contains("data");
    if (!data || !data->is_array())
      return make_error(ErrorKind::unavailable, "axis.malformed", "the axis list answer has no data array");
    std::vector<AxisReceivedItem> items;
    for (const auto& v : data->get_array()) {
      if (!v.is_object())
        return make_error(ErrorKind::unavailable, "axis.malformed", "an entry of the axis list is not an object");
      const auto& o = v.get_object();
      AxisReceivedItem it;
      struct F {
        const char* key;
        std::string AxisReceivedItem::*field;
      };
      static const F kFields[] = {{"docId", &AxisReceivedItem::doc_id},
                                  {"serviceType", &AxisReceivedItem::service_type},
                                  {"messageType", &AxisReceivedItem::message_type},
                                  {"created_time", &AxisReceivedItem::created_time},
                                  {"updated_time", &AxisReceivedItem::updated_time},
                                  {"from", &AxisReceivedItem::from},
                                  {"to", &AxisReceivedItem::to},
                                  {"status", &AxisReceivedItem::status},
                                  {"status_desc", &AxisReceivedItem::status_desc}};
      for (const auto& f : kFields) {
        auto t = text_field(o, f.key);
        if (!t.ok()) return t.error();
        it.*f.field = std::move(*t);
      }
      if (it.doc_id.empty())
        return make_error(ErrorKind::unavailable, "axis.malformed", "an entry of the axis list has no docId");
      items.push_back(std::move(it));
    }
    return items;
  }

  Status get(const std::string& doc_id, const std::string& dest_file) override {
    auto req = request("getEdoc", {{"docId", doc_id}}, vdxp::kContentTypeJson, Body{"", std::string(kEmptyJson)});
    if (!req.ok()) return req.error();
    TempFile spool{opt_.spool_dir + "/getEdoc-" + std::to_string(::getpid()) + "-" +
                   std::to_string(reinterpret_cast<uintptr_t>(&spool)) + "-" +
                   std::to_string(vdxp::Clock::now().time_since_epoch().count())};
    auto resp = client_.send(*req, spool.path);
    if (!resp.ok()) return axis_error(resp.error());
    if (!answered(resp->status))
      return make_error(ErrorKind::unavailable, "axis.http",
                        "the axis answered getEdoc with HTTP " + std::to_string(resp->status));
    return decode_edoc_answer(spool.path, dest_file);
  }

  Status update_status(const std::string& doc_id, AxisItemStatus status) override {
    auto answer = call("updateStatus", {{"status", std::string(axis_item_status_name(status))}, {"docId", doc_id}},
                       vdxp::kContentTypeJson, Body{"", std::string(kEmptyJson)});
    if (!answer.ok()) return answer.error();
    return {};
  }

  // getAgenciesList as the SDK calls it: POST, signed Content-Type
  // application/json and no parameters of its own, no body; the answer's
  // data[] holds code, id, mail, name, pid and oldCode (all text).
  Result<std::vector<AxisAgency>> list_agencies(const AxisDirectoryLimits& limits) override {
    auto req = request("getAgenciesList", {}, vdxp::kContentTypeJson, Body{});
    if (!req.ok()) return req.error();
    ClientOptions co = opt_.client;
    co.max_response_bytes = limits.max_bytes;
    co.keep_alive = false;  // a client for this one call
    auto client = HttpsClient::create(opt_.endpoint, co);
    if (!client.ok()) return client.error();
    auto resp = client->send(*req);
    if (!resp.ok()) {
      if (resp.error().code == "client.too_large")
        return make_error(ErrorKind::too_large, "axis.too_large",
                          "the axis directory answer is larger than " + std::to_string(limits.max_bytes >> 20) +
                              " MB (axis.directory_max_mb); the stored directory is kept");
      return axis_error(resp.error());
    }
    auto parsed = json::parse(resp->body, 8);
    if (!parsed.ok() || !parsed->is_object()) {
      if (!answered(resp->status))
        return make_error(ErrorKind::unavailable, "axis.http",
                          "the axis answered getAgenciesList with HTTP " + std::to_string(resp->status));
      return make_error(ErrorKind::unavailable, "axis.malformed",
                        "the axis answer to getAgenciesList is not a JSON object");
    }
    EDX_TRY(check_vdxp_answer(*parsed));
    const bj::value* data = parsed->get_object().if_contains("data");
    if (!data || !data->is_array())
      return make_error(ErrorKind::unavailable, "axis.malformed", "the axis directory answer has no data array");
    if (data->get_array().size() > limits.max_entries)
      return make_error(ErrorKind::too_large, "axis.too_large",
                        "the axis directory has " + std::to_string(data->get_array().size()) + " entries, more than " +
                            std::to_string(limits.max_entries) +
                            " (axis.directory_max_entries); the stored directory is kept");
    std::vector<AxisAgency> out;
    out.reserve(data->get_array().size());
    for (const auto& v : data->get_array()) {
      if (!v.is_object())
        return make_error(ErrorKind::unavailable, "axis.malformed", "an entry of the axis directory is not an object");
      const auto& o = v.get_object();
      AxisAgency a;
      struct F {
        const char* key;
        std::string AxisAgency::*field;
      };
      static const F kFields[] = {{"code", &AxisAgency::code}, {"name", &AxisAgency::name},
                                  {"id", &AxisAgency::id},     {"pid", &AxisAgency::pid},
                                  {"mail", &AxisAgency::mail}, {"oldCode", &AxisAgency::old_code}};
      for (const auto& f : kFields) {
        auto t = text_field(o, f.key);
        if (!t.ok()) return t.error();
        a.*f.field = std::move(*t);
      }
      out.push_back(std::move(a));
    }
    return out;
  }

 private:
  static Error axis_error(const Error& e) {
    return make_error(ErrorKind::unavailable, e.code == "client.timeout" ? "axis.timeout" : "axis.unreachable",
                      e.message);
  }

  static constexpr std::string_view kEmptyJson = "{}";

  // A request body as the SDK sends it: a file followed by `bytes`, or
  // `bytes` alone when there is no file.
  struct Body {
    std::string file;
    std::string bytes;
  };

  // The SDK reads an answer on 200 and 201 alike.
  static bool answered(unsigned http_status) { return http_status == 200 || http_status == 201; }

  // A 4xx (but 408 timeout, 429 too many) says the call itself is refused:
  // a permanent refusal (workflow::is_permanent_refusal); the rest is transient.
  static Error http_error(const char* name, unsigned http_status) {
    const bool refused = http_status >= 400 && http_status < 500 && http_status != 408 && http_status != 429;
    return make_error(refused ? ErrorKind::invalid : ErrorKind::unavailable, refused ? "axis.rejected" : "axis.http",
                      std::string("the axis answered ") + name + " with HTTP " + std::to_string(http_status));
  }

  // One request: fresh signed headers and the body.
  Result<ClientRequest> request(const char* name, const vdxp::Params& params, std::string_view content_type,
                                const Body& body) const {
    auto headers = vdxp::sign(params, content_type, opt_.system_id, *opt_.secret, vdxp::Clock::now());
    if (!headers.ok()) return headers.error();
    ClientRequest req;
    req.path = std::string("/") + name;
    // Every call but sendEdoc may be repeated without effect (reads, a status
    // set to what it already is): those may be re-sent when a kept-alive
    // connection dies under them. A sendEdoc is never re-sent by the client;
    // the outbox retries it with its backoff.
    req.idempotent = std::string_view(name) != "sendEdoc";
    req.content_type = std::string(content_type);
    for (auto& h : *headers) req.headers.emplace_back(std::move(h.name), std::move(h.value));
    if (body.file.empty()) {
      req.body = body.bytes;
    } else {
      req.body_file = body.file;
      req.body_file_suffix = body.bytes;
    }
    return req;
  }

  // One call whose JSON answer must be an object with an OK status.
  Result<bj::value> call(const char* name, const vdxp::Params& params, std::string_view content_type,
                         const Body& body) {
    auto req = request(name, params, content_type, body);
    if (!req.ok()) return req.error();
    auto resp = client_.send(*req);
    if (!resp.ok()) return axis_error(resp.error());
    auto parsed = json::parse(resp->body, 8);
    if (!parsed.ok() || !parsed->is_object()) {
      if (!answered(resp->status)) return http_error(name, resp->status);
      return make_error(ErrorKind::unavailable, "axis.malformed",
                        std::string("the axis answer to ") + name + " is not a JSON object");
    }
    if (Status refused = check_vdxp_answer(*parsed); !refused.ok()) {
      // A refusal under a 5xx (or 408/429) is the axis unable to serve now,
      // not a verdict on the call: transient (same code, kind unavailable).
      if (!answered(resp->status) && http_error(name, resp->status).kind == ErrorKind::unavailable) {
        return make_error(ErrorKind::unavailable, refused.error().code, refused.error().message);
      }
      return refused.error();
    }
    if (!answered(resp->status)) return http_error(name, resp->status);
    return parsed;
  }

  Status decode_edoc_answer(const std::string& spool, const std::string& dest) {
    auto out = fs::AtomicFile::create(std::filesystem::path(dest).parent_path().string());
    if (!out.ok()) return out.error();
    fs::UniqueFd in(::open(spool.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) return make_error(ErrorKind::unavailable, "axis.io", "cannot reopen the spooled getEdoc answer");
    boost::json::basic_parser<EdocAnswerHandler> parser(boost::json::parse_options{}, out->fd());
    parser.handler().max_decoded = opt_.max_envelope_bytes;
    std::vector<char> buf(1 << 16);
    boost::system::error_code ec;
    while (true) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return make_error(ErrorKind::unavailable, "axis.io", "cannot read the spooled getEdoc answer");
      parser.write_some(n > 0, buf.data(), static_cast<size_t>(n), ec);
      if (ec || n == 0) break;
    }
    const auto& h = parser.handler();
    if (h.io_failed)
      return make_error(ErrorKind::unavailable, "axis.io", "cannot write the fetched envelope to " + dest);
    if (h.decoded > opt_.max_envelope_bytes)
      return make_error(ErrorKind::too_large, "axis.too_large", "the fetched envelope is larger than allowed");
    if (h.bad_base64)
      return make_error(ErrorKind::unavailable, "axis.malformed", "the getEdoc answer's data is not valid base64");
    if (ec || !parser.done() || !h.top_is_object)
      return make_error(ErrorKind::unavailable, "axis.malformed", "the getEdoc answer is not a JSON object");
    EDX_TRY(check_code(h.status, h.code, h.desc));
    if (!h.have_data) return make_error(ErrorKind::unavailable, "axis.malformed", "the getEdoc answer has no data");
    return out->commit(std::filesystem::path(dest).filename().string());
  }

  VdxpOptions opt_;
  HttpsClient client_;
};

}  // namespace

Status check_vdxp_answer(const bj::value& answer) {
  if (!answer.is_object())
    return make_error(ErrorKind::unavailable, "axis.malformed", "the axis answer is not a JSON object");
  const auto& o = answer.get_object();
  auto status = text_field(o, "status");
  auto code = text_field(o, "ErrorCode");
  auto desc = text_field(o, "ErrorDesc");
  if (!status.ok()) return status.error();
  if (!code.ok()) return code.error();
  if (!desc.ok()) return desc.error();
  if (status->empty()) return make_error(ErrorKind::unavailable, "axis.malformed", "the axis answer has no status");
  return check_code(*status, *code, *desc);
}

Result<std::unique_ptr<AxisTransport>> make_vdxp_transport(VdxpOptions options) {
  if (options.system_id.empty() || !options.secret || options.secret->empty())
    return make_error(ErrorKind::usage, "axis.config", "the axis adapter needs a system id and its secret");
  auto client = HttpsClient::create(options.endpoint, options.client);
  if (!client.ok()) return client.error();
  return std::unique_ptr<AxisTransport>(new VdxpTransport(std::move(options), std::move(*client)));
}

}  // namespace edxgate::gateway
