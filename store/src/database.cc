#include "database.h"

#include <openssl/rand.h>

#include <chrono>
#include <thread>

namespace edxgate::store {

SqliteDatabase::SqliteDatabase(std::string path, uint32_t busy_timeout_ms, std::unique_ptr<sql::SqliteConn> writer,
                               std::unique_ptr<sql::SqliteConn> first_reader)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), writer_(std::move(writer)) {
  if (first_reader) readers_.push_back(std::move(first_reader));
}

Status SqliteDatabase::write(const TxBody& body, bool /*lock_audit*/) {
  if (!writer_) return make_error(ErrorKind::io, "store.read_only", "the store was opened read-only");
  MutexLock lock(write_mu_);
  auto tx = sql::Tx::begin(*writer_, sql::Tx::Kind::write);
  if (!tx.ok()) return tx.error();
  EDX_TRY(body(*writer_));  // ~Tx rolls back
  return tx->commit();
}

Status SqliteDatabase::read(const TxBody& body) {
  std::unique_ptr<sql::SqliteConn> conn;
  {
    MutexLock lock(pool_mu_);
    if (!readers_.empty()) {
      conn = std::move(readers_.back());
      readers_.pop_back();
    }
  }
  if (!conn) {
    auto opened = sql::SqliteConn::open(path_, /*read_only=*/true, busy_timeout_ms_);
    if (!opened.ok()) return opened.error();
    conn = std::move(opened.value());
  }
  Status r = [&]() -> Status {
    auto tx = sql::Tx::begin(*conn, sql::Tx::Kind::read);
    if (!tx.ok()) return tx.error();
    EDX_TRY(body(*conn));
    return tx->commit();
  }();
  MutexLock lock(pool_mu_);
  readers_.push_back(std::move(conn));
  return r;
}

Result<std::unique_ptr<sql::PgConn>> PgDatabase::acquire() {
  {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.acquire_timeout_ms);
    for (;;) {
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
      if (open_ < std::max<uint32_t>(options_.max_connections, 1)) {
        ++open_;
        break;  // open one outside the lock
      }
      if (lock.wait_until(cv_, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= options_.max_connections) {
        return make_error(ErrorKind::unavailable, "store.busy",
                          "no free PostgreSQL connection within " + std::to_string(options_.acquire_timeout_ms) +
                              " ms (store.pool_size is " + std::to_string(options_.max_connections) + ")");
      }
    }
  }
  auto c = sql::PgConn::open(options_.settings);
  if (!c.ok()) {
    MutexLock lock(mu_);
    --open_;
    cv_.notify_one();
    return c.error();
  }
  return std::move(c.value());
}

void PgDatabase::release(std::unique_ptr<sql::PgConn> conn) {
  MutexLock lock(mu_);
  if (conn && conn->healthy() && !conn->in_transaction()) {
    idle_.push_back(std::move(conn));
  } else {
    conn.reset();  // broken: a new one is opened at the next use
    --open_;
  }
  cv_.notify_one();
}

Status PgDatabase::run(const TxBody& body, bool write, bool lock_audit) {
  for (uint32_t attempt = 1;; ++attempt) {
    auto conn = acquire();
    Status s;
    bool in_doubt = false;
    if (!conn.ok()) {
      s = conn.error();
    } else {
      sql::PgConn& c = **conn;
      s = [&]() -> Status {
        auto tx = sql::Tx::begin(c, write ? sql::Tx::Kind::write : sql::Tx::Kind::read);
        if (!tx.ok()) return tx.error();
        if (lock_audit) {
          auto lock = c.prepare("SELECT pg_advisory_xact_lock(?)");
          if (!lock.ok()) return lock.error();
          EDX_TRY(lock->bind(1, kAuditLockKey).run());
        }
        EDX_TRY(body(c));
        return tx->commit();
      }();
      in_doubt = c.commit_in_doubt();
      release(std::move(conn.value()));
    }
    if (s.ok()) return s;
    const std::string& code = s.error().code;
    // A lost COMMIT may have committed: running the body again could do it twice.
    const bool retryable = !in_doubt && (code == "store.retry" || code == "store.unavailable");
    if (!retryable || attempt >= options_.max_attempts) {
      if (code == "store.retry") return make_error(ErrorKind::unavailable, "store.busy", s.error().message);
      return s;
    }
    unsigned char r = 0;
    RAND_bytes(&r, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt * attempt + r % 20));
  }
}

Status PgDatabase::write(const TxBody& body, bool lock_audit) {
  if (options_.read_only) return make_error(ErrorKind::io, "store.read_only", "the store was opened read-only");
  return run(body, /*write=*/true, lock_audit);
}

Status PgDatabase::read(const TxBody& body) { return run(body, /*write=*/false, false); }

Status PgDatabase::with_connection(const TxBody& body) {
  auto conn = acquire();
  if (!conn.ok()) return conn.error();
  Status s = body(**conn);
  if ((*conn)->in_transaction()) (*conn)->rollback();
  release(std::move(conn.value()));
  return s;
}

}  // namespace edxgate::store
