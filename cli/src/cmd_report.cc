// edxgate report incoming|outgoing: the processing reports of the store, as a
// table, JSON (the shape of GET /v1/reports/*) or CSV. The store is opened
// read-only, like the other store commands.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"
#include "edxgate/config/config.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/reports.h"

namespace edxgate::cli {
namespace {

namespace bj = json::bj;

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Characters shown (code points; the text is NFC, where Vietnamese letters
// are one code point each).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string pad(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// One CSV field (RFC 4180). A field a spreadsheet would run as a formula
// (= + - @ first) gets a leading apostrophe: names come from other systems.
std::string csv_field(const std::string& v) {
  std::string s = v;
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r')) {
    s.insert(s.begin(), '\'');
  }
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// A report as rows of text: the key column then the counts, in `columns` order.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> total;
};

void print_table(const Table& t) {
  std::vector<size_t> width(t.columns.size());
  auto widen = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
  };
  widen(t.columns);
  for (const auto& r : t.rows) widen(r);
  widen(t.total);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i == 0) {
        out += pad(row[i], width[i]);
      } else {
        out += "  " + std::string(width[i] - display_width(row[i]), ' ') + row[i];
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::cout << out << '\n';
  };
  line(t.columns);
  for (const auto& r : t.rows) line(r);
  line(t.total);
}

void print_csv(const Table& t) {
  auto line = [](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csv_field(row[i]);
    std::cout << out << "\r\n";
  };
  line(t.columns);
  for (const auto& r : t.rows) line(r);
}

// The JSON of the report (workflow/reports.h) as a table: `key` names each
// row, the columns are the counts of "total" in order.
Table table_of(const bj::object& report, const char* rows_key, const char* key, const char* key_header) {
  Table t;
  t.columns.push_back(key_header);
  const bj::object& total = report.at("total").as_object();
  for (const auto& kv : total) t.columns.emplace_back(kv.key());
  for (const auto& row : report.at(rows_key).as_array()) {
    const bj::object& o = row.as_object();
    std::vector<std::string> r{std::string(o.at(key).as_string())};
    for (size_t i = 1; i < t.columns.size(); ++i) r.push_back(std::to_string(o.at(t.columns[i]).to_number<uint64_t>()));
    t.rows.push_back(std::move(r));
  }
  t.total.push_back("TOTAL");
  for (size_t i = 1; i < t.columns.size(); ++i)
    t.total.push_back(std::to_string(total.at(t.columns[i]).to_number<uint64_t>()));
  return t;
}

int report(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--db", "", true},
                                 {"--dsn-file", "", true},
                                 {"--blob-dir", "", true},
                                 {"--from", "", true},
                                 {"--to", "", true},
                                 {"--no-answer-days", "", true},
                                 {"--config", "", true},
                                 {"--json"},
                                 {"--csv"}});
  if (!args.ok()) return fail(args.error());
  if (args->positional().size() != 1 || (args->positional()[0] != "incoming" && args->positional()[0] != "outgoing")) {
    return fail(kExitUsage, "usage: edxgate report incoming|outgoing --db PATH [--from DAY] [--to DAY] [--json|--csv]");
  }
  if (args->has("--json") && args->has("--csv")) return fail(kExitUsage, "give --json or --csv, not both");
  const bool incoming = args->positional()[0] == "incoming";
  int no_answer_days = 7;
  if (args->has("--config")) {
    auto cfg = config::load(args->get("--config"));
    if (!cfg.ok()) return fail(cfg.error());
    no_answer_days = cfg->reports.no_answer_days;
  }
  if (args->has("--no-answer-days")) {
    const std::string v = args->get("--no-answer-days");
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), no_answer_days);
    if (ec != std::errc() || end != v.data() + v.size() || no_answer_days < 1 || no_answer_days > 3650) {
      return fail(kExitUsage, "--no-answer-days must be 1..3650");
    }
  }
  auto days = workflow::report_days(args->get("--from"), args->get("--to"), wall_ms());
  if (!days.ok()) {
    // A day not written YYYY-MM-DD is a usage error here (2); a period that ends before it starts, 1.
    return fail(days.error().kind == ErrorKind::invalid ? kExitInvalid : kExitUsage, days.error().message);
  }
  auto store = open_store_from_args(*args);
  if (!store.ok()) return fail(store.error());

  bj::object json;
  if (incoming) {
    auto r = (*store)->incoming_report(days->period);
    if (!r.ok()) return fail(r.error());
    json = workflow::incoming_report_json(*days, *r);
  } else {
    auto r = (*store)->outgoing_report(days->period, no_answer_days);
    if (!r.ok()) return fail(r.error());
    json = workflow::outgoing_report_json(*days, *r);
  }
  if (args->has("--json")) {
    std::cout << json::pretty(json);
    return kExitOk;
  }
  Table t = incoming ? table_of(json, "units", "unit", "UNIT") : table_of(json, "organs", "organ_id", "ORGAN");
  if (args->has("--csv")) {
    t.columns[0] = incoming ? "unit" : "organ_id";
    print_csv(t);
    return kExitOk;
  }
  for (auto& c : t.columns) {
    for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  for (auto& r : t.rows) {
    if (r[0].empty()) r[0] = "(unassigned)";
  }
  std::cout << (incoming ? "Incoming documents received " : "Outgoing documents first sent ") << days->from << " .. "
            << days->to << " (Vietnam time)";
  if (!incoming) std::cout << ", no answer after " << no_answer_days << " days";
  std::cout << "\n";
  print_table(t);
  return kExitOk;
}

constexpr Command kCommands[] = {
    {"report", "processing reports: incoming per unit, outgoing per recipient organ",
     "usage: edxgate report incoming|outgoing --db PATH [--from DAY] [--to DAY]\n"
     "                      [--no-answer-days N | --config FILE] [--json | --csv]\n\n"
     "incoming: the documents received in the period, per unit handling them (the\n"
     "unit last named by a status report; '(unassigned)' before any): RECEIVED,\n"
     "IN_PROGRESS, DONE_ON_TIME, DONE_LATE, REFUSED, OVERDUE (still open past the\n"
     "deadline now). The deadline is the envelope's DueDate, or the one set when\n"
     "the document was assigned (04); without one a document is never late.\n"
     "outgoing: the documents first sent in the period, per recipient organ, by\n"
     "the statuses it sent back: SENT, DELIVERED (01), ACCEPTED (03), IN_PROGRESS\n"
     "(04/05), COMPLETED (06), REFUSED (02), NO_ANSWER (nothing beyond 01 after N\n"
     "days: --no-answer-days N, or [reports] no_answer_days of --config FILE,\n"
     "default 7), WAITING (nothing yet, within N days).\n\n"
     "Days are YYYY-MM-DD in Vietnam time, both included; default: the 30 days up\n"
     "to today. --json prints the JSON of GET /v1/reports/*; --csv one row per\n"
     "unit or organ with a header (no total row). PATH as for queue list; the store\n"
     "is opened read-only. Exit 0, 1 when --from is after --to, 2 usage or store\n"
     "error.\n",
     report},
};

}  // namespace

std::span<const Command> report_commands() { return kCommands; }

}  // namespace edxgate::cli
