#include "edxgate/config/config.h"

#include <gtest/gtest.h>

#include <string>

using edxgate::config::parse;
using edxgate::config::Role;

namespace {

std::string error_of(const std::string& toml) {
  auto r = parse(toml, "t.toml");
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << toml;
  return r.ok() ? "" : r.error().message;
}

TEST(Config, EmptyFileGivesDefaults) {
  auto r = parse("", "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->server.internal_listen, "127.0.0.1:8443");
  EXPECT_EQ(r->limits.max_header_bytes, 16384u);
  EXPECT_EQ(r->limits.handshake_timeout_s, 10u);
  EXPECT_EQ(r->trust.revocation, "hard");
  EXPECT_EQ(r->edxml.status_element, "MessageHeader");
  EXPECT_TRUE(r->clients.empty());
}

TEST(Config, ReadsEverySection) {
  auto r = parse(R"(
[server]
internal_listen = "0.0.0.0:9443"
axis_listen = "[::1]:9444"
[limits]
max_body_bytes = 2048
handshake_timeout_s = 4
[edxml]
status_element = "Status"
max_zip_ratio = 50
[store]
state_dir = "/srv/edx"
[hsm]
key_uri = "pkcs11:token=a;object=b"
pin_credential = "pin"
[trust]
anchors = ["a.pem", "b.pem"]
revocation = "soft"
[[trust.sha1_exception]]
sender = "000.00.00.H41"
until = "2027-01-01"
[axis]
mode = "push"
endpoint = "https://axis.example"
organ_id = "000.00.00.G06"
[[clients]]
name = "eoffice"
role = "system"
subject = "CN=eoffice"
organ_ids = ["000.00.00.G06"]
[[clients]]
name = "axis"
role = "axis"
fingerprint = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
[log]
level = "debug"
)",
                 "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->server.axis_listen, "[::1]:9444");
  EXPECT_EQ(r->limits.max_body_bytes, 2048u);
  EXPECT_EQ(r->limits.handshake_timeout_s, 4u);
  EXPECT_EQ(r->edxml.status_element, "Status");
  EXPECT_EQ(r->edxml.max_zip_ratio, 50u);
  EXPECT_EQ(r->store.state_dir, "/srv/edx");
  EXPECT_EQ(r->hsm.pin_credential, "pin");
  ASSERT_EQ(r->trust.anchors.size(), 2u);
  EXPECT_EQ(r->trust.revocation, "soft");
  ASSERT_EQ(r->trust.sha1_exceptions.size(), 1u);
  EXPECT_EQ(r->trust.sha1_exceptions[0].until, "2027-01-01");
  EXPECT_EQ(r->axis.mode, "push");
  ASSERT_EQ(r->clients.size(), 2u);
  EXPECT_EQ(r->clients[0].role, Role::system);
  EXPECT_EQ(r->clients[1].role, Role::axis);
  EXPECT_EQ(r->log.level, "debug");
}

TEST(Config, UnknownKeyIsNamedWithItsLine) {
  std::string msg = error_of("[server]\ninternal_listen = \"127.0.0.1:1\"\nlisten_port = 3\n");
  EXPECT_EQ(msg, "t.toml:3: server.listen_port: unknown key");
}

TEST(Config, UnknownTopLevelTableIsAnError) {
  EXPECT_EQ(error_of("[serverz]\nx = 1\n"), "t.toml:1: serverz: unknown key");
}

TEST(Config, WrongTypeIsNamedWithItsLine) {
  EXPECT_EQ(error_of("\n[limits]\nmax_connections = \"many\"\n"),
            "t.toml:3: limits.max_connections: must be an integer");
  EXPECT_EQ(error_of("[trust]\nanchors = \"a.pem\"\n"), "t.toml:2: trust.anchors: must be an array of strings");
  EXPECT_EQ(error_of("server = 3\n"), "t.toml:1: server: must be a table");
}

TEST(Config, OutOfRangeValueIsAnError) {
  EXPECT_EQ(error_of("[limits]\nmax_connections = 0\n"),
            "t.toml:2: limits.max_connections: must be between 1 and 1000000, not 0");
  EXPECT_EQ(error_of("[limits]\nmax_header_bytes = -5\n"),
            "t.toml:2: limits.max_header_bytes: must be between 1024 and 1048576, not -5");
  EXPECT_EQ(error_of("[limits]\nhandshake_timeout_s = 0\n"),
            "t.toml:2: limits.handshake_timeout_s: must be between 1 and 600, not 0");
}

TEST(Config, EnumValueOutsideItsChoicesIsAnError) {
  EXPECT_EQ(error_of("[trust]\nrevocation = \"maybe\"\n"),
            "t.toml:2: trust.revocation: must be one of \"hard\", \"soft\", \"off\", not \"maybe\"");
}

TEST(Config, SyntaxErrorNamesTheLine) {
  auto r = parse("[server]\ninternal_listen = \n", "t.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "config.syntax");
  EXPECT_EQ(r.error().line, 2);
  EXPECT_EQ(r.error().message.rfind("t.toml:2: ", 0), 0u) << r.error().message;
}

TEST(Config, EveryProblemIsReportedOnItsOwnLine) {
  std::string msg = error_of("[server]\nfoo = 1\n[limits]\nmax_connections = true\n");
  EXPECT_EQ(msg,
            "t.toml:2: server.foo: unknown key\n"
            "t.toml:4: limits.max_connections: must be an integer");
}

TEST(Config, ClientNeedsExactlyOneIdentity) {
  EXPECT_NE(
      error_of("[[clients]]\nname = \"x\"\nrole = \"officer\"\n").find("give exactly one of subject or fingerprint"),
      std::string::npos);
  EXPECT_NE(error_of("[[clients]]\nname = \"x\"\nfingerprint = \"sha256:zz\"\n")
                .find("clients.fingerprint: must be \"sha256:\" followed by 64 hex digits"),
            std::string::npos);
}

TEST(Config, MalformedOrganIdIsRefused) {
  EXPECT_EQ(error_of("[axis]\norgan_id = \"G06\"\n"),
            "t.toml:2: axis.organ_id: \"G06\" is not an organ id (edxml.organ_id_pattern)");
}

TEST(Config, ListenAddressMustBeHostPort) {
  EXPECT_EQ(error_of("[server]\ninternal_listen = \"localhost\"\n"),
            "t.toml:2: server.internal_listen: must be HOST:PORT");
}

TEST(Config, SecretsMayComeFromOneSourceOnly) {
  EXPECT_EQ(error_of("[hsm]\npin_file = \"a\"\npin_credential = \"b\"\n"),
            "t.toml:2: hsm.pin_file: give either pin_file or pin_credential, not both");
}

TEST(Config, AxisEndpointMustBeHttps) {
  EXPECT_EQ(error_of("[axis]\nendpoint = \"http://axis.example\"\n"),
            "t.toml:2: axis.endpoint: must be an https:// URL");
}

// The SDK reuses one signed timestamp for its life: no window unless asked.
// (Its default, off, and its bounds are in BoundedIntegersHaveADefaultAndARange.)
TEST(Config, AxisTimestampWindowIsNamedForWhatItChecks) {
  EXPECT_EQ(error_of("[axis]\nreplay_window_s = 300\n"),
            "t.toml:2: axis.replay_window_s: renamed: use axis.timestamp_window_s "
            "(0, the default, checks no timestamp)");
}

// Issue 13: who signs is explicit; personal (a leader with the PIN) unless set.
TEST(Config, SigningModeIsPersonalUnlessTheOrganizationKeyIsConfigured) {
  auto d = parse("", "t.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->signing.mode, "personal");
  auto o =
      parse("[hsm]\nkey_uri = \"pkcs11:token=a;object=sign\"\npin_file = \"/p\"\n[signing]\nmode = \"organization\"\n",
            "t.toml");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->signing.mode, "organization");
  EXPECT_EQ(error_of("[signing]\nmode = \"organization\"\n"),
            "t.toml:2: signing.mode: \"organization\" signs with the agency's key: set [hsm] key_uri and pin_file or "
            "pin_credential");
  EXPECT_NE(error_of("[signing]\nmode = \"anyone\"\n").find("signing.mode"), std::string::npos);
}

TEST(Config, SignKeysAreForLeadersAndArePkcs11Uris) {
  const std::string leader =
      "[[clients]]\nname = \"l\"\nrole = \"leader\"\nfingerprint = \"sha256:" + std::string(64, 'a') + "\"\n";
  auto r = parse(leader + "sign_keys = [\"pkcs11:token=a;object=l\"]\n", "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->clients.size(), 1u);
  EXPECT_EQ(r->clients[0].sign_keys, std::vector<std::string>{"pkcs11:token=a;object=l"});
  EXPECT_NE(error_of(leader + "sign_keys = [\"token=a\"]\n").find("is not a pkcs11: URI"), std::string::npos);
  const std::string officer =
      "[[clients]]\nname = \"o\"\nrole = \"officer\"\nfingerprint = \"sha256:" + std::string(64, 'a') + "\"\n";
  EXPECT_NE(error_of(officer + "sign_keys = [\"pkcs11:token=a;object=l\"]\n").find("only a leader signs"),
            std::string::npos);
}

// Issue 13: the certificates a leader may sign with remotely, by fingerprint.
TEST(Config, RemoteSigningCertsAreForLeadersAndAreSha256Fingerprints) {
  const std::string leader =
      "[[clients]]\nname = \"l\"\nrole = \"leader\"\nfingerprint = \"sha256:" + std::string(64, 'a') + "\"\n";
  auto none = parse(leader, "t.toml");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->clients[0].remote_signing_certs.empty());  // the default: no remote signing
  auto r = parse(leader + "remote_signing_certs = [\"SHA256:" + std::string(64, 'B') +
                     "\", \"sha256:" + std::string(64, 'c') + "\"]\n",
                 "t.toml");
  EXPECT_FALSE(r.ok());  // the prefix is lowercase, as in fingerprint
  r = parse(leader + "remote_signing_certs = [\"sha256:" + std::string(64, 'B') +
                "\", \"sha256:" + std::string(64, 'c') + "\"]\n",
            "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  // Lowercase once read, as the gateway computes them.
  EXPECT_EQ(r->clients[0].remote_signing_certs,
            (std::vector<std::string>{"sha256:" + std::string(64, 'b'), "sha256:" + std::string(64, 'c')}));
  for (const std::string& bad : {std::string("sha256:abc"), std::string(64, 'a'), "sha1:" + std::string(40, 'a'),
                                 std::string("CN=Nguyen Van A,O=Bo,C=VN")}) {
    EXPECT_NE(error_of(leader + "remote_signing_certs = [\"" + bad + "\"]\n").find("remote_signing_certs"),
              std::string::npos)
        << bad;
  }
  const std::string system =
      "[[clients]]\nname = \"s\"\nrole = \"system\"\nfingerprint = \"sha256:" + std::string(64, 'a') +
      "\"\norgan_ids = [\"000.00.00.G01\"]\n";
  EXPECT_NE(error_of(system + "remote_signing_certs = [\"sha256:" + std::string(64, 'a') + "\"]\n")
                .find("only a leader signs"),
            std::string::npos);
}

TEST(Config, ForbiddenKindsAreUnsetByDefaultAndMayBeReplaced) {
  auto d = parse("", "t.toml");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->policy.forbidden_kinds.has_value());
  auto r = parse("[policy]\nforbidden_kinds = [\"hạn chế lưu hành\"]\n", "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->policy.forbidden_kinds.has_value());
  EXPECT_EQ(*r->policy.forbidden_kinds, std::vector<std::string>{"hạn chế lưu hành"});
  auto none = parse("[policy]\nforbidden_kinds = []\n", "t.toml");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->policy.forbidden_kinds.has_value() && none->policy.forbidden_kinds->empty());
}

// Every bounded integer key of that shape: its default, a valid value taken,
// and one below its minimum and one above its maximum refused with an error
// naming the key and the range.
//   axis.max_permanent_failures  issue 13: a permanent refusal by the axis stops after a bounded number
//   axis.max_in_flight           issue 15: the outbox keeps up to that many sends in flight
//   axis.timestamp_window_s      the SDK reuses one signed timestamp for its life: off unless asked
//   store.min_free_mb            0 turns the free disk space check off
//   reports.no_answer_days       a week by default
struct BoundedInteger {
  const char* key;  // "table.name"
  int64_t by_default, valid, min, max;
  int64_t (*read)(const edxgate::config::Config&);
};

TEST(Config, BoundedIntegersHaveADefaultAndARange) {
  using edxgate::config::Config;
  const BoundedInteger cases[] = {
      {"axis.max_permanent_failures", 3, 5, 1, 100,
       [](const Config& c) -> int64_t { return c.axis.max_permanent_failures; }},
      {"axis.max_in_flight", 4, 8, 1, 64, [](const Config& c) -> int64_t { return c.axis.max_in_flight; }},
      {"axis.timestamp_window_s", 0, 600, 0, 86400,
       [](const Config& c) -> int64_t { return c.axis.timestamp_window_s; }},
      {"store.min_free_mb", 512, 0, 0, int64_t{1} << 30,
       [](const Config& c) -> int64_t { return c.store.min_free_mb; }},
      {"reports.no_answer_days", 7, 14, 1, 3650, [](const Config& c) -> int64_t { return c.reports.no_answer_days; }},
  };
  auto d = parse("", "t.toml");
  ASSERT_TRUE(d.ok()) << d.error().message;
  for (const auto& k : cases) {
    SCOPED_TRACE(k.key);
    const std::string key = k.key;
    const std::string table = key.substr(0, key.find('.'));
    const std::string name = key.substr(key.find('.') + 1);
    auto toml = [&](int64_t v) { return "[" + table + "]\n" + name + " = " + std::to_string(v) + "\n"; };
    auto refusal = [&](int64_t v) {
      return "t.toml:2: " + key + ": must be between " + std::to_string(k.min) + " and " + std::to_string(k.max) +
             ", not " + std::to_string(v);
    };
    EXPECT_EQ(k.read(*d), k.by_default);
    ASSERT_NE(k.valid, k.by_default);  // else taking the value proves nothing
    auto valid = parse(toml(k.valid), "t.toml");
    ASSERT_TRUE(valid.ok()) << valid.error().message;
    EXPECT_EQ(k.read(*valid), k.valid);
    EXPECT_EQ(error_of(toml(k.min - 1)), refusal(k.min - 1));
    EXPECT_EQ(error_of(toml(k.max + 1)), refusal(k.max + 1));
  }
}

TEST(Config, ExampleConfigIsValid) {
  auto r = edxgate::config::load(std::string(EDXGATE_SOURCE_DIR) + "/config/edxgate.example.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->server.shutdown_grace_s, 20u);
}

TEST(Config, MissingFileIsOneClearError) {
  auto r = edxgate::config::load("/nonexistent/edxgate.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "config.unreadable");
  EXPECT_EQ(r.error().message, "cannot read config: cannot open /nonexistent/edxgate.toml: No such file or directory");
}

}  // namespace
