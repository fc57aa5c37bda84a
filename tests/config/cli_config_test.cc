// `edxgate config check` and `edxgated --check-config`, through the real binaries.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "../support/run_cli.h"

namespace {

using Outcome = edxgate::test::CliRun;
using edxgate::test::program_path;
Outcome run(const std::string& cmd) { return edxgate::test::run_command(cmd); }

class ConfigCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("edxgate-cfg-" + std::to_string(getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

// Both programs must give the same verdict and one line per problem.
void expect_both(const std::string& path, int code, const std::string& output) {
  Outcome a = run(program_path("edxgate") + " config check " + path);
  EXPECT_EQ(a.code, code) << a.out;
  EXPECT_EQ(a.out, output);
  Outcome b = run(program_path("edxgated") + " --check-config " + path);
  EXPECT_EQ(b.code, code) << b.out;
  EXPECT_EQ(b.out, output);
}

TEST_F(ConfigCli, ValidConfigExitsZero) {
  std::string p = write("ok.toml", "[log]\nlevel = \"warn\"\n");
  expect_both(p, 0, p + ": ok\n");
}

TEST_F(ConfigCli, UnknownKeyGivesOneLineAndExitOne) {
  std::string p = write("bad.toml", "[store]\nstatedir = \"/x\"\n");
  expect_both(p, 1, p + ":2: store.statedir: unknown key\n");
}

TEST_F(ConfigCli, WrongTypeGivesOneLineAndExitOne) {
  std::string p = write("bad.toml", "[axis]\npoll_interval_s = \"soon\"\n");
  expect_both(p, 1, p + ":2: axis.poll_interval_s: must be an integer\n");
}

TEST_F(ConfigCli, MissingFileGivesOneLineAndExitOne) {
  std::string p = (dir_ / "absent.toml").string();
  expect_both(p, 1, "cannot read config: cannot open " + p + ": No such file or directory\n");
}

TEST_F(ConfigCli, UnreadableFileGivesOneLineAndExitOne) {
  // A directory cannot be read as a file, even by root.
  std::string p = (dir_ / "conf.d").string();
  std::filesystem::create_directories(p);
  expect_both(p, 1, "cannot read config: " + p + " is not a regular file\n");
  if (geteuid() != 0) {  // permission bits do not stop root
    std::string q = write("secret.toml", "");
    chmod(q.c_str(), 0);
    expect_both(q, 1, "cannot read config: cannot open " + q + ": Permission denied\n");
  }
}

TEST_F(ConfigCli, UsageErrorsExitTwo) {
  EXPECT_EQ(run(program_path("edxgate") + " config check").code, 2);
  EXPECT_EQ(run(program_path("edxgate") + " --bogus").code, 2);
  EXPECT_EQ(run(program_path("edxgated") + " --bogus").code, 2);
  EXPECT_EQ(run(program_path("edxgated") + " --check-config").code, 2);
}

TEST_F(ConfigCli, VersionAndHelp) {
  Outcome v = run(program_path("edxgate") + " --version");
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("edxgate ", 0), 0u);
  Outcome dv = run(program_path("edxgated") + " --version");
  EXPECT_EQ(dv.code, 0);
  EXPECT_EQ(dv.out.rfind("edxgated ", 0), 0u);
  Outcome h = run(program_path("edxgate") + " --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("config check"), std::string::npos);
  Outcome ch = run(program_path("edxgate") + " config check --help");
  EXPECT_EQ(ch.code, 0);
  EXPECT_NE(ch.out.find("usage: edxgate config check FILE"), std::string::npos);
  EXPECT_EQ(run(program_path("edxgated") + " --help").code, 0);
}

}  // namespace
