// Zipped attachments (zipped.h): what is recognised, what is unzipped, and
// every hostile archive refused with its code and nothing left behind.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <filesystem>

#include "edxgate/edxml/json.h"
#include "edxgate/edxml/zipped.h"
#include "test_util.h"
#include "zip_util.h"

namespace edxgate::edxml {
namespace {

using testing::make_zip;
using testing::TempDir;
using testing::ZipEntry;

const std::string kPdf = "%PDF-1.7\n% Hướng dẫn ký số\n" + std::string(3000, 'x') + "\n%%EOF\n";

std::string sha256_of(const std::string& bytes) {
  unsigned char md[32];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::array<uint8_t, 32> a{};
  std::copy(md, md + 32, a.begin());
  return sha256_hex(a);
}

// Unzips `zip` (written to a file) into a fresh directory.
struct Unzip {
  TempDir dir;
  std::string out = dir.make_sub("out");
  Result<UnzippedFile> run(const std::string& zip, const Limits& limits = Limits{},
                           const std::string& name = "GUIDE.SIGNED.PDF") {
    testing::write_text(dir / "in.zip", zip);
    return unzip_attachment(dir / "in.zip", out, name, limits);
  }
  bool out_empty() const { return std::filesystem::is_empty(out); }
};

std::string code_of(const Result<UnzippedFile>& r) { return r.ok() ? "ok" : r.error().code; }

TEST(Zipped, RecognisesTheVnptFormAndNotRealZipFormats) {
  const std::string magic("PK\x03\x04", 4);
  EXPECT_TRUE(is_zipped_attachment("GUIDE.SIGNED.PDF", "application/zip", magic));
  EXPECT_TRUE(is_zipped_attachment("1896_QD-TTg.doc", "application/zip", magic));
  EXPECT_TRUE(is_zipped_attachment("bao cao.txt", "Application/ZIP; name=x", ""));  // labelled: tried
  EXPECT_TRUE(is_zipped_attachment("bang.csv", "text/csv", magic));                 // ZIP magic under a non-ZIP name
  EXPECT_TRUE(is_zipped_attachment("slides.pptx", "application/x-zip-compressed", magic));
  EXPECT_FALSE(is_zipped_attachment("hoso.zip", "application/zip", magic));  // a ZIP the clerk opens as one
  EXPECT_FALSE(is_zipped_attachment("HOSO.ZIP", "application/octet-stream", magic));
  EXPECT_FALSE(is_zipped_attachment("bieu mau.docx",
                                    "application/vnd.openxmlformats-officedocument."
                                    "wordprocessingml.document",
                                    magic));
  EXPECT_FALSE(is_zipped_attachment("so lieu.xlsx", "application/octet-stream", magic));
  EXPECT_FALSE(is_zipped_attachment("van ban.odt", "", magic));
  EXPECT_FALSE(is_zipped_attachment("cv.pdf", "application/pdf", "%PDF"));
  EXPECT_FALSE(is_zipped_attachment("empty.bin", "", ""));
}

TEST(Zipped, RecognisesAStoredFileByItsFirstBytes) {
  TempDir dir;
  testing::write_text(dir / "blob", make_zip(dir, {{"a.pdf", kPdf}}));
  testing::write_text(dir / "pdf", kPdf);
  EXPECT_TRUE(*is_zipped_attachment_file(dir / "blob", "a.pdf", "application/pdf"));
  EXPECT_FALSE(*is_zipped_attachment_file(dir / "pdf", "a.pdf", "application/pdf"));
  EXPECT_EQ(is_zipped_attachment_file(dir / "absent", "a.pdf", "").error().code, "io.read");
}

TEST(Zipped, UnzipsTheOneEntryUnderTheDeclaredName) {
  Unzip u;
  std::string zip = make_zip(u.dir, {{"5c1f3a2e-7b9d.pdf", kPdf}});
  auto r = u.run(zip);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->path, u.out + "/GUIDE.SIGNED.PDF");
  EXPECT_EQ(r->name, "GUIDE.SIGNED.PDF");
  EXPECT_EQ(r->entry_name, "5c1f3a2e-7b9d.pdf");
  EXPECT_EQ(r->size, kPdf.size());
  EXPECT_EQ(sha256_hex(r->sha256), sha256_of(kPdf));
  EXPECT_EQ(testing::read_text(r->path), kPdf);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(u.out), {}), 1);  // no temp file left
  // Stored (not compressed) entries too, and a Vietnamese entry name.
  Unzip stored;
  auto s = stored.run(make_zip(stored.dir, {{"Hướng dẫn.pdf", kPdf, ZIP_CM_STORE}}));
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->entry_name, "Hướng dẫn.pdf");
  EXPECT_EQ(testing::read_text(s->path), kPdf);
}

TEST(Zipped, RefusesAnArchiveOfSeveralEntriesOrNone) {
  Unzip u;
  auto two = u.run(make_zip(u.dir, {{"a.pdf", kPdf}, {"b.pdf", kPdf}}));
  EXPECT_EQ(code_of(two), "edxml.zip_entries");
  EXPECT_NE(two.error().message.find("2 entries"), std::string::npos) << two.error().message;
  EXPECT_EQ(code_of(u.run(std::string("PK\x05\x06", 4) + std::string(18, '\0'))), "edxml.zip_entries");  // empty
  // An end record claiming tens of thousands of entries is refused before libzip reads them.
  std::string many = make_zip(u.dir, {{"a.pdf", kPdf}});
  testing::patch_entry_count(many, 60000);
  EXPECT_EQ(code_of(u.run(many)), "edxml.zip_entries");
  EXPECT_TRUE(u.out_empty());
}

TEST(Zipped, RefusesAZipBombByItsDeclaredRatio) {
  Unzip u;
  std::string zeros(8 << 20, '\0');  // 8 MiB of zeros deflate to a few KiB
  std::string bomb = make_zip(u.dir, {{"bomb.pdf", zeros}});
  ASSERT_LT(bomb.size(), zeros.size() / 500);
  auto r = u.run(bomb);
  EXPECT_EQ(code_of(r), "edxml.zip_ratio");
  EXPECT_TRUE(u.out_empty());
  // The same within a looser ratio; and a small, very compressible file below the 1 MiB floor.
  Limits loose;
  loose.max_zip_ratio = 100000;
  EXPECT_EQ(code_of(u.run(bomb, loose)), "ok");
  Unzip small;
  EXPECT_EQ(code_of(small.run(make_zip(small.dir, {{"blank.txt", std::string(512 * 1024, ' ')}}))), "ok");
}

TEST(Zipped, StopsABombThatLiesAboutItsSizeWhileInflating) {
  Unzip u;
  std::string bomb = make_zip(u.dir, {{"bomb.pdf", std::string(8 << 20, '\0')}});
  testing::patch_uncompressed_size(bomb, 1000);  // declared: harmless
  auto r = u.run(bomb);
  EXPECT_EQ(code_of(r), "edxml.zip_ratio");
  EXPECT_NE(r.error().message.find("actual size"), std::string::npos) << r.error().message;
  EXPECT_TRUE(u.out_empty());
}

TEST(Zipped, RefusesAnEntryOverTheAttachmentLimit) {
  Unzip u;
  Limits limits;
  limits.max_attachment_bytes = 1000;
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{"a.pdf", kPdf, ZIP_CM_STORE}}), limits)), "edxml.zip_size");
  EXPECT_TRUE(u.out_empty());
}

TEST(Zipped, RefusesEncryptedEntries) {
  Unzip u;
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{"a.pdf", kPdf, ZIP_CM_DEFLATE, ZIP_EM_AES_256}}))), "edxml.zip_encrypted");
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{"a.pdf", kPdf, ZIP_CM_DEFLATE, ZIP_EM_TRAD_PKWARE}}))),
            "edxml.zip_encrypted");
  EXPECT_TRUE(u.out_empty());
}

TEST(Zipped, RefusesDamagedArchives) {
  Unzip u;
  std::string good = make_zip(u.dir, {{"a.pdf", kPdf}});
  // A byte of the compressed data changed: inflating fails or the CRC-32 does not match.
  std::string flipped = good;
  flipped[30 + 5 + 40] ^= 0x55;  // past the local header (30 bytes) and the name
  auto f = u.run(flipped);
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(f.error().code == "edxml.zip_crc" || f.error().code == "edxml.zip_corrupt") << f.error().code;
  // The CRC-32 itself wrong.
  std::string bad_crc = good;
  for (size_t at : testing::records(bad_crc, "PK\x03\x04")) testing::put_le(bad_crc, at + 14, 0x12345678, 4);
  for (size_t at : testing::records(bad_crc, "PK\x01\x02")) testing::put_le(bad_crc, at + 16, 0x12345678, 4);
  EXPECT_EQ(code_of(u.run(bad_crc)), "edxml.zip_crc");
  EXPECT_EQ(code_of(u.run(good.substr(0, good.size() / 2))), "edxml.zip_corrupt");  // truncated
  EXPECT_EQ(code_of(u.run(kPdf)), "edxml.zip_corrupt");                             // not a ZIP
  EXPECT_EQ(code_of(u.run("")), "edxml.zip_corrupt");
  std::string xz = make_zip(u.dir, {{"a.pdf", kPdf, ZIP_CM_STORE}});
  testing::patch_method(xz, 95);  // XZ: not in Debian's libzip
  EXPECT_EQ(code_of(u.run(xz)), "edxml.zip_method");
  EXPECT_TRUE(u.out_empty());
}

TEST(Zipped, RefusesUnsafeEntriesAndOutputNames) {
  Unzip u;
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{"../../etc/cron.d/x", kPdf}}))), "edxml.zip_name");
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{"docs/a.pdf", kPdf}}))), "edxml.zip_name");
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{".bashrc", kPdf}}))), "edxml.zip_name");
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{"dir/", ""}}))), "edxml.zip_entry");
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{"link.pdf", "/etc/passwd", ZIP_CM_STORE, ZIP_EM_NONE, S_IFLNK | 0777}}))),
            "edxml.zip_entry");
  EXPECT_EQ(code_of(u.run(make_zip(u.dir, {{"a.pdf", kPdf}}), Limits{}, "../a.pdf")), "edxml.attachment_name");
  EXPECT_TRUE(u.out_empty());
  EXPECT_FALSE(std::filesystem::exists(u.dir / "a.pdf"));
}

}  // namespace
}  // namespace edxgate::edxml
