#include "database.h"

#include <openssl/rand.h>

#include <chrono>
#include <exception>
#include <thread>

namespace edxgate::store {

SqliteDatabase::SqliteDatabase(std::string path, uint32_t busy_timeout_ms, std::unique_ptr<sql::SqliteConn> writer,
                               std::unique_ptr<sql::SqliteConn> first_reader)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), writer_(std::move(writer)) {
  if (first_reader) readers_.push_back(std::move(first_reader));
}

Status SqliteDatabase::write(const TxBody& body, bool /*lock_audit*/) {
  if (!writer_) return make_error(ErrorKind::io, "store.read_only", "the store was opened read-only");
  Member me;
  me.body = &body;
  MutexLock lock(queue_mu_);
  while (queue_.size() >= kMaxQueued) lock.wait(queue_cv_);
  queue_.push_back(&me);
  while (!me.done) {
    if (leading_) {
      lock.wait(queue_cv_);
      continue;
    }
    // Lead: run batches of what is queued (this call's body among them,
    // in queue order) until this call's own batch has committed.
    leading_ = true;
    while (!me.done) {
      std::vector<Member*> batch;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      queue_cv_.notify_all();  // room in the queue
      lock.unlock();
      {
        MutexLock w(write_mu_);
        run_batch(batch);
      }
      lock.lock();
      for (Member* m : batch) m->done = true;
      queue_cv_.notify_all();
    }
    leading_ = false;
    queue_cv_.notify_all();  // a waiter takes the lead
  }
  writes_.fetch_add(1);
  return me.result;
}

void SqliteDatabase::run_batch(std::vector<Member*> batch) {
  static constexpr const char* kSavepoint = "SAVEPOINT edx_member";
  static constexpr const char* kRelease = "RELEASE edx_member";
  static constexpr const char* kRollbackTo = "ROLLBACK TO edx_member";
  sql::SqliteConn& c = *writer_;
  while (!batch.empty()) {
    auto tx = sql::Tx::begin(c, sql::Tx::Kind::write);
    if (!tx.ok()) {
      for (Member* m : batch) m->result = tx.error();
      return;
    }
    std::vector<Member*> committed;  // bodies that ran ok, in order
    std::vector<Member*> again;      // run in a new transaction: this one was lost under them
    for (size_t i = 0; i < batch.size(); ++i) {
      Member* m = batch[i];
      Status s = c.exec(kSavepoint);
      if (s.ok()) {
        // A body runs on the leader's thread: an exception must not leave
        // the other callers waiting forever.
        try {
          s = (*m->body)(c);
        } catch (const std::exception&) {
          s = make_error(ErrorKind::internal, "store.db", "a write transaction failed unexpectedly");
        }
      }
      if (s.ok()) s = c.exec(kRelease);
      if (s.ok()) {
        committed.push_back(m);
        continue;
      }
      m->result = s;
      if (c.in_transaction()) {
        // Undo this body alone; the others' work stays.
        if (!c.exec(kRollbackTo).ok() || !c.exec(kRelease).ok()) {
          again = committed;
          committed.clear();
          again.insert(again.end(), batch.begin() + static_cast<std::ptrdiff_t>(i) + 1, batch.end());
          break;
        }
        continue;
      }
      // SQLite rolled the whole transaction back (a full disk, an I/O error):
      // the bodies that had succeeded in it run again (a body may run more
      // than once, see Database::write) with those not yet run.
      again = committed;
      committed.clear();
      again.insert(again.end(), batch.begin() + static_cast<std::ptrdiff_t>(i) + 1, batch.end());
      break;
    }
    if (!committed.empty()) {
      Status s = tx->commit();
      if (s.ok()) commits_.fetch_add(1);
      for (Member* m : committed) m->result = s;
    }
    // Tx's destructor rolls back what was not committed.
    batch = std::move(again);
  }
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
  Status s = run(body, /*write=*/true, lock_audit);
  writes_.fetch_add(1);
  if (s.ok()) commits_.fetch_add(1);
  return s;
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
