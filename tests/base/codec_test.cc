// The shared codecs: hex, base64 (OpenSSL's, with the whitespace rule of
// base64.h), SHA-256, checked against the openssl CLI and RFC 4648, and the
// URL codings (url.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "../support/run_cli.h"
#include "edxgate/base/base64.h"
#include "edxgate/base/digest.h"
#include "edxgate/base/hex.h"
#include "edxgate/base/url.h"

namespace edxgate {
namespace {

// What `cmd` writes on stdout.
std::string run(const std::string& cmd) { return test::run_command(cmd, test::Output::stdout_only).out; }

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Hex, EncodesLowerCaseAndDecodesEitherCase) {
  EXPECT_EQ(to_hex(std::string_view("\x00\x0a\xff", 3)), "000aff");
  auto d = from_hex("000AfF");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (std::vector<uint8_t>{0x00, 0x0a, 0xff}));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(Hex, OneDigitHasItsValueInEitherCaseAndNothingElseHasOne) {
  const std::string digits = "0123456789abcdef", upper = "ABCDEF";
  for (size_t i = 0; i < digits.size(); ++i) EXPECT_EQ(hex_digit(digits[i]), static_cast<int>(i));
  for (size_t i = 0; i < upper.size(); ++i) EXPECT_EQ(hex_digit(upper[i]), static_cast<int>(10 + i));
  for (char c : std::string("gG/:@`%x \0\xff", 11)) EXPECT_EQ(hex_digit(c), -1) << static_cast<int>(c);
}

// RFC 3986 2.3: only the unreserved characters stand as themselves; every
// other byte (reserved, space, control, each byte of UTF-8) is %XX, upper case.
TEST(Url, PercentEncodingKeepsOnlyTheUnreservedCharacters) {
  const std::string unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  EXPECT_EQ(percent_encode(unreserved), unreserved);
  EXPECT_EQ(percent_encode(""), "");
  EXPECT_EQ(percent_encode("a b+c&d=e/f?g#h%i"), "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25i");
  EXPECT_EQ(percent_encode("Bộ"), "B%E1%BB%99");
  EXPECT_EQ(percent_encode(std::string_view("\0\x7f\xff", 3)), "%00%7F%FF");
  // Every byte other than the unreserved ones is escaped.
  for (int c = 0; c < 256; ++c) {
    const std::string one(1, static_cast<char>(c));
    const bool kept = unreserved.find(static_cast<char>(c)) != std::string::npos && c != 0;
    EXPECT_EQ(percent_encode(one).size(), kept ? 1u : 3u) << c;
  }
}

TEST(Url, FormDecodingTakesPlusAsSpaceAndKeepsAMalformedEscape) {
  EXPECT_EQ(form_decode("a+b%20c"), "a b c");
  EXPECT_EQ(form_decode("%e1%BB%99"), "ộ");
  EXPECT_EQ(form_decode("100%"), "100%");
  EXPECT_EQ(form_decode("%4"), "%4");
  EXPECT_EQ(form_decode("%zz%41"), "%zzA");
  EXPECT_EQ(form_decode("%2B"), "+");
  EXPECT_EQ(form_decode("%00"), std::string(1, '\0'));
  // What percent_encode writes, form_decode reads back, for every byte.
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(form_decode(percent_encode(all)), all);
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(base64::encode(plain), enc);
    std::string out;
    ASSERT_TRUE(base64::decode(enc, out)) << enc;
    EXPECT_EQ(out, plain);
  }
}

TEST(Base64, SkipsXmlWhitespaceAnywhereIncludingTab) {
  std::string out;
  ASSERT_TRUE(base64::decode(" Zm9v\r\n\tYmFy \n", out));
  EXPECT_EQ(out, "foobar");
  out.clear();
  ASSERT_TRUE(base64::decode("Zm8\n=\n", out));
  EXPECT_EQ(out, "fo");
}

TEST(Base64, StrictRefusesWhatLenientSkips) {
  for (const char* bad : {"Zm9v-YmFy", "Zm9v\fYmFy", "Zm9v*YmFy", "Zm9v\x80YmFy"}) {
    std::string out;
    EXPECT_FALSE(base64::decode(bad, out)) << bad;
    out.clear();
    EXPECT_TRUE(base64::decode(bad, out, base64::Mode::lenient)) << bad;
    EXPECT_EQ(out, "foobar");
  }
}

TEST(Base64, PaddingOnlyAtTheEndAndWholeQuanta) {
  std::string out;
  EXPECT_FALSE(base64::decode("Zg==Zm8=", out));
  EXPECT_FALSE(base64::decode("Zg=", out));
  EXPECT_FALSE(base64::decode("Z===", out));
  EXPECT_FALSE(base64::decode("Zm9vY", out));
  EXPECT_FALSE(base64::decode("Zm9v=", out));
  EXPECT_FALSE(base64::decode("Zg==\n=", out));
}

TEST(Base64, StreamsInPiecesOfAnySizeAndAgreesWithOpenssl) {
  const std::string data = random_bytes(100'003, 7);
  const std::string path = ::testing::TempDir() + "/codec_test.bin";
  std::ofstream(path, std::ios::binary) << data;
  // openssl base64 writes 64-column lines; ours 76: both decode to the same bytes.
  const std::string theirs = run("openssl base64 -in " + path);
  ASSERT_FALSE(theirs.empty());
  for (size_t piece : {1u, 3u, 7u, 64u, 5000u}) {
    base64::Decoder d;
    std::string out;
    for (size_t i = 0; i < theirs.size(); i += piece)
      ASSERT_TRUE(d.update(std::string_view(theirs).substr(i, piece), out));
    ASSERT_TRUE(d.finish(out));
    EXPECT_EQ(out, data) << piece;
  }
  const std::string ours = base64::encode(data, 76);
  EXPECT_EQ(ours.find('\n'), 76u);
  std::string back;
  ASSERT_TRUE(base64::decode(ours, back));
  EXPECT_EQ(back, data);
  // Streaming encode in odd pieces gives the same text.
  base64::Encoder e(76);
  std::string streamed;
  for (size_t i = 0; i < data.size(); i += 1000 + i % 7)
    e.update(std::string_view(data).substr(i, 1000 + i % 7), streamed);
  e.finish(streamed);
  EXPECT_EQ(streamed, ours);
  std::remove(path.c_str());
}

// Whole quanta of a line are decoded four characters at a time; whatever is
// left of a line, and what ends it, character by character. Lines of any
// width (not only multiples of four) and pieces of any size meet both.
TEST(Base64, LinesOfAnyWidthDecodeAlikeInAnyPieces) {
  const std::string data = random_bytes(10'001, 11);
  const std::string flat = base64::encode(data);
  for (size_t width : {1u, 3u, 5u, 75u, 76u, 77u, 4093u}) {
    std::string text;
    for (size_t i = 0; i < flat.size(); i += width) text += flat.substr(i, width) + (i % 3 ? "\r\n" : "\t ");
    for (size_t piece : std::initializer_list<size_t>{1, 4, 13, 300, text.size()}) {
      base64::Decoder d;
      std::string out;
      for (size_t i = 0; i < text.size(); i += piece) {
        ASSERT_TRUE(d.update(std::string_view(text).substr(i, piece), out)) << width << "/" << piece;
      }
      ASSERT_TRUE(d.finish(out)) << width << "/" << piece;
      EXPECT_EQ(out, data) << width << "/" << piece;
    }
  }
}

TEST(Base64, AStrayByteInsideALongRunIsFoundInStrictModeAndSkippedInLenient) {
  const std::string data = random_bytes(30'000, 5);
  std::string text = base64::encode(data);
  text.insert(12'345, "*");  // not at a quantum boundary, deep in one run
  std::string out;
  EXPECT_FALSE(base64::decode(text, out, base64::Mode::strict));
  out.clear();
  ASSERT_TRUE(base64::decode(text, out, base64::Mode::lenient));
  EXPECT_EQ(out, data);
  // Padding ends the text even right after a long run; data after it is refused.
  const std::string two = base64::encode(random_bytes(3'001, 2));  // ends in "=="
  out.clear();
  ASSERT_TRUE(base64::decode(two + "\n", out));
  EXPECT_EQ(out.size(), 3'001u);
  out.clear();
  EXPECT_FALSE(base64::decode(two + "QUJD", out));
}

TEST(Sha256, AgreesWithOpensslDgst) {
  const std::string data = random_bytes(70'000, 3);
  const std::string path = ::testing::TempDir() + "/codec_sha.bin";
  std::ofstream(path, std::ios::binary) << data;
  const std::string theirs = run("openssl dgst -sha256 -r " + path).substr(0, 64);
  EXPECT_EQ(sha256_hex(data), theirs);
  auto f = sha256_file_hex(path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, theirs);
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_file_hex(path + ".missing").error().code, "io.open");
  std::remove(path.c_str());
}

TEST(Sha256, AForkFinishesThePrefixWhileTheOriginalGoesOn) {
  const std::string data = random_bytes(5'000, 8);
  Sha256 whole;
  whole.update(data.substr(0, 3'000));
  Sha256 prefix = whole.fork();
  whole.update(data.substr(3'000));
  prefix.update("tail");  // the fork goes its own way
  EXPECT_EQ(whole.finish_hex(), sha256_hex(data));
  EXPECT_EQ(prefix.finish_hex(), sha256_hex(data.substr(0, 3'000) + "tail"));
}

}  // namespace
}  // namespace edxgate
