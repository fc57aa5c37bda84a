// RAII aliases for the OpenSSL handles edxml uses (SHA-256 of attachments).
#pragma once

#include <openssl/evp.h>

#include <memory>

namespace edxgate::edxml::detail {

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  void final(uint8_t out[32]);

 private:
  EvpMdCtxPtr ctx_;
};

}  // namespace edxgate::edxml::detail
