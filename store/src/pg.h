// The PostgreSQL engine under the store's SQL seam (sql.h), over libpq.
// Statements keep SQLite's placeholders (`?`, `?N`); they are rewritten to
// `$k` once, when a statement is first prepared on a connection. Values are
// sent as text parameters (PostgreSQL infers their types from the SQL).
//
// Errors: "store.unavailable" (the connection is lost or cannot be made),
// "store.retry" (serialization failure or deadlock: the transaction may be
// run again), "store.busy" (statement or lock timeout), "store.constraint",
// "store.invalid_text" (text PostgreSQL cannot hold, e.g. a NUL byte),
// "store.full", "store.read_only", "store.db". Messages carry the server's
// primary message only, never the connection string or bound values.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sql.h"

namespace edxgate::store::sql {

struct PgConnClose {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct PgFreemem {
  void operator()(void* p) const { PQfreemem(p); }
};
struct PgConninfoFree {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnClose>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultClear>;
using PgStringPtr = std::unique_ptr<char, PgFreemem>;  // text libpq allocated
using PgConninfoPtr = std::unique_ptr<PQconninfoOption, PgConninfoFree>;

// A SQL text with SQLite placeholders rewritten for PostgreSQL: `text` uses
// $1..$n, and index_of[N] is the $k that `?N` became (0 when unused).
struct PgStatementText {
  std::string text;
  std::vector<int> index_of;
  int params = 0;
};
PgStatementText rewrite_placeholders(std::string_view sqlite_sql);

class PgConn;

class PgStmt final : public StmtImpl {
 public:
  PgStmt(PgConn* conn, std::string name, PgStatementText text)
      : conn_(conn), name_(std::move(name)), text_(std::move(text)), values_(text_.params) {}
  void bind_i64(int i, int64_t v) override { set(i, std::to_string(v)); }
  void bind_text(int i, std::string_view v) override { set(i, std::string(v)); }
  void bind_null(int i) override;
  Result<bool> step() override;
  bool is_null(int c) const override { return PQgetisnull(result_.get(), row_, c) != 0; }
  int64_t i64(int c) const override;
  std::string text(int c) const override;
  void reset() override;

 private:
  void set(int i, std::string v);
  PgConn* conn_;
  std::string name_;
  PgStatementText text_;
  std::vector<std::optional<std::string>> values_;
  PgResultPtr result_;
  int row_ = -1;
  int rows_ = 0;
};

// Connection settings shared by every connection of a pool.
struct PgSettings {
  std::string dsn;  // libpq connection string or URI (may hold a password)
  uint32_t statement_timeout_ms = 30'000;
  uint32_t connect_timeout_s = 10;
  std::string application_name = "edxgate";
};

// One PostgreSQL connection. REQUIRES: used by one thread at a time.
class PgConn final : public Conn {
 public:
  // Connects and sets the session: UTF-8, statement_timeout, an idle-in-
  // transaction timeout (a frozen client never holds the audit lock for
  // long), synchronous_commit=on (a commit is durable before it returns).
  static Result<std::unique_ptr<PgConn>> open(const PgSettings& settings);
  Dialect dialect() const override { return Dialect::postgresql; }
  Result<Stmt> prepare(const char* sql) override;
  Result<Stmt> prepare_built(const std::string& sql) override;
  Status exec(const char* sql) override;
  int64_t changes() const override { return changes_; }
  Status begin_write() override { return exec("BEGIN ISOLATION LEVEL READ COMMITTED"); }
  Status begin_read() override { return exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
  Status commit() override;
  void rollback() override;
  bool in_transaction() const override;
  // False once the server has gone away: the pool drops such a connection.
  bool healthy() const { return PQstatus(conn_.get()) == CONNECTION_OK; }
  // True while COMMIT was sent and its answer lost: the outcome is unknown.
  bool commit_in_doubt() const { return commit_in_doubt_; }

  // Maps a failed result (or the connection's state) to a store error.
  Error error_of(const PGresult* r, std::string_view what) const;
  // Runs a prepared statement; used by PgStmt.
  PGresult* run_prepared(const std::string& name, const std::vector<std::optional<std::string>>& values);
  void set_changes(int64_t n) { changes_ = n; }

 private:
  explicit PgConn(PgConnPtr c) : conn_(std::move(c)) {}
  Result<StmtImpl*> compile(const std::string& sql);
  PgConnPtr conn_;
  int64_t changes_ = 0;
  int next_id_ = 0;
  bool commit_in_doubt_ = false;
  std::unordered_map<const char*, StmtImpl*> cache_;
  std::unordered_map<std::string, std::unique_ptr<PgStmt>> built_;  // owns every statement
};

}  // namespace edxgate::store::sql
