// A PKCS#11 module for tests that wraps a real one (SoftHSM2) and injects the
// faults real tokens have and SoftHSM2 lacks:
//   absent=1     the token is pulled out: slots report no token, calls fail
//                with CKR_TOKEN_NOT_PRESENT / CKR_DEVICE_REMOVED, and the
//                sessions opened before are closed (as on a real removal);
//   pin_left=N   a user-PIN retry counter (SoftHSM2 has none): a wrong PIN
//                decrements it, 1 left sets CKF_USER_PIN_FINAL_TRY, 0 locks
//                (CKR_PIN_LOCKED); a right PIN resets it to pin_max=M.
// The state lives in the file $EDXGATE_P11_FAULT_CONTROL (key=value lines),
// read on every call, so a test (or a CLI run) flips faults by rewriting it.
// The wrapped module is $EDXGATE_P11_FAULT_TARGET (default: Debian's SoftHSM2).
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::mutex g_mu;
CK_FUNCTION_LIST g_list;
CK_FUNCTION_LIST_PTR g_real = nullptr;
bool g_was_absent = false;

struct Control {
  bool absent = false;
  long pin_left = -1;  // -1: no PIN counter emulation
  long pin_max = 3;
};

std::string control_path() {
  const char* p = std::getenv("EDXGATE_P11_FAULT_CONTROL");
  return p ? p : "";
}

Control read_control() {
  Control c;
  std::ifstream in(control_path());
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq);
    long v = std::strtol(line.c_str() + eq + 1, nullptr, 10);
    if (k == "absent") c.absent = v != 0;
    if (k == "pin_left") c.pin_left = v;
    if (k == "pin_max") c.pin_max = v;
  }
  return c;
}

void write_control(const Control& c) {
  std::ofstream out(control_path(), std::ios::trunc);
  out << "absent=" << (c.absent ? 1 : 0) << "\npin_left=" << c.pin_left << "\npin_max=" << c.pin_max << "\n";
}

// Reads the control file; on the transition to "absent" closes every session
// of the real module, as pulling a token out does.
Control state() {
  std::lock_guard lock(g_mu);
  Control c = read_control();
  if (c.absent && !g_was_absent) {
    CK_ULONG n = 0;
    if (g_real->C_GetSlotList(CK_FALSE, nullptr, &n) == CKR_OK) {
      std::vector<CK_SLOT_ID> slots(n);
      if (g_real->C_GetSlotList(CK_FALSE, slots.data(), &n) == CKR_OK) {
        for (CK_ULONG i = 0; i < n; ++i) g_real->C_CloseAllSessions(slots[i]);
      }
    }
  }
  g_was_absent = c.absent;
  return c;
}

CK_RV GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  if (present && state().absent) {
    *count = 0;
    return CKR_OK;
  }
  return g_real->C_GetSlotList(present, list, count);
}

CK_RV GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
  CK_RV rv = g_real->C_GetSlotInfo(slot, info);
  if (rv == CKR_OK && state().absent) info->flags &= ~CKF_TOKEN_PRESENT;
  return rv;
}

CK_RV GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  Control c = state();
  if (c.absent) return CKR_TOKEN_NOT_PRESENT;
  CK_RV rv = g_real->C_GetTokenInfo(slot, info);
  if (rv == CKR_OK && c.pin_left >= 0) {
    if (c.pin_left < c.pin_max) info->flags |= CKF_USER_PIN_COUNT_LOW;
    if (c.pin_left == 1) info->flags |= CKF_USER_PIN_FINAL_TRY;
    if (c.pin_left == 0) info->flags |= CKF_USER_PIN_LOCKED;
  }
  return rv;
}

CK_RV OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR session) {
  if (state().absent) return CKR_TOKEN_NOT_PRESENT;
  return g_real->C_OpenSession(slot, flags, app, notify, session);
}

CK_RV Login(CK_SESSION_HANDLE s, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  Control c = state();
  if (c.absent) return CKR_DEVICE_REMOVED;
  if (type != CKU_USER || c.pin_left < 0) return g_real->C_Login(s, type, pin, len);
  if (c.pin_left == 0) return CKR_PIN_LOCKED;
  CK_RV rv = g_real->C_Login(s, type, pin, len);
  if (rv == CKR_PIN_INCORRECT) {
    --c.pin_left;
    write_control(c);
  } else if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
    c.pin_left = c.pin_max;
    write_control(c);
  }
  return rv;
}

CK_RV SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  if (state().absent) return CKR_DEVICE_REMOVED;
  return g_real->C_SignInit(s, m, k);
}

CK_RV Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR sig, CK_ULONG_PTR sl) {
  if (state().absent) return CKR_DEVICE_REMOVED;
  return g_real->C_Sign(s, d, dl, sig, sl);
}

CK_RV FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  if (state().absent) return CKR_DEVICE_REMOVED;
  return g_real->C_FindObjectsInit(s, t, n);
}

CK_RV GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  if (state().absent) return CKR_DEVICE_REMOVED;
  return g_real->C_GetAttributeValue(s, o, t, n);
}

bool load_real() {
  const char* target = std::getenv("EDXGATE_P11_FAULT_TARGET");
  void* dl = dlopen(target ? target : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
  if (!dl) return false;
  auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(dl, "C_GetFunctionList"));
  if (!get || get(&g_real) != CKR_OK) return false;
  g_list = *g_real;
  g_list.C_GetSlotList = GetSlotList;
  g_list.C_GetSlotInfo = GetSlotInfo;
  g_list.C_GetTokenInfo = GetTokenInfo;
  g_list.C_OpenSession = OpenSession;
  g_list.C_Login = Login;
  g_list.C_SignInit = SignInit;
  g_list.C_Sign = Sign;
  g_list.C_FindObjectsInit = FindObjectsInit;
  g_list.C_GetAttributeValue = GetAttributeValue;
  return true;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  static bool loaded = load_real();
  if (!loaded) return CKR_GENERAL_ERROR;
  *out = &g_list;
  return CKR_OK;
}
