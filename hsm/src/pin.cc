#include "edxgate/hsm/pin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "edxgate/base/fs.h"

namespace edxgate::hsm {
namespace {

// Reads up to kMaxPinBytes + 1 bytes from `fd` straight into locked memory,
// stopping at `stop` when it is not '\0'.
Result<SecretString> read_secret(int fd, char stop) {
  SecretString pin;
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return make_error(ErrorKind::io, "pin.read", std::string("cannot read the PIN: ") + std::strerror(errno));
    if (n == 0 || (stop != '\0' && c == stop)) break;
    if (pin.size() >= kMaxPinBytes + 2) {
      c = 0;
      return make_error(ErrorKind::invalid, "pin.too_long",
                        "the PIN is longer than " + std::to_string(kMaxPinBytes) + " bytes");
    }
    pin.push_back(c);
  }
  c = 0;
  pin.trim_newline();
  if (pin.size() > kMaxPinBytes) {
    return make_error(ErrorKind::invalid, "pin.too_long",
                      "the PIN is longer than " + std::to_string(kMaxPinBytes) + " bytes");
  }
  if (pin.empty()) return make_error(ErrorKind::invalid, "pin.empty", "the PIN is empty");
  return pin;
}

Result<SecretString> read_private_file(const std::string& path, std::string_view what) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    return make_error(ErrorKind::io, "pin.open",
                      "cannot open " + std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::io, "pin.open", std::string(what) + " " + path + " is not a regular file");
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    return make_error(ErrorKind::invalid, "pin.file_mode",
                      std::string(what) + " " + path +
                          " may be read or changed by other users; "
                          "make it private (chmod 600)");
  }
  return read_secret(fd.get(), '\0');
}

// Restores the terminal's settings when it goes out of scope.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) == 0) {
      termios t = saved_;
      t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
      t.c_lflag |= ICANON;
      active_ = ::tcsetattr(fd_, TCSAFLUSH, &t) == 0;
    }
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

Result<SecretString> read_pin_file(const std::string& path) { return read_private_file(path, "PIN file"); }

Result<SecretString> read_pin_credential(std::string_view name) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (!dir || !*dir) {
    return make_error(ErrorKind::usage, "pin.no_credentials",
                      "CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=)");
  }
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos || name.size() > 255) {
    return make_error(ErrorKind::invalid, "pin.credential_name", "a credential name is a plain file name");
  }
  return read_private_file(std::string(dir) + "/" + std::string(name), "credential");
}

Result<SecretString> read_pin_terminal(std::string_view prompt) {
  fs::UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (!tty.valid()) {
    return make_error(ErrorKind::usage, "pin.no_terminal",
                      "no terminal to ask for the PIN; give --pin-file or --pin-credential");
  }
  write_all(tty.get(), prompt);
  Result<SecretString> pin = make_error(ErrorKind::usage, "pin.no_terminal", "cannot turn off terminal echo");
  {
    EchoOff echo(tty.get());
    if (echo.active()) pin = read_secret(tty.get(), '\n');
  }
  write_all(tty.get(), "\n");
  return pin;
}

Result<bool> confirm_on_terminal(std::string_view question) {
  fs::UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (!tty.valid()) {
    return make_error(ErrorKind::usage, "usage.no_terminal", "no terminal to confirm on; pass --yes to confirm");
  }
  write_all(tty.get(), question);
  write_all(tty.get(), " [y/N] ");
  std::string answer;
  char c;
  while (answer.size() < 16 && ::read(tty.get(), &c, 1) == 1 && c != '\n') answer.push_back(c);
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

}  // namespace edxgate::hsm
