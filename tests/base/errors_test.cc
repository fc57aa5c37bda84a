// Error kinds made in base (files, JSON), the full-disk mapping every part
// shares, and the annotated Mutex.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <thread>

#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/base/mutex.h"
#include "small_tmpfs.h"

namespace edxgate {
namespace {

namespace fsys = std::filesystem;

TEST(FileError, AFullDiskOrQuotaIsAnOutageWhateverTheOperation) {
  for (int err : {ENOSPC, EDQUOT}) {
    Error e = fs::file_error(err, "io.write", "cannot write /x");
    EXPECT_EQ(e.kind, ErrorKind::unavailable);
    EXPECT_EQ(e.code, "io.disk_full");
    EXPECT_NE(e.message.find("cannot write /x: "), std::string::npos) << e.message;
  }
  Error e = fs::file_error(ENOSPC, "store.io", "cannot lock /blobs/.lock");
  EXPECT_EQ(e.code, "io.disk_full");
  EXPECT_TRUE(fs::is_disk_full(EDQUOT));
  EXPECT_FALSE(fs::is_disk_full(EIO));
}

TEST(FileError, OtherFailuresKeepTheirCodeAsIoErrors) {
  for (int err : {EIO, EACCES, ENOENT, EROFS}) {
    Error e = fs::file_error(err, "io.fsync", "cannot fsync /x");
    EXPECT_EQ(e.kind, ErrorKind::io) << err;
    EXPECT_EQ(e.code, "io.fsync") << err;
    EXPECT_EQ(e.message, std::string("cannot fsync /x: ") + std::strerror(err));
  }
}

TEST(FileError, ReadingNamesTheKindOfEachFailure) {
  const fsys::path d = fsys::path(::testing::TempDir()) / ("errors-" + std::to_string(::getpid()));
  fsys::create_directories(d);
  ASSERT_TRUE(fs::write_file_atomic((d / "a").string(), "0123456789").ok());
  EXPECT_EQ(fs::read_file((d / "a").string(), 9).error().kind, ErrorKind::too_large);
  EXPECT_EQ(fs::read_file((d / "absent").string(), 9).error().kind, ErrorKind::io);
  EXPECT_EQ(fs::read_file(d.string(), 9).error().kind, ErrorKind::io);  // a directory
  fsys::remove_all(d);
}

TEST(Json, ASyntaxErrorIsInvalidInput) {
  auto r = json::parse("{\"a\": ");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_EQ(r.error().code, "json.syntax");
}

TEST(AtomicFile, AFullDiskIsReportedAsDiskFullAndUnavailable) {
  testing::SmallTmpfs disk(64 * 1024);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  auto f = fs::AtomicFile::create(disk.dir());
  ASSERT_TRUE(f.ok()) << f.error().message;
  const std::string chunk(16 * 1024, 'x');
  Status st;
  for (int i = 0; i < 16 && st.ok(); ++i) st = f->write(chunk);  // 256 KiB into 64 KiB
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "io.disk_full");
  EXPECT_EQ(st.error().kind, ErrorKind::unavailable);
  EXPECT_NE(st.error().message.find(disk.dir()), std::string::npos) << st.error().message;
}

TEST(Mutex, WaitReleasesTheLockAndHoldsItAgainOnReturn) {
  Mutex mu;
  std::condition_variable cv;
  bool ready = false;  // guarded by mu
  std::thread producer([&] {
    MutexLock lock(mu);  // can only be taken while the waiter waits
    ready = true;
    cv.notify_all();
  });
  {
    MutexLock lock(mu);
    while (!ready) lock.wait(cv);
    EXPECT_TRUE(ready);
    EXPECT_FALSE(mu.try_lock());  // held again by this thread's lock
  }
  producer.join();
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(Mutex, WaitUntilTimesOutAndUnlockLetsOthersIn) {
  Mutex mu;
  std::condition_variable cv;
  MutexLock lock(mu);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(lock.wait_until(cv, start + std::chrono::milliseconds(20)), std::cv_status::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
  lock.unlock();
  bool taken = false;
  std::thread other([&] {
    MutexLock l(mu);
    taken = true;
  });
  other.join();
  lock.lock();
  EXPECT_TRUE(taken);
}

}  // namespace
}  // namespace edxgate
