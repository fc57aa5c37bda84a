// Module::Libp11: the libp11 context that loads and initialises the module,
// and the lock that serialises libp11 calls (its slot and object caches are
// not meant for concurrent use).
#pragma once

#include <libp11.h>

#include <memory>

#include "edxgate/base/mutex.h"
#include "edxgate/hsm/token.h"

namespace edxgate::hsm {

struct CtxDeleter {
  void operator()(PKCS11_CTX* ctx) const {
    PKCS11_CTX_unload(ctx);  // C_Finalize + dlclose
    PKCS11_CTX_free(ctx);
  }
};
using Libp11Ctx = std::unique_ptr<PKCS11_CTX, CtxDeleter>;

// A context before its module is loaded, or after the load failed (libp11
// 0.4.12 has unloaded it then, and a second PKCS11_CTX_unload crashes): only
// freed.
struct UnloadedCtxDeleter {
  void operator()(PKCS11_CTX* ctx) const { PKCS11_CTX_free(ctx); }
};
using UnloadedLibp11Ctx = std::unique_ptr<PKCS11_CTX, UnloadedCtxDeleter>;

// The libp11 context (module loading, C_Initialize/C_Finalize) and the lock
// for libp11 calls. libp11 slot objects are deliberately not kept: releasing
// them calls C_CloseAllSessions, which logs out every session on the token.
struct Module::Libp11 {
  Mutex mu;
  Libp11Ctx ctx PT_GUARDED_BY(mu);
};

}  // namespace edxgate::hsm
