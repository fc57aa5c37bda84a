#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "edxgate/base/audit.h"
#include "edxgate/base/fs.h"
#include "edxgate/base/json.h"
#include "edxgate/base/log.h"
#include "edxgate/base/read_buffer.h"
#include "edxgate/base/result.h"
#include "edxgate/base/secret.h"

namespace fsys = std::filesystem;
using namespace edxgate;

namespace {

fsys::path temp_dir(const char* tag) {
  auto d = fsys::temp_directory_path() / ("edxgate-base-" + std::to_string(getpid()) + "-" + tag);
  fsys::remove_all(d);
  fsys::create_directories(d);
  return d;
}

Result<int> half(int x) {
  if (x % 2) return make_error(ErrorKind::invalid, "math.odd", "odd number");
  return x / 2;
}

Status twice_half(int x, int& out) {
  auto r = half(x);
  EDX_TRY(r);
  out = *r;
  return {};
}

TEST(Result, CarriesAValueOrAnError) {
  auto ok = half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
  auto bad = half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "math.odd");
  int out = 0;
  EXPECT_FALSE(twice_half(5, out).ok());
  EXPECT_TRUE(twice_half(6, out).ok());
  EXPECT_EQ(out, 3);
  EXPECT_EQ(make_error(ErrorKind::invalid, "x", "bad thing", 7).to_string(), "bad thing (line 7)");
}

TEST(Log, QuotesValuesSoOneEventIsOneLine) {
  std::string line =
      log::format_line(log::Level::warn, "token gone", {{"slot", "3"}, {"why", "a \"b\"\nc"}, {"empty", ""}});
  EXPECT_NE(line.find(" level=warn msg=\"token gone\" slot=3 why=\"a \\\"b\\\"\\nc\" empty=\"\"\n"), std::string::npos)
      << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.rfind("ts=", 0), 0u);
}

TEST(Log, ParsesLevels) {
  log::Level l = log::Level::info;
  EXPECT_TRUE(log::parse_level("debug", l));
  EXPECT_EQ(l, log::Level::debug);
  EXPECT_FALSE(log::parse_level("verbose", l));
}

TEST(SecretString, HoldsGrowsAndWipes) {
  SecretString s("1234");
  EXPECT_EQ(s.view(), "1234");
  for (int i = 0; i < 5000; ++i) s.push_back('x');  // crosses a page boundary
  EXPECT_EQ(s.size(), 5004u);
  EXPECT_EQ(s.view().substr(0, 4), "1234");
  s.push_back('\n');
  s.push_back('\r');
  s.trim_newline();
  EXPECT_EQ(s.size(), 5004u);
  EXPECT_EQ(std::string(s.c_str()).size(), 5004u);
  SecretString moved(std::move(s));
  EXPECT_TRUE(s.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(moved.size(), 5004u);
  moved.clear();
  EXPECT_TRUE(moved.empty());
  EXPECT_STREQ(moved.c_str(), "");
}

TEST(AtomicFile, CommitPublishesAndAbandonLeavesNothing) {
  auto d = temp_dir("atomic");
  {
    auto f = fs::AtomicFile::create(d.string());
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_TRUE(f->write("hello").ok());
    ASSERT_TRUE(f->commit("final.txt").ok());
  }
  std::ifstream in(d / "final.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "hello");
  std::string temp;
  {
    auto f = fs::AtomicFile::create(d.string());
    ASSERT_TRUE(f.ok());
    temp = f->temp_path();
    EXPECT_TRUE(fsys::exists(temp));
  }
  EXPECT_FALSE(fsys::exists(temp));
  EXPECT_EQ(std::distance(fsys::directory_iterator(d), fsys::directory_iterator()), 1);
  fsys::remove_all(d);
}

TEST(AtomicFile, KeepHandsTheTempFileToTheCaller) {
  auto d = temp_dir("keep");
  std::string kept;
  {
    auto f = fs::AtomicFile::create(d.string());
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_TRUE(f->write("kept").ok());
    auto path = f->keep(fs::Durability::unsynced);
    ASSERT_TRUE(path.ok()) << path.error().message;
    EXPECT_EQ(*path, f->temp_path());
    kept = *path;
  }
  // Still there under its temp name once the object is gone: the caller's.
  std::ifstream in(kept);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "kept");
  EXPECT_EQ(fsys::path(kept).parent_path(), d);
  fsys::remove_all(d);
}

TEST(ReadBuffer, IsSizedToTheFileWithinItsBounds) {
  auto d = temp_dir("readbuf");
  auto sized = [&](size_t bytes, size_t cap) {
    const std::string file = (d / ("f" + std::to_string(bytes))).string();
    EXPECT_TRUE(fs::write_file_atomic(file, std::string(bytes, 'x')).ok());
    fs::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    ReadBuffer buf(fd.get(), cap);
    // The whole buffer is usable memory (ASan would catch a short one).
    std::fill(buf.data(), buf.data() + buf.size(), 'y');
    return buf.size();
  };
  EXPECT_EQ(sized(100 * 1024, 1 << 20), 100 * 1024 + 1u);  // the file and the byte that meets its end
  EXPECT_EQ(sized(10, 1 << 20), 4096u);                    // at least a page
  EXPECT_EQ(sized(3 << 20, 1 << 20), size_t{1} << 20);     // at most the cap
  EXPECT_EQ(sized(10, 100), 100u);                         // a cap below a page wins
  EXPECT_EQ(ReadBuffer(-1, 65536).size(), 65536u);         // no size known: the cap
  fsys::remove_all(d);
}

TEST(Fs, ReadFileRefusesOversizedAndMissingFiles) {
  auto d = temp_dir("read");
  ASSERT_TRUE(fs::write_file_atomic((d / "a").string(), "0123456789").ok());
  auto ok = fs::read_file((d / "a").string(), 10);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "0123456789");
  auto big = fs::read_file((d / "a").string(), 9);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, "io.too_large");
  EXPECT_EQ(fs::read_file((d / "nope").string(), 9).error().code, "io.open");
  EXPECT_EQ(fs::read_file(d.string(), 9).error().code, "io.not_file");
  fsys::remove_all(d);
}

TEST(Fs, MakeDirsCreatesPrivateDirectoriesAndLeavesExistingOnes) {
  auto d = temp_dir("dirs");
  fsys::permissions(d, fsys::perms::owner_all | fsys::perms::group_read);
  ASSERT_TRUE(fs::make_dirs((d / "x/y").string()).ok());
  struct stat st {};
  ASSERT_EQ(stat((d / "x/y").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(fs::make_dirs(d.string()).ok());
  ASSERT_EQ(stat(d.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0740u);
  fsys::remove_all(d);
}

TEST(Json, ParsesWithADepthLimit) {
  auto ok = json::parse(R"({"a":[1,2,{"b":"c"}]})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at("a").as_array().size(), 3u);
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto bad = json::parse(deep, 32);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "json.syntax");
  EXPECT_FALSE(json::parse("{\"a\":").ok());
  EXPECT_EQ(json::pretty(*json::parse(R"({"a":[1]})")), "{\n  \"a\": [\n    1\n  ]\n}\n");
}

TEST(FileAuditSink, AppendsOneJsonLinePerEvent) {
  auto d = temp_dir("audit");
  FileAuditSink sink((d / "audit.log").string());
  ASSERT_TRUE(sink.append({"officer:cli", "key.generate", "pkcs11:object=k", "ok", "rsa:2048"}).ok());
  ASSERT_TRUE(sink.append({"officer:cli", "pin.failed", "pkcs11:token=t", "failed", ""}).ok());
  std::ifstream in(d / "audit.log");
  std::string l1, l2, l3;
  std::getline(in, l1);
  std::getline(in, l2);
  EXPECT_FALSE(std::getline(in, l3));
  auto j = json::parse(l1);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->at("action").as_string(), "key.generate");
  EXPECT_EQ(json::parse(l2)->at("outcome").as_string(), "failed");
  fsys::remove_all(d);
}

}  // namespace
