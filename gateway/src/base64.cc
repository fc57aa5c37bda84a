#include "base64.h"

namespace edxgate::gateway::b64 {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

void Decoder::push(uint32_t v, std::string& out) {
  acc_ = (acc_ << 6) | v;
  if (++have_ == 4) {
    out.append({static_cast<char>((acc_ >> 16) & 0xff), static_cast<char>((acc_ >> 8) & 0xff),
                static_cast<char>(acc_ & 0xff)});
    have_ = 0;
    acc_ = 0;
  }
}

bool Decoder::finish(std::string& out) {
  if (!lenient_) return have_ == 0 || padded_;
  if (have_ == 1) return false;
  if (have_ == 2) out += static_cast<char>((acc_ >> 4) & 0xff);
  if (have_ == 3) out.append({static_cast<char>((acc_ >> 10) & 0xff), static_cast<char>((acc_ >> 2) & 0xff)});
  have_ = 0;
  acc_ = 0;
  ended_ = true;
  return true;
}

bool Decoder::update(std::string_view in, std::string& out) {
  if (lenient_) {
    for (char c : in) {
      if (ended_) break;
      if (c == '=') {
        ended_ = true;
        break;
      }
      const int v = value_of(c);
      if (v >= 0) push(static_cast<uint32_t>(v), out);
    }
    return true;
  }
  for (char c : in) {
    if (c == '\r' || c == '\n' || c == ' ') continue;
    if (c == '=') {
      if (have_ < 2 || pad_ + have_ >= 4) return false;
      ++pad_;
      if (have_ + pad_ == 4) {
        if (have_ == 2) out += static_cast<char>((acc_ >> 4) & 0xff);
        else out.append({static_cast<char>((acc_ >> 10) & 0xff), static_cast<char>((acc_ >> 2) & 0xff)});
        have_ = 0;
        padded_ = true;
      }
      continue;
    }
    if (padded_ || pad_ > 0) return false;
    int v = value_of(c);
    if (v < 0) return false;
    push(static_cast<uint32_t>(v), out);
  }
  return true;
}

void encode(std::string_view in, std::string& carry, std::string& out, bool final) {
  carry.append(in);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(carry[k]); };
  for (; i + 3 <= carry.size(); i += 3) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  carry.erase(0, i);
  if (!final || carry.empty()) return;
  uint32_t n = byte(0) << 16;
  if (carry.size() == 2) n |= byte(1) << 8;
  out += kAlphabet[(n >> 18) & 63];
  out += kAlphabet[(n >> 12) & 63];
  out += carry.size() == 2 ? kAlphabet[(n >> 6) & 63] : '=';
  out += '=';
  carry.clear();
}

}  // namespace edxgate::gateway::b64
