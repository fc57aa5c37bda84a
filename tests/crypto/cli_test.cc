// The edxgate verify / sign commands, run as a user would, including the
// interop loop: SoftHSM2 key -> `edxgate sign` -> `xmlsec1 --verify`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>

#include "../support/run_cli.h"
#include "../support/test_pki.h"

extern char** environ;

namespace edxgate::crypto::test {
namespace {

const std::string kEdxgate = std::string(EDXGATE_BINARY_DIR) + "/bin/edxgate";

using edxgate::test::CliRun;
CliRun run(const std::string& cmd) { return edxgate::test::run_command(cmd); }

// Runs argv (stdout to /dev/null); its exit code in `code`, its peak RSS in MiB.
double peak_mb(const std::vector<std::string>& argv, int& code) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// A SoftHSM2 token "edx" holding the good (id 01) and ec384 (id 02) keys, made
// once per test binary; returns the SOFTHSM2_CONF assignment for a command.
std::string softhsm_env(const Pki& pki) {
  static const std::string env = [&] {
    std::string dir = pki.path("softhsm");
    sh("mkdir -p '" + dir + "/tokens'");
    write_text(dir + "/softhsm2.conf", "directories.tokendir = " + dir + "/tokens\nobjectstore.backend = file\n");
    std::string e = "SOFTHSM2_CONF='" + dir + "/softhsm2.conf' ";
    sh(e + "softhsm2-util --init-token --free --label edx --so-pin 12345678 --pin 1234");
    for (auto [name, id] : {std::pair{"good", "01"}, std::pair{"ec384", "02"}}) {
      sh(e + "softhsm2-util --import '" + pki.path(std::string(name) + ".key") + "' --token edx --label " + name +
         " --id " + id + " --pin 1234");
    }
    write_text(dir + "/pin", "1234\n");
    sh("chmod 600 '" + dir + "/pin'");
    return e;
  }();
  return env;
}

class CliTest : public ::testing::Test {
 protected:
  const Pki& pki = Pki::get();
  std::string trust() const {
    return " --trust-anchor '" + pki.path("root.pem") + "' --intermediate '" + pki.path("inter.pem") + "' --crl '" +
           pki.path("root.crl.pem") + "' --crl '" + pki.path("inter.crl.der") + "' ";
  }
  std::string file(const std::string& name, const std::string& text) const {
    write_text(pki.path(name), text);
    return "'" + pki.path(name) + "'";
  }
};

using Cli = CliTest;

TEST_F(Cli, VerifyExitsZeroOnValidAndPrintsTheSigner) {
  CliRun r = run(kEdxgate + " verify" + trust() + file("cli-good.xml", signed_envelope("good")));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("valid: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("edxgate test good"), std::string::npos);
}

TEST_F(Cli, VerifyExitsOneWithTheReasonOnOneLine) {
  CliRun r = run(kEdxgate + " verify" + trust() + file("cli-revoked.xml", signed_envelope("revoked")));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(r.out.rfind("invalid: cert.revoked: ", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
}

TEST_F(Cli, VerifyRefusesDoctypeThroughTheHardenedParser) {
  std::string bomb = R"(<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>)";
  CliRun r = run(kEdxgate + " verify" + trust() + file("cli-xxe.xml", bomb));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("xml.doctype"), std::string::npos) << r.out;
}

TEST_F(Cli, VerifyPrintsJson) {
  CliRun r = run(kEdxgate + " verify --json" + trust() +
                 file("cli-json.xml", signed_envelope("ec256", SignatureAlgorithm::ecdsa_sha256)));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"valid\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"signature_algorithm\": \"ecdsa-sha256\""), std::string::npos) << r.out;
}

TEST_F(Cli, VerifyHonoursAtAndRevocationOptions) {
  std::string expired = file("cli-expired.xml", signed_envelope("good"));
  CliRun soft = run(kEdxgate + " verify --revocation soft --trust-anchor '" + pki.path("root.pem") +
                    "' --intermediate '" + pki.path("inter.pem") + "' " + expired);
  EXPECT_EQ(soft.code, 0) << soft.out;
  EXPECT_NE(soft.out.find("warning:"), std::string::npos) << soft.out;
  CliRun future = run(kEdxgate + " verify --at 2099-01-01" + trust() + expired);
  EXPECT_EQ(future.code, 1) << future.out;
  EXPECT_NE(future.out.find("cert.expired"), std::string::npos) << future.out;
}

TEST_F(Cli, VerifyUsageAndIoErrorsExitTwo) {
  EXPECT_EQ(run(kEdxgate + " verify" + trust()).code, 2);
  EXPECT_EQ(run(kEdxgate + " verify" + trust() + "/nonexistent/file.xml").code, 2);
  EXPECT_EQ(run(kEdxgate + " verify " + file("cli-x.xml", signed_envelope("good"))).code, 2);  // no anchor
  EXPECT_EQ(run(kEdxgate + " verify --at yesterday" + trust() + "x.xml").code, 2);
  EXPECT_EQ(run(kEdxgate + " verify --help").code, 0);
}

TEST_F(Cli, VerifyChecksWithBothVerifiersUpToMaxDualBytes) {
  std::string env = file("cli-dual.xml", signed_envelope("good"));
  CliRun dual = run(kEdxgate + " verify --json" + trust() + env);
  EXPECT_EQ(dual.code, 0) << dual.out;
  EXPECT_NE(dual.out.find("\"dual_checked\": true"), std::string::npos) << dual.out;
  CliRun alone = run(kEdxgate + " verify --json --dual-max-bytes 0" + trust() + env);
  EXPECT_EQ(alone.code, 0) << alone.out;
  EXPECT_NE(alone.out.find("\"dual_checked\": false"), std::string::npos) << alone.out;
  // [trust] max_dual_bytes, and a file larger than it.
  write_text(pki.path("cli-dual.toml"), "[trust]\nmax_dual_bytes = 100\n");
  CliRun small = run(kEdxgate + " verify --json --config '" + pki.path("cli-dual.toml") + "'" + trust() + env);
  EXPECT_EQ(small.code, 0) << small.out;
  EXPECT_NE(small.out.find("\"dual_checked\": false"), std::string::npos) << small.out;
  EXPECT_EQ(run(kEdxgate + " verify --dual-max-bytes -1" + trust() + env).code, 2);
  CliRun tampered = run(kEdxgate + " verify" + trust() +
                        file("cli-dual-bad.xml", replace(signed_envelope("good"), "Thử nghiệm chữ ký số", "Giả")));
  EXPECT_EQ(tampered.code, 1);
  EXPECT_EQ(tampered.out.rfind("invalid: sig.digest: ", 0), 0u) << tampered.out;
}

// The streaming verifier holds the header, not the attachments: a 64 MiB
// attachment (an 85 MiB envelope) verifies in a few MiB more than an empty
// one, where the DOM verifier needs about three times the envelope.
TEST_F(Cli, VerifyKeepsMemoryFlatOnALargeEnvelope) {
  const std::string big = pki.path("cli-big.xml");
  write_text(big, signed_envelope("good", SignatureAlgorithm::rsa_sha256, false, envelope_xml(64 << 20)));
  const std::vector<std::string> base = {kEdxgate,
                                         "verify",
                                         "--dual-max-bytes",
                                         "0",
                                         "--trust-anchor",
                                         pki.path("root.pem"),
                                         "--intermediate",
                                         pki.path("inter.pem"),
                                         "--crl",
                                         pki.path("inter.crl.pem"),
                                         "--crl",
                                         pki.path("root.crl.pem")};
  int code = -1;
  std::vector<std::string> argv = base;
  argv.push_back(big);
  const double large = peak_mb(argv, code);
  EXPECT_EQ(code, 0);
  argv.back() = pki.path("cli-small.xml");
  write_text(argv.back(), signed_envelope("good"));
  const double small = peak_mb(argv, code);
  EXPECT_EQ(code, 0);
  std::remove(big.c_str());
#if !defined(__SANITIZE_ADDRESS__)  // ASan keeps freed memory in quarantine
  EXPECT_LT(large - small, 16.0) << "peak RSS " << large << " MiB for the 85 MiB envelope, " << small
                                 << " MiB for a small one";
#else
  (void)small;
  (void)large;
#endif
}

TEST_F(Cli, SignsWithSoftHsmKeyAndXmlsec1VerifiesTheResult) {
  const std::string dir = pki.path("softhsm");
  const std::string env = softhsm_env(pki);
  std::string in = file("cli-unsigned.xml", envelope_xml(4096));
  for (auto [name, alg] : {std::pair{"good", "rsa-sha256"}, std::pair{"ec384", ""}}) {  // "": picked from the key
    std::string out = pki.path(std::string("cli-hsm-") + name + ".xml");
    CliRun s = run(
        env + kEdxgate + " sign --module /usr/lib/softhsm/libsofthsm2.so --key 'pkcs11:token=edx;object=" + name +
        ";type=private' --pin-file '" + dir + "/pin' --cert '" + pki.path(std::string(name) + ".pem") + "' --chain '" +
        pki.path("inter.pem") + "'" + (*alg ? std::string(" --alg ") + alg : "") + trust() + in + " -o '" + out + "'");
    ASSERT_EQ(s.code, 0) << s.out;
    std::string x = sh("xmlsec1 --verify --trusted-pem '" + pki.path("root.pem") + "' '" + out + "'");
    EXPECT_NE(x.find("OK"), std::string::npos) << x;
    CliRun v = run(kEdxgate + " verify" + trust() + "'" + out + "'");
    EXPECT_EQ(v.code, 0) << v.out;
    if (!*alg) {
      EXPECT_NE(read_text(out).find("xmldsig-more#ecdsa-sha384"), std::string::npos);
    }
  }
  // Refuses to sign twice.
  CliRun again = run(env + kEdxgate + " sign --key 'pkcs11:token=edx;object=good;type=private' --pin-file '" + dir +
                     "/pin' --cert '" + pki.path("good.pem") + "' '" + pki.path("cli-hsm-good.xml") + "' -o '" +
                     pki.path("twice.xml") + "'");
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("sign.already_signed"), std::string::npos) << again.out;
}

// The signer streams the envelope: signing 64 MiB of attachment takes about
// the memory of signing a small one (the DOM signer held the document twice).
TEST_F(Cli, SignKeepsMemoryFlatOnALargeEnvelope) {
  const std::string dir = pki.path("softhsm");
  const std::string env = softhsm_env(pki);
  const std::string big = pki.path("cli-sign-big.xml"), small = pki.path("cli-sign-small.xml");
  write_text(big, envelope_xml(64 << 20));
  write_text(small, envelope_xml());
  auto sign = [&](const std::string& in, int& code) {
    return peak_mb(
        {"/bin/sh", "-c",
         "exec env " + env + kEdxgate +
             " sign --module /usr/lib/softhsm/libsofthsm2.so --key 'pkcs11:token=edx;object=good;type=private'"
             " --pin-file '" +
             dir + "/pin' --cert '" + pki.path("good.pem") + "'" + trust() + "'" + in + "' -o '" + in + ".signed'"},
        code);
  };
  int code = -1;
  const double large = sign(big, code);
  EXPECT_EQ(code, 0);
  const double little = sign(small, code);
  EXPECT_EQ(code, 0);
  std::string x = sh("xmlsec1 --verify --trusted-pem '" + pki.path("root.pem") + "' --untrusted-pem '" +
                     pki.path("inter.pem") + "' '" + big + ".signed' 2>&1");
  EXPECT_NE(x.find("OK"), std::string::npos) << x;
  std::remove(big.c_str());
  std::remove((big + ".signed").c_str());
#if !defined(__SANITIZE_ADDRESS__)  // ASan keeps freed memory in quarantine
  EXPECT_LT(large - little, 16.0) << "peak RSS " << large << " MiB for the 85 MiB envelope, " << little
                                  << " MiB for a small one";
#else
  (void)little;
  (void)large;
#endif
}

}  // namespace
}  // namespace edxgate::crypto::test
