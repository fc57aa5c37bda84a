// Shared fixtures of the store tests: a temp state directory, an injected
// clock, and small builders.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "edxgate/store/store.h"

namespace edxgate::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edxstore-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> ms = std::make_shared<std::atomic<int64_t>>(1'700'000'000'000);
  std::function<int64_t()> fn() const {
    auto p = ms;
    return [p] { return p->load(); };
  }
  void advance(int64_t d) { *ms += d; }
  int64_t now() const { return ms->load(); }
};

inline StoreOptions options_for(const std::string& dir) {
  StoreOptions o;
  o.state_dir = dir;
  return o;
}

inline std::unique_ptr<Store> open_or_die(const StoreOptions& o) {
  auto s = open_store(o);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().code + ": " + s.error().message);
  if (!s.ok()) return nullptr;
  return std::move(s.value());
}

inline NewDocument outgoing_doc(std::string subject = "Công văn về việc thử nghiệm") {
  NewDocument d;
  d.direction = Direction::outgoing;
  d.state = State::draft;
  d.sender = "000.00.00.G06";
  d.recipients = {"000.00.00.H41"};
  d.code_number = "251";
  d.code_notation = "TMĐT-TTTH";
  d.promulgation_date = "2026-11-20";
  d.subject = std::move(subject);
  d.document_type = "Công văn";
  d.actor = "test";
  return d;
}

inline NewDocument incoming_doc(const BlobRef& envelope, std::string envelope_id,
                                std::string sender = "000.00.00.H41") {
  NewDocument d;
  d.direction = Direction::incoming;
  d.state = State::received;
  d.sender = std::move(sender);
  d.recipients = {"000.00.00.G06"};
  d.envelope_id = std::move(envelope_id);
  d.envelope = envelope;
  d.subject = "Quyết định";
  d.actor = "axis";
  return d;
}

// Runs SQL on the database file directly, as an attacker or an old binary would.
inline int raw_exec(const std::string& db_path, const std::string& sql, std::string* err = nullptr) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(db_path.c_str(), &db);
  char* msg = nullptr;
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  if (msg && err) *err = msg;
  sqlite3_free(msg);
  sqlite3_close(db);
  return rc;
}

// First column of the first row as text ("" when none).
inline std::string raw_query(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(db_path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace edxgate::store::testing
