// The SQLite engine under the store's SQL seam (sql.h): RAII handles, cached
// prepared statements, transactions. Only store/src includes this; nothing
// above the store sees SQLite.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sql.h"

namespace edxgate::store::sql {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// Maps the connection's last error to a store error ("store.busy",
// "store.corrupt", "store.full", "store.read_only", "store.constraint",
// "store.db"), naming what was being done.
Error db_error(sqlite3* db, std::string_view what);

// The steps SQLite took in full table scans, over every statement of the
// process, counted as each statement is reset or finalized: lets a test check
// that a query uses its index (an unindexed lookup grows with the table).
uint64_t full_scan_steps();

class SqliteStmt final : public StmtImpl {
 public:
  SqliteStmt(sqlite3* db, StmtPtr s) : db_(db), s_(std::move(s)) {}
  ~SqliteStmt() override { count_scans(); }
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  void bind_i64(int i, int64_t v) override { sqlite3_bind_int64(s_.get(), i, v); }
  void bind_text(int i, std::string_view v) override {
    sqlite3_bind_text64(s_.get(), i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  void bind_null(int i) override { sqlite3_bind_null(s_.get(), i); }
  Result<bool> step() override;
  bool is_null(int c) const override { return sqlite3_column_type(s_.get(), c) == SQLITE_NULL; }
  int64_t i64(int c) const override { return sqlite3_column_int64(s_.get(), c); }
  std::string text(int c) const override;
  void reset() override {
    count_scans();
    sqlite3_reset(s_.get());
    sqlite3_clear_bindings(s_.get());
  }

 private:
  void count_scans();
  sqlite3* db_;
  StmtPtr s_;
};

// One SQLite connection. REQUIRES: used by one thread at a time.
class SqliteConn final : public Conn {
 public:
  // Opens `path` (SQLITE_OPEN_* flags), sets WAL, synchronous=FULL,
  // foreign_keys=ON, the busy timeout, defensive mode, and registers the
  // edx_fold() SQL function.
  static Result<std::unique_ptr<SqliteConn>> open(const std::string& path, bool read_only, uint32_t busy_timeout_ms);
  Dialect dialect() const override { return Dialect::sqlite; }
  Result<Stmt> prepare(const char* sql) override;
  Result<Stmt> prepare_built(const std::string& sql) override;
  Status exec(const char* sql) override;
  int64_t changes() const override { return sqlite3_changes(db_.get()); }
  // BEGIN IMMEDIATE takes the write lock at once, so read-then-write never deadlocks.
  Status begin_write() override { return run_cached("BEGIN IMMEDIATE"); }
  Status begin_read() override { return run_cached("BEGIN DEFERRED"); }
  Status commit() override { return run_cached("COMMIT"); }
  void rollback() override;
  bool in_transaction() const override { return !sqlite3_get_autocommit(db_.get()); }
  sqlite3* get() const { return db_.get(); }

 private:
  explicit SqliteConn(DbPtr db) : db_(std::move(db)) {}
  Status run_cached(const char* sql);
  DbPtr db_;
  // Destroyed before db_ (declared after it).
  std::unordered_map<const char*, std::unique_ptr<SqliteStmt>> cache_;
  std::unordered_map<std::string, std::unique_ptr<SqliteStmt>> built_;
};

}  // namespace edxgate::store::sql
