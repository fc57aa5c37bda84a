#include "edxgate/base/audit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"

namespace edxgate {

Status FileAuditSink::append(const AuditEvent& e) {
  using namespace std::chrono;
  json::bj::object o;
  o["ts_ms"] = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  o["actor"] = e.actor;
  o["action"] = e.action;
  o["object"] = e.object;
  o["outcome"] = e.outcome;
  o["detail"] = e.detail;
  std::string line = json::bj::serialize(o) + "\n";
  MutexLock lock(mu_);
  fs::UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return make_error(ErrorKind::io, "audit.open", "cannot open audit log " + path_ + ": " + std::strerror(errno));
  }
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(fd.get()) != 0) {
    return make_error(ErrorKind::io, "audit.write", "cannot write audit log " + path_ + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace edxgate
