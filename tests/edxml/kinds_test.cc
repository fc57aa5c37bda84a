// What sort of failure each edxml error is (ErrorKind): a refused envelope is
// invalid input, a limit on bytes too_large, a file that cannot be read io,
// wrong use of the API usage. And the organ id pattern cache, which shares
// each compiled pattern with its callers.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "edxgate/edxml/pack.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/xml.h"
#include "test_util.h"

namespace edxgate::edxml {
namespace {

using testing::fixture;
using testing::TempDir;

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "fixture lacks: " << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

Error error_of(const Result<Envelope>& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? Error{} : r.error();
}

TEST(Kinds, ARefusedEnvelopeIsInvalidInput) {
  const std::string xml = fixture("sdk_dotnet_form.xml");
  for (const std::string& bad :
       {replace(xml, "<edXML xmlns:xsi", "<!DOCTYPE edXML [<!ENTITY x \"y\">]><edXML xmlns:xsi"),  // xml.doctype
        xml.substr(0, xml.size() / 2),                                                             // xml.malformed
        replace(xml, "2024/03/17", "2024/02/30")}) {                                               // edxml.date
    const Error e = error_of(read_envelope(bad, ReadOptions{}));
    EXPECT_EQ(e.kind, ErrorKind::invalid) << e.code;
  }
  const std::string b64 = fixture("bkav_form.xml");
  const Error e = error_of(read_envelope(replace(b64, "QsOhbyBjw6Fv", "QsOh*yBjw6Fv"), ReadOptions{}));
  EXPECT_EQ(e.code, "edxml.base64");
  EXPECT_EQ(e.kind, ErrorKind::invalid);
}

TEST(Kinds, OverALimitOnBytesIsTooLargeAndOverOtherLimitsInvalid) {
  const std::string xml = fixture("sdk_dotnet_form.xml");
  ReadOptions small_total;
  small_total.limits.max_total_bytes = 1024;
  TempDir dir;
  testing::write_text(dir / "in.xml", xml);
  Error e = error_of(read_envelope_file(dir / "in.xml", small_total));
  EXPECT_EQ(e.code, "xml.size");
  EXPECT_EQ(e.kind, ErrorKind::too_large);

  ReadOptions small_attachment;
  small_attachment.limits.max_attachment_bytes = 4;
  e = error_of(read_envelope(xml, small_attachment));
  EXPECT_TRUE(e.code == "edxml.attachment_size" || e.code == "xml.text_size") << e.code;
  EXPECT_EQ(e.kind, ErrorKind::too_large);

  ReadOptions shallow;
  shallow.limits.max_depth = 2;
  e = error_of(read_envelope(xml, shallow));
  EXPECT_EQ(e.code, "xml.depth");
  EXPECT_EQ(e.kind, ErrorKind::invalid);
}

TEST(Kinds, AFileThatCannotBeReadIsIoAndAWrongCallIsUsage) {
  TempDir dir;
  Error e = error_of(read_envelope_file(dir / "absent.xml", ReadOptions{}));
  EXPECT_EQ(e.code, "io.read");
  EXPECT_EQ(e.kind, ErrorKind::io);
  auto doc = parse_xml_file(dir / "absent.xml", Limits{});
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().kind, ErrorKind::io);

  Envelope env = testing::full_message();
  Attachment a;
  a.name = "a.txt";
  env.attachments = {a, a};
  testing::write_text(dir / "a.txt", "x");
  Status st = complete_for_pack(env, {dir / "a.txt"});  // two listed, one given
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "usage.attachments");
  EXPECT_EQ(st.error().kind, ErrorKind::usage);
}

// Issue 14: the cache handed out raw pointers and emptied itself past 16
// patterns, so a regex in use by one thread could be freed by another. Run
// under ASan, this fails on the old cache (heap-use-after-free).
TEST(OrganIdPattern, ACompiledPatternOutlivesTheCacheBeingEmptied) {
  constexpr int kThreads = 4, kRounds = 300, kPatterns = 40;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < kRounds; ++i) {
        FormatOptions f;
        const int k = (i * kThreads + t) % kPatterns;  // far more patterns than the cache keeps
        f.organ_id_pattern = "^(\\d{3}\\.\\d{2}\\.\\d{2}\\.[A-Z]\\d{2}|x" + std::to_string(k) + "(a|b)*c)$";
        // A long id (up to the 64 bytes allowed) makes the match take a
        // while: the window another thread needs to empty the cache under this one.
        const std::string id = "x" + std::to_string(k) + std::string(55, 'a') + "c";
        if (!check_organ_id(id, f).ok() || !check_organ_id("000.00.00.G06", f).ok()) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(OrganIdPattern, AnInvalidPatternIsRefusedEveryTime) {
  FormatOptions f;
  f.organ_id_pattern = "([unclosed";
  for (int i = 0; i < 3; ++i) {
    Status st = check_organ_id("000.00.00.G06", f);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "edxml.organ_id");
  }
}

}  // namespace
}  // namespace edxgate::edxml
