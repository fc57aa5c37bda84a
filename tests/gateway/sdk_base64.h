// How the axis SDK reads base64 (getEdoc's `data`), for tests that check our
// output is what it can read: every byte outside the alphabet is skipped, the
// first '=' ends the data, and a final quantum may lack its padding. This is
// the peer's behaviour, not a decoder of ours: the gateway decodes with
// base/base64.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edxgate::testing {

class SdkBase64Reader {
 public:
  // Appends the bytes of `in` to `out`; never refuses anything.
  void update(std::string_view in, std::string& out) {
    for (char c : in) {
      if (ended_) return;
      if (c == '=') {
        ended_ = true;
        return;
      }
      const int v = value_of(c);
      if (v < 0) continue;
      acc_ = (acc_ << 6) | static_cast<uint32_t>(v);
      if (++have_ == 4) {
        out.append({static_cast<char>((acc_ >> 16) & 0xff), static_cast<char>((acc_ >> 8) & 0xff),
                    static_cast<char>(acc_ & 0xff)});
        have_ = 0;
        acc_ = 0;
      }
    }
  }
  // Ends the data, appending the bytes of an unpadded last quantum; false
  // when a lone character is left (it holds no whole byte).
  bool finish(std::string& out) {
    if (have_ == 1) return false;
    if (have_ == 2) out += static_cast<char>((acc_ >> 4) & 0xff);
    if (have_ == 3) out.append({static_cast<char>((acc_ >> 10) & 0xff), static_cast<char>((acc_ >> 2) & 0xff)});
    have_ = 0;
    acc_ = 0;
    ended_ = true;
    return true;
  }

 private:
  static int value_of(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  }
  uint32_t acc_ = 0;
  int have_ = 0;
  bool ended_ = false;
};

}  // namespace edxgate::testing
