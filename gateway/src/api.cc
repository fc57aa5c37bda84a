#include "edxgate/gateway/api.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "api_common.h"
#include "api_lifecycle.h"
#include "api_outbox.h"
#include "edxgate/base/base64.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/base/log.h"
#include "edxgate/crypto/signer.h"
#include "edxgate/edxml/pack.h"
#include "edxgate/store/json.h"
#include "remote_signers.h"

namespace edxgate::gateway {

namespace bj = json::bj;
using store::Direction;
using store::DocumentId;
using store::State;
using workflow::Engine;
using workflow::ProcessingReport;
using workflow::Submission;
using workflow::Submitted;

namespace {

std::optional<DocumentId> parse_id(const PathParams& p) {
  auto it = p.find("id");
  if (it == p.end() || it->second.empty() || it->second.size() > 18) return std::nullopt;
  DocumentId id = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), id);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || id <= 0) return std::nullopt;
  return id;
}

Result<std::string> decode_base64(std::string_view text, bool url) {
  std::string in(text);
  if (url) {
    for (char& c : in) {
      if (c == '-') c = '+';
      if (c == '_') c = '/';
    }
    while (in.size() % 4 != 0) in.push_back('=');
  }
  std::string out;
  if (!base64::decode(in, out)) return make_error(ErrorKind::malformed, "api.base64", "the value is not valid base64");
  return out;
}

Result<bj::object> parse_json_body(Request& req, uint64_t max) {
  auto text = req.body.read_all(max);
  if (!text.ok()) return text.error();
  auto v = json::parse(*text);
  if (!v.ok()) return make_error(ErrorKind::malformed, "api.json", "the body is not valid JSON: " + v.error().message);
  if (!v->is_object()) return make_error(ErrorKind::malformed, "api.json", "the body must be a JSON object");
  return v->as_object();
}

std::optional<std::string> string_field(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().as_string());
}

// A system acts only within its organ ids: the incoming documents addressed
// to one of them (verified ones: quarantined are for officers) and the
// outgoing documents it submitted itself. `d` must be a full document
// (get_document: recipients filled).
bool may_see(const Caller& c, const store::Document& d) {
  if (!c.role || *c.role != config::Role::system) return true;  // officers, leaders: the route decides
  auto ours = [&](const std::string& organ) {
    return std::find(c.organ_ids.begin(), c.organ_ids.end(), organ) != c.organ_ids.end();
  };
  if (d.direction == Direction::incoming) {
    return d.state != State::quarantined && d.state != State::received &&
           std::any_of(d.recipients.begin(), d.recipients.end(), ours);
  }
  return d.submitter == c.name && ours(d.sender);
}

// Leaders read only what they are asked to sign (signing itself goes through
// load(), so that signing twice is a 409, not a 404).
bool may_read(const Caller& c, const store::Document& d) {
  if (!c.role || *c.role != config::Role::leader) return may_see(c, d);
  return d.direction == Direction::outgoing && d.state == State::pending_signature;
}

// Loads a document of `direction` the caller may see; 404 otherwise (a
// document the caller may not see does not exist for it).
Result<store::Document> load(store::Store& store, const PathParams& p, Direction direction, const Caller& c) {
  auto id = parse_id(p);
  if (!id) return make_error(ErrorKind::not_found, "store.not_found", "no such document");
  auto d = store.get_document(*id);
  if (!d.ok()) return d.error();
  if (d->direction != direction || !may_see(c, *d)) {
    return make_error(ErrorKind::not_found, "store.not_found",
                      "no " + std::string(store::direction_name(direction)) + " document " + std::to_string(*id));
  }
  return d;
}

Result<std::vector<crypto::Certificate>> certificates_from_json(const bj::object& o) {
  auto it = o.find("certificates");
  if (it == o.end() || !it->value().is_array() || it->value().as_array().empty()) {
    return make_error(ErrorKind::malformed, "api.certificates",
                      "\"certificates\" must be a non-empty array of PEM strings, leaf first");
  }
  std::vector<crypto::Certificate> out;
  for (const auto& v : it->value().as_array()) {
    if (!v.is_string())
      return make_error(ErrorKind::malformed, "api.certificates", "every certificate must be a PEM string");
    auto c = crypto::Certificate::parse(std::string(v.as_string()));
    if (!c.ok()) return c.error();
    for (auto& x : *c) out.push_back(std::move(x));
  }
  if (out.size() > 10) return make_error(ErrorKind::malformed, "api.certificates", "at most 10 certificates");
  return out;
}

Result<std::optional<crypto::SignatureAlgorithm>> algorithm_from(const std::optional<std::string>& name) {
  if (!name || name->empty()) return std::optional<crypto::SignatureAlgorithm>();
  crypto::SignatureAlgorithm alg;
  if (!crypto::parse_signature_name(*name, alg)) {
    return make_error(ErrorKind::malformed, "api.algorithm",
                      "unknown algorithm '" + *name + "' (rsa-sha256, ecdsa-sha256, ...)");
  }
  return std::optional<crypto::SignatureAlgorithm>(alg);
}

// Writes an in-memory body to a spool file the engine will consume.
Result<std::string> body_to_file(Request& req, const std::string& spool) {
  if (req.body.in_file()) return req.body.take_file();
  std::string path = spool + "/body-" + edxml::new_uuid();
  EDX_TRY(fs::write_file_atomic(path, req.body.memory(), 0600));
  return path;
}

Response stream_blob(store::Store& store, const store::BlobRef& ref, std::string content_type,
                     const std::string& disposition) {
  if (auto v = store.blobs().verify(ref); !v.ok()) return error_response(v.error());
  Response r;
  r.status = 200;
  r.content_type = std::move(content_type);
  r.body_file = store.blobs().path_of(ref.sha256);
  if (!disposition.empty()) r.headers.add("Content-Disposition", disposition);
  r.headers.add("X-Edxgate-SHA256", ref.sha256);
  return r;
}

// RFC 6266 / 5987: an ASCII fallback and the UTF-8 name.
std::string content_disposition(const std::string& name) {
  std::string ascii, encoded;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : name) {
    ascii.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? static_cast<char>(c) : '_');
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

class Api {
 public:
  Api(Engine& e, store::Store& s, ApiOptions o, std::shared_ptr<OperatorSummary> summary)
      : engine_(e), store_(s), opt_(std::move(o)), summary_(std::move(summary)) {
    if (!summary_) summary_ = std::make_shared<OperatorSummary>(store_, nullptr, std::vector<WatchedCertificate>{});
  }

  Response submit(Request& req, const Caller& c) {
    auto key = idempotency_key(req);
    if (!key.ok()) return error_response(key.error());
    const std::string ct = req.headers.get("Content-Type").value_or("");
    std::string media = ct.substr(0, ct.find(';'));
    std::transform(media.begin(), media.end(), media.begin(), [](unsigned char ch) { return std::tolower(ch); });
    while (!media.empty() && media.back() == ' ') media.pop_back();
    Result<Submitted> r = make_error(ErrorKind::malformed, "api.content_type", "");
    if (media == "multipart/form-data") {
      auto form = parse_multipart(req.body, ct, opt_.spool_dir, opt_.multipart);
      if (!form.ok()) return error_response(form.error());
      const MultipartPart* meta = form->field("metadata");
      if (!meta || meta->is_file()) {
        return Response::problem(400, "api.metadata", "the form needs a \"metadata\" field holding the header JSON");
      }
      auto header = json::parse(meta->value);
      if (!header.ok()) return Response::problem(422, "json.syntax", "metadata: " + header.error().message);
      Submission s;
      s.header = std::move(*header);
      for (size_t i = 0; i < form->parts.size(); ++i) {
        const MultipartPart& p = form->parts[i];
        if (p.name == "metadata") continue;
        if (p.name != "attachment" || !p.is_file()) {
          return Response::problem(400, "api.form",
                                   "unexpected form part '" + p.name + "' (only metadata and attachment files)");
        }
        s.names.push_back(p.filename);
        s.files.push_back(form->take_file(i));
      }
      s.submitter = c.name;
      s.allowed_senders = c.organ_ids;
      s.idempotency_key = *key;
      r = engine_.submit(std::move(s));
    } else if (media == "application/xml" || media == "text/xml") {
      auto file = body_to_file(req, opt_.spool_dir);
      if (!file.ok()) return error_response(file.error());
      r = engine_.submit_envelope(*file, c.name, c.organ_ids, *key);
    } else {
      return Response::problem(415, "api.content_type",
                               "send multipart/form-data (metadata + attachment files) or application/xml");
    }
    if (!r.ok()) return error_response(r.error());
    bj::object o{
        {"id", std::to_string(r->id)}, {"state", std::string(store::state_name(r->state))}, {"existing", r->existing}};
    Response resp = Response::json(202, o);
    resp.headers.add("Location", "/v1/outgoing/" + std::to_string(r->id));
    return resp;
  }

  Response outgoing(const Caller& c, const PathParams& p) {
    auto d = load(store_, p, Direction::outgoing, c);
    if (d.ok() && !may_read(c, *d))
      d = make_error(ErrorKind::not_found, "store.not_found", "no document awaiting your signature with this id");
    if (!d.ok()) return error_response(d.error());
    auto o = store::document_detail_json(store_, *d);
    if (!o.ok()) return error_response(o.error());
    return Response::json(200, *o);
  }

  Response sign(Request& req, const Caller& c, const PathParams& p) {
    auto d = load(store_, p, Direction::outgoing, c);
    if (!d.ok()) return error_response(d.error());
    auto body = parse_json_body(req, 64 * 1024);
    if (!body.ok()) return error_response(body.error());
    std::optional<SecretString> pin;
    if (auto it = body->find("pin"); it != body->end()) {
      if (!it->value().is_string()) return Response::problem(400, "api.pin", "\"pin\" must be a string");
      bj::string& s = it->value().as_string();
      pin.emplace(std::string_view(s.data(), s.size()));
      std::fill(s.begin(), s.end(), '\0');  // the parsed copy; the PIN now lives in locked memory only
    }
    const std::string key_uri = string_field(*body, "key_uri").value_or("");
    // A leader signs only with the token keys configured for it (sign_keys;
    // none: the gateway's key, [hsm] key_uri), and only with its own PIN
    // (the engine refuses a request without one).
    const std::string& used = key_uri.empty() ? opt_.key_uri : key_uri;
    const auto& allowed = c.sign_keys;
    if (allowed.empty() ? used != opt_.key_uri : std::find(allowed.begin(), allowed.end(), used) == allowed.end()) {
      // Audited like every refused signature; the URI up to its query only
      // (a query may carry pin-source or a refused pin-value).
      const std::string shown = used.substr(0, std::min(used.find('?'), size_t{300}));
      AuditEvent ev{c.name, "document.sign", "document " + std::to_string(d->id), "failed",
                    "sign.key_not_allowed: " + shown};
      if (auto st = store_.append(ev); !st.ok())
        log::warn("signature refusal not audited", {{"error", st.error().message}});
      return Response::problem(403, "sign.key_not_allowed", "you may not sign with this key (" + shown + ")");
    }
    auto r = engine_.sign(d->id, key_uri, pin ? &*pin : nullptr, c.name);
    if (!r.ok()) return error_response(r.error());
    return Response::json(200,
                          bj::object{{"id", std::to_string(d->id)}, {"state", std::string(store::state_name(*r))}});
  }

  Response to_sign(Request& req, const Caller& c, const PathParams& p) {
    auto d = load(store_, p, Direction::outgoing, c);
    if (!d.ok()) return error_response(d.error());
    auto cert_text = query_param(req.query, "cert");
    if (!cert_text || cert_text->empty()) {
      return Response::problem(400, "api.certificates",
                               "give the signer's certificate as ?cert=<base64url of its DER> (and optionally &alg=)");
    }
    auto der = decode_base64(*cert_text, true);
    if (!der.ok()) return error_response(der.error());
    auto cert = crypto::Certificate::from_der(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(der->data()), der->size()));
    if (!cert.ok()) return error_response(cert.error());
    if (Status allowed = check_remote_signer(store_, c, d->id, *cert); !allowed.ok())
      return error_response(allowed.error());
    auto alg = algorithm_from(query_param(req.query, "alg"));
    if (!alg.ok()) return error_response(alg.error());
    auto r = engine_.to_sign(d->id, {*cert}, *alg);
    if (!r.ok()) return error_response(r.error());
    Response resp;
    resp.status = 200;
    resp.content_type = "application/octet-stream";
    resp.body.assign(reinterpret_cast<const char*>(r->bytes.data()), r->bytes.size());
    resp.headers.add("X-Edxgate-Signature-Algorithm", std::string(crypto::signature_name(r->algorithm)));
    return resp;
  }

  Response signature(Request& req, const Caller& c, const PathParams& p) {
    auto d = load(store_, p, Direction::outgoing, c);
    if (!d.ok()) return error_response(d.error());
    auto body = parse_json_body(req, opt_.max_json_bytes);
    if (!body.ok()) return error_response(body.error());
    auto sig_text = string_field(*body, "signature");
    if (!sig_text) return Response::problem(400, "api.signature", "\"signature\" (base64) is missing");
    auto sig = decode_base64(*sig_text, false);
    if (!sig.ok()) return error_response(sig.error());
    auto certs = certificates_from_json(*body);
    if (!certs.ok()) return error_response(certs.error());
    if (certs->empty()) return Response::problem(400, "api.certificates", "\"certificates\" holds no certificate");
    // The leaf signs (the rest is its chain): checked before the value is.
    if (Status allowed = check_remote_signer(store_, c, d->id, certs->front()); !allowed.ok())
      return error_response(allowed.error());
    auto alg = algorithm_from(string_field(*body, "algorithm"));
    if (!alg.ok()) return error_response(alg.error());
    std::vector<uint8_t> value(sig->begin(), sig->end());
    auto r = engine_.complete_signature(d->id, *certs, *alg, value, c.name);
    if (!r.ok()) return error_response(r.error());
    return Response::json(200,
                          bj::object{{"id", std::to_string(d->id)}, {"state", std::string(store::state_name(*r))}});
  }

  Response list(Request& req, const Caller& c, Direction direction) {
    store::DocumentQuery q;
    q.direction = direction;
    if (auto s = query_param(req.query, "state"); s && !s->empty()) {
      auto st = store::parse_state(*s);
      if (!st || !store::belongs_to(direction, *st)) {
        return Response::problem(400, "api.state",
                                 "unknown " + std::string(store::direction_name(direction)) + " state '" + *s + "'");
      }
      q.state = *st;
    }
    if (c.role && *c.role == config::Role::leader) {
      if (q.state && *q.state != State::pending_signature) {
        return Response::problem(403, "api.forbidden", "leaders list only the documents awaiting a signature");
      }
      q.state = State::pending_signature;
    }
    if (auto f = query_param(req.query, "from")) q.sender = *f;
    if (auto l = query_param(req.query, "lifecycle"); l && !l->empty()) {
      if (!is_lifecycle_marker(*l)) return Response::problem(400, "api.lifecycle", "unknown lifecycle '" + *l + "'");
      q.lifecycle = *l;
    }
    if (auto s = query_param(req.query, "subject")) q.subject_contains = *s;
    if (auto s = query_param(req.query, "cursor"); s && !s->empty()) {
      PathParams pp{{"id", *s}};
      auto id = parse_id(pp);
      if (!id) return Response::problem(400, "api.cursor", "cursor must be a document id");
      q.before_id = *id;
    }
    if (auto s = query_param(req.query, "limit"); s && !s->empty()) {
      uint32_t n = 0;
      auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
      if (ec != std::errc() || end != s->data() + s->size() || n == 0 || n > 1000) {
        return Response::problem(400, "api.limit", "limit must be 1..1000");
      }
      q.limit = n;
    }
    const bool system = c.role && *c.role == config::Role::system;
    if (system && q.state && (*q.state == State::quarantined || *q.state == State::received)) {
      return Response::json(200, bj::object{{"documents", bj::array{}}, {"next_cursor", nullptr}});
    }
    bj::array docs;
    std::optional<DocumentId> next;
    // A system never sees quarantined documents: skip them, page on.
    const uint32_t limit = q.limit;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = store_.list_documents(q);
      if (!page.ok()) return error_response(page.error());
      next = page->next_before_id;
      for (size_t i = 0; i < page->documents.size(); ++i) {
        const auto& d = page->documents[i];
        if (system) {
          // List entries carry no recipients: the full document says whom it is for.
          auto full = store_.get_document(d.id);
          if (!full.ok() || !may_see(c, *full)) continue;
        } else if (!may_read(c, d)) {
          continue;
        }
        docs.push_back(store::document_json(d, false));
        if (docs.size() == limit) {
          // Full: the next page starts after this one (if anything follows).
          if (i + 1 < page->documents.size() || next) next = d.id;
          break;
        }
      }
      if (!next || docs.size() >= limit) break;
      q.before_id = next;
    }
    bj::object o;
    o["documents"] = std::move(docs);
    o["next_cursor"] = next ? bj::value(std::to_string(*next)) : bj::value(nullptr);
    return Response::json(200, o);
  }

  Response incoming(const Caller& c, const PathParams& p) {
    auto d = load(store_, p, Direction::incoming, c);
    if (!d.ok()) return error_response(d.error());
    auto o = store::document_detail_json(store_, *d);
    if (!o.ok()) return error_response(o.error());
    return Response::json(200, *o);
  }

  Response envelope(const Caller& c, const PathParams& p) {
    auto d = load(store_, p, Direction::incoming, c);
    if (!d.ok()) return error_response(d.error());
    if (!d->envelope) return Response::problem(404, "store.not_found", "the document has no envelope");
    return stream_blob(store_, *d->envelope, "application/xml", "");
  }

  Response attachment(const Request& q, const Caller& c, const PathParams& p, Direction direction) {
    auto d = load(store_, p, direction, c);
    if (d.ok() && !may_read(c, *d))
      d = make_error(ErrorKind::not_found, "store.not_found", "no document awaiting your signature with this id");
    if (!d.ok()) return error_response(d.error());
    PathParams pp{{"id", p.count("n") ? p.at("n") : ""}};
    const std::string& n = pp["id"];
    size_t index = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), index);
    if (n.empty() || ec != std::errc() || end != n.data() + n.size() || index >= d->attachments.size()) {
      return Response::problem(404, "store.not_found", "no attachment " + n + " in document " + std::to_string(d->id));
    }
    const auto& a = d->attachments[index];
    const auto raw = query_param(q.query, "raw");
    const bool as_received = raw && (*raw == "1" || *raw == "true");
    std::string type = a.content_type.empty() ? "application/octet-stream" : a.content_type;
    // The file inside a zipped attachment is not a ZIP, whatever the sender declared.
    if (a.unzipped && !as_received && type.find("zip") != std::string::npos) type = "application/octet-stream";
    return stream_blob(store_, as_received ? a.blob : a.file(), type, content_disposition(a.name));
  }

  Response summary() {
    auto s = summary_->build();
    if (!s.ok()) return error_response(s.error());
    return Response::json(200, *s);
  }

  Response ack(const Caller& c, const PathParams& p) {
    auto d = load(store_, p, Direction::incoming, c);
    if (!d.ok()) return error_response(d.error());
    if (auto st = engine_.acknowledge(d->id, c.name); !st.ok()) return error_response(st.error());
    return Response::json(
        200, bj::object{{"id", std::to_string(d->id)}, {"state", std::string(store::state_name(d->state))}});
  }

  Response report(Request& req, const Caller& c, const PathParams& p) {
    auto d = load(store_, p, Direction::incoming, c);
    if (!d.ok()) return error_response(d.error());
    auto body = parse_json_body(req, 64 * 1024);
    if (!body.ok()) return error_response(body.error());
    auto state = string_field(*body, "state");
    ProcessingReport r;
    if (!state) return Response::problem(400, "api.state", "\"state\" is missing");
    if (*state == "accepted")
      r.state = State::registered;
    else if (*state == "refused")
      r.state = State::refused;
    else if (*state == "assigned")
      r.state = State::assigned;
    else if (*state == "processing")
      r.state = State::processing;
    else if (*state == "completed")
      r.state = State::completed;
    else if (*state != "recall_agreed" && *state != "recall_refused") {
      return Response::problem(400, "api.state",
                               "state must be accepted, refused, assigned, processing, completed, recall_agreed or "
                               "recall_refused");
    }
    r.reason = string_field(*body, "reason").value_or("");
    if (auto it = body->find("staff"); it != body->end() && it->value().is_object()) {
      r.staff = string_field(it->value().as_object(), "name").value_or("");
      r.department = string_field(it->value().as_object(), "department").value_or("");
    }
    if (*state == "recall_agreed" || *state == "recall_refused") {  // the answer to a recall (15 / 16)
      auto marked = engine_.answer_recall(d->id, *state == "recall_agreed", r, c.name);
      if (!marked.ok()) return error_response(marked.error());
      return Response::json(202, bj::object{{"id", std::to_string(d->id)}, {"lifecycle", *marked}});
    }
    const std::string deadline = string_field(*body, "deadline").value_or("");
    auto moved = engine_.report(d->id, r, c.name, deadline);
    if (!moved.ok()) return error_response(moved.error());
    return Response::json(202,
                          bj::object{{"id", std::to_string(d->id)}, {"state", std::string(store::state_name(*moved))}});
  }

 private:
  Engine& engine_;
  store::Store& store_;
  ApiOptions opt_;
  std::shared_ptr<OperatorSummary> summary_;
};

}  // namespace

void add_api_routes(Router& router, Engine& engine, store::Store& store, ApiOptions options,
                    std::shared_ptr<OperatorSummary> summary) {
  const ApiOptions lifecycle_options = options;
  const int no_answer_days = options.report_no_answer_days;
  auto api = std::make_shared<Api>(engine, store, std::move(options), std::move(summary));
  using config::Role;
  const Access system = Access::only({Role::system});
  const Access readers = Access::only({Role::system, Role::officer});
  const Access everyone = Access::only({Role::system, Role::officer, Role::leader});
  // Every POST route refuses what a browser sent for another site's page.
  struct Guarded {
    Router& r;
    void add(Route route) {
      if (route.method == "POST") {
        route.handler = [inner = std::move(route.handler)](Request& q, const Caller& c, const PathParams& p) {
          if (cross_site(q)) return cross_site_refusal();
          return inner(q, c, p);
        };
      }
      r.add(std::move(route));
    }
  } r{router};
  r.add({"POST", "/v1/outgoing", system,
         [api](Request& q, const Caller& c, const PathParams&) { return api->submit(q, c); }});
  r.add({"GET", "/v1/outgoing", Access::only({Role::officer, Role::leader}),
         [api](Request& q, const Caller& c, const PathParams&) { return api->list(q, c, Direction::outgoing); }});
  r.add({"GET", "/v1/outgoing/{id}", everyone,
         [api](Request&, const Caller& c, const PathParams& p) { return api->outgoing(c, p); }});
  r.add({"GET", "/v1/outgoing/{id}/attachments/{n}", everyone, [api](Request& q, const Caller& c, const PathParams& p) {
           return api->attachment(q, c, p, Direction::outgoing);
         }});
  // Officers never sign documents.
  r.add({"POST", "/v1/outgoing/{id}/sign", Access::only({Role::leader}),
         [api](Request& q, const Caller& c, const PathParams& p) { return api->sign(q, c, p); }, 64 * 1024});
  r.add({"GET", "/v1/outgoing/{id}/to-sign", Access::only({Role::leader}),
         [api](Request& q, const Caller& c, const PathParams& p) { return api->to_sign(q, c, p); }});
  r.add({"POST", "/v1/outgoing/{id}/signature", Access::only({Role::leader}),
         [api](Request& q, const Caller& c, const PathParams& p) { return api->signature(q, c, p); }, 1024 * 1024});
  r.add({"GET", "/v1/incoming", readers,
         [api](Request& q, const Caller& c, const PathParams&) { return api->list(q, c, Direction::incoming); }});
  r.add({"GET", "/v1/incoming/{id}", readers,
         [api](Request&, const Caller& c, const PathParams& p) { return api->incoming(c, p); }});
  r.add({"GET", "/v1/incoming/{id}/envelope", readers,
         [api](Request&, const Caller& c, const PathParams& p) { return api->envelope(c, p); }});
  r.add({"GET", "/v1/incoming/{id}/attachments/{n}", readers, [api](Request& q, const Caller& c, const PathParams& p) {
           return api->attachment(q, c, p, Direction::incoming);
         }});
  r.add({"POST", "/v1/incoming/{id}/ack", system,
         [api](Request&, const Caller& c, const PathParams& p) { return api->ack(c, p); }, 1024});
  r.add({"POST", "/v1/incoming/{id}/status", system,
         [api](Request& q, const Caller& c, const PathParams& p) { return api->report(q, c, p); }, 64 * 1024});
  r.add({"GET", "/v1/summary", Access::only({Role::officer}),
         [api](Request&, const Caller&, const PathParams&) { return api->summary(); }});
  add_lifecycle_routes([&r](Route route) { r.add(std::move(route)); }, engine, store, lifecycle_options);
  add_outbox_routes([&r](Route route) { r.add(std::move(route)); }, engine);
  add_report_routes(router, store, no_answer_days);
}

}  // namespace edxgate::gateway
