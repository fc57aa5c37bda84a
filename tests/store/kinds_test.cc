// What sort of failure each store error is (ErrorKind), and the full disk:
// the blob store and the database report it as an outage (unavailable), so
// that the daemon answers 503 and /readyz reports it, never as a fault of the
// document being stored.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../base/small_tmpfs.h"
#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

size_t temps_in(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) n += e.path().filename().string().rfind(".tmp-", 0) == 0;
  return n;
}

// Fills the file system of `dir` to the last byte.
void fill(const std::string& dir) {
  const int fd = ::open((dir + "/filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  const std::string block(4096, 'f');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  for (char c = 'f'; ::write(fd, &c, 1) == 1;) {
  }
  ::close(fd);
}

TEST(Kinds, ABlobOnAFullDiskIsAnOutageAndLeavesNothingBehind) {
  edxgate::testing::SmallTmpfs disk(256 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  auto blobs = BlobStore::open(disk.dir() + "/blobs", 1 << 30);
  ASSERT_TRUE(blobs.ok()) << blobs.error().message;
  auto small = blobs->put("fits");
  ASSERT_TRUE(small.ok()) << small.error().message;
  auto big = blobs->put(std::string(1 << 20, 'x'));  // 1 MiB into 256 KiB
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, "io.disk_full");
  EXPECT_EQ(big.error().kind, ErrorKind::unavailable);
  EXPECT_EQ(temps_in(blobs->dir()), 0u);
  // Once space is freed the same content goes in.
  std::filesystem::remove(blobs->path_of(small->sha256));
  auto again = blobs->put(std::string(100 * 1024, 'y'));
  EXPECT_TRUE(again.ok()) << again.error().message;
}

TEST(Kinds, ADatabaseOnAFullDiskIsAnOutage) {
  edxgate::testing::SmallTmpfs disk(2 * 1024 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  auto store = testing::open_or_die(testing::options_for(disk.dir() + "/state"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_document(testing::outgoing_doc()).ok());
  fill(disk.dir());
  Error last;
  for (int i = 0; i < 200; ++i) {  // the WAL may hold a few pages first
    auto r = store->create_document(testing::outgoing_doc(std::string(4000, 'a' + i % 26)));
    if (!r.ok()) {
      last = r.error();
      break;
    }
  }
  ASSERT_FALSE(last.code.empty()) << "the full disk was never reported";
  EXPECT_EQ(last.code, "store.full") << last.message;
  EXPECT_EQ(last.kind, ErrorKind::unavailable) << last.code;
}

TEST(Kinds, WhatTheStoreRefusesSaysWhy) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  auto missing = store->get_document(424242);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  auto blob = store->blobs().stat(std::string(64, 'a'));
  ASSERT_FALSE(blob.ok());
  EXPECT_EQ(blob.error().code, "store.blob_missing");
  EXPECT_EQ(blob.error().kind, ErrorKind::not_found);
  auto name = store->blobs().stat("../etc/passwd");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().kind, ErrorKind::invalid);
  auto too_long = store->create_document(testing::outgoing_doc(std::string(1 << 20, 'x')));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, "store.field_too_long");
  EXPECT_EQ(too_long.error().kind, ErrorKind::too_large);
  store.reset();

  StoreOptions ro = testing::options_for(dir.path());
  ro.read_only = true;
  auto reader = testing::open_or_die(ro);
  ASSERT_TRUE(reader);
  auto write = reader->create_document(testing::outgoing_doc());
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, "store.read_only");
  EXPECT_EQ(write.error().kind, ErrorKind::io);
}

// A damaged database is the gateway's own fault (io: HTTP 500, CLI exit 2),
// never the caller's input (invalid: 422, exit 1): a state no edxgate writes
// in a document's row, and a database file that is not one.
TEST(Kinds, ACorruptDatabaseIsAnIoFaultNotBadInput) {
  TempDir dir;
  auto store = testing::open_or_die(testing::options_for(dir.path()));
  ASSERT_TRUE(store);
  auto doc = store->create_document(testing::outgoing_doc());
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  std::string err;
  ASSERT_EQ(testing::raw_exec(dir.path() + "/edxgate.db",
                              "UPDATE documents SET state = 'lost' WHERE id = " + std::to_string(doc->id), &err),
            SQLITE_OK)
      << err;
  auto moved = store->transition(doc->id, State::cancelled, "test", "a corrupt row");
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, "store.corrupt") << moved.error().message;
  EXPECT_EQ(moved.error().kind, ErrorKind::io);
  store.reset();

  TempDir garbage;
  {
    std::ofstream f(garbage.path() + "/edxgate.db", std::ios::binary);
    f << std::string(8192, 'x');
  }
  auto opened = open_store(testing::options_for(garbage.path()));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "store.corrupt") << opened.error().message;
  EXPECT_EQ(opened.error().kind, ErrorKind::io);
}

TEST(Kinds, ACorruptBlobIsInvalidData) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  auto ref = blobs->put("Nội dung");
  ASSERT_TRUE(ref.ok());
  {
    const int fd = ::open(blobs->path_of(ref->sha256).c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "X", 1, 0), 1);
    ::close(fd);
  }
  Status st = blobs->verify(*ref);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "store.blob_corrupt");
  EXPECT_EQ(st.error().kind, ErrorKind::invalid);
}

}  // namespace
}  // namespace edxgate::store
