// AuditSink: where security-relevant events go (key generation, import,
// deletion, login failures, state changes). The store provides the durable,
// hash-chained implementation; FileAuditSink is the stand-in for tools that
// run without a store.
#pragma once

#include <string>

#include "edxgate/base/mutex.h"
#include "edxgate/base/result.h"

namespace edxgate {

struct AuditEvent {
  std::string actor;    // who: "officer:cli", a client name, "system"
  std::string action;   // what: "key.generate", "key.delete", "pin.failed", ...
  std::string object;   // on what: a pkcs11 URI, a document id
  std::string outcome;  // "ok" | "failed"
  std::string detail;   // one line, never a secret
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Appends one event durably; an error means the event is not recorded and
  // the caller should not report the operation as audited.
  virtual Status append(const AuditEvent& event) = 0;
};

// Appends one JSON line per event to a file (O_APPEND, fsync per event).
class FileAuditSink : public AuditSink {
 public:
  explicit FileAuditSink(std::string path) : path_(std::move(path)) {}
  Status append(const AuditEvent& event) override;

 private:
  std::string path_;
  Mutex mu_;  // one event at a time in the file
};

// Discards events; for tests of code that does not care.
class NullAuditSink : public AuditSink {
 public:
  Status append(const AuditEvent&) override { return {}; }
};

}  // namespace edxgate
