// Module::Libp11: the libp11 context that loads and initialises the module,
// and the lock that serialises libp11 calls (its slot and object caches are
// not meant for concurrent use).
#pragma once

#include <libp11.h>

#include <memory>
#include <mutex>

#include "edxgate/hsm/token.h"

namespace edxgate::hsm {

struct CtxDeleter {
  void operator()(PKCS11_CTX* ctx) const {
    PKCS11_CTX_unload(ctx);  // C_Finalize + dlclose
    PKCS11_CTX_free(ctx);
  }
};
using Libp11Ctx = std::unique_ptr<PKCS11_CTX, CtxDeleter>;

// The libp11 context (module loading, C_Initialize/C_Finalize) and the lock
// for libp11 calls. libp11 slot objects are deliberately not kept: releasing
// them calls C_CloseAllSessions, which logs out every session on the token.
struct Module::Libp11 {
  Libp11Ctx ctx;
  std::mutex mu;
};

}  // namespace edxgate::hsm
