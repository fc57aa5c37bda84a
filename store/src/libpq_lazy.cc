#include "libpq_lazy.h"

#include <dlfcn.h>
#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace edxgate::store {
namespace {

constexpr const char* kLibpq = "libpq.so.5";

#define EDX_LIBPQ_FUNCTIONS(X) \
  X(PQclear)                   \
  X(PQcmdStatus)               \
  X(PQcmdTuples)               \
  X(PQconnectdbParams)         \
  X(PQconninfoFree)            \
  X(PQconninfoParse)           \
  X(PQerrorMessage)            \
  X(PQexec)                    \
  X(PQexecPrepared)            \
  X(PQfinish)                  \
  X(PQfreemem)                 \
  X(PQgetisnull)               \
  X(PQgetlength)               \
  X(PQgetvalue)                \
  X(PQntuples)                 \
  X(PQprepare)                 \
  X(PQresultErrorField)        \
  X(PQresultStatus)            \
  X(PQstatus)                  \
  X(PQtransactionStatus)

// The real functions, looked up in libpq's own handle (never in the global
// scope, where these forwarders would be found).
struct Libpq {
// `name` is a declarator here, not an expression: it cannot be parenthesised.
#define EDX_LIBPQ_POINTER(name) decltype(&::name) name = nullptr;  // NOLINT(bugprone-macro-parentheses)
  EDX_LIBPQ_FUNCTIONS(EDX_LIBPQ_POINTER)
#undef EDX_LIBPQ_POINTER
};

std::once_flag g_once;
Libpq g_libpq;          // written once under g_once, read-only after
Status g_status;        // the outcome of the load, under g_once
bool g_loaded = false;  // under g_once

void load_once() {
  // Never closed: the process keeps libpq for its lifetime once it needed it.
  void* handle = ::dlopen(kLibpq, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    g_status = make_error(ErrorKind::unavailable, "store.libpq",
                          std::string("the PostgreSQL client library ") + kLibpq +
                              " (Debian package libpq5) cannot be loaded: " + (why ? why : "unknown reason"));
    return;
  }
#define EDX_LIBPQ_LOOKUP(name)                                                                          \
  g_libpq.name = reinterpret_cast<decltype(&::name)>(::dlsym(handle, #name));                           \
  if (!g_libpq.name) {                                                                                  \
    g_status = make_error(ErrorKind::unavailable, "store.libpq",                                        \
                          std::string("the PostgreSQL client library ") + kLibpq + " has no " + #name); \
    return;                                                                                             \
  }
  EDX_LIBPQ_FUNCTIONS(EDX_LIBPQ_LOOKUP)
#undef EDX_LIBPQ_LOOKUP
  g_loaded = true;
}

// For the forwarders: only the PostgreSQL engine calls them, after
// load_libpq() succeeded; reaching one otherwise is a bug.
const Libpq& libpq() {
  std::call_once(g_once, load_once);
  if (!g_loaded) {
    (void)std::fprintf(stderr, "edxgate: a libpq function was called but %s is not loaded\n", kLibpq);
    std::abort();
  }
  return g_libpq;
}

}  // namespace

Status load_libpq() {
  std::call_once(g_once, load_once);
  return g_status;
}

}  // namespace edxgate::store

// The forwarders, with libpq-fe.h's declarations (the compiler checks each
// signature against them).
using edxgate::store::libpq;

void PQclear(PGresult* res) { libpq().PQclear(res); }
char* PQcmdStatus(PGresult* res) { return libpq().PQcmdStatus(res); }
char* PQcmdTuples(PGresult* res) { return libpq().PQcmdTuples(res); }
PGconn* PQconnectdbParams(const char* const* keywords, const char* const* values, int expand_dbname) {
  return libpq().PQconnectdbParams(keywords, values, expand_dbname);
}
void PQconninfoFree(PQconninfoOption* options) { libpq().PQconninfoFree(options); }
PQconninfoOption* PQconninfoParse(const char* conninfo, char** errmsg) {
  return libpq().PQconninfoParse(conninfo, errmsg);
}
char* PQerrorMessage(const PGconn* conn) { return libpq().PQerrorMessage(conn); }
PGresult* PQexec(PGconn* conn, const char* query) { return libpq().PQexec(conn, query); }
PGresult* PQexecPrepared(PGconn* conn, const char* name, int n, const char* const* values, const int* lengths,
                         const int* formats, int result_format) {
  return libpq().PQexecPrepared(conn, name, n, values, lengths, formats, result_format);
}
void PQfinish(PGconn* conn) { libpq().PQfinish(conn); }
void PQfreemem(void* ptr) { libpq().PQfreemem(ptr); }
int PQgetisnull(const PGresult* res, int row, int field) { return libpq().PQgetisnull(res, row, field); }
int PQgetlength(const PGresult* res, int row, int field) { return libpq().PQgetlength(res, row, field); }
char* PQgetvalue(const PGresult* res, int row, int field) { return libpq().PQgetvalue(res, row, field); }
int PQntuples(const PGresult* res) { return libpq().PQntuples(res); }
PGresult* PQprepare(PGconn* conn, const char* name, const char* query, int n, const Oid* types) {
  return libpq().PQprepare(conn, name, query, n, types);
}
char* PQresultErrorField(const PGresult* res, int field) { return libpq().PQresultErrorField(res, field); }
ExecStatusType PQresultStatus(const PGresult* res) { return libpq().PQresultStatus(res); }
ConnStatusType PQstatus(const PGconn* conn) { return libpq().PQstatus(conn); }
PGTransactionStatusType PQtransactionStatus(const PGconn* conn) { return libpq().PQtransactionStatus(conn); }
