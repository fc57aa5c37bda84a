// The thin SQLite layer under the store: RAII handles, cached prepared
// statements, transactions. Only store/src includes this; nothing above the
// store sees SQLite.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "edxgate/base/result.h"

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

// A cached prepared statement, borrowed for one use: reset and unbound when
// this goes out of scope. Columns and parameters are 0- and 1-based as in SQLite.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  ~Stmt() {
    if (!s_) return;
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  Stmt& bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind_null(int i) { sqlite3_bind_null(s_, i); return *this; }
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    if (v) return bind(i, *v);
    return bind_null(i);
  }

  // Advances: true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion (for statements returning no rows).
  Status run();

  bool is_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  std::string text(int c) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

// One connection with its statement cache. REQUIRES: used by one thread at a time.
class Conn {
 public:
  // Opens `path` (SQLITE_OPEN_* flags), sets WAL, synchronous=FULL,
  // foreign_keys=ON, the busy timeout, defensive mode, and registers the
  // edx_fold() SQL function.
  static Result<std::unique_ptr<Conn>> open(const std::string& path, bool read_only,
                                            uint32_t busy_timeout_ms);
  // Prepares (once per connection; `sql` must be a string literal, cached by address).
  Result<Stmt> prepare(const char* sql);
  // Prepares a statement built at run time from fixed fragments (never from
  // input: values are always bound), cached by its text.
  Result<Stmt> prepare_built(const std::string& sql);
  // Runs one or more statements without results.
  Status exec(const char* sql);
  sqlite3* get() const { return db_.get(); }
  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_.get()); }
  int changes() const { return sqlite3_changes(db_.get()); }

 private:
  explicit Conn(DbPtr db) : db_(std::move(db)) {}
  DbPtr db_;
  std::unordered_map<const char*, StmtPtr> cache_;  // destroyed before db_
  std::unordered_map<std::string, StmtPtr> built_;
};

// A transaction: BEGIN IMMEDIATE for writers (takes the write lock at once so
// read-then-write never deadlocks), BEGIN DEFERRED for readers (one snapshot).
// Rolls back unless commit() succeeded.
class Tx {
 public:
  enum class Kind { read, write };
  static Result<Tx> begin(Conn& conn, Kind kind);
  Tx(Tx&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  Tx& operator=(Tx&&) = delete;
  ~Tx();
  Status commit();

 private:
  explicit Tx(Conn* conn) : conn_(conn) {}
  Conn* conn_;
};

// Unicode case- and compatibility-folding (NFKC_Casefold) for searches.
std::string fold(std::string_view utf8);

}  // namespace edxgate::store::sql
