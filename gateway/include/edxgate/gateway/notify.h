// sd_notify over the NOTIFY_SOCKET datagram socket, without libsystemd.
//
// systemd (Type=notify) passes NOTIFY_SOCKET (a path, or "@name" for the
// abstract namespace) and, with WatchdogSec=, WATCHDOG_USEC and WATCHDOG_PID.
// When NOTIFY_SOCKET is absent every call is a no-op that succeeds. The
// watchdog thread sends WATCHDOG=1 every half period until stopped or the
// notifier dies. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <string>
#include <string_view>
#include <thread>

#include "edxgate/base/mutex.h"
#include "edxgate/base/result.h"

namespace edxgate::gateway {

class SystemdNotifier {
 public:
  // Reads the environment once.
  static SystemdNotifier from_environment();
  SystemdNotifier(std::string socket_path, std::chrono::microseconds watchdog);
  ~SystemdNotifier();
  SystemdNotifier(SystemdNotifier&& o) noexcept;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return !socket_path_.empty(); }
  // Sends one datagram such as "READY=1\nSTATUS=serving".
  Status notify(std::string_view state);
  Status ready(std::string_view status) { return notify("READY=1\nSTATUS=" + std::string(status)); }
  Status stopping(std::string_view status) { return notify("STOPPING=1\nSTATUS=" + std::string(status)); }
  Status status(std::string_view status) { return notify("STATUS=" + std::string(status)); }

  // 0 when systemd asked for no watchdog (or it is meant for another pid).
  std::chrono::microseconds watchdog_period() const { return watchdog_; }
  void start_watchdog() EXCLUDES(mu_);
  void stop_watchdog() EXCLUDES(mu_);

 private:
  std::string socket_path_;
  std::chrono::microseconds watchdog_{0};
  Mutex mu_;
  std::condition_variable cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace edxgate::gateway
