// The content rules of Decision 2226/QĐ-BCT (workflow/policy.h): the
// classification field, the stamp matcher and the forbidden kinds.
#include <gtest/gtest.h>

#include "edxgate/workflow/policy.h"

namespace edxgate::workflow::policy {
namespace {

// "MẬT" written decomposed (NFD): M, A, combining circumflex, combining dot below, T.
const std::string kMatNfd = "MA\xCC\x82\xCC\xA3T";
const std::string kToiMatNfdLower = "to\xCC\x82\xCC\x81i ma\xCC\x82\xCC\xA3t";  // "tối mật" in NFD

TEST(SecurityLevel, NormalByDefaultAndByName) {
  for (const char* s : {"", "normal", "Normal", " thường ", "Bình thường"}) {
    auto l = parse_security_level(s);
    ASSERT_TRUE(l.ok()) << s;
    EXPECT_EQ(*l, SecurityLevel::normal) << s;
  }
}

TEST(SecurityLevel, EverySecretSpellingIsASecretLevel) {
  const std::pair<std::string, SecurityLevel> cases[] = {
      {"mật", SecurityLevel::secret},
      {"MẬT", SecurityLevel::secret},
      {"Mat", SecurityLevel::secret},
      {kMatNfd, SecurityLevel::secret},
      {"tối mật", SecurityLevel::top_secret},
      {"TOI MAT", SecurityLevel::top_secret},
      {"toi_mat", SecurityLevel::top_secret},
      {kToiMatNfdLower, SecurityLevel::top_secret},
      {"Tuyệt mật", SecurityLevel::absolute_secret},
      {"tuyet-mat", SecurityLevel::absolute_secret},
      {"  TUYỆT   MẬT ", SecurityLevel::absolute_secret},
  };
  for (const auto& [text, level] : cases) {
    auto l = parse_security_level(text);
    ASSERT_TRUE(l.ok()) << text;
    EXPECT_EQ(*l, level) << text;
  }
}

TEST(SecurityLevel, AnUnknownValueIsAnError) {
  auto l = parse_security_level("confidential");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, "policy.security_level");
  EXPECT_EQ(l.error().kind, ErrorKind::invalid);
}

TEST(SecretStamp, StandaloneCapitalisedStampsAreFound) {
  for (const std::string& s : std::vector<std::string>{
           "MẬT", "TỐI MẬT", "TUYỆT MẬT", "MAT", "TOI MAT", "TUYET MAT", "[MẬT] Báo cáo tình hình",
           "Báo cáo tình hình (TỐI MẬT)", "TUYỆT MẬT - Kế hoạch phòng thủ", "Kế hoạch – MẬT", "Độ mật: MẬT",
           "MẬT Báo cáo số liệu", "Báo cáo số liệu MẬT", "V/v: TOI MAT", kMatNfd + " - Báo cáo", "«TỐI MẬT»"}) {
    EXPECT_TRUE(has_secret_stamp(s)) << s;
  }
}

TEST(SecretStamp, TheWordInsideASentenceOrAnotherWordIsNoStamp) {
  for (const std::string& s : std::vector<std::string>{
           "", "Về việc bảo vệ bí mật nhà nước", "Tuyệt mật là cấp độ cao nhất", "mật", "Quy chế Mật mã dân sự",
           "QUY CHẾ BẢO VỆ BÍ MẬT NHÀ NƯỚC", "TÀI LIỆU MẬT MÃ", "MẬTX", "XMẬT", "MATERIAL LIST", "TỐIMẬT", "Mật",
           "Báo cáo Tối mật", "ĐỀ ÁN TỐI MẬT HOÁ", "Công văn số 12/MAT-BCT", "toi mat"}) {
    EXPECT_FALSE(has_secret_stamp(s)) << s;
  }
}

TEST(SecretStamp, InvalidUtf8DoesNotCrash) {
  EXPECT_FALSE(has_secret_stamp(std::string("\xff\xfe\x80 abc", 8)));
  EXPECT_TRUE(has_secret_stamp(std::string("\xff MẬT")));
}

TEST(ForbiddenKind, DenunciationLettersByDefault) {
  const auto kinds = default_forbidden_kinds();
  for (const std::string& s :
       std::vector<std::string>{"Đơn thư tố cáo", "ĐƠN THƯ TỐ CÁO", "Don thu to cao", "đơn tố cáo",
                                "Đơn thư to\xCC\x82\xCC\x81 ca\xCC\x81o" /* NFD */}) {
    EXPECT_TRUE(is_forbidden_kind(s, kinds)) << s;
  }
  for (const std::string& s :
       std::vector<std::string>{"Công văn", "Quyết định", "Đơn đề nghị", "Báo cáo kết quả giải quyết tố cáo"}) {
    EXPECT_FALSE(is_forbidden_kind(s, kinds)) << s;
  }
}

TEST(ForbiddenKind, TheListIsConfigurable) {
  EXPECT_TRUE(is_forbidden_kind("Văn bản hạn chế lưu hành", {"hạn chế lưu hành"}));
  EXPECT_FALSE(is_forbidden_kind("Đơn thư tố cáo", {"hạn chế lưu hành"}));
}

TEST(CheckOutgoing, RefusesSecretLevelStampAndKind) {
  edxml::MessageHeader m;
  m.subject = "V/v kế hoạch năm 2027";
  m.type_name = "Công văn";
  EXPECT_TRUE(check_outgoing(SecurityLevel::normal, m, default_forbidden_kinds()).ok());
  auto s = check_outgoing(SecurityLevel::secret, m, default_forbidden_kinds());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "policy.secret");
  m.subject = "[MẬT] Kế hoạch";
  EXPECT_EQ(check_outgoing(SecurityLevel::normal, m, default_forbidden_kinds()).error().code, "policy.secret");
  m.subject = "Kế hoạch";
  m.type_name = "Đơn thư tố cáo";
  auto k = check_outgoing(SecurityLevel::normal, m, default_forbidden_kinds());
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().code, "policy.kind");
  EXPECT_EQ(k.error().kind, ErrorKind::invalid);
}

TEST(CheckIncoming, StampInSubjectOrTypeQuarantines) {
  edxml::MessageHeader m;
  m.subject = "Về việc bảo vệ bí mật nhà nước";
  m.type_name = "Công văn";
  EXPECT_TRUE(check_incoming(m).ok());
  m.type_name = "TUYỆT MẬT";
  EXPECT_EQ(check_incoming(m).error().code, "policy.secret");
}

}  // namespace
}  // namespace edxgate::workflow::policy
