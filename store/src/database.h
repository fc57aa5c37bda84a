// Database: where the store's transactions run. One implementation per
// engine: SQLite (one writer connection behind a mutex, pooled readers) and
// PostgreSQL (a bounded pool shared by readers and writers, retries, the
// cluster-wide audit lock). The store's logic (SqlStore) sees only this and
// the connection seam in sql.h.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edxgate/base/mutex.h"
#include "edxgate/base/result.h"
#include "edxgate/store/write_stats.h"
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
  // Write calls that returned, and durable commits (each one fsync of the
  // journal) it took: fewer commits than writes means group commit batched.
  virtual WriteStats write_stats() const = 0;
};

// SQLite: one writer connection, with group commit. Concurrent write calls
// queue (bounded); one of them, the leader, runs a batch of queued bodies in
// one transaction, each body inside its own SAVEPOINT (a body that fails is
// rolled back alone, as if it had run in a transaction of its own), and
// commits the batch once: one fsync of the WAL (synchronous=FULL) covers
// every body in it. Each caller returns only after the commit that holds its
// body, so an ok still means durable. The order is the queue's: the result
// is the same as running the bodies one after the other. Readers run in
// parallel on pooled read-only connections.
class SqliteDatabase final : public Database {
 public:
  // At most this many bodies in one transaction, and this many waiting.
  static constexpr size_t kMaxBatch = 64;
  static constexpr size_t kMaxQueued = 1024;

  // `writer` is null for a read-only store; `first_reader` may be null.
  SqliteDatabase(std::string path, uint32_t busy_timeout_ms, std::unique_ptr<sql::SqliteConn> writer,
                 std::unique_ptr<sql::SqliteConn> first_reader);
  sql::Dialect dialect() const override { return sql::Dialect::sqlite; }
  bool read_only() const override { return !writer_; }
  Status write(const TxBody& body, bool lock_audit) override EXCLUDES(queue_mu_, write_mu_);
  Status read(const TxBody& body) override;
  WriteStats write_stats() const override { return {writes_.load(), commits_.load()}; }

 private:
  // One queued write call; lives on its caller's stack until `done`.
  struct Member {
    const TxBody* body = nullptr;
    Status result;
    bool done = false;
  };
  // Runs `batch` in one transaction and sets each member's result.
  void run_batch(std::vector<Member*> batch) REQUIRES(write_mu_);

  std::string path_;
  uint32_t busy_timeout_ms_;
  Mutex queue_mu_;
  std::condition_variable queue_cv_;  // a batch committed, a leader left, or room in the queue
  std::deque<Member*> queue_ GUARDED_BY(queue_mu_);
  bool leading_ GUARDED_BY(queue_mu_) = false;  // a caller is running batches
  Mutex write_mu_;
  const std::unique_ptr<sql::SqliteConn> writer_ PT_GUARDED_BY(write_mu_);
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> commits_{0};
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
  WriteStats write_stats() const override { return {writes_.load(), commits_.load()}; }
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
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> commits_{0};
};

// The key of the transaction-scoped advisory lock that serialises appends to
// the audit chain across every node ("edxaudit" in ASCII).
inline constexpr int64_t kAuditLockKey = 0x6564786175646974;
// The key of the lock that serialises schema migrations ("edxmigr").
inline constexpr int64_t kMigrationLockKey = 0x6564786d696772;

}  // namespace edxgate::store
