#include <set>

#include "edxgate/base/hex.h"
#include "edxgate/edxml/json.h"

namespace edxgate::edxml {
namespace {

namespace bj = json::bj;

// ---- to JSON ----

bj::object org_json(const Organization& o) {
  return {{"organ_id", o.organ_id},
          {"organization_in_charge", o.organization_in_charge},
          {"organ_name", o.organ_name},
          {"organ_add", o.organ_add},
          {"email", o.email},
          {"telephone", o.telephone},
          {"fax", o.fax},
          {"website", o.website}};
}

bj::array strings_json(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(bj::string(s));
  return a;
}

bj::array raw_json(const std::vector<RawElement>& v) {
  bj::array a;
  for (const auto& r : v) a.emplace_back(bj::string(r.xml));
  return a;
}

bj::object response_for_json(const ResponseFor& r) {
  return {{"organ_id", r.organ_id},
          {"code", r.code},
          {"promulgation_date", r.promulgation_date ? format_date(*r.promulgation_date) : ""},
          {"document_id", r.document_id}};
}

bj::object staff_json(const StaffInfo& s) {
  return {{"department", s.department}, {"staff", s.staff}, {"mobile", s.mobile}, {"email", s.email}};
}

bj::object message_json(const MessageHeader& m) {
  bj::array to;
  for (const auto& o : m.to) to.emplace_back(org_json(o));
  bj::object j{
      {"from", org_json(m.from)},
      {"to", std::move(to)},
      {"code", format_document_code(m.code)},
      {"promulgation_place", m.promulgation_place},
      {"promulgation_date", format_date(m.promulgation_date)},
      {"type", m.type},
      {"type_detail", m.type_detail},
      {"type_name", m.type_name},
      {"subject", m.subject},
      {"content", m.content},
      {"signer",
       {{"competence", m.signer_competence}, {"position", m.signer_position}, {"full_name", m.signer_full_name}}},
      {"to_places", strings_json(m.to_places)},
      {"other_info",
       {{"priority", m.priority},
        {"sphere_of_promulgation", m.sphere_of_promulgation},
        {"typer_notation", m.typer_notation},
        {"promulgation_amount", m.promulgation_amount},
        {"page_amount", m.page_amount},
        {"appendixes", strings_json(m.appendixes)},
        {"extensions", raw_json(m.other_info_extensions)}}},
      {"steering_type", m.steering_type},
      {"document_id", m.document_id},
      {"extensions", raw_json(m.extensions)}};
  if (m.due_date) j["due_date"] = format_date(*m.due_date);
  if (m.response_for) j["response_for"] = response_for_json(*m.response_for);
  return j;
}

bj::object status_json(const StatusMessage& s) {
  return {{"response_for", response_for_json(s.response_for)},
          {"from", org_json(s.from)},
          {"status_code", format_status_code(s.code)},
          {"status_meaning", status_code_meaning(s.code)},
          {"description", s.description},
          {"timestamp", format_datetime(s.timestamp)},
          {"staff", staff_json(s.staff)},
          {"extensions", raw_json(s.extensions)}};
}

bj::object trace_json(const TraceHeaderList& t) {
  bj::array traces;
  for (const auto& h : t.traces) {
    traces.emplace_back(bj::object{{"organ_id", h.organ_id}, {"timestamp", format_datetime(h.timestamp)}});
  }
  bj::object j{{"traces", std::move(traces)}};
  if (t.business) {
    const Business& b = *t.business;
    bj::array repl;
    for (const auto& r : b.replacements) {
      repl.emplace_back(bj::object{{"document_id", r.document_id}, {"organ_ids", strings_json(r.organ_ids)}});
    }
    j["business"] = bj::object{{"doc_type", static_cast<int>(b.doc_type)},
                               {"reason", b.reason},
                               {"document_id", b.document_id},
                               {"document_info", b.document_info},
                               {"document_receiver", b.document_receiver},
                               {"receivers", raw_json(b.receivers)},
                               {"replacements", std::move(repl)},
                               {"paper", b.paper},
                               {"staff", staff_json(b.staff)}};
  }
  return j;
}

// ---- from JSON ----

// An object whose keys must all be consumed (or be listed as ignored).
class Obj {
 public:
  Obj(const bj::value& v, std::string path) : path_(std::move(path)) {
    if (!v.is_object()) {
      err_ = make_error(ErrorKind::invalid, "json.type", path_ + " must be an object.");
    } else {
      o_ = &v.as_object();
    }
  }
  const bj::value* get(std::string_view key) {
    if (!o_) return nullptr;
    used_.insert(std::string(key));
    auto it = o_->find(key);
    return it == o_->end() || it->value().is_null() ? nullptr : &it->value();
  }
  void str(std::string_view key, std::string& out) {
    if (const bj::value* v = get(key)) {
      if (!v->is_string()) return fail(key, "a string");
      out = std::string(v->as_string());
    }
  }
  void strs(std::string_view key, std::vector<std::string>& out) {
    if (const bj::value* v = get(key)) {
      if (!v->is_array()) return fail(key, "an array of strings");
      for (const auto& e : v->as_array()) {
        if (!e.is_string()) return fail(key, "an array of strings");
        out.emplace_back(e.as_string());
      }
    }
  }
  template <class F>
  void date(std::string_view key, F&& parse_into) {
    std::string s;
    str(key, s);
    if (s.empty() || !err_.ok()) return;
    if (auto st = parse_into(s); !st)
      err_ = make_error(st.error().kind, st.error().code, path_ + "." + std::string(key) + ": " + st.error().message);
  }
  void fail(std::string_view key, const char* what) {
    if (err_.ok())
      err_ = make_error(ErrorKind::invalid, "json.type", path_ + "." + std::string(key) + " must be " + what + ".");
  }
  void merge(Status s) {
    if (err_.ok() && !s.ok()) err_ = s;
  }
  std::string path(std::string_view key) const { return path_ + "." + std::string(key); }
  // Refuses keys not consumed and not in `ignored`.
  Status finish(std::initializer_list<std::string_view> ignored = {}) {
    if (!err_.ok() || !o_) return err_;
    for (const auto& kv : *o_) {
      std::string k(kv.key());
      if (used_.count(k)) continue;
      bool ok = false;
      for (auto i : ignored) ok |= i == k;
      if (!ok) return make_error(ErrorKind::invalid, "json.unknown_key", path_ + "." + k + " is not a known field.");
    }
    return {};
  }

 private:
  std::string path_;
  const bj::object* o_ = nullptr;
  std::set<std::string> used_;
  Status err_;
};

Status org_from(const bj::value& v, const std::string& path, Organization& o) {
  Obj j(v, path);
  j.str("organ_id", o.organ_id);
  j.str("organization_in_charge", o.organization_in_charge);
  j.str("organ_name", o.organ_name);
  j.str("organ_add", o.organ_add);
  j.str("email", o.email);
  j.str("telephone", o.telephone);
  j.str("fax", o.fax);
  j.str("website", o.website);
  return j.finish();
}

Status response_for_from(const bj::value& v, const std::string& path, ResponseFor& r) {
  Obj j(v, path);
  j.str("organ_id", r.organ_id);
  j.str("code", r.code);
  j.date("promulgation_date", [&](const std::string& s) -> Status {
    auto d = parse_date(s);
    if (!d.ok()) return d.error();
    r.promulgation_date = *d;
    return {};
  });
  j.str("document_id", r.document_id);
  return j.finish();
}

Status staff_from(const bj::value& v, const std::string& path, StaffInfo& s) {
  Obj j(v, path);
  j.str("department", s.department);
  j.str("staff", s.staff);
  j.str("mobile", s.mobile);
  j.str("email", s.email);
  return j.finish();
}

Status message_from(const bj::value& v, MessageHeader& m) {
  Obj j(v, "message");
  if (const auto* f = j.get("from")) j.merge(org_from(*f, j.path("from"), m.from));
  if (const auto* t = j.get("to")) {
    if (!t->is_array())
      j.fail("to", "an array of organizations");
    else
      for (const auto& e : t->as_array()) j.merge(org_from(e, j.path("to[]"), m.to.emplace_back()));
  }
  std::string code;
  j.str("code", code);
  if (!code.empty()) {
    auto c = parse_document_code(code);
    if (!c.ok())
      j.merge(c.error());
    else
      m.code = *c;
  }
  j.str("promulgation_place", m.promulgation_place);
  j.date("promulgation_date", [&](const std::string& s) -> Status {
    auto d = parse_date(s);
    if (!d.ok()) return d.error();
    m.promulgation_date = *d;
    return {};
  });
  j.str("type", m.type);
  j.str("type_detail", m.type_detail);
  j.str("type_name", m.type_name);
  j.str("subject", m.subject);
  j.str("content", m.content);
  if (const auto* s = j.get("signer")) {
    Obj sj(*s, j.path("signer"));
    sj.str("competence", m.signer_competence);
    sj.str("position", m.signer_position);
    sj.str("full_name", m.signer_full_name);
    j.merge(sj.finish());
  }
  j.date("due_date", [&](const std::string& s) -> Status {
    auto d = parse_date(s);
    if (!d.ok()) return d.error();
    m.due_date = *d;
    return {};
  });
  j.strs("to_places", m.to_places);
  if (const auto* o = j.get("other_info")) {
    Obj oj(*o, j.path("other_info"));
    oj.str("priority", m.priority);
    oj.str("sphere_of_promulgation", m.sphere_of_promulgation);
    oj.str("typer_notation", m.typer_notation);
    oj.str("promulgation_amount", m.promulgation_amount);
    oj.str("page_amount", m.page_amount);
    oj.strs("appendixes", m.appendixes);
    j.merge(oj.finish({"extensions"}));
  }
  j.str("steering_type", m.steering_type);
  j.str("document_id", m.document_id);
  if (const auto* r = j.get("response_for")) {
    j.merge(response_for_from(*r, j.path("response_for"), m.response_for.emplace()));
  }
  return j.finish({"extensions"});
}

Status status_from(const bj::value& v, StatusMessage& s) {
  Obj j(v, "status");
  if (const auto* r = j.get("response_for")) j.merge(response_for_from(*r, j.path("response_for"), s.response_for));
  if (const auto* f = j.get("from")) j.merge(org_from(*f, j.path("from"), s.from));
  std::string code;
  j.str("status_code", code);
  auto c = parse_status_code(code);
  if (!c.ok())
    j.merge(c.error());
  else
    s.code = *c;
  j.str("description", s.description);
  std::string ts;
  j.str("timestamp", ts);
  if (ts.empty()) {
    s.timestamp = now_vietnam();
  } else if (auto t = parse_datetime(ts); t.ok()) {
    s.timestamp = *t;
  } else {
    j.merge(t.error());
  }
  if (const auto* st = j.get("staff")) j.merge(staff_from(*st, j.path("staff"), s.staff));
  return j.finish({"status_meaning", "extensions"});
}

Status business_from(const bj::value& v, Business& b) {
  Obj j(v, "trace.business");
  if (const auto* t = j.get("doc_type")) {
    if (!t->is_int64() || t->as_int64() < 0 || t->as_int64() > 3)
      j.fail("doc_type", "0, 1, 2 or 3");
    else
      b.doc_type = static_cast<BusinessDocType>(t->as_int64());
  }
  j.str("reason", b.reason);
  j.str("document_id", b.document_id);
  j.str("document_info", b.document_info);
  j.str("document_receiver", b.document_receiver);
  if (const auto* r = j.get("replacements")) {
    if (!r->is_array())
      j.fail("replacements", "an array");
    else
      for (const auto& e : r->as_array()) {
        Obj rj(e, j.path("replacements[]"));
        ReplacementInfo& ri = b.replacements.emplace_back();
        rj.str("document_id", ri.document_id);
        rj.strs("organ_ids", ri.organ_ids);
        j.merge(rj.finish());
      }
  }
  if (const auto* p = j.get("paper")) {
    if (!p->is_bool())
      j.fail("paper", "true or false");
    else
      b.paper = p->as_bool();
  }
  if (const auto* s = j.get("staff")) j.merge(staff_from(*s, j.path("staff"), b.staff));
  return j.finish({"receivers"});
}

Status trace_from(const bj::value& v, TraceHeaderList& t) {
  Obj j(v, "trace");
  if (const auto* a = j.get("traces")) {
    if (!a->is_array())
      j.fail("traces", "an array");
    else
      for (const auto& e : a->as_array()) {
        Obj hj(e, j.path("traces[]"));
        TraceHeader& h = t.traces.emplace_back();
        hj.str("organ_id", h.organ_id);
        std::string ts;
        hj.str("timestamp", ts);
        if (ts.empty())
          h.timestamp = now_vietnam();
        else if (auto d = parse_datetime(ts); d.ok())
          h.timestamp = *d;
        else
          hj.merge(d.error());
        j.merge(hj.finish());
      }
  }
  if (const auto* b = j.get("business")) j.merge(business_from(*b, t.business.emplace()));
  return j.finish();
}

Status attachment_from(const bj::value& v, Attachment& a) {
  Obj j(v, "attachments[]");
  j.str("content_id", a.content_id);
  j.str("name", a.name);
  j.str("content_type", a.content_type);
  j.str("description", a.description);
  return j.finish({"size", "sha256", "file", "zipped", "unzipped", "unzip_error"});
}

}  // namespace

std::string sha256_hex(const std::array<uint8_t, 32>& digest) { return to_hex(digest); }

namespace {

std::string file_name(const std::string& path, const std::string& dir) {
  if (!dir.empty() && path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 &&
      path[dir.size()] == '/') {
    return path.substr(dir.size() + 1);
  }
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bj::object warning_json(const Warning& w) {
  bj::object j{{"code", w.code}, {"message", w.message}};
  if (w.line > 0) j["line"] = w.line;
  return j;
}

}  // namespace

bj::value envelope_to_json(const Envelope& env, const std::string& files_dir) {
  bj::object j;
  j["kind"] = env.status ? "status" : "message";
  if (env.message) j["message"] = message_json(*env.message);
  if (env.status) j["status"] = status_json(*env.status);
  j["trace"] = trace_json(env.trace);
  j["signature"] = env.signature == SignaturePresence::dsig        ? "dsig"
                   : env.signature == SignaturePresence::lookalike ? "lookalike"
                                                                   : "none";
  bj::array atts;
  for (const Attachment& a : env.attachments) {
    bj::object aj{{"content_id", a.content_id},          {"name", a.name}, {"content_type", a.content_type},
                  {"description", a.description},        {"size", a.size}, {"sha256", sha256_hex(a.sha256)},
                  {"file", file_name(a.path, files_dir)}};
    if (a.zipped) aj["zipped"] = true;
    if (a.unzipped) {
      aj["unzipped"] = bj::object{{"file", file_name(a.unzipped->path, files_dir)},
                                  {"entry_name", a.unzipped->entry_name},
                                  {"size", a.unzipped->size},
                                  {"sha256", sha256_hex(a.unzipped->sha256)}};
    }
    if (a.unzip_error) aj["unzip_error"] = warning_json(*a.unzip_error);
    atts.emplace_back(std::move(aj));
  }
  j["attachments"] = std::move(atts);
  bj::array warnings;
  for (const Warning& w : env.warnings) warnings.emplace_back(warning_json(w));
  j["warnings"] = std::move(warnings);
  return j;
}

Result<Envelope> envelope_from_json(const bj::value& v) {
  Envelope env;
  Obj j(v, "$");
  if (const auto* m = j.get("message")) j.merge(message_from(*m, env.message.emplace()));
  if (const auto* s = j.get("status")) j.merge(status_from(*s, env.status.emplace()));
  if (const auto* t = j.get("trace")) j.merge(trace_from(*t, env.trace));
  if (const auto* a = j.get("attachments")) {
    if (!a->is_array())
      j.fail("attachments", "an array");
    else
      for (const auto& e : a->as_array()) j.merge(attachment_from(e, env.attachments.emplace_back()));
  }
  EDX_TRY(j.finish({"kind", "signature", "warnings"}));
  return env;
}

}  // namespace edxgate::edxml
