// Database: where the store's transactions run. One implementation per
// engine: SQLite (one writer connection behind a mutex, pooled readers) and
// PostgreSQL (a bounded pool shared by readers and writers, retries, the
// cluster-wide audit lock). The store's logic (SqlStore) sees only this and
// the connection seam in sql.h.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edxgate/base/mutex.h"
#include "edxgate/base/result.h"
#include "pg.h"
#include "sql.h"
#include "sqlite.h"

namespace edxgate::store {

using TxBody = std::function<Status(sql::Conn&)>;

class Database {
 public:
  virtual ~Database() = default;
  virtual sql::Dialect dialect() const = 0;
  virtual bool read_only() const = 0;
  // Runs `body` in one write transaction and commits it durably; rolls back
  // when `body` fails. `lock_audit`: the transaction will append to the audit
  // chain, so it first takes the chain's one writer lock (PostgreSQL: a
  // transaction-scoped advisory lock shared by every node; SQLite: its write
  // lock already is one). `body` may run more than once (PostgreSQL retries a
  // transaction lost to a serialization failure, a deadlock or a dropped
  // connection, never one whose COMMIT was sent), so it must do nothing but SQL.
  virtual Status write(const TxBody& body, bool lock_audit) = 0;
  // Runs `body` in one read-only snapshot.
  virtual Status read(const TxBody& body) = 0;
};

// SQLite: the writer is serialised by a mutex (SQLite allows one writer);
// readers run in parallel on pooled read-only connections.
class SqliteDatabase final : public Database {
 public:
  // `writer` is null for a read-only store; `first_reader` may be null.
  SqliteDatabase(std::string path, uint32_t busy_timeout_ms, std::unique_ptr<sql::SqliteConn> writer,
                 std::unique_ptr<sql::SqliteConn> first_reader);
  sql::Dialect dialect() const override { return sql::Dialect::sqlite; }
  bool read_only() const override { return !writer_; }
  Status write(const TxBody& body, bool lock_audit) override;
  Status read(const TxBody& body) override;

 private:
  std::string path_;
  uint32_t busy_timeout_ms_;
  Mutex write_mu_;
  const std::unique_ptr<sql::SqliteConn> writer_ PT_GUARDED_BY(write_mu_);
  Mutex pool_mu_;
  // Idle read connections.
  std::vector<std::unique_ptr<sql::SqliteConn>> readers_ GUARDED_BY(pool_mu_);
};

// PostgreSQL: at most `max_connections` connections, opened on demand; a
// connection found broken is dropped and replaced at the next use.
class PgDatabase final : public Database {
 public:
  struct Options {
    sql::PgSettings settings;
    uint32_t max_connections = 8;
    uint32_t acquire_timeout_ms = 30'000;  // waiting for a free connection
    uint32_t max_attempts = 5;             // per transaction, for retryable failures
    bool read_only = false;
  };
  explicit PgDatabase(Options options) : options_(std::move(options)) {}
  sql::Dialect dialect() const override { return sql::Dialect::postgresql; }
  bool read_only() const override { return options_.read_only; }
  Status write(const TxBody& body, bool lock_audit) override;
  Status read(const TxBody& body) override;
  // Runs `body` on one connection outside any transaction the pool manages
  // (migrations manage their own).
  Status with_connection(const TxBody& body);

 private:
  Result<std::unique_ptr<sql::PgConn>> acquire() EXCLUDES(mu_);
  void release(std::unique_ptr<sql::PgConn> conn) EXCLUDES(mu_);
  Status run(const TxBody& body, bool write, bool lock_audit);

  Options options_;
  Mutex mu_;
  std::condition_variable cv_;  // a connection was released or closed
  std::vector<std::unique_ptr<sql::PgConn>> idle_ GUARDED_BY(mu_);
  uint32_t open_ GUARDED_BY(mu_) = 0;  // connections that exist (idle or in use)
};

// The key of the transaction-scoped advisory lock that serialises appends to
// the audit chain across every node ("edxaudit" in ASCII).
inline constexpr int64_t kAuditLockKey = 0x6564786175646974;
// The key of the lock that serialises schema migrations ("edxmigr").
inline constexpr int64_t kMigrationLockKey = 0x6564786d696772;

}  // namespace edxgate::store
