// The SQL seam under the store: one connection interface with two engines
// behind it (SQLite in sqlite.h, PostgreSQL in pg.h). The store's logic is
// written once against it; where the dialects differ it asks dialect().
//
// Statements are written with SQLite's placeholders (`?` and `?N`); the
// PostgreSQL engine rewrites them to `$k`. Values are always bound, never
// pasted into SQL text. Only store/src includes this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "edxgate/base/result.h"

namespace edxgate::store::sql {

enum class Dialect { sqlite, postgresql };

// One prepared statement as an engine holds it. Owned by its connection's
// statement cache; borrowed through Stmt.
class StmtImpl {
 public:
  virtual ~StmtImpl() = default;
  virtual void bind_i64(int index, int64_t v) = 0;
  virtual void bind_text(int index, std::string_view v) = 0;
  virtual void bind_null(int index) = 0;
  virtual Result<bool> step() = 0;
  virtual bool is_null(int column) const = 0;
  virtual int64_t i64(int column) const = 0;
  virtual std::string text(int column) const = 0;
  // Forgets bindings and results; called when a borrow ends.
  virtual void reset() = 0;
};

// A cached prepared statement, borrowed for one use: reset and unbound when
// this goes out of scope. Columns are 0-based, parameters 1-based (the N of `?N`).
class Stmt {
 public:
  explicit Stmt(StmtImpl* s) : s_(s) {}
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  ~Stmt() {
    if (s_) s_->reset();
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  Stmt& bind(int i, int64_t v) {
    s_->bind_i64(i, v);
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    s_->bind_text(i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind_null(int i) {
    s_->bind_null(i);
    return *this;
  }
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    if (v) return bind(i, *v);
    return bind_null(i);
  }

  // Advances: true when a row is available, false when done.
  Result<bool> step() { return s_->step(); }
  // Steps to completion (for statements returning no rows).
  Status run() {
    for (;;) {
      auto r = step();
      if (!r.ok()) return r.error();
      if (!*r) return {};
    }
  }

  // Forgets bindings and results, to run the statement again.
  void reset() { s_->reset(); }

  bool is_null(int c) const { return s_->is_null(c); }
  int64_t i64(int c) const { return s_->i64(c); }
  std::string text(int c) const { return s_->text(c); }

 private:
  StmtImpl* s_;
};

// One connection with its statement cache. REQUIRES: used by one thread at a time.
class Conn {
 public:
  virtual ~Conn() = default;
  virtual Dialect dialect() const = 0;
  // Prepares (once per connection; `sql` must be a string literal, cached by address).
  virtual Result<Stmt> prepare(const char* sql) = 0;
  // Prepares a statement built at run time from fixed fragments (never from
  // input: values are always bound), cached by its text.
  virtual Result<Stmt> prepare_built(const std::string& sql) = 0;
  // Runs one or more statements without parameters or results.
  virtual Status exec(const char* sql) = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE run on this connection.
  virtual int64_t changes() const = 0;
  // Transaction control (see Tx).
  virtual Status begin_write() = 0;
  virtual Status begin_read() = 0;
  virtual Status commit() = 0;
  virtual void rollback() = 0;  // best effort; a no-op outside a transaction
  virtual bool in_transaction() const = 0;

  bool is_postgresql() const { return dialect() == Dialect::postgresql; }
};

// A transaction: a write transaction holds the engine's write lock from its
// start (SQLite: BEGIN IMMEDIATE), a read transaction sees one snapshot.
// Rolls back unless commit() succeeded.
class Tx {
 public:
  enum class Kind { read, write };
  static Result<Tx> begin(Conn& conn, Kind kind) {
    Status s = kind == Kind::write ? conn.begin_write() : conn.begin_read();
    if (!s.ok()) return s.error();
    return Tx(&conn);
  }
  Tx(Tx&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  Tx& operator=(Tx&&) = delete;
  ~Tx() {
    if (conn_ && conn_->in_transaction()) conn_->rollback();
  }
  Status commit() {
    Status s = conn_->commit();
    if (!s.ok()) return s;  // the destructor rolls back
    conn_ = nullptr;
    return {};
  }

 private:
  explicit Tx(Conn* conn) : conn_(conn) {}
  Conn* conn_;
};

// Unicode case- and compatibility-folding (NFKC_Casefold) for searches.
std::string fold(std::string_view utf8);

}  // namespace edxgate::store::sql
