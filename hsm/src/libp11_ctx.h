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

// libp11's slot list, kept for the Module's lifetime and refreshed with
// PKCS11_update_slots: releasing libp11 slots calls C_CloseAllSessions on each
// slot, which would close (and log out) every session of the process on that
// token, TokenSigner's included. Guarded by `mu`.
struct Module::Libp11 {
  Libp11Ctx ctx;
  std::mutex mu;
  PKCS11_SLOT* slots = nullptr;
  unsigned int nslots = 0;

  // Enumerates (first call) or refreshes the slots. REQUIRES: mu held.
  bool refresh() {
    if (!slots) return PKCS11_enumerate_slots(ctx.get(), &slots, &nslots) == 0;
    return PKCS11_update_slots(ctx.get(), &slots, &nslots) == 0;
  }
  ~Libp11() {
    if (slots) PKCS11_release_all_slots(ctx.get(), slots, nslots);
  }
};

}  // namespace edxgate::hsm
