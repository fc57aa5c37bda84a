// SoftHsmToken: a fresh SoftHSM2 token in its own temp directory, for the
// tests of any part (hsm, crypto, gateway, cli).
//
// The constructor makes <tmp>/edxgate-hsm-XXXXXX with a softhsm2.conf whose
// token directory is inside it, points SOFTHSM2_CONF at it (process env, so
// the PKCS#11 module loaded afterwards and the child processes see it), and
// initialises one token with `softhsm2-util --init-token --free`. The
// destructor removes the directory and restores SOFTHSM2_CONF. Throws
// std::runtime_error when the token cannot be made.
//
// REQUIRES: no PKCS#11 module is loaded (Module, TokenSigner alive) across the
// creation of a new token: SoftHSM2 reads its config at C_Initialize.
//
// Fault injection (the hsm tests' wrapper module, target edxgate_p11_fault in
// tests/hsm; add_dependencies(<your test> edxgate_p11_fault) to use it):
// load fault_module() instead of module() and call set_fault("absent=1") to
// pull the token out, set_fault("absent=0") to put it back,
// set_fault("pin_left=3\npin_max=3") to emulate a PIN retry counter.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "../support/run_cli.h"

namespace edxgate::testing {

inline constexpr const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";

class SoftHsmToken {
 public:
  explicit SoftHsmToken(std::string label = "edxgate-test", std::string pin = "1234", std::string so_pin = "12345678")
      : label_(std::move(label)), pin_(std::move(pin)), so_pin_(std::move(so_pin)) {
    if (const char* old = std::getenv("SOFTHSM2_CONF")) saved_conf_ = old;
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/edxgate-hsm-XXXXXX";
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    std::filesystem::create_directory(dir_ + "/tokens");
    conf_ = dir_ + "/softhsm2.conf";
    write(conf_, "directories.tokendir = " + dir_ +
                     "/tokens\nobjectstore.backend = file\n"
                     "log.level = ERROR\nslots.removable = false\n");
    write(pin_file(), pin_ + "\n", 0600);
    set_fault("absent=0\n");
    ::setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
    ::setenv("EDXGATE_P11_FAULT_CONTROL", (dir_ + "/fault").c_str(), 1);
    std::string out;
    int rc = run(
        "softhsm2-util --init-token --free --label '" + label_ + "' --pin '" + pin_ + "' --so-pin '" + so_pin_ + "'",
        &out);
    if (rc != 0) throw std::runtime_error("softhsm2-util --init-token failed: " + out);
  }
  ~SoftHsmToken() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (saved_conf_) {
      ::setenv("SOFTHSM2_CONF", saved_conf_->c_str(), 1);
    } else {
      ::unsetenv("SOFTHSM2_CONF");
    }
  }
  SoftHsmToken(const SoftHsmToken&) = delete;
  SoftHsmToken& operator=(const SoftHsmToken&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& conf() const { return conf_; }
  const std::string& label() const { return label_; }
  const std::string& pin() const { return pin_; }
  const std::string& so_pin() const { return so_pin_; }
  // SoftHSM2 itself, and the fault-injecting wrapper around it.
  static std::string module() { return kSoftHsmModule; }
  static std::string fault_module() { return std::string(EDXGATE_BINARY_DIR) + "/tests/hsm/libedxgate_p11_fault.so"; }
  // A 0600 file holding the user PIN (what --pin-file takes).
  std::string pin_file() const { return dir_ + "/pin"; }
  // "pkcs11:token=<label>" selecting this token.
  std::string token_uri() const { return "pkcs11:token=" + label_; }

  // Replaces the fault module's control file ("absent=1", "pin_left=2\npin_max=3").
  void set_fault(const std::string& content) const { write(dir_ + "/fault", content + "\n"); }

  // Runs `cmd` under sh with this token's environment; returns the exit code
  // and, when `out` is given, stdout and stderr together.
  int run(const std::string& cmd, std::string* out = nullptr) const {
    std::string full = "SOFTHSM2_CONF='" + conf_ + "' EDXGATE_P11_FAULT_CONTROL='" + dir_ + "/fault' " + cmd;
    auto r = edxgate::test::run_command(full);
    if (out) out->append(r.out);
    return r.code;
  }

  static void write(const std::string& path, const std::string& content, mode_t mode = 0600) {
    std::ofstream(path, std::ios::trunc) << content;
    ::chmod(path.c_str(), mode);
  }

 private:
  std::string label_, pin_, so_pin_;
  std::string dir_, conf_;
  std::optional<std::string> saved_conf_;
};

}  // namespace edxgate::testing
