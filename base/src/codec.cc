#include <openssl/err.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "edxgate/base/base64.h"
#include "edxgate/base/digest.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/hex.h"
#include "edxgate/base/ossl.h"

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

std::optional<std::vector<uint8_t>> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = digit(text[2 * i]), lo = digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
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
  if (!fd.valid()) return make_error("io.open", "cannot open " + path);
  Sha256 h;
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("io.read", "cannot read " + path);
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  return h.finish_hex();
}

// ---------------------------------------------------------------- base64

namespace base64 {
namespace {

bool is_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}
bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Decodes whole quanta (no whitespace, '=' only in the last one).
void decode_quanta(std::string_view quanta, int pad, std::string& out) {
  const size_t at = out.size();
  out.resize(at + quanta.size() / 4 * 3);
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data() + at),
                                reinterpret_cast<const unsigned char*>(quanta.data()), static_cast<int>(quanta.size()));
  // Only valid characters reach here, so OpenSSL cannot fail; it counts the
  // '=' positions as zero bytes, which are dropped.
  out.resize(at + static_cast<size_t>(n < 0 ? 0 : n) - static_cast<size_t>(pad));
}

constexpr size_t kBlock = 4096;  // characters decoded per OpenSSL call

}  // namespace

bool Decoder::update(std::string_view in, std::string& out) {
  if (failed_) return false;
  for (char c : in) {
    if (is_xml_space(c)) continue;
    if (c == '=') {
      if (ended_ || have_ < 2 || have_ + pad_ >= 4) return failed_ = true, false;
      ++pad_;
      quad_[have_ + pad_ - 1] = '=';
      if (have_ + pad_ == 4) {
        pending_.append(quad_, 4);
        ended_ = true;
        if (!flush(out, true)) return false;
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
      pending_.append(quad_, 4);
      have_ = 0;
      if (pending_.size() >= kBlock && !flush(out, false)) return false;
    }
  }
  return true;
}

bool Decoder::flush(std::string& out, bool final) {
  if (pending_.empty()) return true;
  decode_quanta(pending_, final ? pad_ : 0, out);
  pending_.clear();
  if (final) have_ = 0;
  return true;
}

bool Decoder::finish(std::string& out) {
  if (failed_) return false;
  if (have_ + pad_ != 0 && !ended_) return failed_ = true, false;  // a partial quantum
  return flush(out, ended_);
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
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(chunk),
                                  reinterpret_cast<const unsigned char*>(carry_.data()), static_cast<int>(carry_.size()));
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
