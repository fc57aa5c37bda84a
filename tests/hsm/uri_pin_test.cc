// RFC 7512 URIs and PIN sources.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "edxgate/hsm/pin.h"
#include "edxgate/hsm/uri.h"
#include "test_util.h"

namespace edxgate::hsm {
namespace {

TEST(Pkcs11Uri, ParsesTokenObjectIdAndTypeWithPercentDecoding) {
  auto u = Pkcs11Uri::parse(
      "pkcs11:token=B%E1%BB%99%20C%C3%B4ng;serial=abc123;object=leader%3Bkey;id=%01%ab%FF;"
      "type=private?module-path=/usr/lib/x.so&pin-source=file:/run/pin");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(*u->token, "Bộ Công");
  EXPECT_EQ(*u->serial, "abc123");
  EXPECT_EQ(*u->object, "leader;key");
  EXPECT_EQ(*u->id, (std::vector<uint8_t>{0x01, 0xab, 0xff}));
  EXPECT_EQ(*u->type, "private");
  EXPECT_EQ(*u->module_path, "/usr/lib/x.so");
  EXPECT_EQ(*u->pin_source, "/run/pin");
  EXPECT_TRUE(u->selects_token());
}

TEST(Pkcs11Uri, RoundTripsThroughToString) {
  Pkcs11Uri u;
  u.token = "Bộ Công Thương; 1";
  u.object = "a/b?c";
  u.id = std::vector<uint8_t>{0x00, 0x41, 0xfe};
  u.type = "cert";
  auto back = Pkcs11Uri::parse(u.to_string());
  ASSERT_TRUE(back.ok()) << u.to_string();
  EXPECT_EQ(*back->token, *u.token);
  EXPECT_EQ(*back->object, *u.object);
  EXPECT_EQ(*back->id, *u.id);
  EXPECT_EQ(back->to_string(), u.to_string());
  EXPECT_NE(u.to_string().find("id=%00%41%FE"), std::string::npos) << u.to_string();
}

TEST(Pkcs11Uri, RefusesWhatItDoesNotUnderstand) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://x", "uri.scheme"},
      {"pkcs11:token=a;token=b", "uri.duplicate"},
      {"pkcs11:colour=red", "uri.attribute"},
      {"pkcs11:id=%zz", "uri.encoding"},
      {"pkcs11:id=%0", "uri.encoding"},
      {"pkcs11:type=secret", "uri.type"},
      {"pkcs11:object", "uri.syntax"},
      {"pkcs11:object=a?pin-value=1234", "uri.pin_value"},
      {"pkcs11:slot-id=12x", "uri.slot_id"},
  };
  for (const auto& [text, code] : cases) {
    auto u = Pkcs11Uri::parse(text);
    ASSERT_FALSE(u.ok()) << text;
    EXPECT_EQ(u.error().code, code) << text;
    EXPECT_EQ(u.error().kind, ErrorKind::usage) << text;
    EXPECT_EQ(u.error().message.find("1234"), std::string::npos);
  }
  EXPECT_TRUE(Pkcs11Uri::parse("pkcs11:").ok());
  EXPECT_TRUE(Pkcs11Uri::parse("pkcs11:slot-id=5;x-vendor=1;library-version=1").ok());
}

TEST(HexId, ParsesAndFormats) {
  EXPECT_EQ(*parse_hex_id("01aB"), (std::vector<uint8_t>{0x01, 0xab}));
  EXPECT_EQ(*parse_hex_id("0x10"), (std::vector<uint8_t>{0x10}));
  EXPECT_FALSE(parse_hex_id("abc").ok());
  EXPECT_FALSE(parse_hex_id("zz").ok());
  EXPECT_FALSE(parse_hex_id("").ok());
  EXPECT_EQ(to_hex({0x00, 0xff}), "00ff");
}

class PinTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) { return token_.dir() + "/" + name; }
  testing::SoftHsmToken token_;
};

TEST_F(PinTest, ReadsAPinFileWithoutItsNewline) {
  auto pin = read_pin_file(token_.pin_file());
  ASSERT_TRUE(pin.ok()) << pin.error().message;
  EXPECT_EQ(pin->view(), token_.pin());
}

TEST_F(PinTest, RefusesAPinFileOthersCanRead) {
  testing::SoftHsmToken::write(path("open"), "secret-pin\n", 0644);
  auto pin = read_pin_file(path("open"));
  ASSERT_FALSE(pin.ok());
  EXPECT_EQ(pin.error().code, "pin.file_mode");
  EXPECT_EQ(pin.error().kind, ErrorKind::invalid);
  EXPECT_EQ(pin.error().message.find("secret-pin"), std::string::npos);
}

TEST_F(PinTest, RefusesEmptyAndOverlongPins) {
  testing::SoftHsmToken::write(path("empty"), "\n");
  EXPECT_EQ(read_pin_file(path("empty")).error().code, "pin.empty");
  testing::SoftHsmToken::write(path("long"), std::string(300, '7'));
  EXPECT_EQ(read_pin_file(path("long")).error().code, "pin.too_long");
  EXPECT_EQ(read_pin_file(path("missing")).error().code, "pin.open");
  EXPECT_EQ(read_pin_file(path("empty")).error().kind, ErrorKind::invalid);
  EXPECT_EQ(read_pin_file(path("missing")).error().kind, ErrorKind::io);
}

TEST_F(PinTest, ReadsASystemdCredential) {
  ::mkdir(path("creds").c_str(), 0700);
  testing::SoftHsmToken::write(path("creds/hsm-pin"), "2468\n", 0400);
  ::setenv("CREDENTIALS_DIRECTORY", path("creds").c_str(), 1);
  auto pin = read_pin_credential("hsm-pin");
  ASSERT_TRUE(pin.ok()) << pin.error().message;
  EXPECT_EQ(pin->view(), "2468");
  EXPECT_EQ(read_pin_credential("../pin").error().code, "pin.credential_name");
  EXPECT_EQ(read_pin_credential("..").error().code, "pin.credential_name");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_EQ(read_pin_credential("hsm-pin").error().code, "pin.no_credentials");
}

}  // namespace
}  // namespace edxgate::hsm
