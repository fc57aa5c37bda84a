// Golden tests of the VDXP encodings in the VXP SDK's dialect, with vectors
// computed independently (by the openssl CLI at test time, and once, by hand,
// with Python's hmac/hashlib/json and the openssl CLI, for the literals
// below), and the receiving side's checks: HMAC, signed values, bare and
// prefixed key lists, the optional timestamp window, hash-file with and
// without the SDK's trailing CRLF; the lenient base64 of getEdoc.
#include <gtest/gtest.h>

#include <strings.h>

#include <random>

#include "edxgate/base/base64.h"
#include "edxgate/gateway/vdxp.h"
#include "sdk_base64.h"
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
    EXPECT_EQ(hmac_sha256_hex(secret, text), openssl_hex("openssl dgst -sha256 -hmac '" + secret + "' " + (dir / "t")));
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

// The golden request. Computed once by hand, as the SDK (and
// shared/tools/sdk-call) builds it, with
//   python3: d = hashlib.sha256(FILE).digest(); hf = ''.join('%x' % b for b in d)
//            text = json.dumps({"XroadVnpt-" + k: v for k, v in logical},
//                              separators=(',', ':'), ensure_ascii=False)
//            hmac.new(b'vpcp-secret-of-G06', text.encode(), hashlib.sha256).hexdigest()
// and checked with `printf '%s' "$text" | openssl dgst -sha256 -hmac vpcp-secret-of-G06`
// and `printf '<edXML>Công văn số 25</edXML>\n' | openssl dgst -sha256`
// (a5b60ab7...9000d7c9a2d188: its bytes 0a 0d 08 06 00 lose their zero).
constexpr const char* kGoldenSecret = "vpcp-secret-of-G06";
constexpr const char* kGoldenFile = "<edXML>Công văn số 25</edXML>\n";
constexpr const char* kGoldenHashFile = "a5b6ab7576c561a3eb067b223a5dd47089c9866ab9bc59900d7c9a2d188";
constexpr const char* kGoldenSha256 = "a5b60ab7576c561a3eb067b223a50dd470089c98066ab9bc599000d7c9a2d188";
constexpr const char* kGoldenTimestamp = "23112026T091250+0123";  // at_ms(1795399970123), UTC+7
constexpr const char* kGoldenSendText =
    R"({"XroadVnpt-timestamp":"23112026T091250+0123","XroadVnpt-systemid":"SYS-G06",)"
    R"("XroadVnpt-Content-Type":"application/octet-stream","XroadVnpt-from":"000.00.00.G06",)"
    R"("XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc",)"
    R"("XroadVnpt-hash-file":"a5b6ab7576c561a3eb067b223a5dd47089c9866ab9bc59900d7c9a2d188"})";
constexpr const char* kGoldenSendMac = "99f9d798d2bdf7ea7ec3bd9e1f40d7620d337bd0ba93fa79473923b1f3ca6f48";
constexpr const char* kGoldenGetText =
    R"({"XroadVnpt-timestamp":"23112026T091250+0123","XroadVnpt-systemid":"SYS-G06",)"
    R"("XroadVnpt-Content-Type":"application/json","XroadVnpt-docId":"42"})";
constexpr const char* kGoldenGetMac = "66ccfe86b11c554352198c2af04c58c5d177947c4b0cfd5a23d71e570df3dad3";
constexpr const char* kGoldenStatusText =
    R"({"XroadVnpt-timestamp":"23112026T091250+0123","XroadVnpt-systemid":"SYS-G06",)"
    R"("XroadVnpt-Content-Type":"application/json","XroadVnpt-status":"done","XroadVnpt-docId":"42"})";
constexpr const char* kGoldenStatusMac = "3fea13b7027d7aaf3dfa40fd1445eaebaa7968892dd4eb9964232e40bf4f5b63";

std::vector<std::pair<std::string, std::string>> pairs(const std::vector<Header>& h) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& x : h) out.emplace_back(x.name, x.value);
  return out;
}

TEST(VdxpGolden, HashFileOfTheGoldenFile) {
  EXPECT_EQ(hash_bytes_hex(kGoldenFile), kGoldenHashFile);
  auto m = match_sent_bytes(std::string(kGoldenFile) + "\r\n", kGoldenHashFile);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->sha256_hex, kGoldenSha256);
}

TEST(VdxpGolden, SendEdocHeadersAreExactlyTheSdks) {
  SecretString secret(kGoldenSecret);
  auto h = sign({{"from", "000.00.00.G06"},
                 {"servicetype", "eDoc"},
                 {"messagetype", "edoc"},
                 {"hash-file", hash_bytes_hex(kGoldenFile)}},
                kContentTypeFile, "SYS-G06", secret, at_ms(1795399970123));
  ASSERT_TRUE(h.ok()) << h.error().message;
  const std::vector<std::pair<std::string, std::string>> want = {
      {"Content-Type", "application/octet-stream"},
      {"XroadVnpt-timestamp", kGoldenTimestamp},
      {"XroadVnpt-systemid", "SYS-G06"},
      {"XroadVnpt-Content-Type", "application/octet-stream"},
      {"XroadVnpt-from", "000.00.00.G06"},
      {"XroadVnpt-servicetype", "eDoc"},
      {"XroadVnpt-messagetype", "edoc"},
      {"XroadVnpt-hash-file", kGoldenHashFile},
      {"XroadVnpt-sign-header-key", "timestamp;systemid;Content-Type;from;servicetype;messagetype;hash-file"},
      {"XroadVnpt-sign-header", kGoldenSendText},
      {"XroadVnpt-hash-header", kGoldenSendMac},
      {"User-Agent", "JAVASDKAgent/1.0.0 XRoad/VPCP"},
      {"XroadVnpt-version", "3.0.201608"}};
  EXPECT_EQ(pairs(*h), want);
}

TEST(VdxpGolden, GetEdocAndUpdateStatusHeadersAreExactlyTheSdks) {
  SecretString secret(kGoldenSecret);
  auto get = sign({{"docId", "42"}}, kContentTypeJson, "SYS-G06", secret, at_ms(1795399970123));
  ASSERT_TRUE(get.ok());
  std::map<std::string, std::string> m;
  for (const auto& x : *get) m[x.name] = x.value;
  EXPECT_EQ(m["Content-Type"], "application/json");
  EXPECT_EQ(m["XroadVnpt-Content-Type"], "application/json");
  EXPECT_EQ(m["XroadVnpt-sign-header-key"], "timestamp;systemid;Content-Type;docId");
  EXPECT_EQ(m["XroadVnpt-sign-header"], kGoldenGetText);
  EXPECT_EQ(m["XroadVnpt-hash-header"], kGoldenGetMac);
  EXPECT_EQ(m.count("XroadVnpt-servicetype"), 0u);  // only what the call passes
  auto st = sign({{"status", "done"}, {"docId", "42"}}, kContentTypeJson, "SYS-G06", secret, at_ms(1795399970123));
  ASSERT_TRUE(st.ok());
  m.clear();
  for (const auto& x : *st) m[x.name] = x.value;
  EXPECT_EQ(m["XroadVnpt-sign-header-key"], "timestamp;systemid;Content-Type;status;docId");
  EXPECT_EQ(m["XroadVnpt-sign-header"], kGoldenStatusText);
  EXPECT_EQ(m["XroadVnpt-hash-header"], kGoldenStatusMac);
}

class VdxpVerify : public ::testing::Test {
 protected:
  SecretString secret_{"secret-of-SYS-A"};
  SecretString golden_secret_{kGoldenSecret};
  VerifyOptions options_;
  Clock::time_point now_ = at_ms(1795399970123);

  std::vector<Header> signed_call(Clock::time_point when) {
    auto h = sign({{"docId", "42"}}, kContentTypeJson, "SYS-A", secret_, when);
    EXPECT_TRUE(h.ok());
    return *h;
  }
  // The golden sendEdoc request as the SDK sends it, written out literally.
  static std::vector<Header> golden_send(const std::string& key_list) {
    return {{"Content-Type", "application/octet-stream"},
            {"XroadVnpt-timestamp", kGoldenTimestamp},
            {"XroadVnpt-systemid", "SYS-G06"},
            {"XroadVnpt-Content-Type", "application/octet-stream"},
            {"XroadVnpt-from", "000.00.00.G06"},
            {"XroadVnpt-servicetype", "eDoc"},
            {"XroadVnpt-messagetype", "edoc"},
            {"XroadVnpt-hash-file", kGoldenHashFile},
            {"XroadVnpt-sign-header-key", key_list},
            {"XroadVnpt-sign-header", kGoldenSendText},
            {"XroadVnpt-hash-header", kGoldenSendMac},
            {"User-Agent", "JAVASDKAgent/1.0.0 XRoad/VPCP"},
            {"XroadVnpt-version", "3.0.201608"}};
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
    auto secret_of = [this](std::string_view id) -> const SecretString* {
      return id == "SYS-A" ? &secret_ : id == "SYS-G06" ? &golden_secret_ : nullptr;
    };
    return verify(lookup, secret_of, required, options_, now_);
  }
  static void set(std::vector<Header>& h, const std::string& name, const std::string& value) {
    for (auto& x : h)
      if (x.name == name) x.value = value;
  }
};

TEST_F(VdxpVerify, AcceptsTheSdksGoldenSendEdocVerbatim) {
  auto c = check(golden_send("timestamp;systemid;Content-Type;from;servicetype;messagetype;hash-file"),
                 {"messagetype", "from", "hash-file"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->system_id, "SYS-G06");
  EXPECT_EQ(c->param("from"), "000.00.00.G06");
  EXPECT_EQ(c->param("Content-Type"), "application/octet-stream");
  EXPECT_EQ(c->param("HASH-FILE"), kGoldenHashFile);  // looked up case-insensitively
  EXPECT_EQ(c->timestamp, at_ms(1795399970123));
}

TEST_F(VdxpVerify, AcceptsThePrefixedKeyListOfOlderPeers) {
  auto c = check(golden_send("XroadVnpt-timestamp;XroadVnpt-systemid;XroadVnpt-Content-Type;XroadVnpt-from;"
                             "XroadVnpt-servicetype;XroadVnpt-messagetype;XroadVnpt-hash-file"),
                 {"messagetype", "from", "hash-file"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->param("messagetype"), "edoc");
}

TEST_F(VdxpVerify, AcceptsTheSameSignedCallAgainWithAnOldTimestamp) {
  // The SDK signs one timestamp per process life: identical calls, days apart.
  const auto h = signed_call(now_ - std::chrono::hours(24 * 30));
  for (int i = 0; i < 3; ++i) {
    auto c = check(h);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->system_id, "SYS-A");
    EXPECT_EQ(c->param("docId"), "42");
  }
}

TEST_F(VdxpVerify, RefusesTimestampsOutsideAConfiguredWindow) {
  options_.timestamp_window = std::chrono::seconds(300);
  for (auto skew : {std::chrono::seconds(-301), std::chrono::seconds(301)}) {
    auto c = check(signed_call(now_ + skew));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, "vdxp.stale");
  }
  EXPECT_TRUE(check(signed_call(now_ - std::chrono::seconds(299))).ok());
}

TEST_F(VdxpVerify, RefusesAMalformedTimestamp) {
  std::vector<Header> h = signed_call(now_);
  std::string text;
  for (const auto& x : h)
    if (x.name == "XroadVnpt-sign-header") text = x.value;
  const std::string good = format_timestamp(now_);
  text.replace(text.find(good), good.size(), "2026-11-23T09:12:50");
  set(h, "XroadVnpt-sign-header", text);
  set(h, "XroadVnpt-timestamp", "2026-11-23T09:12:50");
  set(h, "XroadVnpt-hash-header", hmac_sha256_hex("secret-of-SYS-A", text));
  auto c = check(h);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.malformed");
}

TEST_F(VdxpVerify, RefusesAWrongSecret) {
  SecretString other("not-the-secret");
  auto h = sign({{"docId", "42"}}, kContentTypeJson, "SYS-A", other, now_);
  ASSERT_TRUE(h.ok());
  auto c = check(*h);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.bad_mac");
}

TEST_F(VdxpVerify, RefusesAHeaderChangedAfterSigning) {
  auto h = golden_send("timestamp;systemid;Content-Type;from;servicetype;messagetype;hash-file");
  set(h, "XroadVnpt-from", "000.00.00.G07");
  auto c = check(h, {"from"});
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

TEST_F(VdxpVerify, RefusesAnUnsignedFrom) {
  // Signed without `from`, which is then added as a plain XroadVnpt- header.
  auto h = sign({{"servicetype", "eDoc"}, {"messagetype", "edoc"}, {"hash-file", kGoldenHashFile}}, kContentTypeFile,
                "SYS-A", secret_, now_);
  ASSERT_TRUE(h.ok());
  h->push_back({"XroadVnpt-from", "000.00.00.G06"});
  auto c = check(*h, {"messagetype", "from", "hash-file"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.missing");
  EXPECT_NE(c.error().message.find("from"), std::string::npos) << c.error().message;
}

TEST_F(VdxpVerify, RefusesAKeyListThatDisagreesWithTheSignedJson) {
  const std::string full = "timestamp;systemid;Content-Type;from;servicetype;messagetype;hash-file";
  for (const std::string& keys :
       {std::string("timestamp;systemid;Content-Type;from;servicetype;messagetype"),  // a JSON key unlisted
        full + ";docId",                                                              // a listed key not in the JSON
        full + ";from",                                                               // a key twice
        std::string(""), std::string(";;"), std::string("timestamp;system id")}) {
    auto c = check(golden_send(keys), {});
    ASSERT_FALSE(c.ok()) << keys;
    EXPECT_EQ(c.error().code, "vdxp.malformed") << keys;
  }
  EXPECT_TRUE(check(golden_send(full + ";"), {}).ok());  // a trailing ';' names nothing
}

TEST_F(VdxpVerify, RefusesADuplicatedSignedHeader) {
  auto h = signed_call(now_);
  h.push_back({"XroadVnpt-docId", "43"});
  EXPECT_FALSE(check(h).ok());
}

TEST_F(VdxpVerify, RefusesAnUnknownSystem) {
  auto h = sign({{"docId", "42"}}, kContentTypeJson, "SYS-Z", secret_, now_);
  ASSERT_TRUE(h.ok());
  auto c = check(*h);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "vdxp.unknown_system");
}

TEST_F(VdxpVerify, RefusesParametersThatCannotTravelAsHeaders) {
  EXPECT_FALSE(sign({{"docId", "4\r\nX: y"}}, kContentTypeJson, "SYS-A", secret_, now_).ok());
  EXPECT_FALSE(sign({{"doc Id", "4"}}, kContentTypeJson, "SYS-A", secret_, now_).ok());
  EXPECT_FALSE(sign({{"docId", "4"}, {"docid", "5"}}, kContentTypeJson, "SYS-A", secret_, now_).ok());
  EXPECT_FALSE(sign({{"timestamp", "x"}}, kContentTypeJson, "SYS-A", secret_, now_).ok());
}

TEST(VdxpSentFile, TheFileLessTheSdksCrlfOrTheWholeBodyOfOlderPeers) {
  const std::string file = kGoldenFile;
  auto sdk = match_sent_bytes(file + "\r\n", kGoldenHashFile);
  ASSERT_TRUE(sdk.ok()) << sdk.error().message;
  EXPECT_EQ(sdk->size, file.size());
  auto old = match_sent_bytes(file, kGoldenHashFile);
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->size, file.size());
  EXPECT_EQ(old->sha256_hex, kGoldenSha256);
  // A file that itself ends with CRLF, sent without the SDK's: the whole body.
  const std::string crlf_file = "<edXML/>\r\n";
  auto whole = match_sent_bytes(crlf_file, hash_bytes_hex(crlf_file));
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size, crlf_file.size());
  // Upper-case hex is the same hash.
  std::string upper = kGoldenHashFile;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(match_sent_bytes(file + "\r\n", upper).ok());
}

TEST(VdxpSentFile, RefusesABodyMatchingNeitherForm) {
  const std::string file = kGoldenFile;
  for (const std::string& body :
       {file + "\n", file + "\r\n\r\n", file + "x", file.substr(1) + "\r\n", std::string("\r\n"), std::string("")}) {
    auto r = match_sent_bytes(body, kGoldenHashFile);
    ASSERT_FALSE(r.ok()) << body.size();
    EXPECT_EQ(r.error().code, "vdxp.hash_file");
  }
}

TEST(VdxpSentFile, AFileBodyMatchesWhateverItsSizeAgainstTheReadBuffer) {
  TempDir dir;
  std::mt19937 rng(5);
  for (size_t n : {0u, 1u, 2u, 65533u, 65534u, 65535u, 65536u, 65537u, 3u * 65536u + 1u}) {
    std::string data(n, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    const std::string hf = hash_bytes_hex(data);
    write_text(dir / "body", data + "\r\n");
    auto sdk = match_sent_file(dir / "body", hf);
    ASSERT_TRUE(sdk.ok()) << n << ": " << sdk.error().message;
    EXPECT_EQ(sdk->size, n);
    write_text(dir / "body", data);
    auto old = match_sent_file(dir / "body", hf);
    ASSERT_TRUE(old.ok()) << n;
    EXPECT_EQ(old->size, n);
    EXPECT_EQ(old->sha256_hex, openssl_hex("openssl dgst -sha256 " + (dir / "body")));
    EXPECT_EQ(sdk->sha256_hex, old->sha256_hex);
    EXPECT_EQ(strip_pairs(old->sha256_hex), hf);
  }
}

TEST(Base64, RoundTripsInArbitraryChunksAndRefusesGarbage) {
  std::mt19937 rng(3);
  for (size_t n : {0u, 1u, 2u, 3u, 4u, 100u, 65537u}) {
    std::string data(n, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    std::string enc;
    base64::Encoder e;  // one line, as the axis' data
    for (size_t i = 0; i < n; i += 7) e.update(std::string_view(data).substr(i, 7), enc);
    e.finish(enc);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(enc.find('\n'), std::string::npos);
    base64::Decoder d;
    std::string dec;
    for (size_t i = 0; i < enc.size(); i += 5) ASSERT_TRUE(d.update(std::string_view(enc).substr(i, 5), dec));
    EXPECT_TRUE(d.finish(dec));
    EXPECT_EQ(dec, data);
  }
  std::string out;
  EXPECT_FALSE(base64::Decoder().update("ab$d", out));
  EXPECT_FALSE(base64::Decoder().update("ab==cd==", out));
  base64::Decoder d;
  EXPECT_TRUE(d.update("abc", out));
  EXPECT_FALSE(d.finish(out));
}

// As the SDK reads getEdoc's data: bytes outside the alphabet are skipped,
// the first '=' ends the data, the last quantum may come without padding.
TEST(Base64, TheLenientDecoderReadsWhatTheSdkReads) {
  auto lenient = [](const std::vector<std::string>& pieces, std::string* out) {
    testing::SdkBase64Reader d;
    for (const auto& p : pieces) d.update(p, *out);
    return d.finish(*out);
  };
  std::string out;
  // "Công văn" = Q8O0bmcgdsSDbg== ; with MIME line breaks, spaces, a stray '$' and '\\'.
  ASSERT_TRUE(lenient({"Q8O0bmcg\r\n", "ds$SD b", "g\\==", "trailing garbage"}, &out));
  EXPECT_EQ(out, "Công văn");
  out.clear();
  ASSERT_TRUE(lenient({"Q8O0bmcgdsSDbg"}, &out));  // no padding
  EXPECT_EQ(out, "Công văn");
  out.clear();
  ASSERT_TRUE(lenient({"Q8O0bmcgdsSDbiA"}, &out));  // "Công văn " unpadded: 3 characters, 2 bytes
  EXPECT_EQ(out, "Công văn ");
  out.clear();
  EXPECT_FALSE(lenient({"Q8O0bmcgdsSDb"}, &out));  // a lone character holds no byte
  // The strict decoder refuses what the lenient one skips.
  out.clear();
  EXPECT_FALSE(base64::Decoder().update("Q8O0bmcg$dsSDbg==", out));
}

}  // namespace
}  // namespace edxgate::gateway::vdxp
