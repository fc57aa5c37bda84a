// The console's pages (console.h). Each page asks the API for its data
// through the Router, as its caller, and renders the JSON it gets; the page
// never reads the store itself.
#include "edxgate/gateway/console.h"

#include <algorithm>
#include <string>

#include "console_assets.h"
#include "console_page.h"
#include "console_text.h"
#include "edxgate/base/url.h"
#include "edxgate/base/version.h"

namespace edxgate::gateway {
namespace {

namespace bj = json::bj;
using config::Role;
using console::ApiAnswer;
using console::call_api;
using console::error_page;
using console::Html;
using console::page;
using console::query_value;

}  // namespace

// --- the API, as the caller (console_page.h) ----------------------------------

namespace console {

// The same match, role check and handler as the request from outside.
ApiAnswer call_api(const Router& router, const Caller& caller, const std::string& path, const std::string& query) {
  ApiAnswer a;
  RouteMatch m = router.match("GET", path, caller);
  if (m.status != 0) {
    a.status = m.status;
    a.detail = m.status == 403 ? "Chứng thư của bạn không được phép xem nội dung này." : "Không tìm thấy.";
    return a;
  }
  Request req;
  req.method = "GET";
  req.path = path;
  req.query = query;
  req.target = query.empty() ? path : path + "?" + query;
  Response r = m.route->handler(req, caller, m.params);
  a.status = r.status;
  auto v = json::parse(r.body, 64);
  if (v.ok()) a.json = std::move(*v);
  if (!a.ok() && a.json.is_object()) {
    if (const auto* d = a.json.as_object().if_contains("detail"); d && d->is_string()) a.detail = d->as_string();
  }
  return a;
}
}  // namespace console
namespace console {

// The decoded value of query parameter `name`, "" when absent. A key without
// '=' is skipped (a later `name=value` still counts).
std::string query_value(const std::string& query, std::string_view name) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string_view kv(query.data() + start, end - start);
    const size_t eq = kv.find('=');
    if (kv.substr(0, eq) == name && eq != std::string_view::npos) return form_decode(kv.substr(eq + 1));
    start = end + 1;
  }
  return "";
}
}  // namespace console
namespace {

// --- JSON access --------------------------------------------------------------

const bj::value* field(const bj::value& v, std::string_view key) {
  return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}
std::string str(const bj::value& v, std::string_view key) {
  const bj::value* f = field(v, key);
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}
int64_t num(const bj::value& v, std::string_view key) {
  const bj::value* f = field(v, key);
  if (!f) return 0;
  if (f->is_int64()) return f->as_int64();
  if (f->is_uint64()) return static_cast<int64_t>(f->as_uint64());
  return 0;
}
bool flag(const bj::value& v, std::string_view key) {
  const bj::value* f = field(v, key);
  return f && f->is_bool() && f->as_bool();
}
const bj::array& list(const bj::value& v, std::string_view key) {
  static const bj::array kEmpty;
  const bj::value* f = field(v, key);
  return f && f->is_array() ? f->as_array() : kEmpty;
}
bool digits(std::string_view s) {
  return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// --- the frame of every page ------------------------------------------------

bool is_officer(const Caller& c) { return c.role && *c.role == Role::officer; }

// The sections of the console, per role.
struct Section {
  const char* path;
  const char* label;
  Role role;
  const char* key;
};
constexpr Section kSections[] = {
    {"/console/", "Tổng quan", Role::officer, "dashboard"},
    {"/console/outgoing", "Văn bản đi", Role::officer, "outgoing"},
    {"/console/incoming", "Văn bản đến", Role::officer, "incoming"},
    {"/console/reports", "Báo cáo", Role::officer, "reports"},
    {"/console/", "Văn bản chờ ký", Role::leader, "signing"},
};

void add_security_headers(Response& r) {
  r.headers.add("Content-Security-Policy", kConsoleCsp);
  r.headers.add("X-Frame-Options", "DENY");
  r.headers.add("Referrer-Policy", "no-referrer");
  r.headers.add("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.add("Cross-Origin-Resource-Policy", "same-origin");
}

}  // namespace
namespace console {

Response page(const Caller& caller, unsigned status, std::string_view section, std::string_view title,
              const Html& body) {
  Html h;
  h.raw("<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n")
      .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
      .raw("<meta name=\"referrer\" content=\"no-referrer\">\n<title>")
      .text(title)
      .raw(" · edxgate</title>\n<link rel=\"stylesheet\" href=\"/console/assets/console.css\">\n")
      .raw("<link rel=\"icon\" href=\"/console/assets/icon.svg\" type=\"image/svg+xml\">\n")
      .raw("<script src=\"/console/assets/console.js\" defer></script>\n</head>\n<body>\n")
      .raw(
          "<header class=\"top\"><a class=\"brand\" href=\"/console/\"><img src=\"/console/assets/icon.svg\" "
          "alt=\"\" width=\"24\" height=\"24\">edxgate</a>\n<nav>");
  for (const Section& s : kSections) {
    if (!caller.role || *caller.role != s.role) continue;
    h.raw("<a href=\"").text(s.path).raw("\"");
    if (section == s.key) h.raw(" class=\"active\" aria-current=\"page\"");
    h.raw(">").text(s.label).raw("</a>");
  }
  h.raw("</nav>\n<span class=\"who\">").text(caller.name).raw(" · ");
  h.text(caller.role ? console::role_label(config::role_name(*caller.role)) : "").raw("</span></header>\n");
  h.raw("<main id=\"page\" data-page=\"").text(section).raw("\">\n<h1>").text(title).raw("</h1>\n");
  h.append(body);
  h.raw("</main>\n<footer>edxgate ").text(EDXGATE_VERSION).raw(" · cổng ký số và trao đổi văn bản điện tử</footer>\n");
  h.raw("</body>\n</html>\n");
  Response r = Response::text(status, h.finish(), "text/html; charset=utf-8");
  add_security_headers(r);
  return r;
}

Response error_page(const Caller& caller, const ApiAnswer& a) {
  Html body;
  body.raw("<p class=\"error\" id=\"error\" data-status=\"").number(a.status).raw("\">").text(a.detail).raw("</p>\n");
  body.raw("<p><a href=\"/console/\">Về trang đầu</a></p>\n");
  const char* title = a.status == 404   ? "Không tìm thấy"
                      : a.status == 403 ? "Không có quyền"
                                        : "Không tải được dữ liệu";
  return page(caller, a.status >= 400 ? a.status : 502, "error", title, body);
}
}  // namespace console
namespace {

// --- pieces -------------------------------------------------------------------

void state_badge(Html& h, const std::string& state) {
  h.raw("<span class=\"state\" data-state=\"").text(state).raw("\">").text(console::state_label(state));
  h.raw(" <code>").text(state).raw("</code></span>");
}

void document_row(Html& h, const bj::value& d, std::string_view direction) {
  const std::string id = str(d, "id");
  h.raw("<tr data-id=\"")
      .text(id)
      .raw("\"><td>")
      .text(str(d, "code"))
      .raw("</td><td><a class=\"subject\" href=\"/console/");
  h.text(direction).raw("/").text(id).raw("\">").text(str(d, "subject")).raw("</a></td><td>").text(str(d, "from"));
  h.raw("</td><td>");
  state_badge(h, str(d, "state"));
  h.raw("</td><td><time>").text(str(d, "updated")).raw("</time></td></tr>\n");
}

void documents_table(Html& h, const bj::array& docs, std::string_view direction) {
  if (docs.empty()) {
    h.raw("<p class=\"empty\">Không có văn bản.</p>\n");
    return;
  }
  h.raw(
      "<table class=\"docs\"><thead><tr><th>Số, ký hiệu</th><th>Trích yếu</th><th>Nơi gửi</th>"
      "<th>Trạng thái</th><th>Cập nhật</th></tr></thead><tbody>\n");
  for (const auto& d : docs) document_row(h, d, direction);
  h.raw("</tbody></table>\n");
}

// --- officers: the dashboard --------------------------------------------------

void checks_section(Html& h, const bj::value& summary) {
  const bj::value* checks = field(summary, "checks");
  h.raw("<section id=\"checks\"><h2>Tình trạng hoạt động</h2>\n<ul class=\"checks\">\n");
  if (const bj::value* c = checks ? field(*checks, "checks") : nullptr; c && c->is_object()) {
    for (const auto& [name, result] : c->as_object()) {
      const bool ok = flag(result, "ok");
      h.raw("<li class=\"").text(ok ? "ok" : "bad").raw("\" data-check=\"").text(name).raw("\"><b>");
      h.text(console::check_label(name)).raw("</b> ").text(ok ? "Hoạt động" : "Lỗi");
      if (!ok) h.raw(": <code>").text(str(result, "error")).raw("</code> ").text(str(result, "detail"));
      h.raw("</li>\n");
    }
  }
  h.raw("</ul></section>\n");
}

void states_table(Html& h, const bj::value& counts, std::string_view direction, const char* title) {
  h.raw("<div><h3>").text(title).raw("</h3>");
  if (!counts.is_object() || counts.as_object().empty()) {
    h.raw("<p class=\"empty\">Chưa có văn bản.</p></div>\n");
    return;
  }
  h.raw("<table class=\"counts\" data-direction=\"").text(direction).raw("\"><tbody>\n");
  for (const auto& [state, n] : counts.as_object()) {
    h.raw("<tr><td><a href=\"/console/").text(direction).raw("?state=").text(percent_encode(state)).raw("\">");
    state_badge(h, std::string(state));
    h.raw("</a></td><td class=\"n\" data-state=\"").text(state).raw("\">");
    h.number(n.is_int64() ? n.as_int64() : n.is_uint64() ? static_cast<int64_t>(n.as_uint64()) : 0);
    h.raw("</td></tr>\n");
  }
  h.raw("</tbody></table></div>\n");
}

void outbox_section(Html& h, const bj::value& outbox) {
  h.raw("<section id=\"outbox\"><h2>Hàng đợi gửi</h2>\n<p>Đang chờ gửi: <b class=\"n\">")
      .number(num(outbox, "pending"));
  h.raw("</b>");
  if (!str(outbox, "oldest_created").empty()) {
    h.raw(" · mục cũ nhất từ <time>").text(str(outbox, "oldest_created")).raw("</time> (");
    h.number(num(outbox, "oldest_age_s") / 60).raw(" phút trước)");
  }
  h.raw("</p>\n");
  const bj::array& items = list(outbox, "items");
  if (!items.empty()) {
    h.raw(
        "<table><thead><tr><th>Văn bản</th><th>Loại</th><th>Nơi nhận</th><th>Số lần thử</th>"
        "<th>Lần thử tới</th><th>Lỗi gần nhất</th></tr></thead><tbody>\n");
    for (const auto& it : items) {
      h.raw("<tr><td><a href=\"/console/outgoing/")
          .text(str(it, "document_id"))
          .raw("\">")
          .text(str(it, "document_id"));
      h.raw("</a></td><td>").text(str(it, "kind")).raw("</td><td>").text(str(it, "destination")).raw("</td><td>");
      h.number(num(it, "attempts")).raw("</td><td><time>").text(str(it, "next_attempt")).raw("</time></td><td>");
      h.text(str(it, "last_error")).raw("</td></tr>\n");
    }
    h.raw("</tbody></table>\n");
  }
  h.raw("</section>\n");
}

void quarantine_section(Html& h, const bj::array& docs) {
  h.raw("<section id=\"quarantine\"><h2>Văn bản bị cách ly</h2>\n");
  if (docs.empty()) {
    h.raw("<p class=\"empty\">Không có văn bản bị cách ly.</p></section>\n");
    return;
  }
  h.raw(
      "<table><thead><tr><th>Trích yếu</th><th>Nơi gửi</th><th>Mã lý do</th><th>Lý do</th><th>Nhận lúc</th>"
      "</tr></thead><tbody>\n");
  for (const auto& d : docs) {
    h.raw("<tr data-id=\"").text(str(d, "id")).raw("\"><td><a class=\"subject\" href=\"/console/incoming/");
    h.text(str(d, "id")).raw("\">").text(str(d, "subject")).raw("</a></td><td>").text(str(d, "from"));
    h.raw("</td><td><code class=\"reason-code\">").text(str(d, "reason_code")).raw("</code></td><td>");
    h.text(str(d, "reason")).raw("</td><td><time>").text(str(d, "received")).raw("</time></td></tr>\n");
  }
  h.raw("</tbody></table></section>\n");
}

void certificates_section(Html& h, const bj::array& certs) {
  h.raw("<section id=\"certificates\"><h2>Chứng thư số và neo tin cậy</h2>\n");
  if (certs.empty()) {
    h.raw("<p class=\"empty\">Chưa cấu hình chứng thư nào.</p></section>\n");
    return;
  }
  h.raw(
      "<table><thead><tr><th>Vai trò</th><th>Chủ thể</th><th>Bên cấp</th><th>Hết hạn</th>"
      "<th>Còn lại</th></tr></thead><tbody>\n");
  for (const auto& c : certs) {
    const int64_t days = num(c, "days_to_expiry");
    h.raw("<tr data-role=\"").text(str(c, "role")).raw("\"><td>").text(console::certificate_role_label(str(c, "role")));
    h.raw("</td><td>").text(str(c, "subject")).raw("</td><td>").text(str(c, "issuer")).raw("</td><td><time>");
    h.text(str(c, "not_after")).raw("</time></td><td class=\"days ");
    h.text(days < 0 ? "bad" : days < 30 ? "warn" : "ok").raw("\" data-days=\"").number(days).raw("\">");
    if (days < 0) {
      h.raw("Đã hết hạn");
    } else {
      h.number(days).raw(" ngày");
    }
    h.raw("</td></tr>\n");
  }
  h.raw("</tbody></table></section>\n");
}

void audit_section(Html& h, const bj::value& audit) {
  const bj::value* chain = field(audit, "chain");
  const bool ok = chain && flag(*chain, "ok");
  h.raw("<section id=\"audit\"><h2>Nhật ký kiểm toán</h2>\n<p class=\"chain ").text(ok ? "ok" : "bad");
  h.raw("\" data-ok=\"").text(ok ? "true" : "false").raw("\">");
  if (chain) {
    if (ok) {
      h.raw("Chuỗi băm toàn vẹn: ").number(num(*chain, "rows")).raw(" dòng đã kiểm tra");
    } else {
      h.raw("Chuỗi băm BỊ HỎNG từ dòng ").number(num(*chain, "first_bad_seq")).raw(": ").text(str(*chain, "problem"));
    }
    h.raw(" (lúc <time>").text(str(*chain, "checked")).raw("</time>)");
  }
  h.raw("</p>\n");
  const bj::array& rows = list(audit, "recent");
  if (!rows.empty()) {
    h.raw(
        "<table><thead><tr><th>#</th><th>Thời điểm</th><th>Người thực hiện</th><th>Hành động</th>"
        "<th>Đối tượng</th><th>Kết quả</th><th>Chi tiết</th></tr></thead><tbody>\n");
    for (const auto& r : rows) {
      h.raw("<tr><td>").number(num(r, "seq")).raw("</td><td><time>").text(str(r, "at")).raw("</time></td><td>");
      h.text(str(r, "actor")).raw("</td><td>").text(str(r, "action")).raw("</td><td>").text(str(r, "object"));
      h.raw("</td><td>").text(str(r, "outcome")).raw("</td><td>").text(str(r, "detail")).raw("</td></tr>\n");
    }
    h.raw("</tbody></table>\n");
  }
  h.raw("</section>\n");
}

Response dashboard(const Router& router, const Caller& caller) {
  ApiAnswer s = call_api(router, caller, "/v1/summary", "");
  if (!s.ok()) return error_page(caller, s);
  Html h;
  h.raw("<p class=\"generated\">Số liệu lúc <time>").text(str(s.json, "generated")).raw("</time></p>\n");
  checks_section(h, s.json);
  h.raw("<section id=\"states\"><h2>Văn bản theo trạng thái</h2>\n<div class=\"columns\">\n");
  const bj::value* docs = field(s.json, "documents");
  const bj::value none;
  const bj::value* outgoing = docs ? field(*docs, "outgoing") : nullptr;
  const bj::value* incoming = docs ? field(*docs, "incoming") : nullptr;
  states_table(h, outgoing ? *outgoing : none, "outgoing", "Văn bản đi");
  states_table(h, incoming ? *incoming : none, "incoming", "Văn bản đến");
  h.raw("</div></section>\n");
  if (const bj::value* o = field(s.json, "outbox")) outbox_section(h, *o);
  quarantine_section(h, list(s.json, "quarantined"));
  certificates_section(h, list(s.json, "certificates"));
  if (const bj::value* a = field(s.json, "audit")) audit_section(h, *a);
  return page(caller, 200, "dashboard", "Tổng quan", h);
}

// --- documents ------------------------------------------------------------------

void attachments_section(Html& h, const bj::value& d, std::string_view direction) {
  const bj::array& atts = list(d, "attachments");
  h.raw("<section class=\"attachments\"><h3>Tệp đính kèm</h3>\n");
  if (atts.empty()) {
    h.raw("<p class=\"empty\">Không có tệp đính kèm.</p></section>\n");
    return;
  }
  h.raw("<table><thead><tr><th>Tên tệp</th><th>Kích thước</th><th>SHA-256</th></tr></thead><tbody>\n");
  for (const auto& a : atts) {
    h.raw("<tr><td><a class=\"download\" download href=\"/v1/").text(direction).raw("/").text(str(d, "id"));
    h.raw("/attachments/").number(num(a, "index")).raw("\">").text(str(a, "name")).raw("</a>");
    if (a.is_object() && a.as_object().if_contains("unzipped")) {
      // The clerk gets the file inside; the ZIP as received (what was signed) stays one click away.
      h.raw(" <small>(giải nén từ tệp ZIP nhận được; <a class=\"raw\" download href=\"/v1/").text(direction);
      h.raw("/").text(str(d, "id")).raw("/attachments/").number(num(a, "index")).raw("?raw=1\">bản gốc</a>)</small>");
    }
    if (!str(a, "note").empty()) h.raw(" <small class=\"note\">").text(str(a, "note")).raw("</small>");
    h.raw("</td><td>");
    h.number(num(a, "size")).raw(" byte</td><td><code class=\"sha256\">").text(str(a, "sha256"));
    h.raw("</code></td></tr>\n");
  }
  h.raw("</tbody></table></section>\n");
}

void header_fields(Html& h, const bj::value& d, std::string_view direction) {
  h.raw("<dl class=\"fields\">\n<dt>Số, ký hiệu</dt><dd>").text(str(d, "code")).raw("</dd>\n");
  h.raw("<dt>Trạng thái</dt><dd>");
  state_badge(h, str(d, "state"));
  h.raw("</dd>\n<dt>Nơi gửi</dt><dd class=\"from\">").text(str(d, "from")).raw("</dd>\n<dt>Nơi nhận</dt><dd>");
  bool first = true;
  for (const auto& t : list(d, "to")) {
    if (!first) h.raw(", ");
    first = false;
    if (t.is_string()) h.text(t.as_string());
  }
  h.raw("</dd>\n<dt>Ngày ban hành</dt><dd>").text(str(d, "promulgation_date")).raw("</dd>\n");
  h.raw("<dt>Loại văn bản</dt><dd>").text(str(d, "document_type")).raw("</dd>\n");
  h.raw("<dt>Mã văn bản (DocumentId)</dt><dd><code>").text(str(d, "document_id")).raw("</code></dd>\n");
  h.raw("<dt>")
      .text(direction == "incoming" ? "Chữ ký và kết quả xác thực" : "Người ký")
      .raw("</dt><dd class=\"signer\">");
  h.text(str(d, "signer")).raw("</dd>\n");
  if (const bj::value* e = field(d, "envelope"); e && e->is_object()) {
    h.raw("<dt>Gói tin edXML (SHA-256)</dt><dd><code>").text(str(*e, "sha256")).raw("</code></dd>\n");
  }
  h.raw("<dt>Tạo lúc</dt><dd><time>").text(str(d, "created")).raw("</time></dd>\n</dl>\n");
}

void history_section(Html& h, const bj::value& d) {
  h.raw(
      "<section id=\"history\"><h2>Lịch sử xử lý</h2>\n<table><thead><tr><th>Thời điểm</th><th>Từ</th>"
      "<th>Sang</th><th>Người thực hiện</th><th>Lý do</th></tr></thead><tbody>\n");
  for (const auto& t : list(d, "history")) {
    h.raw("<tr><td><time>").text(str(t, "at")).raw("</time></td><td>");
    if (!str(t, "from").empty()) state_badge(h, str(t, "from"));
    h.raw("</td><td>");
    state_badge(h, str(t, "state"));
    h.raw("</td><td>").text(str(t, "by")).raw("</td><td>").text(str(t, "reason")).raw("</td></tr>\n");
  }
  h.raw("</tbody></table></section>\n");
}

void status_messages_section(Html& h, const bj::value& d) {
  const bj::array& msgs = list(d, "status_messages");
  h.raw("<section id=\"status-messages\"><h2>Thông điệp trạng thái</h2>\n");
  if (msgs.empty()) {
    h.raw("<p class=\"empty\">Chưa có thông điệp trạng thái.</p></section>\n");
    return;
  }
  h.raw(
      "<table><thead><tr><th>Thời điểm</th><th>Chiều</th><th>Mã</th><th>Mô tả</th><th>Cán bộ</th></tr></thead>"
      "<tbody>\n");
  for (const auto& m : msgs) {
    h.raw("<tr><td><time>").text(str(m, "at")).raw("</time></td><td>");
    h.text(str(m, "direction") == "received" ? "Nhận" : "Gửi").raw("</td><td><code>").text(str(m, "code"));
    h.raw("</code></td><td>").text(str(m, "description")).raw("</td><td>").text(str(m, "staff")).raw("</td></tr>\n");
  }
  h.raw("</tbody></table></section>\n");
}

// The leader's form: the PIN goes to POST /v1/outgoing/{id}/sign from the
// script (console.js); the field has no name, so it is never submitted by
// the browser itself, and autocomplete is off.
void sign_form(Html& h, const std::string& id) {
  h.raw("<form class=\"sign\" data-id=\"").text(id).raw("\">\n<label>Mã PIN của thiết bị ký số ");
  h.raw("<input type=\"password\" autocomplete=\"off\" required maxlength=\"64\" spellcheck=\"false\"></label>\n");
  h.raw("<button type=\"submit\">Ký số và gửi</button>\n<output class=\"result\" role=\"status\"></output>\n</form>\n");
}

bool can_sign(const Caller& caller, const bj::value& d) {
  return caller.role && *caller.role == Role::leader && str(d, "state") == "pending_signature";
}

Response document_page(const Router& router, const Caller& caller, std::string_view direction,
                       const PathParams& params) {
  auto it = params.find("id");
  if (it == params.end() || !digits(it->second)) return error_page(caller, {404, {}, "Không có văn bản này."});
  const std::string path = "/v1/" + std::string(direction) + "/" + it->second;
  ApiAnswer a = call_api(router, caller, path, "");
  if (!a.ok()) return error_page(caller, a);
  const bj::value& d = a.json;
  Html h;
  h.raw("<article class=\"document\" data-id=\"").text(str(d, "id")).raw("\" data-state=\"").text(str(d, "state"));
  h.raw("\">\n");
  header_fields(h, d, direction);
  attachments_section(h, d, direction);
  if (can_sign(caller, d)) sign_form(h, str(d, "id"));
  h.raw("</article>\n");
  history_section(h, d);
  status_messages_section(h, d);
  const std::string subject = str(d, "subject");
  return page(caller, 200, direction, subject.empty() ? "(không có trích yếu)" : subject, h);
}

// Officers: one direction's documents, by state, a page at a time.
Response list_page(const Router& router, const Caller& caller, std::string_view direction, const Request& req) {
  const std::string state = query_value(req.query, "state");
  const std::string cursor = query_value(req.query, "cursor");
  std::string query = "limit=50";
  if (!state.empty()) query += "&state=" + percent_encode(state);
  if (!cursor.empty()) query += "&cursor=" + percent_encode(cursor);
  ApiAnswer a = call_api(router, caller, "/v1/" + std::string(direction), query);
  if (!a.ok()) return error_page(caller, a);
  Html h;
  if (!state.empty()) {
    h.raw("<p class=\"filter\">Trạng thái: ");
    state_badge(h, state);
    h.raw(" · <a href=\"/console/").text(direction).raw("\">tất cả</a></p>\n");
  }
  documents_table(h, list(a.json, "documents"), direction);
  if (const std::string next = str(a.json, "next_cursor"); !next.empty()) {
    h.raw("<p><a class=\"next\" href=\"/console/").text(direction).raw("?");
    if (!state.empty()) h.raw("state=").text(percent_encode(state)).raw("&amp;");
    h.raw("cursor=").text(percent_encode(next)).raw("\">Trang sau</a></p>\n");
  }
  return page(caller, 200, direction, direction == "outgoing" ? "Văn bản đi" : "Văn bản đến", h);
}

// --- leaders: what awaits their signature ---------------------------------------

Response signing_page(const Router& router, const Caller& caller) {
  ApiAnswer a = call_api(router, caller, "/v1/outgoing", "state=pending_signature&limit=50");
  if (!a.ok()) return error_page(caller, a);
  Html h;
  const bj::array& docs = list(a.json, "documents");
  if (docs.empty()) h.raw("<p class=\"empty\" id=\"nothing-to-sign\">Không có văn bản nào chờ ký.</p>\n");
  h.raw(
      "<p class=\"hint\">Đọc kỹ từng văn bản và tệp đính kèm (đối chiếu mã SHA-256) trước khi ký. Mã PIN chỉ "
      "dùng cho một lần ký, không được lưu lại.</p>\n");
  for (const auto& entry : docs) {
    ApiAnswer one = call_api(router, caller, "/v1/outgoing/" + str(entry, "id"), "");
    if (!one.ok()) continue;  // signed or withdrawn meanwhile
    const bj::value& d = one.json;
    h.raw("<article class=\"document to-sign\" data-id=\"").text(str(d, "id")).raw("\">\n<h2><a class=\"subject\" ");
    h.raw("href=\"/console/outgoing/").text(str(d, "id")).raw("\">").text(str(d, "subject")).raw("</a></h2>\n");
    header_fields(h, d, "outgoing");
    attachments_section(h, d, "outgoing");
    sign_form(h, str(d, "id"));
    h.raw("</article>\n");
  }
  return page(caller, 200, "signing", "Văn bản chờ ký", h);
}

// --- assets ---------------------------------------------------------------------

Response asset(const PathParams& params) {
  auto it = params.find("name");
  for (const auto& a : console_assets::kAssets) {
    if (it == params.end() || a.name != it->second) continue;
    Response r = Response::text(200, std::string(a.bytes), std::string(a.content_type));
    add_security_headers(r);
    return r;
  }
  Response r = Response::problem(404, "console.not_found", "no such console asset");
  add_security_headers(r);
  return r;
}

}  // namespace

void add_console_routes(Router& router) {
  const Router* api = &router;
  const Access people = Access::only({Role::officer, Role::leader});
  const Access officers = Access::only({Role::officer});
  router.add({"GET", "/console", people, [](Request&, const Caller&, const PathParams&) {
                Response r = Response::text(308, "", "text/plain; charset=utf-8");
                r.headers.add("Location", "/console/");
                return r;
              }});
  router.add({"GET", "/console/", people, [api](Request&, const Caller& c, const PathParams&) {
                return is_officer(c) ? dashboard(*api, c) : signing_page(*api, c);
              }});
  router.add({"GET", "/console/outgoing", officers,
              [api](Request& q, const Caller& c, const PathParams&) { return list_page(*api, c, "outgoing", q); }});
  router.add({"GET", "/console/incoming", officers,
              [api](Request& q, const Caller& c, const PathParams&) { return list_page(*api, c, "incoming", q); }});
  router.add({"GET", "/console/reports", officers,
              [api](Request& q, const Caller& c, const PathParams&) { return console::reports_page(*api, c, q); }});
  router.add({"GET", "/console/outgoing/{id}", people,
              [api](Request&, const Caller& c, const PathParams& p) { return document_page(*api, c, "outgoing", p); }});
  router.add({"GET", "/console/incoming/{id}", officers,
              [api](Request&, const Caller& c, const PathParams& p) { return document_page(*api, c, "incoming", p); }});
  router.add(
      {"GET", "/console/assets/{name}", people, [](Request&, const Caller&, const PathParams& p) { return asset(p); }});
}

}  // namespace edxgate::gateway
