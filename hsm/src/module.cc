// Module loading (libp11), slot/token enumeration, key specs.
#include <dlfcn.h>
#include <openssl/err.h>

#include <map>

#include "libp11_ctx.h"
#include "p11.h"

namespace edxgate::hsm {
namespace {

Mutex g_registry_mu;
// PKCS#11 initialisation is per process: one Module per library path.
std::map<std::string, std::weak_ptr<Module>>& registry() REQUIRES(g_registry_mu) {
  static auto* r = new std::map<std::string, std::weak_ptr<Module>>();
  return *r;
}

}  // namespace

Module::Module(std::string path, std::unique_ptr<Libp11> p11, std::unique_ptr<Pkcs11Api> api)
    : path_(std::move(path)), p11_(std::move(p11)), api_(std::move(api)) {}

// api_ (our dlopen reference) goes first, then libp11 finalises and unloads;
// under the registry lock, so a new load of the same path waits for C_Finalize.
Module::~Module() {
  MutexLock lock(g_registry_mu);
  api_.reset();
  p11_.reset();
}

Result<std::shared_ptr<Module>> Module::load(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return make_error(ErrorKind::usage, "module.load", "the PKCS#11 module must be given by absolute path");
  }
  MutexLock lock(g_registry_mu);
  auto& reg = registry();
  if (auto it = reg.find(path); it != reg.end()) {
    if (auto live = it->second.lock()) return live;
  }
  UnloadedLibp11Ctx ctx(PKCS11_CTX_new());
  if (!ctx) return make_error(ErrorKind::internal, "module.load", "cannot create a libp11 context");
  if (PKCS11_CTX_load(ctx.get(), path.c_str()) != 0) {
    ERR_clear_error();
    return make_error(ErrorKind::io, "module.load", "cannot load the PKCS#11 module " + path);
  }
  auto p11 = std::make_unique<Libp11>();
  p11->ctx.reset(ctx.release());  // loaded: unloaded and freed from now on
  // The same library instance libp11 just loaded and initialised.
  DlHandle dl(::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD));
  auto get_list = dl ? reinterpret_cast<CK_C_GetFunctionList>(::dlsym(dl.get(), "C_GetFunctionList")) : nullptr;
  CK_FUNCTION_LIST_PTR list = nullptr;
  if (!get_list || get_list(&list) != CKR_OK || !list) {
    return make_error(ErrorKind::io, "module.load", "the PKCS#11 module " + path + " has no function list");
  }
  auto module =
      std::shared_ptr<Module>(new Module(path, std::move(p11), std::make_unique<Pkcs11Api>(std::move(dl), list)));
  reg[path] = module;
  return module;
}

std::string TokenInfo::uri() const {
  Pkcs11Uri u;
  u.token = label;
  u.serial = serial;
  return u.to_string();
}

// Raw slot enumeration: libp11 0.4.12's PKCS11_update_slots crashed on a
// second refresh, and PKCS11_release_all_slots calls C_CloseAllSessions on
// every slot, which would log out every session of the process (TokenSigner's).
Result<TokenList> list_tokens(Module& module) {
  const Pkcs11Api& api = module.api();
  TokenList out;
  {
    auto& p11 = module.libp11();
    MutexLock lock(p11.mu);
    if (p11.ctx->manufacturer) out.module_manufacturer = p11.ctx->manufacturer;
    if (p11.ctx->description) out.module_description = p11.ctx->description;
  }
  CK_ULONG n = 0;
  CK_RV rv = api->C_GetSlotList(CK_FALSE, nullptr, &n);
  if (rv != CKR_OK) return p11::ckr_error(rv, "listing slots");
  std::vector<CK_SLOT_ID> slots(n);
  rv = api->C_GetSlotList(CK_FALSE, slots.data(), &n);
  if (rv != CKR_OK) return p11::ckr_error(rv, "listing slots");
  slots.resize(n);
  for (CK_SLOT_ID slot : slots) {
    auto t = p11::token_info(api, slot);
    if (t.ok()) {
      out.slots.push_back(std::move(t.value()));
      continue;
    }
    if (t.error().code != "token.absent") return t.error();
    TokenInfo empty;  // an empty slot: describe the slot only
    empty.slot_id = slot;
    CK_SLOT_INFO si{};
    if (api->C_GetSlotInfo(slot, &si) == CKR_OK) {
      empty.slot_description = p11::padded(si.slotDescription, sizeof si.slotDescription);
      empty.removable = si.flags & CKF_REMOVABLE_DEVICE;
    }
    out.slots.push_back(std::move(empty));
  }
  return out;
}

Result<KeySpec> KeySpec::parse(std::string_view text) {
  if (text == "rsa:2048") return KeySpec{KeyType::rsa, 2048};
  if (text == "rsa:3072") return KeySpec{KeyType::rsa, 3072};
  if (text == "rsa:4096") return KeySpec{KeyType::rsa, 4096};
  if (text == "ec:P-256" || text == "ec:prime256v1" || text == "ec:secp256r1") {
    return KeySpec{KeyType::ec, 256};
  }
  if (text == "ec:P-384" || text == "ec:secp384r1") return KeySpec{KeyType::ec, 384};
  return make_error(ErrorKind::usage, "usage.key_type",
                    "key type must be rsa:2048, rsa:3072, rsa:4096, ec:P-256 or ec:P-384");
}

std::string KeySpec::to_string() const {
  if (type == KeyType::rsa) return "rsa:" + std::to_string(bits);
  return bits == 384 ? "ec:P-384" : bits == 256 ? "ec:P-256" : "ec:" + std::to_string(bits);
}

}  // namespace edxgate::hsm
