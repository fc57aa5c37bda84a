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

}  // namespace edxgate::crypto::xmlsec
