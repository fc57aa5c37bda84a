// The one mapping from an error's kind to the exit code of every edxgate
// command, and the command-line cases where a command sets the kind itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../support/run_cli.h"
#include "cli.h"

namespace edxgate::cli {
namespace {

namespace fsys = std::filesystem;

TEST(ExitCode, EveryKindHasItsDocumentedCode) {
  struct Case {
    ErrorKind kind;
    int code;
  };
  // README: 0 success, 1 invalid input or a failed check, 2 usage or I/O error.
  const Case cases[] = {
      {ErrorKind::invalid, 1},   {ErrorKind::malformed, 1},    {ErrorKind::not_found, 1}, {ErrorKind::conflict, 1},
      {ErrorKind::too_large, 1}, {ErrorKind::unauthorized, 1}, {ErrorKind::forbidden, 1}, {ErrorKind::usage, 2},
      {ErrorKind::io, 2},        {ErrorKind::unavailable, 2},  {ErrorKind::internal, 2},
  };
  // Every enumerator is in the table (io is the last one).
  EXPECT_EQ(std::size(cases), static_cast<size_t>(ErrorKind::io) + 1);
  for (const Case& c : cases) {
    EXPECT_EQ(exit_code(make_error(c.kind, "any.code", "any")), c.code) << static_cast<int>(c.kind);
  }
}

TEST(ExitCode, TheCodeStringPlaysNoPart) {
  // The same code under two kinds: only the kind counts.
  EXPECT_EQ(exit_code(make_error(ErrorKind::io, "edxml.base64", "x")), kExitUsage);
  EXPECT_EQ(exit_code(make_error(ErrorKind::invalid, "io.read", "x")), kExitInvalid);
  // A wrong PIN is refused input; an absent token is the environment.
  EXPECT_EQ(exit_code(make_error(ErrorKind::forbidden, "pin.incorrect", "x")), kExitInvalid);
  EXPECT_EQ(exit_code(make_error(ErrorKind::unavailable, "token.absent", "x")), kExitUsage);
}

TEST(Args, ItsErrorsAreUsageErrors) {
  auto unknown = Args::parse({"--nope"}, {{"--out", "-o", true}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::usage);
  EXPECT_EQ(exit_code(unknown.error()), kExitUsage);
  auto missing = Args::parse({"--out"}, {{"--out", "-o", true}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "usage.missing_value");
  EXPECT_EQ(exit_code(missing.error()), kExitUsage);
}

// The edxgate binary, for the cases where a command gives an error the kind
// its own job implies.
using edxgate::test::CliRun;
// stdin is /dev/null: no command may wait for a PIN on the terminal.
CliRun edxgate(const std::string& args) { return edxgate::test::run_edxgate(args + " </dev/null"); }

class CliKinds : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fsys::path(::testing::TempDir()) / ("cli-kinds-" + std::to_string(::getpid()));
    fsys::create_directories(dir_);
  }
  void TearDown() override { fsys::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  fsys::path dir_;
};

TEST_F(CliKinds, ATrustAnchorThatIsNoCertificateIsAUsageErrorOfVerify) {
  // cert.parse is invalid input where a peer sent it; given as --trust-anchor
  // it is how the command was set up: exit 2, before any verdict.
  const std::string anchor =
      write("anchor.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  const std::string env = write("env.xml", "<edXML/>");
  CliRun r = edxgate("verify --trust-anchor " + anchor + " " + env);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("[cert.parse]"), std::string::npos) << r.out;
}

TEST_F(CliKinds, AFileVerifyCannotReadGetsNoVerdict) {
  const std::string anchor = (dir_ / "anchor.pem").string();
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=anchor"
                         " -days 2 -keyout " +
                         (dir_ / "anchor.key").string() + " -out " + anchor + " >/dev/null 2>&1")
                            .c_str()),
            0);
  CliRun r = edxgate("verify --trust-anchor " + anchor + " " + (dir_ / "absent.xml").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(r.out.find("invalid:"), std::string::npos) << r.out;
}

TEST_F(CliKinds, AConfigFileValidateCannotUseIsAUsageErrorButConfigCheckFailsTheCheck) {
  const std::string bad = write("bad.toml", "[edxml]\nmax_depth = \"deep\"\n");
  const std::string env = write("env.xml", "<edXML/>");
  CliRun validate = edxgate("validate --config " + bad + " " + env);
  EXPECT_EQ(validate.code, 2) << validate.out;
  EXPECT_NE(validate.out.find("[config.invalid]"), std::string::npos) << validate.out;
  CliRun check = edxgate("config check " + bad);
  EXPECT_EQ(check.code, 1) << check.out;
  CliRun absent = edxgate("config check " + (dir_ / "absent.toml").string());
  EXPECT_EQ(absent.code, 1) << absent.out;  // its documented answer for an unreadable file
}

}  // namespace
}  // namespace edxgate::cli
