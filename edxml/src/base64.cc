#include "base64.h"

#include <array>

namespace edxgate::edxml::detail {
namespace {

constexpr uint8_t kInvalid = 0xFF, kSpace = 0xFE, kPad = 0xFD;

constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  const char* alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(alpha[i])] = static_cast<uint8_t>(i);
  t[' '] = t['\t'] = t['\r'] = t['\n'] = kSpace;
  t['='] = kPad;
  return t;
}
constexpr auto kTable = make_table();
constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

bool Base64Decoder::update(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() / 4 * 3 + 3);
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const auto* end = p + in.size();
  while (p < end) {
    // Fast path: four data characters in a row, at a quantum boundary.
    if (have_ == 0 && !done_) {
      while (end - p >= 4) {
        uint8_t a = kTable[p[0]], b = kTable[p[1]], c = kTable[p[2]], d = kTable[p[3]];
        if ((a | b | c | d) >= 64) break;
        uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
        char bytes[3] = {static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                         static_cast<char>(v)};
        out.append(bytes, 3);
        p += 4;
      }
      if (p >= end) break;
    }
    uint8_t v = kTable[*p++];
    if (v == kSpace) continue;
    if (v == kInvalid || done_) return false;
    if (v == kPad) {
      if (have_ < 2) return false;  // "=" may only be the 3rd or 4th character
      ++pad_;
      ++have_;
      acc_ <<= 6;
    } else {
      if (pad_ > 0) return false;  // data after padding
      acc_ = (acc_ << 6) | v;
      ++have_;
    }
    if (have_ == 4) {
      char bytes[3] = {static_cast<char>(acc_ >> 16), static_cast<char>(acc_ >> 8),
                       static_cast<char>(acc_)};
      out.append(bytes, static_cast<size_t>(3 - pad_));
      done_ = pad_ > 0;
      have_ = 0;
      pad_ = 0;
      acc_ = 0;
    }
  }
  return true;
}

void base64_encode_lines(std::string_view in, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t n = in.size();
  out.reserve(out.size() + (n + 2) / 3 * 4 + n / 57 + 2);
  size_t col = 0;
  while (n >= 3) {
    uint32_t v = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
    char q[4] = {kAlpha[v >> 18], kAlpha[(v >> 12) & 63], kAlpha[(v >> 6) & 63], kAlpha[v & 63]};
    out.append(q, 4);
    p += 3;
    n -= 3;
    if ((col += 4) == 76) {
      out.push_back('\n');
      col = 0;
    }
  }
  if (n > 0) {
    uint32_t v = uint32_t{p[0]} << 16;
    if (n == 2) v |= uint32_t{p[1]} << 8;
    char q[4] = {kAlpha[v >> 18], kAlpha[(v >> 12) & 63], n == 2 ? kAlpha[(v >> 6) & 63] : '=', '='};
    out.append(q, 4);
    col += 4;
  }
  if (col != 0) out.push_back('\n');
}

}  // namespace edxgate::edxml::detail
