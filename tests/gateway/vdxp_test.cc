// Golden tests of the VDXP encodings, with vectors computed independently by
// the openssl CLI (at test time and once, by hand, for the literals below),
// and the receiving side's checks: HMAC, signed values, replay window.
#include <gtest/gtest.h>

#include <strings.h>

#include <random>

#include "../../gateway/src/base64.h"
#include "edxgate/gateway/vdxp.h"
#include "test_support.h"

namespace edxgate::gateway::vdxp {
namespace {

using testing::run_capture;
using testing::TempDir;
using testing::write_text;

std::string openssl_hex(const std::string& cmd) {
  std::string out = run_capture(cmd);
  auto eq = out.rfind("= ");
  std::string hex = out.substr(eq + 2);
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  return hex;
}

// Independent form of the SDK quirk: drop the leading zero of every byte.
std::string strip_pairs(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    if (hex[i] != '0') out += hex[i];
    out += hex[i + 1];
  }
  return out;
}

Clock::time_point at_ms(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

TEST(VdxpEncoding, HmacMatchesAFixedOpensslVector) {
  // printf '%s' '<text>' | openssl dgst -sha256 -hmac 's3cr3t-Bo-Cong-Thuong'
  EXPECT_EQ(hmac_sha256_hex("s3cr3t-Bo-Cong-Thuong",
                            R"({"XroadVnpt-systemid":"SYS-A","XroadVnpt-timestamp":"23112026T091250+0123"})"),
            "be914b4c1297d10d17f33190bfa1b19a50a3fa765d1f3502c07cc0216739bf02");
}

TEST(VdxpEncoding, HmacMatchesOpensslOnRandomSignHeaders) {
  TempDir dir;
  std::mt19937 rng(7);
  for (int i = 0; i < 5; ++i) {
    std::string secret = "k" + std::to_string(rng());
    std::vector<Header> h = {{"XroadVnpt-to", "[\"000.00.00.G0" + std::to_string(i) + "\"]"},
                             {"XroadVnpt-systemid", "SYS-" + std::to_string(rng())}};
    const std::string text = sign_header_json(h);
    write_text(dir / "t", text);
    EXPECT_EQ(hmac_sha256_hex(secret, text),
              openssl_hex("openssl dgst -sha256 -hmac '" + secret + "' " + (dir / "t")));
  }
}

TEST(VdxpEncoding, HashFileDropsTheLeadingZeroOfEachByte) {
  // printf 'hello edxml\n' | openssl dgst -sha256 = 8cbd...9f0f7a...e30c6b...: 0f -> f, 0c -> c
  EXPECT_EQ(hash_bytes_hex("hello edxml\n"), "8cbd83ce147a8ac49ff7a888b49e63c81b09c52a4f44f94b5e3c6bd4e4dbba");
  const unsigned char bytes[] = {0x00, 0x0a, 0x10, 0xff};
  EXPECT_EQ(unpadded_hex(bytes, 4), "0a10ff");
}

TEST(VdxpEncoding, HashFileOfAFileMatchesOpensslWithPairsStripped) {
  TempDir dir;
  std::string data(3 * 65536 + 17, '\0');
  std::mt19937 rng(11);
  for (auto& c : data) c = static_cast<char>(rng());
  write_text(dir / "env.edxml", data);
  auto h = hash_file_hex(dir / "env.edxml");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, strip_pairs(openssl_hex("openssl dgst -sha256 " + (dir / "env.edxml"))));
}

TEST(VdxpEncoding, TimestampIsVietnamLocalTimeWithFourDigitMilliseconds) {
  EXPECT_EQ(format_timestamp(at_ms(1795399970123)), "23112026T091250+0123");
  EXPECT_EQ(format_timestamp(at_ms(1798738200005)), "01012027T003000+0005");  // UTC+7 crosses the year
  auto t = parse_timestamp("01012027T003000+0005");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, at_ms(1798738200005));
  for (const char* bad : {"", "31022026T000000+0000", "23112026T251250+0123", "23112026 091250+0123",
                          "23112026T091250+01234", "23112026T091250-0123", "2311202aT091250+0123"})
    EXPECT_FALSE(parse_timestamp(bad).ok()) << bad;
}

TEST(VdxpEncoding, SignHeaderJsonEscapesValues) {
  EXPECT_EQ(sign_header_json({{"XroadVnpt-to", "[\"A\"]"}, {"XroadVnpt-x", "a\\b"}}),
            R"({"XroadVnpt-to":"[\"A\"]","XroadVnpt-x":"a\\b"})");
}

class VdxpVerify : public ::testing::Test {
 protected:
  SecretString secret_{"secret-of-SYS-A"};
  ReplayGuard guard_{std::chrono::seconds(300)};
  Clock::time_point now_ = at_ms(1795399970123);

  std::vector<Header> signed_call(Clock::time_point when) {
    auto h = sign({{"servicetype", "eDoc"}, {"docId", "42"}}, "SYS-A", secret_, when);
    EXPECT_TRUE(h.ok());
    return *h;
  }
  Result<VerifiedCall> check(const std::vector<Header>& h, std::vector<std::string> required = {"docId"}) {
    auto lookup = [&h](std::string_view n) -> std::optional<std::string> {
      std::optional<std::string> out;
      for (const auto& x : h) {
        if (x.name.size() != n.size() || strncasecmp(x.name.data(), n.data(), n.size()) != 0) continue;
        if (out) return std::nullopt;
        out = x.value;
      }
      return out;
    };
    auto secret_of = [this](std::string_view id) -> const SecretString* { return id == "SYS-A" ? &secret_ : nullptr; };
    return verify(lookup, secret_of, required, guard_, now_);
  }
  static void set(std::vector<Header>& h, const std::string& name, const std::string& value) {
    for (auto& x : h)
      if (x.name == name) x.value = value;
  }
};

TEST_F(VdxpVerify, BuildsFreshHeadersWithVersionAndUserAgent) {
  auto h = signed_call(now_);
  std::map<std::string, std::string> m;
  for (const auto& x : h) m[x.name] = x.value;
  EXPECT_EQ(m["XroadVnpt-sign-header-key"],
            "XroadVnpt-servicetype;XroadVnpt-docId;XroadVnpt-systemid;XroadVnpt-timestamp");
  EXPECT_EQ(m["XroadVnpt-sign-header"],
            R"({"XroadVnpt-servicetype":"eDoc","XroadVnpt-docId":"42","XroadVnpt-systemid":"SYS-A","XroadVnpt-timestamp":"23112026T091250+0123"})");
  EXPECT_EQ(m["XroadVnpt-hash-header"], hmac_sha256_hex("secret-of-SYS-A", m["XroadVnpt-sign-header"]));
  EXPECT_EQ(m["XroadVnpt-version"], "3.0.201608");
  EXPECT_EQ(m["User-Agent"], "JAVASDKAgent/1.0.0 XRoad/VPCP");
  // A second call carries only its own parameters (no accumulation).
  auto again = sign({{"servicetype", "eDoc"}}, "SYS-A", secret_, now_);
  ASSERT_TRUE(again.ok());
  for (const auto& x : *again) EXPECT_NE(x.name, "XroadVnpt-docId");
}

TEST_F(VdxpVerify, AcceptsAGenuineCallOnce) {
  auto h = signed_call(now_ - std::chrono::seconds(10));
  auto c = check(h);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->system_id, "SYS-A");
  EXPECT_EQ(c->params.at("docId"), "42");
  auto replay = check(h);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, "vdxp.replay");
}

TEST_F(VdxpVerify, RefusesAWrongSecret) {
  SecretString other("not-the-secret");
  auto h = sign({{"docId", "42"}}, "SYS-A", other, now_);
  ASSERT_TRUE(h.ok());
  auto c = check(*h);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.bad_mac");
}

TEST_F(VdxpVerify, RefusesAHeaderChangedAfterSigning) {
  auto h = signed_call(now_);
  set(h, "XroadVnpt-docId", "43");
  auto c = check(h);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.bad_mac");
}

TEST_F(VdxpVerify, RefusesASignHeaderRewrittenToMatchTamperedHeaders) {
  auto h = signed_call(now_);
  set(h, "XroadVnpt-docId", "43");
  std::string text;
  for (const auto& x : h)
    if (x.name == "XroadVnpt-sign-header") text = x.value;
  text.replace(text.find("\"42\""), 4, "\"43\"");
  set(h, "XroadVnpt-sign-header", text);
  auto c = check(h);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.bad_mac");
}

TEST_F(VdxpVerify, RefusesACallThatDoesNotSignARequiredHeader) {
  auto h = sign({{"servicetype", "eDoc"}}, "SYS-A", secret_, now_);
  ASSERT_TRUE(h.ok());
  h->push_back({"XroadVnpt-docId", "42"});  // present, but not signed
  auto c = check(*h);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.missing");
}

TEST_F(VdxpVerify, RefusesADuplicatedSignedHeader) {
  auto h = signed_call(now_);
  h.push_back({"XroadVnpt-docId", "43"});
  EXPECT_FALSE(check(h).ok());
}

TEST_F(VdxpVerify, RefusesTimestampsOutsideTheWindow) {
  for (auto skew : {std::chrono::seconds(-301), std::chrono::seconds(301)}) {
    auto c = check(signed_call(now_ + skew));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, "vdxp.stale");
  }
}

TEST_F(VdxpVerify, RefusesAnUnknownSystem) {
  auto h = sign({{"docId", "42"}}, "SYS-Z", secret_, now_);
  ASSERT_TRUE(h.ok());
  auto c = check(*h);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.unknown_system");
}

TEST_F(VdxpVerify, RefusesParametersThatCannotTravelAsHeaders) {
  EXPECT_FALSE(sign({{"docId", "4\r\nX: y"}}, "SYS-A", secret_, now_).ok());
  EXPECT_FALSE(sign({{"doc Id", "4"}}, "SYS-A", secret_, now_).ok());
}

TEST(Base64, RoundTripsInArbitraryChunksAndRefusesGarbage) {
  std::mt19937 rng(3);
  for (size_t n : {0u, 1u, 2u, 3u, 4u, 100u, 65537u}) {
    std::string data(n, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    std::string carry, enc;
    for (size_t i = 0; i < n; i += 7) b64::encode(std::string_view(data).substr(i, 7), carry, enc, false);
    b64::encode("", carry, enc, true);
    EXPECT_EQ(enc.size() % 4, 0u);
    b64::Decoder d;
    std::string dec;
    for (size_t i = 0; i < enc.size(); i += 5) ASSERT_TRUE(d.update(std::string_view(enc).substr(i, 5), dec));
    EXPECT_TRUE(d.finish());
    EXPECT_EQ(dec, data);
  }
  std::string out;
  EXPECT_FALSE(b64::Decoder().update("ab$d", out));
  EXPECT_FALSE(b64::Decoder().update("ab==cd==", out));
  b64::Decoder d;
  EXPECT_TRUE(d.update("abc", out));
  EXPECT_FALSE(d.finish());
}

}  // namespace
}  // namespace edxgate::gateway::vdxp
