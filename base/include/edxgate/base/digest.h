// SHA-256, the one helper for content hashes (blob names, envelope ids, the
// axis' hash-file before its own encoding).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "edxgate/base/ossl.h"
#include "edxgate/base/result.h"

namespace edxgate {

// Incremental SHA-256. Not copyable; one use (finish() ends it).
class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;
  Sha256();
  void update(std::string_view bytes);
  void update(const void* p, size_t n) { update(std::string_view(static_cast<const char*>(p), n)); }
  Digest finish();
  std::string finish_hex();
  // A second hasher in this one's state: one can be finished while the other
  // goes on (the digest of a prefix and of the whole in one pass).
  Sha256 fork() const;

 private:
  explicit Sha256(ossl::EvpMdCtxPtr ctx) : ctx_(std::move(ctx)) {}
  ossl::EvpMdCtxPtr ctx_;
};

std::string sha256_hex(std::string_view bytes);
// Reads the file in chunks; "io.open" / "io.read" on failure.
Result<std::string> sha256_file_hex(const std::string& path);

}  // namespace edxgate
