// [store]: the engine, the PostgreSQL connection string kept out of the TOML.
#include <gtest/gtest.h>

#include <string>

#include "edxgate/config/config.h"

using edxgate::config::parse;

namespace {

std::string error_of(const std::string& toml) {
  auto r = parse(toml, "t.toml");
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << toml;
  return r.ok() ? "" : r.error().message;
}

TEST(StoreConfig, SqliteIsTheDefault) {
  auto r = parse("", "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->store.backend, "sqlite");
  EXPECT_EQ(r->store.blob_dir, "");
  EXPECT_EQ(r->store.pool_size, 8u);
  EXPECT_EQ(r->store.statement_timeout_ms, 30000u);
}

TEST(StoreConfig, ReadsAPostgresqlCluster) {
  auto r = parse(R"([store]
backend = "postgresql"
state_dir = "/var/lib/edxgate"
blob_dir = "/srv/edxgate-blobs"
dsn = "host=db.example dbname=edxgate user=edxgate sslmode=verify-full"
pool_size = 4
statement_timeout_ms = 5000
node = "gw-hanoi-1"
)",
                 "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->store.backend, "postgresql");
  EXPECT_EQ(r->store.blob_dir, "/srv/edxgate-blobs");
  EXPECT_EQ(r->store.dsn, "host=db.example dbname=edxgate user=edxgate sslmode=verify-full");
  EXPECT_EQ(r->store.pool_size, 4u);
  EXPECT_EQ(r->store.statement_timeout_ms, 5000u);
  EXPECT_EQ(r->store.node, "gw-hanoi-1");
}

TEST(StoreConfig, RefusesAPasswordInTheToml) {
  EXPECT_EQ(error_of("[store]\nbackend = \"postgresql\"\ndsn = \"host=db user=e password=hunter2\"\n"),
            "t.toml:3: store.dsn: holds a password: put the connection string in dsn_file (mode 0600) "
            "or the password in ~/.pgpass, never in this file");
  EXPECT_NE(error_of("[store]\nbackend = \"postgresql\"\ndsn = \"postgresql://e:hunter2@db/edxgate\"\n")
                .find("holds a password"),
            std::string::npos);
  // A user name alone in a URI is no password.
  EXPECT_TRUE(parse("[store]\nbackend = \"postgresql\"\ndsn = \"postgresql://e@db/edxgate\"\n", "t").ok());
}

TEST(StoreConfig, PostgresqlNeedsExactlyOneConnectionString) {
  EXPECT_NE(error_of("[store]\nbackend = \"postgresql\"\n").find("needs exactly one of dsn and dsn_file"),
            std::string::npos);
  EXPECT_NE(error_of("[store]\nbackend = \"postgresql\"\ndsn = \"host=db\"\ndsn_file = \"/etc/edxgate/dsn\"\n")
                .find("needs exactly one"),
            std::string::npos);
  EXPECT_TRUE(parse("[store]\nbackend = \"postgresql\"\ndsn_file = \"/etc/edxgate/dsn\"\n", "t").ok());
  EXPECT_NE(error_of("[store]\ndsn = \"host=db\"\n").find("only for backend = \"postgresql\""), std::string::npos);
}

TEST(StoreConfig, RefusesAnUnknownBackendAndBadBounds) {
  EXPECT_NE(error_of("[store]\nbackend = \"mysql\"\n").find("must be one of \"sqlite\", \"postgresql\""),
            std::string::npos);
  EXPECT_NE(error_of("[store]\npool_size = 0\n").find("store.pool_size: must be between 1 and 1000"),
            std::string::npos);
  EXPECT_NE(error_of("[store]\nstatement_timeout_ms = 5\n").find("store.statement_timeout_ms"), std::string::npos);
}

}  // namespace
