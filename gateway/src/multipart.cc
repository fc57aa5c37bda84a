// multipart/form-data parsing (multipart.h): a push parser fed in chunks.
//
// The parser keeps one input buffer. In a part's body it hands everything but
// the last delimiter-length bytes to the part's sink as soon as it arrives, so
// the buffer never holds more than one chunk plus a delimiter (or, in a
// header section, one chunk plus the header limit).
//
// A delimiter is searched for as "\n--BOUNDARY": preceded by '\r' it is a
// delimiter; preceded by anything else it is a bare-LF line that a lenient
// parser would take for a delimiter, so it is refused rather than read two
// ways. The body is parsed as if it started with CRLF, so a first delimiter at
// offset 0 needs no special case.
#include "edxgate/gateway/multipart.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <new>
#include <optional>

#include "edxgate/base/fs.h"
#include "edxgate/base/hex.h"

namespace edxgate::gateway {
namespace {

constexpr size_t kMaxPadding = 256;  // transport padding (LWSP) after a delimiter

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }
bool is_ows(char c) { return c == ' ' || c == '\t'; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool has_ctl(std::string_view s, bool allow_tab) {
  return std::any_of(s.begin(), s.end(),
                     [&](char c) { return is_ctl(static_cast<unsigned char>(c)) && !(allow_tab && c == '\t'); });
}

// A field name or boundary fit to quote in an error message, or "".
std::string quoted(std::string_view s) {
  if (s.empty() || s.size() > 64) return "";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') return "";
  }
  return " \"" + std::string(s) + "\"";
}

// RFC 2046 bchars, 1..70 of them, not ending in a space.
bool valid_boundary(std::string_view b) {
  if (b.empty() || b.size() > 70 || b.back() == ' ') return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return true;
    return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
  });
}

struct Param {
  std::string name;  // lower case
  std::string value;
};

struct HeaderValue {
  std::string type;  // as sent
  std::vector<Param> params;
  const Param* get(std::string_view name) const {
    for (const auto& p : params)
      if (p.name == name) return &p;
    return nullptr;
  }
};

// `type *( OWS ";" OWS name OWS "=" OWS ( token / quoted-string ) )`, the
// shape of Content-Type and Content-Disposition. Parameter names are
// case-insensitive and may appear once. In a quoted-string a backslash may
// escape only '"' or '\' (what else it would mean differs between parsers).
// Control characters are left to the caller, which knows which parameter is a
// file name.
Result<HeaderValue> parse_params(std::string_view s, const std::string& code, std::string_view what) {
  auto fail = [&](std::string_view why) {
    return make_error(ErrorKind::malformed, code, "the " + std::string(what) + " header " + std::string(why));
  };
  HeaderValue out;
  size_t i = 0;
  auto skip_ows = [&] {
    while (i < s.size() && is_ows(s[i])) ++i;
  };
  skip_ows();
  size_t t = i;
  while (i < s.size() && s[i] != ';' && !is_ows(s[i])) ++i;
  out.type = std::string(s.substr(t, i - t));
  if (out.type.empty()) return fail("has no type");
  for (;;) {
    skip_ows();
    if (i == s.size()) break;
    if (s[i] != ';') return fail("has text where a ';' should be");
    ++i;
    skip_ows();
    if (i == s.size()) break;  // a trailing ';'
    size_t n = i;
    while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
    if (i == n) return fail("has a parameter without a name");
    Param p;
    for (char c : s.substr(n, i - n)) p.name += ascii_lower(c);
    skip_ows();
    if (i == s.size() || s[i] != '=') return fail("has a parameter without '='");
    ++i;
    skip_ows();
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i == s.size() || (s[i] != '"' && s[i] != '\\'))
            return fail("has a backslash in a quoted value that escapes neither '\"' nor '\\'");
          c = s[i++];
        }
        p.value += c;
      }
      if (!closed) return fail("has an unterminated quoted value");
    } else {
      size_t v = i;
      while (i < s.size() && s[i] != ';' && !is_ows(s[i])) {
        if (s[i] == '"') return fail("has a stray '\"' in a parameter value");
        ++i;
      }
      if (i == v) return fail("has a parameter with an empty value");
      p.value = std::string(s.substr(v, i - v));
    }
    for (const auto& q : out.params)
      if (q.name == p.name) return fail("repeats the parameter " + p.name);
    out.params.push_back(std::move(p));
  }
  return out;
}

// Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
// without C0, DEL or C1 control characters.
bool utf8_without_controls(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      cp = c & 0x1fu;
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      cp = c & 0x0fu;
      len = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      cp = c & 0x07u;
      len = 4;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return false;
    if (cp >= 0xd800 && cp <= 0xdfff) return false;
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return false;
    i += len;
  }
  return true;
}

Error filename_error(std::string_view why) {
  return make_error(ErrorKind::malformed, "multipart.filename",
                    "a file name " + std::string(why) + "; rename the file before sending it");
}

// RFC 5987 ext-value: charset "'" [language] "'" pct-encoded bytes. Only UTF-8.
Result<std::string> decode_ext_value(std::string_view v) {
  size_t q1 = v.find('\'');
  size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos)
    return filename_error("in filename* is not of the form UTF-8''percent-encoded-name");
  if (!iequals(v.substr(0, q1), "utf-8")) return filename_error("in filename* is not in UTF-8");
  std::string out;
  for (size_t i = q2 + 1; i < v.size(); ++i) {
    char c = v[i];
    if (c == '%') {
      const auto byte = i + 2 < v.size() ? from_hex(v.substr(i + 1, 2)) : std::nullopt;
      if (!byte) return filename_error("in filename* has a '%' not followed by two hex digits");
      out += static_cast<char>(byte->front());
      i += 2;
    } else if (static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f) {
      out += c;
    } else {
      return filename_error("in filename* has a character that should be percent-encoded");
    }
  }
  return out;
}

Status check_filename(std::string_view name) {
  if (name.empty()) return filename_error("is empty");
  if (name == "." || name == "..") return filename_error("is \".\" or \"..\"");
  if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos)
    return filename_error("contains '/' or '\\'");
  if (!utf8_without_controls(name))
    return filename_error("is not valid UTF-8 or contains a control character (NUL included)");
  return {};
}

Error crlf_error(std::string_view where) {
  return make_error(ErrorKind::malformed, "multipart.crlf",
                    std::string(where) + " does not end with CRLF; multipart lines must end with CRLF");
}

Error too_large(std::string_view what, const std::string& name, uint64_t limit) {
  return make_error(
      ErrorKind::too_large, "http.too_large",
      std::string(what) + quoted(name) + " is larger than the " + std::to_string(limit) + " bytes allowed");
}

// The push parser. feed() the body in pieces, then finish().
class Parser {
 public:
  Parser(std::string_view boundary, const std::string& spool_dir, const MultipartLimits& limits)
      : needle_("\n--" + std::string(boundary)), spool_dir_(spool_dir), limits_(limits) {
    buf_ = "\r\n";  // the first delimiter may open the body
  }

  bool done() const { return state_ == State::kDone; }
  size_t peak_buffer() const { return peak_; }

  Status feed(std::string_view chunk) {
    if (state_ == State::kDone) return {};  // the epilogue is ignored
    buf_.append(chunk);
    peak_ = std::max(peak_, buf_.size());
    EDX_TRY(run());
    buf_.erase(0, pos_);  // what is left is short: a delimiter, a header section
    pos_ = 0;
    return {};
  }

  Result<MultipartForm> finish() {
    if (state_ != State::kDone) {
      if (!seen_delimiter_)
        return make_error(
            ErrorKind::malformed, "multipart.malformed",
            "the body has no delimiter line --" + needle_.substr(3) + "; check the boundary of the Content-Type");
      return make_error(ErrorKind::malformed, "multipart.truncated",
                        "the body ends before the closing delimiter --BOUNDARY--; it was cut short");
    }
    return std::move(form_);
  }

 private:
  enum class State { kData, kAfterDelimiter, kHeaders, kDone };

  // Runs the state machine over buf_[pos_..] until it needs more input.
  Status run() {
    for (;;) {
      bool progressed = false;
      switch (state_) {
        case State::kData:
          EDX_TRY(scan_data(progressed));
          break;
        case State::kAfterDelimiter:
          EDX_TRY(after_delimiter(progressed));
          break;
        case State::kHeaders:
          EDX_TRY(header_line(progressed));
          break;
        case State::kDone:
          return {};
      }
      if (!progressed) return {};
    }
  }

  Status scan_data(bool& progressed) {
    std::string_view b(buf_);
    if (at_body_start_) {
      // RFC 2046: body-part := headers [CRLF *OCTET], so the CRLF that ends
      // the header section may also open the delimiter of an empty body.
      std::string_view dash = std::string_view(needle_).substr(1);
      size_t n = std::min(b.size() - pos_, dash.size());
      if (b.substr(pos_, n) != dash.substr(0, n)) {
        at_body_start_ = false;
      } else if (n < dash.size()) {
        return {};
      } else {
        at_body_start_ = false;
        return delimiter_at(pos_, pos_ + dash.size(), progressed);
      }
    }
    size_t p = b.find(needle_, pos_);
    if (p == std::string_view::npos) {
      // Keep the bytes a delimiter could start in, and the one before them.
      if (b.size() - pos_ > needle_.size()) {
        size_t end = b.size() - needle_.size();
        EDX_TRY(emit(b.substr(pos_, end - pos_)));
        pos_ = end;
      }
      return {};
    }
    if (p == pos_ || b[p - 1] != '\r') {
      // The bytes before it first, so the error does not depend on the reads.
      EDX_TRY(emit(b.substr(pos_, p - pos_)));
      return crlf_error("a delimiter line or the line before it");
    }
    return delimiter_at(p - 1, p + needle_.size(), progressed);
  }

  // The delimiter occupies buf_[start, end): what precedes it ends the part.
  Status delimiter_at(size_t start, size_t end, bool& progressed) {
    EDX_TRY(emit(std::string_view(buf_).substr(pos_, start - pos_)));
    EDX_TRY(end_part());
    seen_delimiter_ = true;
    pos_ = end;
    state_ = State::kAfterDelimiter;
    progressed = true;
    return {};
  }

  Status after_delimiter(bool& progressed) {
    std::string_view b(buf_);
    if (pos_ == b.size()) return {};
    if (b[pos_] == '-') {
      if (pos_ + 1 == b.size()) return {};
      if (b[pos_ + 1] != '-')
        return make_error(ErrorKind::malformed, "multipart.malformed",
                          "a line starts with the boundary but is not a delimiter");
      if (form_.parts.empty()) return make_error(ErrorKind::malformed, "multipart.empty", "the form has no parts");
      state_ = State::kDone;
      pos_ = b.size();
      progressed = true;
      return {};
    }
    size_t i = pos_;
    while (i < b.size() && is_ows(b[i]) && i - pos_ <= kMaxPadding) ++i;
    if (i - pos_ > kMaxPadding)
      return make_error(ErrorKind::malformed, "multipart.malformed",
                        "a delimiter line has too much trailing white space");
    if (i == b.size()) return {};
    if (b[i] == '\r') {
      if (i + 1 == b.size()) return {};
      if (b[i + 1] != '\n') return crlf_error("a delimiter line");
      EDX_TRY(start_part());
      pos_ = i + 2;
      progressed = true;
      return {};
    }
    if (b[i] == '\n') return crlf_error("a delimiter line");
    return make_error(ErrorKind::malformed, "multipart.malformed",
                      "a line starts with the boundary but is not a delimiter");
  }

  Status start_part() {
    if (form_.parts.size() >= limits_.max_parts)
      return make_error(ErrorKind::malformed, "multipart.too_many_parts",
                        "the form has more than " + std::to_string(limits_.max_parts) + " parts");
    header_bytes_ = 0;
    disposition_.reset();
    content_type_.reset();
    encoding_.reset();
    state_ = State::kHeaders;
    return {};
  }

  Status header_line(bool& progressed) {
    std::string_view b(buf_);
    size_t nl = b.find('\n', pos_ + header_scanned_);
    uint64_t limit = limits_.max_part_header_bytes;
    auto over = [&] {
      return make_error(ErrorKind::malformed, "multipart.header_too_large",
                        "the header lines of a part are longer than the " + std::to_string(limit) + " bytes allowed");
    };
    if (nl == std::string_view::npos) {
      header_scanned_ = b.size() - pos_;
      if (header_bytes_ + header_scanned_ > limit) return over();
      return {};
    }
    header_scanned_ = 0;
    std::string_view line = b.substr(pos_, nl - pos_);
    header_bytes_ += line.size() + 1;
    if (header_bytes_ > limit) return over();
    if (line.empty() || line.back() != '\r') return crlf_error("a part header line");
    line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return crlf_error("a part header line");
    pos_ = nl + 1;
    progressed = true;
    if (line.empty()) return end_headers();
    return add_header(line);
  }

  Status add_header(std::string_view line) {
    auto fail = [](const std::string& why) {
      return make_error(ErrorKind::malformed, "multipart.header", "a part header " + why);
    };
    if (is_ows(line.front())) return fail("line is folded (starts with white space)");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail("line has no ':'");
    std::string_view name = line.substr(0, colon);
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); }))
      return fail("name is empty or not a token");
    std::string_view value = trim_ows(line.substr(colon + 1));
    std::optional<std::string>* slot = nullptr;
    if (iequals(name, "Content-Disposition"))
      slot = &disposition_;
    else if (iequals(name, "Content-Type"))
      slot = &content_type_;
    else if (iequals(name, "Content-Transfer-Encoding"))
      slot = &encoding_;
    // Content-Disposition's parameters are checked one by one (a control
    // character in a file name is a file name error).
    if (slot != &disposition_ && has_ctl(value, true)) return fail("has a control character");
    if (!slot) return {};  // RFC 7578: other header fields are ignored
    if (slot->has_value()) return fail(std::string(name) + " appears twice");
    if (value.empty()) return fail(std::string(name) + " is empty");
    *slot = std::string(value);
    return {};
  }

  Status end_headers() {
    auto disposition_error = [](const std::string& why) {
      return make_error(ErrorKind::malformed, "multipart.disposition", "a part " + why);
    };
    if (!disposition_)
      return disposition_error("has no Content-Disposition header; each part needs form-data; name=...");
    auto cd = parse_params(*disposition_, "multipart.disposition", "Content-Disposition");
    if (!cd.ok()) return cd.error();
    if (!iequals(cd->type, "form-data")) return disposition_error("has a Content-Disposition other than form-data");
    const Param* name = cd->get("name");
    if (!name || name->value.empty()) return disposition_error("has no name in its Content-Disposition");
    if (has_ctl(name->value, false)) return disposition_error("name contains a control character");
    if (encoding_ && !iequals(*encoding_, "binary") && !iequals(*encoding_, "8bit") && !iequals(*encoding_, "7bit"))
      return make_error(
          ErrorKind::malformed, "multipart.encoding",
          "a part has Content-Transfer-Encoding " + quoted(*encoding_) + "; only binary, 8bit and 7bit are accepted");

    MultipartPart part;
    part.name = name->value;
    const Param* ext = cd->get("filename*");
    const Param* plain = cd->get("filename");
    if (ext) {
      auto decoded = decode_ext_value(ext->value);
      if (!decoded.ok()) return decoded.error();
      part.filename = std::move(*decoded);
    } else if (plain) {
      part.filename = plain->value;
    }
    if (ext || plain) EDX_TRY(check_filename(part.filename));
    part.content_type = content_type_ ? *content_type_ : part.is_file() ? "application/octet-stream" : "text/plain";
    form_.parts.push_back(std::move(part));
    if (form_.parts.back().is_file()) EDX_TRY(open_spool_file());
    state_ = State::kData;
    at_body_start_ = true;
    return {};
  }

  Status open_spool_file() {
    std::string tmpl = spool_dir_ + "/part-XXXXXX";
    int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);  // mode 0600
    if (fd < 0) return make_error(ErrorKind::io, "io.spool", "cannot create a spool file for a form file part");
    file_.reset(fd);
    form_.parts.back().path = std::move(tmpl);
    return {};
  }

  // Part bytes (or preamble bytes, dropped).
  Status emit(std::string_view data) {
    if (data.empty() || form_.parts.empty()) return {};
    MultipartPart& part = form_.parts.back();
    if (!part.is_file()) {
      if (data.size() > limits_.max_field_bytes - part.value.size())
        return too_large("the form field", part.name, limits_.max_field_bytes);
      if (data.size() > limits_.max_fields_total_bytes - fields_bytes_)
        return too_large("the form fields together", "", limits_.max_fields_total_bytes);
      part.value.append(data);
      part.size = part.value.size();
      fields_bytes_ += data.size();
      return {};
    }
    if (data.size() > limits_.max_file_bytes - part.size)
      return too_large("the file of form part", part.name, limits_.max_file_bytes);
    while (!data.empty()) {
      ssize_t w = ::write(file_.get(), data.data(), data.size());
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return make_error(ErrorKind::io, "io.spool", "cannot write a form file part to the spool directory");
      data.remove_prefix(static_cast<size_t>(w));
      part.size += static_cast<uint64_t>(w);
    }
    return {};
  }

  Status end_part() {
    if (file_.valid()) {
      int fd = file_.release();
      if (::close(fd) != 0 && errno != EINTR)
        return make_error(ErrorKind::io, "io.spool", "cannot close a spool file of a form file part");
    }
    return {};
  }

  const std::string needle_;  // "\n--BOUNDARY"
  const std::string& spool_dir_;
  const MultipartLimits& limits_;
  std::string buf_;
  size_t pos_ = 0;
  size_t peak_ = 0;
  State state_ = State::kData;
  bool seen_delimiter_ = false;
  bool at_body_start_ = false;  // pos_ is just past a header section's CRLF CRLF
  uint64_t header_bytes_ = 0;
  uint64_t fields_bytes_ = 0;
  std::optional<std::string> disposition_, content_type_, encoding_;
  fs::UniqueFd file_;
  size_t header_scanned_ = 0;  // bytes after pos_ known to hold no '\n'
  MultipartForm form_;
};

Status feed_memory(Parser& parser, std::string_view bytes, size_t chunk) {
  while (!bytes.empty() && !parser.done()) {
    size_t n = std::min(chunk, bytes.size());
    EDX_TRY(parser.feed(bytes.substr(0, n)));
    bytes.remove_prefix(n);
  }
  return {};
}

Status feed_file(Parser& parser, const std::string& path, uint64_t size, size_t chunk) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error(ErrorKind::io, "io.spool", "cannot reopen a spooled request body");
  std::string buf(chunk, '\0');
  uint64_t left = size;
  while (left > 0 && !parser.done()) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk, left));
    ssize_t r = ::read(fd.get(), buf.data(), want);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return make_error(ErrorKind::io, "io.spool", "cannot read a spooled request body");
    if (r == 0) return make_error(ErrorKind::io, "io.spool", "a spooled request body was cut short");
    left -= static_cast<uint64_t>(r);
    EDX_TRY(parser.feed(std::string_view(buf.data(), static_cast<size_t>(r))));
  }
  return {};
}

Error internal_error(const char* what) {
  return make_error(ErrorKind::internal, "multipart.internal", std::string("the form could not be parsed: ") + what);
}

// Runs `feed` on a new parser and returns the form; no exception escapes, and
// on any error the parser (and with it every spool file) is gone.
template <class Feed>
Result<MultipartForm> run_parser(std::string_view boundary, const std::string& spool_dir, const MultipartLimits& limits,
                                 MultipartProbe& probe, Feed feed) {
  try {
    if (!valid_boundary(boundary))
      return make_error(ErrorKind::malformed, "multipart.content_type",
                        "the multipart boundary is not 1 to 70 RFC 2046 characters");
    if (probe.chunk_size == 0) probe.chunk_size = 1;
    Parser parser(boundary, spool_dir, limits);
    Status fed = feed(parser);
    probe.peak_buffer = parser.peak_buffer();
    if (!fed.ok()) return fed.error();
    return parser.finish();
  } catch (const std::bad_alloc&) {
    return internal_error("out of memory");
  } catch (const std::exception& e) {
    return internal_error(e.what());
  }
}

}  // namespace

MultipartForm::~MultipartForm() { unlink_files(); }

MultipartForm::MultipartForm(MultipartForm&& o) noexcept : parts(std::move(o.parts)) { o.parts.clear(); }

MultipartForm& MultipartForm::operator=(MultipartForm&& o) noexcept {
  if (this != &o) {
    unlink_files();
    parts = std::move(o.parts);
    o.parts.clear();
  }
  return *this;
}

void MultipartForm::unlink_files() noexcept {
  for (auto& p : parts) {
    if (!p.path.empty()) ::unlink(p.path.c_str());
    p.path.clear();
  }
}

std::string MultipartForm::take_file(size_t index) {
  if (index >= parts.size()) return "";
  std::string path = std::move(parts[index].path);
  parts[index].path.clear();
  return path;
}

const MultipartPart* MultipartForm::field(std::string_view name) const {
  for (const auto& p : parts)
    if (p.name == name) return &p;
  return nullptr;
}

Result<std::string> multipart_boundary(std::string_view content_type) {
  try {
    auto ct = parse_params(content_type, "multipart.content_type", "Content-Type");
    if (!ct.ok()) return ct.error();
    if (!iequals(ct->type, "multipart/form-data"))
      return make_error(ErrorKind::malformed, "multipart.content_type", "the Content-Type is not multipart/form-data");
    const Param* b = ct->get("boundary");
    if (!b)
      return make_error(ErrorKind::malformed, "multipart.content_type",
                        "the multipart/form-data Content-Type has no boundary");
    if (!valid_boundary(b->value))
      return make_error(ErrorKind::malformed, "multipart.content_type",
                        "the multipart boundary is not 1 to 70 RFC 2046 characters");
    return b->value;
  } catch (const std::bad_alloc&) {
    return internal_error("out of memory");
  } catch (const std::exception& e) {
    return internal_error(e.what());
  }
}

Result<MultipartForm> parse_multipart(const Body& body, std::string_view content_type, const std::string& spool_dir,
                                      const MultipartLimits& limits) {
  MultipartProbe probe;
  return parse_multipart(body, content_type, spool_dir, limits, probe);
}

Result<MultipartForm> parse_multipart(const Body& body, std::string_view content_type, const std::string& spool_dir,
                                      const MultipartLimits& limits, MultipartProbe& probe) {
  auto boundary = multipart_boundary(content_type);
  if (!boundary.ok()) return boundary.error();
  return run_parser(*boundary, spool_dir, limits, probe, [&](Parser& p) {
    if (body.in_file()) return feed_file(p, body.path(), body.size(), probe.chunk_size);
    return feed_memory(p, body.memory(), probe.chunk_size);
  });
}

Result<MultipartForm> parse_multipart_bytes(std::string_view bytes, std::string_view boundary,
                                            const std::string& spool_dir, const MultipartLimits& limits) {
  MultipartProbe probe;
  return parse_multipart_bytes(bytes, boundary, spool_dir, limits, probe);
}

Result<MultipartForm> parse_multipart_bytes(std::string_view bytes, std::string_view boundary,
                                            const std::string& spool_dir, const MultipartLimits& limits,
                                            MultipartProbe& probe) {
  return run_parser(boundary, spool_dir, limits, probe,
                    [&](Parser& p) { return feed_memory(p, bytes, probe.chunk_size); });
}

}  // namespace edxgate::gateway
