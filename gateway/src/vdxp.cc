// VDXP header encodings; see vdxp.h and shared/EDXML.md.
#include "edxgate/gateway/vdxp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include <fcntl.h>
#include <unistd.h>

#include "edxgate/base/digest.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/hex.h"
#include "edxgate/base/json.h"

namespace edxgate::gateway::vdxp {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A value that can travel as an HTTP header value: printable, no CR/LF/NUL.
bool header_safe(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool token_safe(std::string_view k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view secret, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  std::string out = to_hex(mac, len);
  OPENSSL_cleanse(mac, sizeof mac);
  return out;
}

std::string unpadded_hex(const unsigned char* digest, size_t size) {
  // Java's Integer.toHexString per byte: base's hex, less each pair's
  // leading zero.
  const std::string padded = to_hex(digest, size);
  std::string out;
  out.reserve(padded.size());
  for (size_t i = 0; i < padded.size(); i += 2) {
    if (padded[i] != '0') out += padded[i];
    out += padded[i + 1];
  }
  return out;
}

namespace {
std::string unpadded_hex(const Sha256::Digest& d) { return vdxp::unpadded_hex(d.data(), d.size()); }
}  // namespace

std::string hash_bytes_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return unpadded_hex(h.finish());
}

Result<std::string> hash_file_hex(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rbe");
  if (!f) return make_error(ErrorKind::io, "io.open", "cannot open " + path + " to hash it");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f, &std::fclose);
  Sha256 h;
  std::vector<char> buf(1 << 16);
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) h.update(buf.data(), n);
  if (std::ferror(f)) return make_error(ErrorKind::io, "io.read", "cannot read " + path + " to hash it");
  return unpadded_hex(h.finish());
}

std::string format_timestamp(Clock::time_point t) {
  using namespace std::chrono;
  const auto ms_total =
      duration_cast<milliseconds>(t.time_since_epoch()).count() + int64_t{kTimestampUtcOffsetMinutes} * 60'000;
  const int64_t ms = ((ms_total % 1000) + 1000) % 1000;
  const int64_t secs = (ms_total - ms) / 1000;
  const auto dp = floor<days>(sys_seconds(seconds(secs)));
  const year_month_day ymd{dp};
  const hh_mm_ss hms{seconds(secs) - dp.time_since_epoch()};
  char out[32];
  // 20 characters + NUL for a 4-digit year; snprintf would truncate, never overflow.
  (void)std::snprintf(out, sizeof out, "%02u%02u%04dT%02d%02d%02d+%04d", static_cast<unsigned>(ymd.day()),
                      static_cast<unsigned>(ymd.month()), static_cast<int>(ymd.year()),
                      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                      static_cast<int>(hms.seconds().count()), static_cast<int>(ms));
  return out;
}

Result<Clock::time_point> parse_timestamp(std::string_view s) {
  auto bad = [&] {
    return make_error(ErrorKind::malformed, "vdxp.malformed", "timestamp is not in the form ddMMyyyyTHHmmss+SSSS");
  };
  if (s.size() != 20 || s[8] != 'T' || s[15] != '+') return bad();
  auto num = [&](size_t pos, size_t len, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int d, mo, y, h, mi, se, ms;
  if (!num(0, 2, d) || !num(2, 2, mo) || !num(4, 4, y) || !num(9, 2, h) || !num(11, 2, mi) || !num(13, 2, se) ||
      !num(16, 4, ms))
    return bad();
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo), std::chrono::day(d)};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 59 || ms > 999) return bad();
  const int64_t secs =
      days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - int64_t{kTimestampUtcOffsetMinutes} * 60;
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(secs * 1000 + ms)));
}

std::string sign_header_json(const std::vector<Header>& prefixed) {
  std::string out = "{";
  for (size_t i = 0; i < prefixed.size(); ++i) {
    if (i) out += ',';
    out += json::bj::serialize(json::bj::value(prefixed[i].name));
    out += ':';
    out += json::bj::serialize(json::bj::value(prefixed[i].value));
  }
  out += '}';
  return out;
}

Result<std::vector<Header>> sign(const Params& params, std::string_view content_type, std::string_view system_id,
                                 const SecretString& secret, Clock::time_point timestamp) {
  std::vector<Header> signed_headers;
  std::set<std::string> seen;
  auto add = [&](std::string_view key, std::string_view value) -> Status {
    if (!token_safe(key))
      return make_error(ErrorKind::malformed, "vdxp.param",
                        "axis parameter name '" + std::string(key) + "' is not a header token");
    if (!header_safe(value))
      return make_error(ErrorKind::malformed, "vdxp.param",
                        "axis parameter '" + std::string(key) + "' holds a control character");
    if (!seen.insert(lower(key)).second)
      return make_error(ErrorKind::malformed, "vdxp.param", "axis parameter '" + std::string(key) + "' is given twice");
    signed_headers.push_back({std::string(kPrefix) + std::string(key), std::string(value)});
    return {};
  };
  // The SDK's order: timestamp, systemid, Content-Type, then the call's own.
  EDX_TRY(add("timestamp", format_timestamp(timestamp)));
  EDX_TRY(add("systemid", system_id));
  EDX_TRY(add("Content-Type", content_type));
  for (const auto& [k, v] : params) EDX_TRY(add(k, v));

  std::string key_list;
  for (const auto& h : signed_headers) {
    if (!key_list.empty()) key_list += ';';
    key_list += h.name.substr(kPrefix.size());
  }
  const std::string text = sign_header_json(signed_headers);
  std::vector<Header> out;
  out.push_back({"Content-Type", std::string(content_type)});
  out.insert(out.end(), signed_headers.begin(), signed_headers.end());
  out.push_back({std::string(kPrefix) + "sign-header-key", key_list});
  out.push_back({std::string(kPrefix) + "sign-header", text});
  out.push_back({std::string(kPrefix) + "hash-header", hmac_sha256_hex(secret.view(), text)});
  out.push_back({"User-Agent", std::string(kUserAgent)});
  out.push_back({std::string(kPrefix) + "version", std::string(kVersion)});
  return out;
}

std::string VerifiedCall::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (iequals(k, name)) return v;
  return {};
}

Result<VerifiedCall> verify(const HeaderLookup& header, const SecretLookup& secret_of,
                            const std::vector<std::string>& required, const VerifyOptions& options,
                            Clock::time_point now) {
  const std::string p(kPrefix);
  auto need = [&](std::string_view name) -> Result<std::string> {
    auto v = header(p + std::string(name));
    if (!v)
      return make_error(ErrorKind::malformed, "vdxp.missing",
                        "the axis request lacks the header " + p + std::string(name));
    return *v;
  };
  auto key_list = need("sign-header-key");
  if (!key_list.ok()) return key_list.error();
  auto text = need("sign-header");
  if (!text.ok()) return text.error();
  auto mac = need("hash-header");
  if (!mac.ok()) return mac.error();

  // The signed names: bare as the SDK lists them, or prefixed as older peers
  // did; distinct; empty entries (a trailing ';') skipped.
  std::vector<std::string> names;
  std::set<std::string> lower_names;
  std::string_view rest = *key_list;
  while (true) {
    const auto semi = rest.find(';');
    std::string_view n = trim(rest.substr(0, semi));
    if (n.size() >= p.size() && iequals(n.substr(0, p.size()), p)) n.remove_prefix(p.size());
    if (!n.empty()) {
      if (!token_safe(n))
        return make_error(ErrorKind::malformed, "vdxp.malformed",
                          "sign-header-key names something that is not a header");
      if (!lower_names.insert(lower(n)).second)
        return make_error(ErrorKind::malformed, "vdxp.malformed", "sign-header-key names a header twice");
      names.emplace_back(n);
    }
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  if (names.empty()) return make_error(ErrorKind::malformed, "vdxp.malformed", "sign-header-key names no header");

  // The signed JSON must hold exactly the listed names.
  auto parsed = json::parse(*text, 2);
  if (!parsed.ok() || !parsed->is_object())
    return make_error(ErrorKind::malformed, "vdxp.malformed", "sign-header is not a JSON object");
  const auto& obj = parsed->get_object();
  if (obj.size() != names.size())
    return make_error(ErrorKind::malformed, "vdxp.malformed",
                      "sign-header does not hold exactly the headers of sign-header-key");
  VerifiedCall call;
  for (const auto& n : names) {
    const auto* v = obj.if_contains(p + n);
    if (!v || !v->is_string())
      return make_error(ErrorKind::malformed, "vdxp.malformed", "sign-header lacks the string value of " + p + n);
    call.params[n] = std::string(v->get_string());
  }
  call.system_id = call.param("systemid");

  // Authenticate before trusting anything else the call says.
  const SecretString* secret = secret_of(call.system_id);
  if (!secret)
    return make_error(ErrorKind::unauthorized, "vdxp.unknown_system", "the axis request names an unknown system id");
  const std::string expect = hmac_sha256_hex(secret->view(), *text);
  const std::string got = lower(*mac);
  if (got.size() != expect.size() || CRYPTO_memcmp(got.data(), expect.data(), got.size()) != 0)
    return make_error(ErrorKind::unauthorized, "vdxp.bad_mac",
                      "the request's hash-header does not match its signed headers");
  for (const auto& [n, v] : call.params) {
    auto actual = header(p + n);
    if (!actual || *actual != v)
      return make_error(ErrorKind::unauthorized, "vdxp.bad_mac",
                        "the signed value of " + p + n + " differs from the header received");
  }

  std::vector<std::string> must = {"systemid", "timestamp"};
  must.insert(must.end(), required.begin(), required.end());
  for (const auto& r : must)
    if (!lower_names.count(lower(r)))
      return make_error(ErrorKind::malformed, "vdxp.missing", "the axis request does not sign the header " + p + r);

  auto when = parse_timestamp(call.param("timestamp"));
  if (!when.ok()) return when.error();
  call.timestamp = *when;
  if (options.timestamp_window.count() > 0) {
    const auto skew = now > *when ? now - *when : *when - now;
    if (skew > options.timestamp_window)
      return make_error(ErrorKind::unauthorized, "vdxp.stale",
                        "the request's timestamp is outside the accepted window");
  }
  return call;
}

namespace {

// Hashes a body while holding back its last two bytes, so that the digest of
// the body less a trailing CRLF comes out of the same pass.
class BodyHasher {
 public:
  void update(std::string_view b) {
    size_ += b.size();
    if (b.size() >= 2) {
      sha_.update(held_);
      sha_.update(b.substr(0, b.size() - 2));
      held_.assign(b.substr(b.size() - 2));
      return;
    }
    held_.append(b);
    if (held_.size() > 2) {
      sha_.update(std::string_view(held_).substr(0, held_.size() - 2));
      held_.erase(0, held_.size() - 2);
    }
  }
  Result<SentFile> finish(std::string_view hash_file) {
    const std::string want = lower(hash_file);
    if (held_ == kFileTrailer) {
      const Sha256::Digest less = sha_.fork().finish();
      if (unpadded_hex(less) == want)
        return SentFile{size_ - kFileTrailer.size(), to_hex(std::span<const uint8_t>(less))};
    }
    sha_.update(held_);
    const Sha256::Digest d = sha_.finish();
    if (unpadded_hex(d) == want) return SentFile{size_, to_hex(std::span<const uint8_t>(d))};
    return make_error(ErrorKind::malformed, "vdxp.hash_file",
                      "the body matches the signed hash-file neither with nor without a trailing CRLF");
  }

 private:
  Sha256 sha_;
  std::string held_;
  uint64_t size_ = 0;
};

}  // namespace

Result<SentFile> match_sent_bytes(std::string_view body, std::string_view hash_file) {
  BodyHasher h;
  h.update(body);
  return h.finish(hash_file);
}

Result<SentFile> match_sent_file(const std::string& body_path, std::string_view hash_file) {
  fs::UniqueFd fd(::open(body_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error(ErrorKind::io, "io.open", "cannot open a received body to hash it");
  BodyHasher h;
  std::vector<char> buf(1 << 16);
  while (true) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ErrorKind::io, "io.read", "cannot read a received body to hash it");
    if (n == 0) break;
    h.update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  return h.finish(hash_file);
}

}  // namespace edxgate::gateway::vdxp
