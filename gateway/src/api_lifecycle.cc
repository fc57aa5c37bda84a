#include "api_lifecycle.h"

#include "api_common.h"

#include "edxgate/store/json.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "edxgate/base/json.h"
#include "edxgate/base/log.h"

namespace edxgate::gateway {

namespace bj = json::bj;
using store::Direction;
using store::DocumentId;
using workflow::LifecycleRequest;
using workflow::Submission;
using workflow::Submitted;

namespace {

constexpr std::string_view kMarkers[] = {"recall_requested", "revoked",    "recall_refused", "updated",
                                         "replaced",         "revocation", "update",         "replacement"};

std::string string_of(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string media_type(const Request& req) {
  const std::string ct = req.headers.get("Content-Type").value_or("");
  std::string media = ct.substr(0, ct.find(';'));
  std::transform(media.begin(), media.end(), media.begin(), [](unsigned char ch) { return std::tolower(ch); });
  while (!media.empty() && media.back() == ' ') media.pop_back();
  return media;
}

class LifecycleApi {
 public:
  LifecycleApi(workflow::Engine& e, store::Store& s, ApiOptions o) : engine_(e), store_(s), opt_(std::move(o)) {}

  Response revoke(Request& req, const Caller& c, const PathParams& p) {
    auto key = idempotency_key(req);
    if (!key.ok()) return error_response(key.error());
    auto d = original(c, p);
    if (!d.ok()) return error_response(d.error());
    auto text = req.body.read_all(64 * 1024);
    if (!text.ok()) return error_response(text.error());
    auto v = json::parse(*text);
    if (!v.ok() || !v->is_object()) return Response::problem(400, "api.json", "the body must be a JSON object");
    const bj::object& o = v->as_object();
    LifecycleRequest r = request_from(o, c);
    r.idempotency_key = *key;
    auto made = engine_.revoke(d->id, r);
    return answer(made, d->id);
  }

  Response update(Request& req, const Caller& c, const PathParams& p) {
    auto key = idempotency_key(req);
    if (!key.ok()) return error_response(key.error());
    auto d = original(c, p);
    if (!d.ok()) return error_response(d.error());
    const std::string media = media_type(req);
    bj::object changes;
    std::vector<std::string> files, names;
    LifecycleRequest r;
    if (media == "application/json") {
      auto text = req.body.read_all(opt_.max_json_bytes);
      if (!text.ok()) return error_response(text.error());
      auto v = json::parse(*text);
      if (!v.ok() || !v->is_object()) return Response::problem(400, "api.json", "the body must be a JSON object");
      r = request_from(v->as_object(), c);
      if (const auto* ch = v->as_object().if_contains("changes")) {
        if (!ch->is_object()) return Response::problem(400, "api.changes", "\"changes\" must be an object");
        changes = ch->as_object();
      }
    } else if (media == "multipart/form-data") {
      auto form =
          parse_multipart(req.body, req.headers.get("Content-Type").value_or(""), opt_.spool_dir, opt_.multipart);
      if (!form.ok()) return error_response(form.error());
      r = request_from(*form, c);
      if (const MultipartPart* ch = form->field("changes"); ch && !ch->is_file()) {
        auto v = json::parse(ch->value);
        if (!v.ok() || !v->is_object())
          return Response::problem(400, "api.changes", "\"changes\" must be a JSON object");
        changes = v->as_object();
      }
      for (size_t i = 0; i < form->parts.size(); ++i) {
        const MultipartPart& part = form->parts[i];
        if (part.name == "attachment" && part.is_file()) {
          names.push_back(part.filename);
          files.push_back(form->take_file(i));
        } else if (!known_field(part.name, "changes")) {
          for (const auto& f : files) (void)std::remove(f.c_str());  // best effort: the request is refused
          return Response::problem(400, "api.form", "unexpected form part '" + part.name + "'");
        }
      }
    } else {
      return Response::problem(415, "api.content_type", "send application/json or multipart/form-data");
    }
    r.idempotency_key = *key;
    auto made = engine_.update(d->id, r, changes, std::move(files), std::move(names));
    return answer(made, d->id);
  }

  Response replace(Request& req, const Caller& c, const PathParams& p) {
    auto key = idempotency_key(req);
    if (!key.ok()) return error_response(key.error());
    auto d = original(c, p);
    if (!d.ok()) return error_response(d.error());
    if (media_type(req) != "multipart/form-data") {
      return Response::problem(415, "api.content_type",
                               "send multipart/form-data (reason, metadata, attachment files)");
    }
    auto form = parse_multipart(req.body, req.headers.get("Content-Type").value_or(""), opt_.spool_dir, opt_.multipart);
    if (!form.ok()) return error_response(form.error());
    const MultipartPart* meta = form->field("metadata");
    if (!meta || meta->is_file()) {
      return Response::problem(400, "api.metadata",
                               "the form needs a \"metadata\" field holding the new document's header JSON");
    }
    auto header = json::parse(meta->value);
    if (!header.ok()) return Response::problem(422, "json.syntax", "metadata: " + header.error().message);
    Submission s;
    s.header = std::move(*header);
    for (size_t i = 0; i < form->parts.size(); ++i) {
      const MultipartPart& part = form->parts[i];
      if (part.name == "attachment" && part.is_file()) {
        s.names.push_back(part.filename);
        s.files.push_back(form->take_file(i));
      } else if (!known_field(part.name, "metadata")) {
        for (const auto& f : s.files) (void)std::remove(f.c_str());  // best effort: the request is refused
        return Response::problem(400, "api.form", "unexpected form part '" + part.name + "'");
      }
    }
    LifecycleRequest r = request_from(*form, c);
    r.idempotency_key = *key;
    auto made = engine_.replace(d->id, r, std::move(s));
    return answer(made, d->id);
  }

 private:
  static bool known_field(const std::string& name, std::string_view own) {
    return name == own || name == "reason" || name == "staff" || name == "department";
  }

  // The original: an outgoing document sent as one of the caller's organs
  // (any other does not exist for it).
  Result<store::Document> original(const Caller& c, const PathParams& p) {
    auto it = p.find("id");
    DocumentId id = 0;
    if (it != p.end() && !it->second.empty() && it->second.size() <= 18) {
      auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), id);
      if (ec != std::errc() || end != it->second.data() + it->second.size()) id = 0;
    }
    if (id <= 0) return make_error(ErrorKind::not_found, "store.not_found", "no such document");
    auto d = store_.get_document(id);
    if (!d.ok()) return d.error();
    if (d->direction != Direction::outgoing ||
        std::find(c.organ_ids.begin(), c.organ_ids.end(), d->sender) == c.organ_ids.end()) {
      return make_error(ErrorKind::not_found, "store.not_found", "no outgoing document " + std::to_string(id));
    }
    return d;
  }

  static LifecycleRequest base_request(const Caller& c) {
    LifecycleRequest r;
    r.submitter = c.name;
    r.allowed_senders = c.organ_ids;
    return r;
  }

  static LifecycleRequest request_from(const bj::object& o, const Caller& c) {
    LifecycleRequest r = base_request(c);
    r.reason = string_of(o, "reason");
    if (const auto* s = o.if_contains("staff"); s && s->is_object()) {
      r.staff = string_of(s->as_object(), "name");
      r.department = string_of(s->as_object(), "department");
    }
    return r;
  }

  static LifecycleRequest request_from(const MultipartForm& form, const Caller& c) {
    LifecycleRequest r = base_request(c);
    auto text = [&](std::string_view name) {
      const MultipartPart* f = form.field(name);
      return f && !f->is_file() ? f->value : std::string();
    };
    r.reason = text("reason");
    r.staff = text("staff");
    r.department = text("department");
    return r;
  }

  static Response answer(const Result<Submitted>& r, DocumentId original) {
    if (!r.ok()) return error_response(r.error());
    Response resp = Response::json(202, bj::object{{"id", std::to_string(r->id)},
                                                   {"state", std::string(store::state_name(r->state))},
                                                   {"original", std::to_string(original)},
                                                   {"existing", r->existing}});
    resp.headers.add("Location", "/v1/outgoing/" + std::to_string(r->id));
    return resp;
  }

  workflow::Engine& engine_;
  store::Store& store_;
  ApiOptions opt_;
};

}  // namespace

bool is_lifecycle_marker(std::string_view marker) {
  return std::find(std::begin(kMarkers), std::end(kMarkers), marker) != std::end(kMarkers);
}

void add_lifecycle_routes(const std::function<void(Route)>& add, workflow::Engine& engine, store::Store& store,
                          const ApiOptions& options) {
  auto api = std::make_shared<LifecycleApi>(engine, store, options);
  const Access system = Access::only({config::Role::system});
  add({"POST", "/v1/outgoing/{id}/revoke", system,
       [api](Request& q, const Caller& c, const PathParams& p) { return api->revoke(q, c, p); }, 64 * 1024});
  add({"POST", "/v1/outgoing/{id}/update", system,
       [api](Request& q, const Caller& c, const PathParams& p) { return api->update(q, c, p); }});
  add({"POST", "/v1/outgoing/{id}/replace", system,
       [api](Request& q, const Caller& c, const PathParams& p) { return api->replace(q, c, p); }});
}

}  // namespace edxgate::gateway
