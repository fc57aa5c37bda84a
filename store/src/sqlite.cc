#include "sqlite.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <atomic>

namespace edxgate::store::sql {
namespace {

void fold_fn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  if (!p) {
    sqlite3_result_null(ctx);
    return;
  }
  std::string out = fold(std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(argv[0]))));
  sqlite3_result_text64(ctx, out.data(), out.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

}  // namespace

Error db_error(sqlite3* db, std::string_view what) {
  int rc = db ? sqlite3_errcode(db) : SQLITE_ERROR;
  std::string code = "store.db";
  ErrorKind kind = ErrorKind::internal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = "store.busy", kind = ErrorKind::unavailable;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = "store.corrupt", kind = ErrorKind::io;  // our own damaged file, never the client's input
      break;
    case SQLITE_FULL:
      code = "store.full", kind = ErrorKind::unavailable;
      break;  // disk or quota full
    case SQLITE_READONLY:
      code = "store.read_only", kind = ErrorKind::io;
      break;
    case SQLITE_CONSTRAINT:
      code = "store.constraint", kind = ErrorKind::conflict;
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      code = "store.open", kind = ErrorKind::io;
      break;
    case SQLITE_IOERR:
      kind = ErrorKind::io;
      break;
    default:
      break;
  }
  std::string msg = "database error while " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
  return make_error(kind, std::move(code), std::move(msg));
}

namespace {
std::atomic<uint64_t> g_full_scan_steps{0};
}  // namespace

uint64_t full_scan_steps() { return g_full_scan_steps.load(std::memory_order_relaxed); }

void SqliteStmt::count_scans() {
  if (!s_) return;
  const int n = sqlite3_stmt_status(s_.get(), SQLITE_STMTSTATUS_FULLSCAN_STEP, /*resetFlg=*/1);
  if (n > 0) g_full_scan_steps.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
}

Result<bool> SqliteStmt::step() {
  int rc = sqlite3_step(s_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_error(db_, "running a statement");
}

std::string SqliteStmt::text(int c) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), c));
  if (!p) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_.get(), c)));
}

Result<std::unique_ptr<SqliteConn>> SqliteConn::open(const std::string& path, bool read_only,
                                                     uint32_t busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX |
              SQLITE_OPEN_NOFOLLOW;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    std::string why = raw ? sqlite3_errmsg(raw) : "out of memory";
    return make_error(ErrorKind::io, "store.open", "cannot open database " + path + ": " + why);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout_ms));
  // Defensive: no writable_schema, no corrupting PRAGMAs from SQL.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_create_function_v2(raw, "edx_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                             fold_fn, nullptr, nullptr, nullptr);
  std::unique_ptr<SqliteConn> conn(new SqliteConn(std::move(db)));
  if (!read_only) {
    // journal_mode=WAL answers with the mode in force; anything else means
    // the file system cannot do WAL and durability assumptions break.
    auto st = conn->prepare("PRAGMA journal_mode=WAL");
    if (!st.ok()) return st.error();
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row || st->text(0) != "wal") {
      return make_error(ErrorKind::io, "store.open", "cannot put database " + path + " in WAL mode");
    }
  }
  EDX_TRY(conn->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return conn;
}

Result<Stmt> SqliteConn::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      return db_error(db_.get(), "preparing a statement");
    }
    it = cache_.emplace(sql, std::make_unique<SqliteStmt>(db_.get(), StmtPtr(s))).first;
  }
  return Stmt(it->second.get());
}

Result<Stmt> SqliteConn::prepare_built(const std::string& sql) {
  auto it = built_.find(sql);
  if (it == built_.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      return db_error(db_.get(), "preparing a query");
    }
    it = built_.emplace(sql, std::make_unique<SqliteStmt>(db_.get(), StmtPtr(s))).first;
  }
  return Stmt(it->second.get());
}

Status SqliteConn::exec(const char* sql) {
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return db_error(db_.get(), "running SQL");
  }
  return {};
}

Status SqliteConn::run_cached(const char* sql) {
  auto st = prepare(sql);
  if (!st.ok()) return st.error();
  return st->run();
}

void SqliteConn::rollback() {
  if (in_transaction()) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

std::string fold(std::string_view utf8) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFKCCasefoldInstance(err);
  icu::UnicodeString in =
      icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  icu::UnicodeString out;
  if (U_SUCCESS(err)) out = n->normalize(in, err);
  if (U_FAILURE(err)) out = in.foldCase();
  std::string s;
  out.toUTF8String(s);
  return s;
}

}  // namespace edxgate::store::sql
