// Owning handles for xmlsec1 objects (crypto/src only).
#pragma once

#include <xmlsec/keys.h>
#include <xmlsec/xmldsig.h>

#include <memory>

namespace edxgate::crypto::xmlsec {

struct DSigCtxDeleter {
  void operator()(xmlSecDSigCtx* c) const noexcept { xmlSecDSigCtxDestroy(c); }
};
using DSigCtxPtr = std::unique_ptr<xmlSecDSigCtx, DSigCtxDeleter>;

struct KeyDeleter {
  void operator()(xmlSecKey* k) const noexcept { xmlSecKeyDestroy(k); }
};
using KeyPtr = std::unique_ptr<xmlSecKey, KeyDeleter>;

struct KeyDataDeleter {
  void operator()(xmlSecKeyData* d) const noexcept { xmlSecKeyDataDestroy(d); }
};
using KeyDataPtr = std::unique_ptr<xmlSecKeyData, KeyDataDeleter>;

}  // namespace edxgate::crypto::xmlsec
