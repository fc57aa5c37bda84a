// Store tests that run on both engines: a GoogleTest fixture parameterised
// over the backend. Each test gets an empty store of its own: a temp state
// directory (SQLite database and blobs) or a fresh PostgreSQL database on the
// shared test server (pg_server.h) with its blobs in the temp directory.
// options() may be opened more than once: two Store instances on one
// database stand for two nodes (processes) of a cluster.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "pg_server.h"
#include "store_test_util.h"

namespace edxgate::store::testing {

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::postgresql) {
      PgServer& pg = PgServer::get();
      ASSERT_TRUE(pg.up()) << "no PostgreSQL for the tests: " << pg.error();
      database_ = pg.create_database();
      ASSERT_FALSE(database_.empty()) << "cannot create a test database: " << pg.error();
    }
  }
  void TearDown() override {
    if (!database_.empty()) PgServer::get().drop_database(database_);
  }

  bool postgresql() const { return GetParam() == Backend::postgresql; }

  // The options of this test's store (add a clock, randomness... on top).
  StoreOptions base_options() const {
    StoreOptions o = options_for(dir_.path());
    o.backend = GetParam();
    if (postgresql()) o.dsn = PgServer::get().dsn(database_);
    return o;
  }
  const std::string& state_dir() const { return dir_.path(); }
  const std::string& database() const { return database_; }

  // Runs SQL on the database directly, as an attacker or another program
  // would; returns "" on success, else the error text.
  std::string raw_sql(const std::string& sql) const {
    if (postgresql()) return PgServer::get().exec(database_, sql);
    std::string err;
    if (raw_exec(dir_.path() + "/edxgate.db", sql, &err) != 0 && err.empty()) err = "failed";
    return err;
  }
  // First column of the first row as text.
  std::string raw_value(const std::string& sql) const {
    if (postgresql()) return PgServer::get().query(database_, sql);
    return raw_query(dir_.path() + "/edxgate.db", sql);
  }

 private:
  TempDir dir_;
  std::string database_;
};

inline std::string backend_test_name(const ::testing::TestParamInfo<Backend>& info) {
  return std::string(backend_name(info.param));
}

}  // namespace edxgate::store::testing

// Instantiates a BackendTest-derived suite for both engines.
#define EDXGATE_BOTH_BACKENDS(Suite)                                                                               \
  INSTANTIATE_TEST_SUITE_P(                                                                                        \
      Engines, Suite, ::testing::Values(::edxgate::store::Backend::sqlite, ::edxgate::store::Backend::postgresql), \
      ::edxgate::store::testing::backend_test_name)
