#include "edxgate/gateway/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "edxgate/base/fs.h"
#include "edxgate/base/log.h"

namespace edxgate::gateway {

SystemdNotifier SystemdNotifier::from_environment() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  std::chrono::microseconds wd{0};
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  if (usec && *usec) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(usec, &end, 10);
    bool for_us = !pid || !*pid || std::strtol(pid, nullptr, 10) == ::getpid();
    if (end && *end == '\0' && v > 0 && for_us) wd = std::chrono::microseconds(v);
  }
  return SystemdNotifier(sock ? sock : "", wd);
}

SystemdNotifier::SystemdNotifier(std::string socket_path, std::chrono::microseconds watchdog)
    : socket_path_(std::move(socket_path)), watchdog_(watchdog) {}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& o) noexcept
    : socket_path_(std::move(o.socket_path_)), watchdog_(o.watchdog_) {}

SystemdNotifier::~SystemdNotifier() { stop_watchdog(); }

Status SystemdNotifier::notify(std::string_view state) {
  if (socket_path_.empty()) return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path || (socket_path_[0] != '/' && socket_path_[0] != '@'))
    return make_error(ErrorKind::io, "notify.socket", "NOTIFY_SOCKET is not a usable socket path");
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
  fs::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(ErrorKind::io, "notify.socket", "cannot create the notification socket");
  ssize_t n;
  do {
    n = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(state.size()))
    return make_error(ErrorKind::io, "notify.send", std::string("cannot notify systemd: ") + std::strerror(errno));
  return {};
}

void SystemdNotifier::start_watchdog() {
  if (!enabled() || watchdog_.count() == 0 || thread_.joinable()) return;
  {
    MutexLock lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    const auto period = watchdog_ / 2;
    MutexLock lock(mu_);
    while (!stop_) {
      lock.unlock();
      auto st = notify("WATCHDOG=1");
      if (!st.ok()) log::warn("watchdog ping failed", {{"error", st.error().message}});
      lock.lock();
      const auto next = std::chrono::steady_clock::now() + period;
      while (!stop_ && lock.wait_until(cv_, next) != std::cv_status::timeout) {
      }
    }
  });
}

void SystemdNotifier::stop_watchdog() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace edxgate::gateway
