// Module loading (libp11), token enumeration (libp11), key specs.
#include <dlfcn.h>
#include <openssl/err.h>

#include <map>

#include "libp11_ctx.h"
#include "p11.h"

namespace edxgate::hsm {
namespace {

std::mutex g_registry_mu;
// PKCS#11 initialisation is per process: one Module per library path.
std::map<std::string, std::weak_ptr<Module>>& registry() {
  static auto* r = new std::map<std::string, std::weak_ptr<Module>>();
  return *r;
}

}  // namespace

Module::Module(std::string path, std::unique_ptr<Libp11> p11, std::unique_ptr<Pkcs11Api> api)
    : path_(std::move(path)), p11_(std::move(p11)), api_(std::move(api)) {}

// api_ (our dlopen reference) goes first, then libp11 finalises and unloads;
// under the registry lock, so a new load of the same path waits for C_Finalize.
Module::~Module() {
  std::lock_guard lock(g_registry_mu);
  api_.reset();
  p11_.reset();
}

Result<std::shared_ptr<Module>> Module::load(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return make_error("module.load", "the PKCS#11 module must be given by absolute path");
  }
  std::lock_guard lock(g_registry_mu);
  auto& reg = registry();
  if (auto it = reg.find(path); it != reg.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto p11 = std::make_unique<Libp11>();
  p11->ctx.reset(PKCS11_CTX_new());
  if (!p11->ctx) return make_error("module.load", "cannot create a libp11 context");
  if (PKCS11_CTX_load(p11->ctx.get(), path.c_str()) != 0) {
    ERR_clear_error();
    return make_error("module.load", "cannot load the PKCS#11 module " + path);
  }
  // The same library instance libp11 just loaded and initialised.
  void* dl = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  auto get_list = dl ? reinterpret_cast<CK_C_GetFunctionList>(::dlsym(dl, "C_GetFunctionList"))
                     : nullptr;
  CK_FUNCTION_LIST_PTR list = nullptr;
  if (!get_list || get_list(&list) != CKR_OK || !list) {
    if (dl) ::dlclose(dl);
    return make_error("module.load", "the PKCS#11 module " + path + " has no function list");
  }
  auto module = std::shared_ptr<Module>(
      new Module(path, std::move(p11), std::make_unique<Pkcs11Api>(dl, list)));
  reg[path] = module;
  return module;
}

std::string TokenInfo::uri() const {
  Pkcs11Uri u;
  u.token = label;
  u.serial = serial;
  return u.to_string();
}

Result<TokenList> list_tokens(Module& module) {
  auto& p11 = module.libp11();
  std::lock_guard lock(p11.mu);
  if (!p11.refresh()) {
    ERR_clear_error();
    return make_error("p11.error", "cannot enumerate the slots of " + module.path());
  }
  TokenList out;
  if (p11.ctx->manufacturer) out.module_manufacturer = p11.ctx->manufacturer;
  if (p11.ctx->description) out.module_description = p11.ctx->description;
  for (unsigned int i = 0; i < p11.nslots; ++i) {
    PKCS11_SLOT& s = p11.slots[i];
    TokenInfo t;
    t.slot_id = PKCS11_get_slotid_from_slot(&s);
    if (s.description) t.slot_description = s.description;
    t.removable = s.removable;
    if (const PKCS11_TOKEN* tok = s.token) {
      t.present = true;
      t.label = tok->label ? tok->label : "";
      t.serial = tok->serialnr ? tok->serialnr : "";
      t.manufacturer = tok->manufacturer ? tok->manufacturer : "";
      t.model = tok->model ? tok->model : "";
      t.initialized = tok->initialized;
      t.login_required = tok->loginRequired;
      t.user_pin_initialized = tok->userPinSet;
      t.read_only = tok->readOnly;
      t.pin_count_low = tok->userPinCountLow;
      t.pin_final_try = tok->userPinFinalTry;
      t.pin_locked = tok->userPinLocked;
      t.pin_to_be_changed = tok->userPinToBeChanged;
    }
    out.slots.push_back(std::move(t));
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
  return make_error("usage.key_type",
                    "key type must be rsa:2048, rsa:3072, rsa:4096, ec:P-256 or ec:P-384");
}

std::string KeySpec::to_string() const {
  if (type == KeyType::rsa) return "rsa:" + std::to_string(bits);
  return bits == 384 ? "ec:P-384" : bits == 256 ? "ec:P-256" : "ec:" + std::to_string(bits);
}

}  // namespace edxgate::hsm
