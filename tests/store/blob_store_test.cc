// The content-addressed attachment directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "../support/run_cli.h"
#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

// sha256sum, as an independent implementation of the hash.
std::string sha256sum_of(const std::string& path) {
  std::string cmd = "sha256sum '" + path + "'";
  return edxgate::test::run_command(cmd, edxgate::test::Output::stdout_only).out.substr(0, 64);
}

size_t count_temps(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) ++n;
  }
  return n;
}

TEST(BlobStore, StoresContentUnderItsSha256) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  auto ref = blobs->put("Nội dung tệp đính kèm");
  ASSERT_TRUE(ref.ok());
  EXPECT_TRUE(is_blob_name(ref->sha256));
  EXPECT_EQ(ref->size, std::string("Nội dung tệp đính kèm").size());
  EXPECT_EQ(sha256sum_of(blobs->path_of(ref->sha256)), ref->sha256);
  auto back = blobs->read(ref->sha256, 1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "Nội dung tệp đính kèm");
  EXPECT_EQ(count_temps(blobs->dir()), 0u);
}

TEST(BlobStore, IdenticalContentSharesOneFile) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path(), 1 << 20);
  ASSERT_TRUE(blobs.ok());
  auto a = blobs->put("same bytes");
  auto b = blobs->put("same bytes");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  size_t files = 0;
  ASSERT_TRUE(blobs->for_each([&](std::string_view) { ++files; }).ok());
  EXPECT_EQ(files, 1u);
}

TEST(BlobStore, ReadDetectsACorruptedFile) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path(), 1 << 20);
  ASSERT_TRUE(blobs.ok());
  auto ref = blobs->put(std::string(10000, 'a'));
  ASSERT_TRUE(ref.ok());
  {
    int fd = ::open(blobs->path_of(ref->sha256).c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "b", 1, 5000), 1);
    ::close(fd);
  }
  auto r = blobs->read(ref->sha256, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "store.blob_corrupt");
  auto v = blobs->verify(*ref);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "store.blob_corrupt");
  // Putting the right content again repairs it.
  ASSERT_TRUE(blobs->put(std::string(10000, 'a')).ok());
  EXPECT_TRUE(blobs->verify(*ref).ok());
}

TEST(BlobStore, ATruncatedFileFailsVerification) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path(), 1 << 20);
  ASSERT_TRUE(blobs.ok());
  auto ref = blobs->put("0123456789");
  ASSERT_TRUE(ref.ok());
  ASSERT_EQ(::truncate(blobs->path_of(ref->sha256).c_str(), 4), 0);
  EXPECT_EQ(blobs->verify(*ref).error().code, "store.blob_corrupt");
  EXPECT_EQ(blobs->claim(*ref).error().code, "store.blob_corrupt");
}

TEST(BlobStore, RefusesContentOverTheSizeLimitAndLeavesNoTempFile) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path(), 1000);
  ASSERT_TRUE(blobs.ok());
  {
    auto w = blobs->begin();
    ASSERT_TRUE(w.ok());
    EXPECT_TRUE(w->write(std::string(600, 'x')).ok());
    auto r = w->write(std::string(401, 'x'));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store.too_large");
    EXPECT_FALSE(w->commit().ok());
  }
  EXPECT_EQ(count_temps(dir.path()), 0u);
  EXPECT_TRUE(blobs->put(std::string(1000, 'x')).ok());  // exactly the limit is fine
}

TEST(BlobStore, AnAbandonedWriterLeavesNoTempFile) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path(), 1 << 20);
  ASSERT_TRUE(blobs.ok());
  {
    auto w = blobs->begin();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write("partial").ok());
    EXPECT_EQ(count_temps(dir.path()), 1u);
  }
  EXPECT_EQ(count_temps(dir.path()), 0u);
}

TEST(BlobStore, RejectsNamesThatAreNotHashes) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/b", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  std::ofstream(dir.path() + "/secret") << "do not read";
  for (const std::string& bad : std::vector<std::string>{"../secret", "", std::string(64, 'A'), std::string(63, 'a'),
                                                         std::string(63, 'a') + "/", ".lock"}) {
    auto r = blobs->read(bad, 1 << 20);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "store.blob_name") << bad;
  }
  auto missing = blobs->read(std::string(64, 'a'), 1 << 20);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "store.blob_missing");
}

TEST(BlobStore, StreamsALargeFileInAndOut) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 64ull << 20);
  ASSERT_TRUE(blobs.ok());
  const std::string src = dir.path() + "/big.bin";
  {
    std::ofstream out(src, std::ios::binary);
    std::string chunk(1 << 20, '\0');
    for (int i = 0; i < 24; ++i) {
      for (size_t j = 0; j < chunk.size(); j += 4096) chunk[j] = static_cast<char>(i + j);
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
  }
  auto ref = blobs->put_file(src);
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(ref->size, 24u << 20);
  EXPECT_EQ(ref->sha256, sha256sum_of(src));
  uint64_t chunks = 0, bytes = 0;
  ASSERT_TRUE(blobs
                  ->read_to(ref->sha256,
                            [&](std::string_view c) -> Status {
                              ++chunks;
                              bytes += c.size();
                              return {};
                            })
                  .ok());
  EXPECT_EQ(bytes, ref->size);
  EXPECT_GT(chunks, 10u);  // streamed, not slurped
  auto too_big = blobs->read(ref->sha256, 1 << 20);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, "store.too_large");
}

TEST(BlobStore, AdoptsAFinishedFileByLinkingItNotCopyingIt) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  const std::string file = dir.path() + "/delivered.edxml";
  std::ofstream(file) << "<edXMLEnvelope>received as is</edXMLEnvelope>";
  ::chmod(file.c_str(), 0644);
  auto ref = blobs->adopt_file(file, nullptr);
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(ref->sha256, sha256sum_of(file));
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat(file.c_str(), &a), 0);
  ASSERT_EQ(::stat(blobs->path_of(ref->sha256).c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // the same file: no copy
  EXPECT_EQ(b.st_mode & 0777, 0600u);
  EXPECT_EQ(count_temps(blobs->dir()), 0u);
  // The caller's own name may go; the blob stays, hash-checked.
  ASSERT_EQ(::unlink(file.c_str()), 0);
  EXPECT_TRUE(blobs->verify(*ref).ok());
  EXPECT_EQ(blobs->sync_stats().content_syncs, 1u);
}

TEST(BlobStore, AdoptTakesTheWritersHashButChecksTheSize) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  const std::string file = dir.path() + "/attachment.bin";
  std::ofstream(file) << "0123456789";
  const BlobRef right{sha256sum_of(file), 10};
  const BlobRef wrong_size{right.sha256, 11};
  auto bad = blobs->adopt_file(file, &wrong_size);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "store.blob_corrupt");
  EXPECT_EQ(blobs->stat(right.sha256).error().code, "store.blob_missing");
  const BlobRef not_a_name{"../x", 10};
  EXPECT_EQ(blobs->adopt_file(file, &not_a_name).error().code, "store.blob_name");
  auto ref = blobs->adopt_file(file, &right);
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(*ref, right);
  EXPECT_TRUE(blobs->verify(right).ok());
}

TEST(BlobStore, AdoptReplacesADamagedBlobOfTheSameName) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  auto ref = blobs->put(std::string(1000, 'a'));
  ASSERT_TRUE(ref.ok());
  ASSERT_EQ(::truncate(blobs->path_of(ref->sha256).c_str(), 10), 0);
  ASSERT_FALSE(blobs->verify(*ref).ok());
  const std::string file = dir.path() + "/again.bin";
  std::ofstream(file) << std::string(1000, 'a');
  auto again = blobs->adopt_file(file, nullptr);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *ref);
  EXPECT_TRUE(blobs->verify(*ref).ok());
}

TEST(BlobStore, AdoptRefusesAFileOverTheSizeLimit) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 100);
  ASSERT_TRUE(blobs.ok());
  const std::string file = dir.path() + "/big.bin";
  std::ofstream(file) << std::string(101, 'x');
  EXPECT_EQ(blobs->adopt_file(file, nullptr).error().code, "store.too_large");
  EXPECT_EQ(blobs->adopt_file(dir.path(), nullptr).error().code, "store.blob_corrupt");  // not a regular file
}

// Group sync: concurrent writers whose names wait for a directory sync share
// fsyncs of the directory (one per writer in a row before), and every blob
// each writer got back is there.
TEST(BlobStore, ConcurrentWritersShareDirectorySyncs) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::vector<BlobRef>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto ref = blobs->put("writer " + std::to_string(t) + " blob " + std::to_string(i));
        if (ref.ok()) got[t].push_back(*ref);
      }
    });
  }
  for (auto& t : ts) t.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), static_cast<size_t>(kEach));
    for (const auto& ref : got[t]) EXPECT_TRUE(blobs->verify(ref).ok());
  }
  const BlobSyncStats st = blobs->sync_stats();
  EXPECT_EQ(st.content_syncs, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(st.name_syncs_asked, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_LT(st.name_syncs_done, st.name_syncs_asked);
  EXPECT_GT(st.name_syncs_done, 0u);
}

// A writer of several blobs (a delivery: its envelope and attachments) syncs
// their names once; with NameSync::now each commit syncs the directory.
TEST(BlobStore, DeferredNamesAreSyncedByOneCallForAllOfThem) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  const std::string file = dir.path() + "/envelope.xml";
  std::ofstream(file) << "<envelope/>";
  ASSERT_TRUE(blobs->adopt_file(file, nullptr, NameSync::deferred).ok());
  for (int i = 0; i < 3; ++i) {
    auto w = blobs->begin();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write("attachment " + std::to_string(i)).ok());
    ASSERT_TRUE(w->commit(NameSync::deferred).ok());
  }
  EXPECT_EQ(blobs->sync_stats().name_syncs_asked, 0u);
  EXPECT_EQ(blobs->sync_stats().content_syncs, 4u);
  ASSERT_TRUE(blobs->sync_names().ok());
  EXPECT_EQ(blobs->sync_stats().name_syncs_done, 1u);
  ASSERT_TRUE(blobs->put("now").ok());
  EXPECT_EQ(blobs->sync_stats().name_syncs_done, 2u);
}

// A failed directory sync is every waiter's failure, not a silent success.
TEST(BlobStore, AFailedDirectorySyncIsReported) {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path() + "/blobs", 1 << 20);
  ASSERT_TRUE(blobs.ok());
  std::filesystem::remove_all(blobs->dir());  // the directory is gone: its fsync cannot open it
  auto st = blobs->sync_names();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "io.open");
}

}  // namespace
}  // namespace edxgate::store
