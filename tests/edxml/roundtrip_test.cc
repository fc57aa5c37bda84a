// model -> XML -> model: every field survives, attachments stream.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstring>

#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"
#include "test_util.h"

namespace edxgate::edxml {
namespace {

using testing::TempDir;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

std::array<uint8_t, 32> sha256_of(const std::string& data) {
  std::array<uint8_t, 32> d{};
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

Attachment attach(const TempDir& dir, const std::string& id, const std::string& name, const std::string& bytes) {
  std::string path = dir / ("src-" + id);
  testing::write_text(path, bytes);
  Attachment a;
  a.content_id = id;
  a.name = name;
  a.content_type = "application/pdf";
  a.description = "Tệp đính kèm " + name;
  a.path = path;
  a.size = bytes.size();
  a.sha256 = sha256_of(bytes);
  return a;
}

// Compares everything except where the files live.
void expect_same(const Envelope& a, const Envelope& b) {
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.trace, b.trace);
  ASSERT_EQ(a.attachments.size(), b.attachments.size());
  for (size_t i = 0; i < a.attachments.size(); ++i) {
    Attachment x = a.attachments[i], y = b.attachments[i];
    x.path = y.path = "";
    EXPECT_EQ(x, y) << "attachment " << i;
  }
}

TEST(RoundTrip, KeepsEveryFieldIncludingVietnameseTextAndSeveralRecipients) {
  TempDir dir;
  Envelope env = testing::full_message();
  env.attachments.push_back(attach(dir, "a1", "Công văn 251.pdf", "%PDF-1.7 tiếng Việt"));
  env.attachments.push_back(attach(dir, "a2", "Phụ lục.docx", std::string(1000, '\0')));
  env.attachments.push_back(attach(dir, "a3", "empty.txt", ""));
  auto xml = write_envelope_string(env, WriteOptions{});
  ASSERT_TRUE(xml.ok()) << xml.error().to_string();
  ReadOptions ro;
  ro.attachment_dir = dir.make_sub("out");
  auto back = read_envelope(*xml, ro);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  expect_same(env, *back);
  EXPECT_EQ(back->signature, SignaturePresence::none);
  EXPECT_EQ(testing::read_text(back->attachments[0].path), "%PDF-1.7 tiếng Việt");
  EXPECT_EQ(back->attachments[1].path, ro.attachment_dir + "/Phụ lục.docx");
}

TEST(RoundTrip, NormalizesHeaderTextToNfcOnWrite) {
  Envelope env = testing::full_message();
  // "Hà Nội" decomposed: a + combining grave, o + combining circumflex + dot below.
  env.message->promulgation_place = "Ha\xCC\x80 No\xCC\x82\xCC\xA3i";
  auto xml = write_envelope_string(env, WriteOptions{});
  ASSERT_TRUE(xml.ok());
  auto back = read_envelope(*xml, ReadOptions{});
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->message->promulgation_place, "Hà Nội");
}

TEST(RoundTrip, KeepsManyAttachments) {
  TempDir dir;
  Envelope env = testing::full_message();
  for (int i = 0; i < 150; ++i) {
    env.attachments.push_back(attach(dir, "id" + std::to_string(i), "tep-" + std::to_string(i) + ".bin",
                                     std::string(static_cast<size_t>(i * 37), static_cast<char>(i))));
  }
  auto xml = write_envelope_string(env, WriteOptions{});
  ASSERT_TRUE(xml.ok()) << xml.error().to_string();
  ReadOptions ro;
  ro.attachment_dir = dir.make_sub("out");
  auto back = read_envelope(*xml, ro);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  expect_same(env, *back);
}

TEST(RoundTrip, KeepsAStatusMessageUnderEitherElementName) {
  for (const char* element : {"MessageStatus", "Status"}) {
    Envelope env;
    StatusMessage& s = env.status.emplace();
    s.response_for =
        ResponseFor{"000.00.00.G06", "251/TMĐT-TTTH", Date{2024, 3, 15}, "000.00.00.G06,2024/03/15,251/TMĐT-TTTH"};
    s.from = testing::org("000.00.00.H41", "Ủy ban nhân dân tỉnh Nghệ An");
    s.code = StatusCode::accepted;
    s.description = "Đã tiếp nhận, vào sổ văn bản đến";
    s.timestamp = DateTime{Date{2024, 3, 16}, 9, 0, 0};
    s.staff = StaffInfo{"Văn phòng", "Lê Văn An", "0987654321", "anlv@nghean.gov.vn"};
    env.trace.traces = {{"000.00.00.H41", DateTime{Date{2024, 3, 16}, 9, 0, 1}}};
    WriteOptions wo;
    wo.format.status_element = element;
    auto xml = write_envelope_string(env, wo);
    ASSERT_TRUE(xml.ok()) << xml.error().to_string();
    EXPECT_NE(xml->find(std::string("<edXML:") + element + ">"), std::string::npos);
    EXPECT_EQ(xml->find("edXMLBody"), std::string::npos);
    auto back = read_envelope(*xml, ReadOptions{});
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    expect_same(env, *back);
  }
}

TEST(RoundTrip, WritesTheNamespacedSdkForm) {
  auto xml = write_envelope_string(testing::full_message(), WriteOptions{});
  ASSERT_TRUE(xml.ok());
  EXPECT_EQ(
      xml->rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"",
                 0),
      0u);
  size_t from = xml->find("<edXML:From>"), to = xml->find("<edXML:To>"), code = xml->find("<edXML:Code>"),
         trace = xml->find("<edXML:TraceHeaderList "), body = xml->find("<edXML:edXMLBody>");
  EXPECT_LT(from, to);
  EXPECT_LT(to, code);
  EXPECT_LT(code, trace);
  EXPECT_LT(trace, body);
  EXPECT_NE(xml->find("<edXML:edXMLManifest version=\"1.0\">"), std::string::npos);
  EXPECT_NE(xml->find("mustUnderstand=\"1\""), std::string::npos);
  EXPECT_NE(xml->find("&lt;năm 2024&gt;"), std::string::npos);
}

TEST(RoundTrip, RefusesToWriteTextXmlCannotCarry) {
  Envelope env = testing::full_message();
  env.message->subject = std::string("bell \x07 here");
  auto xml = write_envelope_string(env, WriteOptions{});
  ASSERT_FALSE(xml.ok());
  EXPECT_EQ(xml.error().code, "edxml.text");
  env.message->subject = "ok";
  env.message->extensions = {RawElement{"</edXML:MessageHeader><evil/>"}};
  xml = write_envelope_string(env, WriteOptions{});
  ASSERT_FALSE(xml.ok());
  EXPECT_EQ(xml.error().code, "edxml.text");
}

// Writes ~110 MB, streams it back in a child process and reports the
// child's peak RSS growth.
TEST(RoundTrip, StreamsAnAttachmentOverHundredMegabytesWithFlatMemory) {
  TempDir dir;
  constexpr size_t kSize = 110u * 1024 * 1024;
  std::string src = dir / "big.bin";
  std::array<uint8_t, 32> digest{};
  {
    std::ofstream f(src, std::ios::binary);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::string block(1 << 20, '\0');
    uint64_t x = 88172645463325252ull;
    for (size_t done = 0; done < kSize; done += block.size()) {
      for (size_t i = 0; i < block.size(); i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::memcpy(&block[i], &x, 8);
      }
      f.write(block.data(), static_cast<std::streamsize>(block.size()));
      EVP_DigestUpdate(ctx, block.data(), block.size());
    }
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, digest.data(), &len);
    EVP_MD_CTX_free(ctx);
  }
  Envelope env = testing::full_message();
  Attachment a;
  a.content_id = "big";
  a.name = "Hồ sơ lớn.bin";
  a.content_type = "application/octet-stream";
  a.path = src;
  env.attachments.push_back(a);
  std::string xml_path = dir / "big.xml";
  ASSERT_TRUE(write_envelope_file(env, WriteOptions{}, xml_path).ok());
  std::string out = dir.make_sub("out");

  struct rusage before {};
  getrusage(RUSAGE_SELF, &before);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ReadOptions ro;
    ro.attachment_dir = out;
    auto r = read_envelope_file(xml_path, ro);
    bool ok =
        r.ok() && r->attachments.size() == 1 && r->attachments[0].size == kSize && r->attachments[0].sha256 == digest;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  struct rusage child {};
  ASSERT_EQ(wait4(pid, &status, 0, &child), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  long growth_kb = child.ru_maxrss - before.ru_maxrss;
  std::printf("[ figures ] 110 MB attachment: child peak RSS %ld KB (%ld KB over the parent)\n", child.ru_maxrss,
              growth_kb);
  if (!kAsan) {
    EXPECT_LT(child.ru_maxrss, 64 * 1024) << "peak RSS must not follow attachment size";
  }
  EXPECT_EQ(std::filesystem::file_size(out + "/Hồ sơ lớn.bin"), kSize);
}

}  // namespace
}  // namespace edxgate::edxml
