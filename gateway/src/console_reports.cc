// The console's reports page (console_page.h): the two processing reports of
// GET /v1/reports/{incoming,outgoing}, asked for as the caller, shown as a
// table and a stacked bar chart drawn server-side as inline SVG (no script,
// no style attribute: the strict Content-Security-Policy holds).
#include <algorithm>
#include <string>
#include <vector>

#include "console_page.h"

namespace edxgate::gateway::console {
namespace {

namespace bj = json::bj;

struct Column {
  const char* key;
  const char* label;
  const char* colour;  // of its bar segment; empty for the total column
};

// The first column is the total of the row; the others split it.
constexpr Column kIncoming[] = {
    {"received", "Đã nhận", ""},
    {"done_on_time", "Hoàn thành đúng hạn", "#2e7d32"},
    {"done_late", "Hoàn thành trễ hạn", "#f9a825"},
    {"in_progress", "Đang xử lý", "#1565c0"},
    {"overdue", "Quá hạn", "#c62828"},
    {"refused", "Từ chối", "#6d4c41"},
};
constexpr Column kOutgoing[] = {
    {"sent", "Đã gửi", ""},
    {"completed", "Hoàn thành", "#2e7d32"},
    {"in_progress", "Đang xử lý", "#1565c0"},
    {"accepted", "Đã tiếp nhận", "#00838f"},
    {"delivered", "Đã đến", "#7e57c2"},
    {"waiting", "Chờ phản hồi", "#9e9e9e"},
    {"no_answer", "Không phản hồi", "#c62828"},
    {"refused", "Từ chối", "#6d4c41"},
};

int64_t count_of(const bj::value& row, const char* key) {
  if (!row.is_object()) return 0;
  const bj::value* v = row.as_object().if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return 0;
}

std::string text_of(const bj::value& v, const char* key) {
  const bj::value* f = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

void period_form(Html& h, const std::string& kind, const std::string& from, const std::string& to) {
  h.raw("<nav class=\"tabs\">");
  for (const auto& [k, label] :
       {std::pair{"incoming", "Văn bản đến (theo đơn vị)"}, std::pair{"outgoing", "Văn bản đi (theo nơi nhận)"}}) {
    h.raw("<a href=\"/console/reports?kind=").text(k).raw("&amp;from=").text(from).raw("&amp;to=").text(to);
    h.raw("\"");
    if (kind == k) h.raw(" class=\"active\" aria-current=\"page\"");
    h.raw(">").text(label).raw("</a> ");
  }
  h.raw("</nav>\n<form class=\"period\" method=\"get\" action=\"/console/reports\">\n");
  h.raw("<input type=\"hidden\" name=\"kind\" value=\"").text(kind).raw("\">\n");
  h.raw("<label>Từ ngày <input type=\"date\" name=\"from\" value=\"").text(from).raw("\"></label>\n");
  h.raw("<label>Đến ngày <input type=\"date\" name=\"to\" value=\"").text(to).raw("\"></label>\n");
  h.raw("<button type=\"submit\">Xem báo cáo</button>\n</form>\n");
}

template <size_t N>
void table(Html& h, const bj::array& rows, const bj::value& total, const char* key, const char* key_label,
           const char* nobody, const Column (&columns)[N]) {
  h.raw("<table class=\"report\" id=\"report-table\"><thead><tr><th>").text(key_label).raw("</th>");
  for (const Column& c : columns) h.raw("<th>").text(c.label).raw("</th>");
  h.raw("</tr></thead><tbody>\n");
  for (const auto& row : rows) {
    const std::string name = text_of(row, key);
    h.raw("<tr data-key=\"").text(name).raw("\"><td>").text(name.empty() ? nobody : name).raw("</td>");
    for (const Column& c : columns) {
      h.raw("<td class=\"n\" data-count=\"").text(c.key).raw("\">").number(count_of(row, c.key)).raw("</td>");
    }
    h.raw("</tr>\n");
  }
  h.raw("</tbody><tfoot><tr data-key=\"total\"><th>Tổng cộng</th>");
  for (const Column& c : columns) {
    h.raw("<td class=\"n\" data-count=\"").text(c.key).raw("\">").number(count_of(total, c.key)).raw("</td>");
  }
  h.raw("</tr></tfoot></table>\n");
}

// One horizontal bar per row, its segments the columns after the first, its
// length the row's total against the largest total.
template <size_t N>
void chart(Html& h, const bj::array& rows, const char* key, const char* nobody, const Column (&columns)[N]) {
  constexpr int kLabel = 220, kBar = 460, kRow = 26, kLegend = 24;
  int64_t largest = 1;
  for (const auto& row : rows) largest = std::max(largest, count_of(row, columns[0].key));
  const int height = static_cast<int>(rows.size()) * kRow + kLegend * 2 + 8;
  h.raw("<figure class=\"chart\"><svg id=\"report-chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" ");
  h.raw("width=\"").number(kLabel + kBar + 60).raw("\" height=\"").number(height).raw("\" viewBox=\"0 0 ");
  h.number(kLabel + kBar + 60).raw(" ").number(height).raw("\"><title>").text(columns[0].label);
  h.raw(" theo từng dòng của bảng</title>\n");
  int y = 4;
  for (const auto& row : rows) {
    const std::string name = text_of(row, key);
    h.raw("<g class=\"bar\" data-key=\"").text(name).raw("\"><text x=\"").number(kLabel - 6).raw("\" y=\"");
    h.number(y + 15).raw("\" text-anchor=\"end\" font-size=\"12\">").text(name.empty() ? nobody : name).raw("</text>");
    int x = kLabel;
    for (size_t i = 1; i < N; ++i) {
      const int64_t n = count_of(row, columns[i].key);
      if (n <= 0) continue;
      const int w = std::max(1, static_cast<int>(n * kBar / largest));
      h.raw("<rect x=\"").number(x).raw("\" y=\"").number(y).raw("\" width=\"").number(w).raw("\" height=\"");
      h.number(kRow - 6).raw("\" fill=\"").text(columns[i].colour).raw("\" data-count=\"").text(columns[i].key);
      h.raw("\"><title>").text(columns[i].label).raw(": ").number(n).raw("</title></rect>");
      x += w;
    }
    h.raw("<text x=\"").number(x + 6).raw("\" y=\"").number(y + 15).raw("\" font-size=\"12\">");
    h.number(count_of(row, columns[0].key)).raw("</text></g>\n");
    y += kRow;
  }
  int x = 4;
  y += 8;
  for (size_t i = 1; i < N; ++i) {
    if (x > kLabel + kBar - 80) {
      x = 4;
      y += kLegend;
    }
    h.raw("<rect x=\"").number(x).raw("\" y=\"").number(y).raw("\" width=\"12\" height=\"12\" fill=\"");
    h.text(columns[i].colour).raw("\"/><text x=\"").number(x + 16).raw("\" y=\"").number(y + 11);
    h.raw("\" font-size=\"12\">").text(columns[i].label).raw("</text>");
    x += 16 + static_cast<int>(std::string_view(columns[i].label).size()) * 6 + 18;
  }
  h.raw("\n</svg></figure>\n");
}

}  // namespace

Response reports_page(const Router& router, const Caller& caller, const Request& req) {
  std::string kind = query_value(req.query, "kind");
  if (kind != "outgoing") kind = "incoming";
  const std::string from = query_value(req.query, "from"), to = query_value(req.query, "to");
  std::string query;
  auto add = [&](const char* name, const std::string& v) {
    if (v.empty()) return;
    // Days only: anything else the API refuses, so pass nothing it could misread.
    const bool day = std::all_of(v.begin(), v.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
    query += std::string(query.empty() ? "" : "&") + name + "=" + (day ? v : std::string("invalid"));
  };
  add("from", from);
  add("to", to);
  ApiAnswer a = call_api(router, caller, "/v1/reports/" + kind, query);
  if (!a.ok()) return error_page(caller, a);
  const bj::value& r = a.json;
  Html h;
  period_form(h, kind, text_of(r, "from"), text_of(r, "to"));
  const bool incoming = kind == "incoming";
  const char* rows_key = incoming ? "units" : "organs";
  const bj::array empty;
  const bj::value* rows_v = r.is_object() ? r.as_object().if_contains(rows_key) : nullptr;
  const bj::array& rows = rows_v && rows_v->is_array() ? rows_v->as_array() : empty;
  const bj::value* total_v = r.is_object() ? r.as_object().if_contains("total") : nullptr;
  const bj::value total = total_v ? *total_v : bj::value();
  h.raw("<p class=\"hint\">");
  if (incoming) {
    h.raw("Văn bản đến nhận từ ngày ").text(text_of(r, "from")).raw(" đến ngày ").text(text_of(r, "to"));
    h.raw(
        " (giờ Việt Nam), theo đơn vị xử lý. Hạn xử lý là hạn ghi trong văn bản (DueDate) hoặc hạn do hệ thống "
        "nội bộ đặt khi giao việc; quá hạn là chưa xong khi đã qua hạn.");
  } else {
    h.raw("Văn bản đi gửi từ ngày ").text(text_of(r, "from")).raw(" đến ngày ").text(text_of(r, "to"));
    h.raw(
         " (giờ Việt Nam), theo nơi nhận, theo trạng thái nơi nhận báo về; không phản hồi là chưa báo gì ngoài "
         "“đã đến” sau ")
        .number(count_of(r, "no_answer_days"))
        .raw(" ngày.");
  }
  h.raw(" Số liệu lúc <time>").text(text_of(r, "generated_at")).raw("</time>.</p>\n");
  if (rows.empty()) {
    h.raw("<p class=\"empty\" id=\"report-empty\">Không có văn bản trong khoảng thời gian này.</p>\n");
  } else if (incoming) {
    chart(h, rows, "unit", "(chưa giao đơn vị)", kIncoming);
    table(h, rows, total, "unit", "Đơn vị", "(chưa giao đơn vị)", kIncoming);
  } else {
    chart(h, rows, "organ_id", "(không rõ)", kOutgoing);
    table(h, rows, total, "organ_id", "Nơi nhận (mã định danh)", "(không rõ)", kOutgoing);
  }
  return page(caller, 200, "reports", incoming ? "Báo cáo văn bản đến" : "Báo cáo văn bản đi", h);
}

}  // namespace edxgate::gateway::console
