#include "edxgate/edxml/model.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "edxgate/base/mutex.h"
#include "text.h"

namespace edxgate::edxml {
namespace {

constexpr int64_t kVietnamOffsetS = 7 * 3600;

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A token as the schema's \S{1,max} sees it: non-empty, at most `max`
// characters, none of them XML whitespace.
bool is_token(std::string_view s, size_t max) {
  if (s.empty() || !detail::valid_utf8(s)) return false;
  size_t chars = 0;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return false;
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++chars;
  }
  return chars <= max;
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 (H. Hinnant's days_from_civil).
int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return Date{static_cast<int>(yoe + era * 400 + (m <= 2)), m, d};
}

DateTime from_epoch_vietnam(int64_t epoch_s) {
  int64_t local = epoch_s + kVietnamOffsetS;
  int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  int64_t rem = local - days * 86400;
  return DateTime{civil_from_days(days), static_cast<int>(rem / 3600), static_cast<int>(rem % 3600 / 60),
                  static_cast<int>(rem % 60)};
}

Error date_error(std::string_view text, const char* expected) {
  std::string shown(text.substr(0, 40));
  return make_error(ErrorKind::invalid, "edxml.date", "'" + shown + "' is not a valid " + expected + ".");
}

// yyyy?MM?dd with `sep` as separator.
std::optional<Date> parse_ymd(std::string_view s, char sep) {
  if (s.size() != 10 || s[4] != sep || s[7] != sep) return std::nullopt;
  if (!all_digits(s.substr(0, 4)) || !all_digits(s.substr(5, 2)) || !all_digits(s.substr(8, 2))) {
    return std::nullopt;
  }
  Date d{to_int(s.substr(0, 4)), to_int(s.substr(5, 2)), to_int(s.substr(8, 2))};
  if (d.year < 1000 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in_month(d.year, d.month)) {
    return std::nullopt;
  }
  return d;
}

// HH:mm:ss
bool parse_hms(std::string_view s, DateTime& t) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  if (!all_digits(s.substr(0, 2)) || !all_digits(s.substr(3, 2)) || !all_digits(s.substr(6, 2))) {
    return false;
  }
  t.hour = to_int(s.substr(0, 2));
  t.minute = to_int(s.substr(3, 2));
  t.second = to_int(s.substr(6, 2));
  return t.hour < 24 && t.minute < 60 && t.second < 60;
}

std::string pad(int v, int width) {
  std::string s = std::to_string(v);
  return std::string(s.size() < static_cast<size_t>(width) ? width - s.size() : 0, '0') + s;
}

// Compiled organ id patterns by their text. Patterns come from config: a
// handful at most, so the cache is simply emptied past 16. A caller shares
// ownership of the regex it got, so emptying the cache (on another thread)
// never frees one in use.
class PatternCache {
 public:
  // Null when `pattern` is not a valid ECMAScript regular expression.
  std::shared_ptr<const std::regex> get(const std::string& pattern) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    auto it = cache_.find(pattern);
    if (it != cache_.end()) return it->second;
    if (cache_.size() > 16) cache_.clear();
    try {
      auto re = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
      cache_.emplace(pattern, re);
      return re;
    } catch (const std::regex_error&) {
      return nullptr;
    }
  }

 private:
  Mutex mu_;
  std::map<std::string, std::shared_ptr<const std::regex>> cache_ GUARDED_BY(mu_);
};

std::shared_ptr<const std::regex> compiled_pattern(const std::string& pattern) {
  static PatternCache cache;
  return cache.get(pattern);
}

Error missing(const std::string& what) {
  return make_error(ErrorKind::invalid, "edxml.missing", "The envelope has no " + what + ".");
}

}  // namespace

Status check_organ_id(std::string_view id, const FormatOptions& format) {
  std::string shown(id.substr(0, 40));
  if (id.empty() || id.size() > 64 || !detail::valid_utf8(id)) {
    return make_error(ErrorKind::invalid, "edxml.organ_id", "'" + shown + "' is not a valid organ id (mã định danh).");
  }
  const std::shared_ptr<const std::regex> re = compiled_pattern(format.organ_id_pattern);
  if (!re) {
    return make_error(ErrorKind::invalid, "edxml.organ_id",
                      "The organ id pattern in the configuration is not a "
                      "valid regular expression.");
  }
  if (!std::regex_match(id.begin(), id.end(), *re)) {
    return make_error(ErrorKind::invalid, "edxml.organ_id",
                      "'" + shown +
                          "' is not a valid organ id (mã định danh), expected "
                          "a form like 000.00.00.G06.");
  }
  return {};
}

Status check_received_organ_id(std::string_view id) {
  if (!is_token(id, 64)) {
    return make_error(ErrorKind::invalid, "edxml.organ_id",
                      "'" + std::string(id.substr(0, 40)) +
                          "' is not an organ id (mã định danh): expected a "
                          "token of 1 to 64 characters without spaces.");
  }
  return {};
}

Result<Date> parse_date(std::string_view text) {
  if (auto d = parse_ymd(text, '/')) return *d;
  if (auto d = parse_ymd(text, '-')) return *d;
  return date_error(text, "date (expected yyyy/MM/dd)");
}

Result<DateTime> parse_datetime(std::string_view text) {
  const char* expected = "timestamp (expected yyyy/MM/dd HH:mm:ss)";
  if (text.size() == 10) {
    auto d = parse_ymd(text, '/');
    if (!d) return date_error(text, expected);
    return DateTime{*d, 0, 0, 0};
  }
  if (text.size() == 19 && text[10] == ' ') {
    auto d = parse_ymd(text.substr(0, 10), '/');
    DateTime t;
    if (!d || !parse_hms(text.substr(11), t)) return date_error(text, expected);
    t.date = *d;
    return t;
  }
  // ISO 8601: yyyy-MM-ddTHH:mm:ss[.fff][Z|±hh:mm]
  if (text.size() < 19 || (text[10] != 'T' && text[10] != ' ')) return date_error(text, expected);
  auto d = parse_ymd(text.substr(0, 10), '-');
  DateTime t;
  if (!d || !parse_hms(text.substr(11, 8), t)) return date_error(text, expected);
  t.date = *d;
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 1 || n > 10) return date_error(text, expected);
    rest.remove_prefix(n);
  }
  if (rest.empty()) return t;  // no zone: already Vietnam wall time
  int64_t offset_s = 0;
  if (rest == "Z") {
    offset_s = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
             all_digits(rest.substr(1, 2)) && all_digits(rest.substr(4, 2))) {
    int h = to_int(rest.substr(1, 2)), m = to_int(rest.substr(4, 2));
    if (h > 14 || m > 59) return date_error(text, expected);
    offset_s = (h * 3600 + m * 60) * (rest[0] == '-' ? -1 : 1);
  } else {
    return date_error(text, expected);
  }
  int64_t epoch = days_from_civil(t.date.year, t.date.month, t.date.day) * 86400 + t.hour * 3600 + t.minute * 60 +
                  t.second - offset_s;
  return from_epoch_vietnam(epoch);
}

std::string format_date(const Date& d) { return pad(d.year, 4) + "/" + pad(d.month, 2) + "/" + pad(d.day, 2); }

std::string format_datetime(const DateTime& t) {
  return format_date(t.date) + " " + pad(t.hour, 2) + ":" + pad(t.minute, 2) + ":" + pad(t.second, 2);
}

DateTime now_vietnam() {
  auto s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return from_epoch_vietnam(s);
}

namespace {

Status check_notation(const DocumentCode& code) {
  const std::string& n = code.notation;
  bool ok = !n.empty() && n.size() <= 100 && detail::valid_utf8(n);
  const auto* p = reinterpret_cast<const uint8_t*>(n.data());
  int32_t i = 0, len = static_cast<int32_t>(n.size());
  while (ok && i < len) {
    UChar32 c;
    U8_NEXT(p, i, len, c);
    ok = c >= 0 && (u_isalnum(c) || c == '-' || c == '.' || c == '/' || c == '&' || c == '_');
  }
  if (!ok) {
    return make_error(ErrorKind::invalid, "edxml.code",
                      "'" + format_document_code(code).substr(0, 60) +
                          "' has no valid notation (ký hiệu): expected letters, "
                          "digits and - . / & _ only.");
  }
  return {};
}

}  // namespace

Status check_document_code(const DocumentCode& code) {
  if (code.number.size() > 12 || !all_digits(code.number)) {
    return make_error(ErrorKind::invalid, "edxml.code",
                      "'" + format_document_code(code).substr(0, 60) + "' has no valid number (số): expected digits.");
  }
  return check_notation(code);
}

Result<DocumentCode> parse_document_code(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return make_error(ErrorKind::invalid, "edxml.code",
                      "'" + std::string(text.substr(0, 60)) +
                          "' is not a document code (expected number/notation, "
                          "e.g. 251/TMĐT-TTTH).");
  }
  DocumentCode code{std::string(text.substr(0, slash)), detail::nfc(text.substr(slash + 1))};
  if (!detail::valid_utf8(text)) return make_error(ErrorKind::invalid, "edxml.code", "The document code is not UTF-8.");
  EDX_TRY(check_document_code(code));
  return code;
}

std::string format_document_code(const DocumentCode& code) { return code.number + "/" + code.notation; }

Result<StatusCode> parse_status_code(std::string_view text) {
  if (text.size() == 2 && all_digits(text)) {
    switch (to_int(text)) {
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
      case 6:
      case 13:
      case 15:
      case 16:
        return static_cast<StatusCode>(to_int(text));
      default:
        break;
    }
  }
  return make_error(ErrorKind::invalid, "edxml.status_code",
                    "'" + std::string(text.substr(0, 20)) + "' is not a status code (01-06, 13, 15 or 16).");
}

std::string format_status_code(StatusCode code) { return pad(static_cast<int>(code), 2); }

std::string_view status_code_meaning(StatusCode code) {
  switch (code) {
    case StatusCode::arrived:
      return "Đã đến";
    case StatusCode::refused:
      return "Từ chối tiếp nhận";
    case StatusCode::accepted:
      return "Đã tiếp nhận";
    case StatusCode::assigned:
      return "Phân công";
    case StatusCode::processing:
      return "Đang xử lý";
    case StatusCode::completed:
      return "Hoàn thành";
    case StatusCode::recall_requested:
      return "Yêu cầu lấy lại";
    case StatusCode::recall_agreed:
      return "Đồng ý lấy lại / cập nhật";
    case StatusCode::recall_refused:
      return "Từ chối lấy lại / cập nhật";
  }
  return "";
}

Status check_attachment_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::invalid, "edxml.attachment_name", "The attachment name is refused: " + why + ".");
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 255) return bad("it is longer than 255 bytes");
  if (!detail::valid_utf8(name)) return bad("it is not UTF-8");
  if (name.find("..") != std::string_view::npos) return bad("it contains '..'");
  if (name.front() == '.') return bad("it starts with '.'");
  const auto* p = reinterpret_cast<const uint8_t*>(name.data());
  int32_t i = 0, len = static_cast<int32_t>(name.size());
  while (i < len) {
    UChar32 c;
    U8_NEXT(p, i, len, c);
    if (c == '/' || c == '\\') return bad("it contains a path separator");
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029) {
      return bad("it contains a control character");
    }
  }
  return {};
}

namespace {

// The checks of one envelope under one strictness. On receive, what only
// breaks our own rules becomes a warning (each distinct one once).
class EnvelopeCheck {
 public:
  EnvelopeCheck(const FormatOptions& format, Strictness strictness, std::vector<Warning>* warnings)
      : format_(format), receive_(strictness == Strictness::receive), warnings_(warnings) {}

  Status organ_id(const std::string& id, const std::string& role) {
    if (id.empty()) return missing(role + " organ id (OrganId)");
    if (!receive_) return check_organ_id(id, format_);
    return received_organ_id(id, role);
  }

  // The organ a document or status answers (ResponseFor) is the peer's, taken
  // from what it sent: whatever we accepted from it we may answer, also in
  // what we send (a refusal here would leave a state enterprise with a
  // 12-digit id without its status messages).
  Status answered_organ_id(const std::string& id) {
    if (id.empty()) return missing("ResponseFor organ id (OrganId)");
    if (!receive_) return check_received_organ_id(id);
    return received_organ_id(id, "ResponseFor");
  }

  Status code(const DocumentCode& c) {
    if (c.number.empty() || c.notation.empty()) return missing("document number and notation (Code)");
    if (!receive_) return check_document_code(c);
    if (!is_token(c.number, 64)) {
      return make_error(ErrorKind::invalid, "edxml.code",
                        "'" + c.number.substr(0, 60) +
                            "' is not a document number (số): expected a token of 1 "
                            "to 64 characters without spaces.");
    }
    EDX_TRY(check_notation(c));
    if (c.number.size() > 12 || !all_digits(c.number)) {
      warn("edxml.code",
           "The document number (số) '" + c.number.substr(0, 60) + "' is not digits; accepted on receive.");
    }
    return {};
  }

  Status message(const MessageHeader& m) {
    EDX_TRY(organ_id(m.from.organ_id, "sender"));
    if (m.to.empty()) return missing("recipient (To)");
    for (const Organization& to : m.to) EDX_TRY(organ_id(to.organ_id, "recipient"));
    EDX_TRY(code(m.code));
    if (m.promulgation_date.year == 0) return missing("promulgation date (PromulgationDate)");
    if (m.subject.empty()) return missing("subject (Subject)");
    if (m.response_for && !m.response_for->organ_id.empty()) {
      EDX_TRY(answered_organ_id(m.response_for->organ_id));
    }
    return {};
  }

  Status status(const StatusMessage& s) {
    EDX_TRY(organ_id(s.from.organ_id, "sender"));
    EDX_TRY(answered_organ_id(s.response_for.organ_id));
    if (s.timestamp.date.year == 0) return missing("status timestamp (Timestamp)");
    return {};
  }

  // On receive a TraceHeader may name no organ: the axis appends its own hop
  // with only a Timestamp.
  Status trace(const TraceHeader& t) {
    if (receive_ && t.organ_id.empty()) return {};
    EDX_TRY(organ_id(t.organ_id, "TraceHeader"));
    if (!receive_ && t.timestamp.date.year == 0) return missing("Timestamp in a TraceHeader");
    return {};
  }

 private:
  Status received_organ_id(const std::string& id, const std::string& role) {
    EDX_TRY(check_received_organ_id(id));
    if (auto strict = check_organ_id(id, format_); !strict) {
      warn("edxml.organ_id", "The " + role + " organ id '" + id.substr(0, 40) +
                                 "' is not in the usual form (e.g. 000.00.00.G06); accepted on "
                                 "receive.");
    }
    return {};
  }

  void warn(std::string code, std::string message) {
    if (!warnings_) return;
    Warning w{std::move(code), std::move(message), 0};
    for (const Warning& seen : *warnings_) {
      if (seen == w) return;
    }
    warnings_->push_back(std::move(w));
  }

  const FormatOptions& format_;
  bool receive_;
  std::vector<Warning>* warnings_;
};

}  // namespace

Status check_envelope(const Envelope& env, const FormatOptions& format, Strictness strictness,
                      std::vector<Warning>* warnings) {
  if (env.message.has_value() == env.status.has_value()) {
    return missing("header: exactly one of MessageHeader and the status element is needed");
  }
  EnvelopeCheck check(format, strictness, warnings);
  if (env.message) EDX_TRY(check.message(*env.message));
  if (env.status) {
    EDX_TRY(check.status(*env.status));
    if (!env.attachments.empty()) {
      return make_error(ErrorKind::invalid, "edxml.status_body", "A status message carries no attachments.");
    }
  }
  for (const TraceHeader& t : env.trace.traces) EDX_TRY(check.trace(t));
  std::set<std::string> ids;
  for (const Attachment& a : env.attachments) {
    if (a.content_id.empty()) return missing("ContentId of an attachment");
    if (!ids.insert(a.content_id).second) {
      return make_error(ErrorKind::invalid, "edxml.duplicate_content_id",
                        "Two attachments have the content id '" + a.content_id.substr(0, 80) + "'.");
    }
    EDX_TRY(check_attachment_name(a.name));
  }
  return {};
}

}  // namespace edxgate::edxml
