// A throwaway PostgreSQL server for tests and benchmarks: Debian's initdb and
// pg_ctl (postgresql-15) in a temp directory under /tmp, listening on a unix
// socket in that directory only (no TCP, no root service). PostgreSQL refuses
// to run as root, so as root its programs run as `nobody` (setpriv).
//
// ctest starts one server for the whole run (the "postgresql" fixture: the
// pg_test_server program, see CMakeLists.txt) and records where it is in
// $EDXGATE_BINARY_DIR/pg-test.dir; a test binary run by hand starts its own
// and stops it at exit. Each test then takes a fresh database.
#pragma once

#include <fcntl.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace edxgate::store::testing {

// The bin directory of the newest PostgreSQL installed (or $EDXGATE_PG_BIN).
inline std::string pg_bin_dir() {
  if (const char* e = ::getenv("EDXGATE_PG_BIN"); e && *e) return e;
  std::string best;
  int best_version = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const int v = std::atoi(entry.path().filename().c_str());
    if (v > best_version && std::filesystem::exists(entry.path() / "bin" / "pg_ctl")) {
      best_version = v;
      best = (entry.path() / "bin").string();
    }
  }
  return best;
}

// Runs a shell command as the user PostgreSQL runs as; returns its exit status.
// From / : the caller's directory (a checkout under /root) may be closed to nobody.
inline int run_as_pg_user(const std::string& command) {
  const std::string full =
      ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups -- /bin/sh -c 'cd / && " + command + "'"
                       : "/bin/sh -c 'cd / && " + command + "'";
  return std::system(full.c_str());
}

inline bool pg_is_up(const std::string& socket_dir) {
  const std::string dsn = "host=" + socket_dir + " port=5432 user=postgres dbname=postgres connect_timeout=5";
  PGconn* c = PQconnectdb(dsn.c_str());
  const bool ok = PQstatus(c) == CONNECTION_OK;
  PQfinish(c);
  return ok;
}

// Starts a server in a new /tmp/edxpg-XXXXXX (data in data/, socket and log
// beside it). Returns the directory, or "" with `error` set. `durable`: fsync
// on, as in production (benchmarks); tests run without it, for speed.
inline std::string start_pg_server(std::string& error, bool durable = false) {
  const std::string bin = pg_bin_dir();
  if (bin.empty()) {
    error = "no PostgreSQL found under /usr/lib/postgresql (apt-get install postgresql)";
    return "";
  }
  std::string tmpl = "/tmp/edxpg-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    error = "cannot create a temp directory for PostgreSQL";
    return "";
  }
  const std::string dir = tmpl;
  if (::geteuid() == 0 && ::chown(dir.c_str(), 65534, 65534) != 0) {
    error = "cannot give " + dir + " to nobody";
    return "";
  }
  const std::string init = bin + "/initdb -D " + dir +
                           "/data -U postgres -A trust -E UTF8 --locale=C"
                           " --no-sync >" +
                           dir + "/initdb.log 2>&1";
  if (run_as_pg_user(init) != 0) {
    error = "initdb failed (see " + dir + "/initdb.log)";
    return "";
  }
  const std::string start =
      bin + "/pg_ctl -D " + dir + "/data -l " + dir + "/server.log -w -t 60 -o \"-k " + dir +
      " -c listen_addresses= " + (durable ? std::string() : std::string("-c fsync=off -c full_page_writes=off ")) +
      "-c max_connections=200\" start >" + dir + "/pg_ctl.log 2>&1";
  if (run_as_pg_user(start) != 0 || !pg_is_up(dir)) {
    error = "PostgreSQL did not start (see " + dir + "/server.log)";
    return "";
  }
  return dir;
}

inline void stop_pg_server(const std::string& dir) {
  if (dir.empty()) return;
  run_as_pg_user(pg_bin_dir() + "/pg_ctl -D " + dir + "/data -m immediate -w stop >/dev/null 2>&1");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Where the ctest fixture records its server.
inline std::string pg_fixture_file() {
  const char* b = ::getenv("EDXGATE_BINARY_DIR");
  return b && *b ? std::string(b) + "/pg-test.dir" : std::string();
}

// The server this process uses: the fixture's when it answers, else one of
// its own, stopped at exit.
class PgServer {
 public:
  static PgServer& get() {
    static PgServer server;
    return server;
  }
  bool up() const { return !socket_dir_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& socket_dir() const { return socket_dir_; }

  std::string dsn(const std::string& dbname) const {
    return "host=" + socket_dir_ + " port=5432 user=postgres dbname=" + dbname;
  }

  // Runs one SQL command on `dbname`; "" on success, else the error.
  std::string exec(const std::string& dbname, const std::string& sql) const {
    PGconn* c = PQconnectdb(dsn(dbname).c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      const auto st = PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(c);
    return err;
  }

  // First column of the first row as text ("" when none or on error).
  std::string query(const std::string& dbname, const std::string& sql) const {
    PGconn* c = PQconnectdb(dsn(dbname).c_str());
    std::string out;
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
      PQclear(r);
    }
    PQfinish(c);
    return out;
  }

  // A new, empty database; "" (and error()) when the server is not up.
  std::string create_database() {
    if (!up()) return "";
    static std::atomic<int> counter{0};
    const std::string name = "edx_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    if (std::string e = exec("postgres", "CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8'");
        !e.empty()) {
      error_ = e;
      return "";
    }
    return name;
  }

  void drop_database(const std::string& name) {
    if (up() && !name.empty()) exec("postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  ~PgServer() {
    if (own_) stop_pg_server(socket_dir_);
  }

 private:
  PgServer() {
    if (std::string f = pg_fixture_file(); !f.empty()) {
      std::ifstream in(f);
      std::string dir;
      if (in >> dir && pg_is_up(dir)) {
        socket_dir_ = dir;
        return;
      }
    }
    socket_dir_ = start_pg_server(error_);
    own_ = !socket_dir_.empty();
  }
  std::string socket_dir_;
  std::string error_;
  bool own_ = false;
};

}  // namespace edxgate::store::testing
