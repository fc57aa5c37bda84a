#include "pg.h"
#include "libpq_lazy.h"

#include <cstdlib>
#include <cstring>

namespace edxgate::store::sql {
namespace {

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The store error for a SQLSTATE: its code, and its kind (a full disk, a
// busy or unreachable server or a read-only standby are outages: unavailable).
Error error_of_sqlstate(std::string_view state, std::string message) {
  auto e = [&](ErrorKind kind, const char* code) { return make_error(kind, code, std::move(message)); };
  if (state == "40001" || state == "40P01") return e(ErrorKind::unavailable, "store.retry");  // serialization, deadlock
  if (state == "57014" || state == "55P03") return e(ErrorKind::unavailable, "store.busy");   // statement/lock timeout
  if (state == "22021" || state == "22P05") return e(ErrorKind::invalid, "store.invalid_text");
  if (state == "25006") return e(ErrorKind::unavailable, "store.read_only");
  if (state == "53100") return e(ErrorKind::unavailable, "store.full");     // disk_full
  if (state == "P0001") return e(ErrorKind::conflict, "store.constraint");  // the audit log's append-only trigger
  if (state.substr(0, 2) == "23") return e(ErrorKind::conflict, "store.constraint");
  if (state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
    return e(ErrorKind::unavailable, "store.unavailable");
  }
  return e(ErrorKind::internal, "store.db");
}

}  // namespace

PgStatementText rewrite_placeholders(std::string_view in) {
  PgStatementText out;
  out.text.reserve(in.size() + 16);
  out.index_of.assign(1, 0);
  int largest = 0;
  char quote = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char ch = in[i];
    if (quote) {
      out.text.push_back(ch);
      if (ch == quote) quote = 0;
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quote = ch;
      out.text.push_back(ch);
      continue;
    }
    if (ch != '?') {
      out.text.push_back(ch);
      continue;
    }
    int n = 0;
    size_t j = i + 1;
    while (j < in.size() && in[j] >= '0' && in[j] <= '9' && n < 10000) n = n * 10 + (in[j++] - '0');
    if (j == i + 1) n = largest + 1;  // a bare '?' takes the next number, as in SQLite
    i = j - 1;
    largest = std::max(largest, n);
    if (static_cast<size_t>(n) >= out.index_of.size()) out.index_of.resize(static_cast<size_t>(n) + 1, 0);
    if (out.index_of[static_cast<size_t>(n)] == 0) out.index_of[static_cast<size_t>(n)] = ++out.params;
    out.text += "$" + std::to_string(out.index_of[static_cast<size_t>(n)]);
  }
  return out;
}

void PgStmt::set(int i, std::string v) {
  if (i <= 0 || static_cast<size_t>(i) >= text_.index_of.size()) return;
  const int k = text_.index_of[static_cast<size_t>(i)];
  if (k > 0) values_[static_cast<size_t>(k - 1)] = std::move(v);
}

void PgStmt::bind_null(int i) {
  if (i <= 0 || static_cast<size_t>(i) >= text_.index_of.size()) return;
  const int k = text_.index_of[static_cast<size_t>(i)];
  if (k > 0) values_[static_cast<size_t>(k - 1)].reset();
}

Result<bool> PgStmt::step() {
  if (!result_) {
    result_.reset(conn_->run_prepared(name_, values_));
    const ExecStatusType st = PQresultStatus(result_.get());
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      Error e = conn_->error_of(result_.get(), "running a statement");
      result_.reset();
      return e;
    }
    rows_ = st == PGRES_TUPLES_OK ? PQntuples(result_.get()) : 0;
    const char* changed = PQcmdTuples(result_.get());
    if (changed && *changed) conn_->set_changes(std::strtoll(changed, nullptr, 10));
    row_ = -1;
  }
  if (row_ < rows_) ++row_;
  return row_ < rows_;
}

int64_t PgStmt::i64(int c) const {
  const char* v = PQgetvalue(result_.get(), row_, c);
  return v ? std::strtoll(v, nullptr, 10) : 0;
}

std::string PgStmt::text(int c) const {
  const char* v = PQgetvalue(result_.get(), row_, c);
  if (!v) return {};
  return std::string(v, static_cast<size_t>(PQgetlength(result_.get(), row_, c)));
}

void PgStmt::reset() {
  result_.reset();
  for (auto& v : values_) v.reset();
  row_ = -1;
  rows_ = 0;
}

Result<std::unique_ptr<PgConn>> PgConn::open(const PgSettings& s) {
  EDX_TRY(load_libpq());  // libpq is loaded on first use (libpq_lazy.h)
  // libpq's own parse errors quote the string, which may hold a password.
  char* parse_error = nullptr;
  PgConninfoPtr parsed(PQconninfoParse(s.dsn.c_str(), &parse_error));
  PgStringPtr parse_error_owned(parse_error);
  if (!parsed) {
    return make_error(ErrorKind::usage, "store.open",
                      "the PostgreSQL connection string cannot be parsed (not shown: it may hold a password)");
  }
  const std::string timeout = std::to_string(s.connect_timeout_s);
  // A server that vanishes from the network (no RST) must not hang a call
  // forever: TCP keepalives, and a bound on unacknowledged data.
  const std::string user_timeout = std::to_string(s.statement_timeout_ms + 30'000);
  // Later keywords override earlier ones; the DSN (expanded from dbname)
  // comes last so that it may set its own.
  const char* keys[] = {"connect_timeout",  "keepalives",
                        "keepalives_idle",  "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout",
                        "application_name", "client_encoding",
                        "dbname",           nullptr};
  const char* values[] = {
      timeout.c_str(), "1",           "30",   "10", "3", user_timeout.c_str(), s.application_name.c_str(),
      "UTF8",          s.dsn.c_str(), nullptr};
  PgConnPtr c(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!c) return make_error(ErrorKind::unavailable, "store.unavailable", "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(c.get()) != CONNECTION_OK) {
    return make_error(ErrorKind::unavailable, "store.unavailable",
                      "cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(c.get())));
  }
  std::unique_ptr<PgConn> conn(new PgConn(std::move(c)));
  const uint32_t idle_tx_ms = std::max<uint32_t>(s.statement_timeout_ms * 2, 60'000);
  const std::string session = "SET statement_timeout = " + std::to_string(s.statement_timeout_ms) +
                              "; SET idle_in_transaction_session_timeout = " + std::to_string(idle_tx_ms) +
                              "; SET synchronous_commit = on; SET client_min_messages = warning";
  EDX_TRY(conn->exec(session.c_str()));
  return conn;
}

Error PgConn::error_of(const PGresult* r, std::string_view what) const {
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    return make_error(
        ErrorKind::unavailable, "store.unavailable",
        "the PostgreSQL connection was lost while " + std::string(what) + ": " + trimmed(PQerrorMessage(conn_.get())));
  }
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = primary ? primary : trimmed(PQerrorMessage(conn_.get()));
  return error_of_sqlstate(state ? state : "", "database error while " + std::string(what) + ": " + msg);
}

PGresult* PgConn::run_prepared(const std::string& name, const std::vector<std::optional<std::string>>& values) {
  std::vector<const char*> ptrs(values.size());
  std::vector<int> lengths(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    ptrs[i] = values[i] ? values[i]->c_str() : nullptr;
    lengths[i] = values[i] ? static_cast<int>(values[i]->size()) : 0;
  }
  return PQexecPrepared(conn_.get(), name.c_str(), static_cast<int>(values.size()), ptrs.data(), lengths.data(),
                        nullptr, 0);
}

Result<StmtImpl*> PgConn::compile(const std::string& sql) {
  PgStatementText t = rewrite_placeholders(sql);
  std::string name = "edx" + std::to_string(++next_id_);
  PgResultPtr r(PQprepare(conn_.get(), name.c_str(), t.text.c_str(), t.params, nullptr));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return error_of(r.get(), "preparing a statement");
  auto stmt = std::make_unique<PgStmt>(this, std::move(name), std::move(t));
  StmtImpl* p = stmt.get();
  built_[sql] = std::move(stmt);
  return p;
}

Result<Stmt> PgConn::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Stmt(it->second);
  auto found = built_.find(sql);
  StmtImpl* impl = nullptr;
  if (found != built_.end()) {
    impl = found->second.get();
  } else {
    auto compiled = compile(sql);
    if (!compiled.ok()) return compiled.error();
    impl = *compiled;
  }
  cache_.emplace(sql, impl);
  return Stmt(impl);
}

Result<Stmt> PgConn::prepare_built(const std::string& sql) {
  auto found = built_.find(sql);
  if (found != built_.end()) return Stmt(found->second.get());
  auto compiled = compile(sql);
  if (!compiled.ok()) return compiled.error();
  return Stmt(*compiled);
}

Status PgConn::exec(const char* sql) {
  PgResultPtr r(PQexec(conn_.get(), sql));
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error_of(r.get(), "running SQL");
  return {};
}

Status PgConn::commit() {
  PgResultPtr r(PQexec(conn_.get(), "COMMIT"));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      commit_in_doubt_ = true;
      return make_error(ErrorKind::unavailable, "store.unavailable",
                        "the PostgreSQL connection was lost while committing; the outcome is unknown");
    }
    return error_of(r.get(), "committing");
  }
  // COMMIT of a failed transaction answers ROLLBACK without an error.
  if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
    return make_error(ErrorKind::internal, "store.db", "the transaction was rolled back by the server");
  }
  return {};
}

void PgConn::rollback() {
  if (!in_transaction()) return;
  PgResultPtr r(PQexec(conn_.get(), "ROLLBACK"));
}

bool PgConn::in_transaction() const {
  const PGTransactionStatusType t = PQtransactionStatus(conn_.get());
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

}  // namespace edxgate::store::sql
