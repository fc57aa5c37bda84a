#include <openssl/err.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <vector>

#include "edxgate/base/base64.h"
#include "edxgate/base/digest.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/hex.h"
#include "edxgate/base/ossl.h"
#include "edxgate/base/url.h"

namespace edxgate {

// ---------------------------------------------------------------- hex

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  return to_hex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

// ---------------------------------------------------------------- URLs

std::string percent_encode(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

std::string form_decode(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '+') {
      out.push_back(' ');
    } else if (value[i] == '%' && i + 2 < value.size() && hex_digit(value[i + 1]) >= 0 &&
               hex_digit(value[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(value[i + 1]) * 16 + hex_digit(value[i + 2])));
      i += 2;
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

// ---------------------------------------------------------------- OpenSSL

std::string ossl::last_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// ---------------------------------------------------------------- SHA-256

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}

void Sha256::update(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }

Sha256::Digest Sha256::finish() {
  Digest d{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), d.data(), &len);
  return d;
}

Sha256 Sha256::fork() const {
  ossl::EvpMdCtxPtr copy(EVP_MD_CTX_new());
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1) throw std::bad_alloc();
  return Sha256(std::move(copy));
}

std::string Sha256::finish_hex() {
  const Digest d = finish();
  return to_hex(std::span<const uint8_t>(d));
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish_hex();
}

Result<std::string> sha256_file_hex(const std::string& path) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fs::file_error(errno, "io.open", "cannot open " + path);
  Sha256 h;
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fs::file_error(errno, "io.read", "cannot read " + path);
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  return h.finish_hex();
}

// ---------------------------------------------------------------- base64

namespace base64 {
namespace {

constexpr uint8_t kNotAlphabet = 0xFF;

// The sextet of each alphabet character; kNotAlphabet for every other byte.
constexpr std::array<uint8_t, 256> make_sextets() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kNotAlphabet;
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<uint8_t>(i);
  return t;
}
constexpr std::array<uint8_t, 256> kSextet = make_sextets();

uint32_t sextet(char c) { return kSextet[static_cast<unsigned char>(c)]; }
bool is_alphabet(char c) { return sextet(c) != kNotAlphabet; }
bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Appends the bytes of one quantum of alphabet characters whose last `pad`
// were '='.
void put_quantum(const char q[4], int pad, std::string& out) {
  const uint32_t v =
      sextet(q[0]) << 18 | sextet(q[1]) << 12 | (pad < 2 ? sextet(q[2]) << 6 : 0) | (pad < 1 ? sextet(q[3]) : 0);
  const char bytes[3] = {static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, static_cast<size_t>(3 - pad));
}

constexpr size_t kBlock = 4096;  // characters decoded per append

// The bulk of any text: decodes the whole quanta of alphabet characters at
// `p` until a quantum holds anything else (or fewer than four characters are
// left); returns where it stopped. Table lookups, four characters at a time:
// this loop is what every attachment byte goes through.
const char* decode_quanta(const char* p, const char* end, std::string& out) {
  char bytes[kBlock / 4 * 3];
  while (end - p >= 4) {
    const char* const stop = p + std::min(static_cast<size_t>(end - p) / 4 * 4, kBlock);
    size_t n = 0;
    while (p < stop) {
      const uint32_t a = sextet(p[0]), b = sextet(p[1]), c = sextet(p[2]), d = sextet(p[3]);
      if ((a | b | c | d) > 63) break;
      const uint32_t v = a << 18 | b << 12 | c << 6 | d;
      bytes[n] = static_cast<char>(v >> 16);
      bytes[n + 1] = static_cast<char>(v >> 8);
      bytes[n + 2] = static_cast<char>(v);
      n += 3;
      p += 4;
    }
    out.append(bytes, n);
    if (p < stop) break;
  }
  return p;
}

}  // namespace

bool Decoder::update(std::string_view in, std::string& out) {
  if (failed_) return false;
  const char* p = in.data();
  const char* const end = p + in.size();
  while (p < end) {
    // At a quantum boundary, whole quanta go at once; the rest of a line and
    // whatever ends it go through the character rules below.
    if (have_ == 0 && pad_ == 0 && !ended_ && (p = decode_quanta(p, end, out)) == end) break;
    const char c = *p++;
    if (is_xml_space(c)) continue;
    if (c == '=') {
      if (ended_ || have_ < 2 || have_ + pad_ >= 4) return failed_ = true, false;
      ++pad_;
      quad_[have_ + pad_ - 1] = '=';
      if (have_ + pad_ == 4) {
        put_quantum(quad_, pad_, out);
        have_ = 0;
        ended_ = true;
      }
      continue;
    }
    if (!is_alphabet(c)) {
      if (mode_ == Mode::lenient) continue;
      return failed_ = true, false;
    }
    if (ended_ || pad_ > 0) return failed_ = true, false;  // data after padding
    quad_[have_++] = c;
    if (have_ == 4) {
      put_quantum(quad_, 0, out);
      have_ = 0;
    }
  }
  return true;
}

bool Decoder::finish(std::string&) {
  if (failed_) return false;
  if (have_ + pad_ != 0 && !ended_) return failed_ = true, false;  // a partial quantum
  return true;
}

bool decode(std::string_view text, std::string& out, Mode mode) {
  Decoder d(mode);
  return d.update(text, out) && d.finish(out);
}

void Encoder::emit(std::string_view encoded, std::string& out) {
  if (line_ == 0) {
    out.append(encoded);
    return;
  }
  while (!encoded.empty()) {
    const size_t take = std::min(encoded.size(), line_ - column_);
    out.append(encoded.substr(0, take));
    encoded.remove_prefix(take);
    column_ += take;
    if (column_ == line_) {
      out += '\n';
      column_ = 0;
    }
  }
}

void Encoder::update(std::string_view in, std::string& out) {
  std::string chunk;
  auto encode_whole = [&](std::string_view bytes) {
    chunk.resize(bytes.size() / 3 * 4 + 1);
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(chunk.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    emit(std::string_view(chunk.data(), static_cast<size_t>(n)), out);
  };
  if (!carry_.empty()) {
    const size_t need = 3 - carry_.size();
    carry_.append(in.substr(0, need));
    in.remove_prefix(std::min(need, in.size()));
    if (carry_.size() < 3) return;
    encode_whole(carry_);
    carry_.clear();
  }
  constexpr size_t kStep = 3 * 1024;
  while (in.size() >= 3) {
    const size_t take = std::min(in.size() / 3 * 3, kStep);
    encode_whole(in.substr(0, take));
    in.remove_prefix(take);
  }
  carry_.assign(in);
}

void Encoder::finish(std::string& out) {
  if (!carry_.empty()) {
    char chunk[5];
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(chunk), reinterpret_cast<const unsigned char*>(carry_.data()),
                        static_cast<int>(carry_.size()));
    emit(std::string_view(chunk, static_cast<size_t>(n)), out);
    carry_.clear();
  }
  if (line_ > 0 && column_ > 0) {
    out += '\n';
    column_ = 0;
  }
}

std::string encode(std::string_view bytes, size_t line) {
  std::string out;
  Encoder e(line);
  e.update(bytes, out);
  e.finish(out);
  return out;
}

}  // namespace base64
}  // namespace edxgate
