#include "console_text.h"

#include <time.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <stdexcept>
#include <utility>

namespace edxgate::gateway::console {

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(std::min<size_t>(s.size(), INT32_MAX));
  int32_t i = 0;
  while (i < n) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        continue;
      case '<':
        out += "&lt;";
        continue;
      case '>':
        out += "&gt;";
        continue;
      case '"':
        out += "&quot;";
        continue;
      case '\'':
        out += "&#39;";
        continue;
      default:
        break;
    }
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) continue;
    out.append(s.substr(static_cast<size_t>(start), static_cast<size_t>(i - start)));
  }
  return out;
}

std::string nfc(std::string_view s) {
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* norm = icu::Normalizer2::getNFCInstance(ec);
  if (U_FAILURE(ec)) throw std::runtime_error("ICU NFC normalizer unavailable");
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  icu::UnicodeString normal = norm->normalize(u, ec);
  if (U_FAILURE(ec)) throw std::runtime_error("ICU NFC normalization failed");
  std::string out;
  normal.toUTF8String(out);
  return out;
}

bool is_nfc(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* norm = icu::Normalizer2::getNFCInstance(ec);
  if (U_FAILURE(ec)) return false;
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), n));
  const bool yes = norm->isNormalized(u, ec);
  return U_SUCCESS(ec) && yes;
}

std::string Html::finish() const { return nfc(out_); }

namespace {

using Names = std::pair<std::string_view, std::string_view>;

std::string_view look_up(std::string_view key, const Names* begin, const Names* end) {
  for (const Names* n = begin; n != end; ++n)
    if (n->first == key) return n->second;
  return key;
}

constexpr Names kStates[] = {
    {"draft", "Nháp"},
    {"pending_signature", "Chờ ký số"},
    {"signed", "Đã ký số"},
    {"queued", "Chờ gửi"},
    {"sent", "Đã gửi lên trục"},
    {"delivered", "Đã đến nơi nhận"},
    {"accepted", "Đã tiếp nhận"},
    {"cancelled", "Đã hủy"},
    {"failed", "Gửi thất bại"},  // refused by the axis [axis] max_permanent_failures times
    {"received", "Đang tiếp nhận"},
    {"verified", "Đã xác thực"},
    {"quarantined", "Bị cách ly"},
    {"registered", "Đã vào sổ"},
    {"refused", "Bị từ chối"},
    {"assigned", "Đã phân công"},
    {"processing", "Đang xử lý"},
    {"completed", "Hoàn thành"},
};

constexpr Names kRoles[] = {
    {"officer", "Cán bộ an ninh"},
    {"leader", "Lãnh đạo"},
    {"system", "Hệ thống nội bộ"},
    {"axis", "Trục liên thông"},
};

constexpr Names kChecks[] = {
    {"state_dir", "Thư mục dữ liệu"},    {"store", "Cơ sở dữ liệu"}, {"token", "Thiết bị ký số (token/HSM)"},
    {"axis", "Kết nối trục liên thông"}, {"trust", "Neo tin cậy"},
};

constexpr Names kCertificateRoles[] = {
    {"signing", "Chứng thư ký số của cổng"},
    {"trust_anchor", "Neo tin cậy"},
    {"intermediate", "CA trung gian"},
    {"tls_server", "Chứng thư TLS của cổng"},
    {"client_ca", "CA cấp chứng thư người dùng"},
    {"axis_client", "Chứng thư TLS tới trục"},
};

}  // namespace

std::string_view state_label(std::string_view s) { return look_up(s, std::begin(kStates), std::end(kStates)); }
std::string_view role_label(std::string_view r) { return look_up(r, std::begin(kRoles), std::end(kRoles)); }
std::string_view check_label(std::string_view c) { return look_up(c, std::begin(kChecks), std::end(kChecks)); }
std::string_view certificate_role_label(std::string_view r) {
  return look_up(r, std::begin(kCertificateRoles), std::end(kCertificateRoles));
}

}  // namespace edxgate::gateway::console
