// multipart/form-data parsing: the forms POST /v1/outgoing receives, the
// Vietnamese file names they carry, a 30 MB file streamed from a spooled body,
// every malformed shape we refuse, and no spool file left behind on error.
#include "edxgate/gateway/multipart.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "test_support.h"

namespace edxgate::gateway {
namespace {

using edxgate::testing::read_text;
using edxgate::testing::TempDir;

constexpr std::string_view kBoundary = "----edxgateB0und4ry";
const std::string kContentType = "multipart/form-data; boundary=" + std::string(kBoundary);

std::string lines(std::initializer_list<std::string_view> ls) {
  std::string out;
  for (auto l : ls) {
    out += l;
    out += "\r\n";
  }
  return out;
}

const std::string kDelim = "--" + std::string(kBoundary);
const std::string kClose = "--" + std::string(kBoundary) + "--";
const std::string kMetadata = R"({"subject":"Công văn 251","to":["000.00.00.H41"]})";

// A normal submission: preamble, a metadata field, two attachments, epilogue.
std::string normal_form() {
  return "this preamble is ignored\r\n" +
         lines({kDelim, "Content-Disposition: form-data; name=\"metadata\"", "Content-Type: application/json", "",
                kMetadata, kDelim, "Content-Disposition: form-data; name=\"attachment\"; filename=\"cv251.pdf\"",
                "Content-Type: application/pdf", "X-Ignored: yes", "", "%PDF-1.7\r\n--not-a-boundary\r\n\r\n%%EOF",
                kDelim, "content-disposition: FORM-DATA; NAME=attachment; FileName=phuluc.xlsx", "",
                std::string("\0\r\n-\r\n--\r\n--", 12), kClose}) +
         "and an epilogue, also ignored\r\n--" + std::string(kBoundary) + "--\r\n";
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

Body spooled_body(std::string_view bytes, const std::string& dir) {
  Body b;
  EXPECT_TRUE(b.append(bytes.data(), bytes.size(), 0, dir).ok());
  b.finish();
  EXPECT_TRUE(b.in_file());
  return b;
}

// The parts as one comparable string (file parts by their contents).
std::string describe(const MultipartForm& f) {
  std::string out;
  for (const auto& p : f.parts) {
    out += p.name + "|" + p.filename + "|" + p.content_type + "|" + std::to_string(p.size) + "|";
    out += p.path.empty() ? p.value : read_text(p.path);
    out += "\n";
  }
  return out;
}

TEST(Multipart, BoundaryComesFromAFormDataContentType) {
  EXPECT_EQ(*multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(*multipart_boundary("Multipart/Form-Data;BOUNDARY=\"a b:c\";charset=utf-8"), "a b:c");
  auto ows = multipart_boundary("multipart/form-data ; boundary = \"x-y\" ");
  ASSERT_TRUE(ows.ok()) << ows.error().message;
  EXPECT_EQ(*ows, "x-y");
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"x\\\"\"").ok()) << "'\"' is no bchar";
}

TEST(Multipart, BoundaryRefusesOtherTypesAndBadBoundaries) {
  for (std::string_view ct : {"application/json", "multipart/mixed; boundary=abc", "multipart/form-data",
                              "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
                              "multipart/form-data; boundary=\"abc \"", "multipart/form-data; boundary=a\"b",
                              "multipart/form-data; boundary=ab@c", "multipart/form-data; boundary=a; boundary=b",
                              "multipart/form-data; boundary=\"abc", "", "multipart/form-data; =abc",
                              "multipart/form-data; boundary=\"x\\y\""}) {
    auto r = multipart_boundary(ct);
    ASSERT_FALSE(r.ok()) << ct;
    EXPECT_EQ(r.error().code, "multipart.content_type") << ct;
  }
  EXPECT_TRUE(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'b')).ok());
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'b')).ok());
}

TEST(Multipart, ParsesASubmissionWithMetadataAndAttachments) {
  TempDir spool;
  Body body;
  std::string bytes = normal_form();
  ASSERT_TRUE(body.append(bytes.data(), bytes.size(), 1 << 20, spool.path()).ok());
  auto form = parse_multipart(body, kContentType, spool.path(), MultipartLimits{});
  ASSERT_TRUE(form.ok()) << form.error().code << ": " << form.error().message;
  ASSERT_EQ(form->parts.size(), 3u);

  const MultipartPart* meta = form->field("metadata");
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->value, kMetadata);
  EXPECT_EQ(meta->size, kMetadata.size());
  EXPECT_EQ(meta->content_type, "application/json");
  EXPECT_TRUE(meta->path.empty());
  EXPECT_FALSE(meta->is_file());

  const MultipartPart& pdf = form->parts[1];
  EXPECT_EQ(pdf.name, "attachment");
  EXPECT_EQ(pdf.filename, "cv251.pdf");
  EXPECT_EQ(pdf.content_type, "application/pdf");
  EXPECT_EQ(read_text(pdf.path), "%PDF-1.7\r\n--not-a-boundary\r\n\r\n%%EOF");
  EXPECT_EQ(pdf.size, std::string_view("%PDF-1.7\r\n--not-a-boundary\r\n\r\n%%EOF").size());
  EXPECT_EQ(form->field("attachment"), &pdf) << "field() finds the first part of that name";

  const MultipartPart& xlsx = form->parts[2];
  EXPECT_EQ(xlsx.filename, "phuluc.xlsx");
  EXPECT_EQ(xlsx.content_type, "application/octet-stream");
  EXPECT_EQ(read_text(xlsx.path), std::string("\0\r\n-\r\n--\r\n--", 12));

  struct stat st {};
  ASSERT_EQ(::stat(pdf.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::filesystem::path(pdf.path).parent_path(), spool.path());
  EXPECT_EQ(form->field("nope"), nullptr);
}

TEST(Multipart, AcceptsPaddingAfterDelimitersAndFieldsWithDefaults) {
  TempDir spool;
  std::string bytes = kDelim + " \t\r\n" +
                      lines({"Content-Disposition: form-data; name=\"note\"", "", "dòng 1\r\ndòng 2", kDelim,
                             "Content-Disposition: form-data; name=\"empty\"", "", "", kDelim,
                             "Content-Disposition: form-data; name=\"f\"; filename=\"empty.txt\"",
                             "Content-Transfer-Encoding: binary", ""}) +
                      // No line between the headers and the close delimiter
                      // (RFC 2046 allows it for an empty body), no CRLF after it.
                      kClose;
  auto form = parse_multipart_bytes(bytes, kBoundary, spool.path(), MultipartLimits{});
  ASSERT_TRUE(form.ok()) << form.error().message;
  ASSERT_EQ(form->parts.size(), 3u);
  EXPECT_EQ(form->parts[0].value, "dòng 1\r\ndòng 2");
  EXPECT_EQ(form->parts[0].content_type, "text/plain");
  EXPECT_EQ(form->parts[1].value, "");
  EXPECT_EQ(form->parts[2].size, 0u);
  EXPECT_EQ(read_text(form->parts[2].path), "");
}

TEST(Multipart, VietnameseFileNameFromFilenameStarWins) {
  TempDir spool;
  std::string bytes = lines(
      {kDelim,
       "Content-Disposition: form-data; name=\"attachment\"; filename=\"Quyet dinh.pdf\"; "
       "filename*=UTF-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh.pdf",
       "", "pdf", kDelim,
       // Raw UTF-8 in a quoted filename, as browsers send it, kept as sent
       // (decomposed: "e" + combining acute, not normalised to NFC).
       "Content-Disposition: form-data; name=\"attachment\"; filename=\"Phu\xcc\x9b\xcc\x81 lu\xcc\xa3\x63.docx\"", "",
       "docx", kClose});
  auto form = parse_multipart_bytes(bytes, kBoundary, spool.path(), MultipartLimits{});
  ASSERT_TRUE(form.ok()) << form.error().message;
  EXPECT_EQ(form->parts[0].filename, "Quyết định.pdf");
  EXPECT_EQ(form->parts[1].filename, "Phu\xcc\x9b\xcc\x81 lu\xcc\xa3\x63.docx");
}

TEST(Multipart, QuotedValuesUnescapeAndParameterNamesIgnoreCase) {
  TempDir spool;
  std::string bytes =
      lines({kDelim, R"(Content-Disposition: form-data; NaMe="a \"quoted\" \\ name"; FILENAME="x \"1\".pdf")", "", "x",
             kClose});
  auto form = parse_multipart_bytes(bytes, kBoundary, spool.path(), MultipartLimits{});
  ASSERT_TRUE(form.ok()) << form.error().message;
  EXPECT_EQ(form->parts[0].name, R"(a "quoted" \ name)");
  EXPECT_EQ(form->parts[0].filename, R"(x "1".pdf)");
}

TEST(Multipart, FormOwnsItsFilesUntilTaken) {
  TempDir spool;
  std::string kept;
  std::string dropped;
  {
    auto form = parse_multipart_bytes(normal_form(), kBoundary, spool.path(), MultipartLimits{});
    ASSERT_TRUE(form.ok());
    EXPECT_EQ(form->take_file(0), "") << "a field has no file";
    EXPECT_EQ(form->take_file(99), "");
    kept = form->take_file(1);
    dropped = form->parts[2].path;
    EXPECT_TRUE(form->parts[1].path.empty());
    MultipartForm moved = std::move(*form);
    EXPECT_TRUE(std::filesystem::exists(dropped));
  }
  EXPECT_TRUE(std::filesystem::exists(kept));
  EXPECT_FALSE(std::filesystem::exists(dropped));
  std::filesystem::remove(kept);
  EXPECT_TRUE(dir_entries(spool.path()).empty());
}

// The delimiter, the CRLF before it, the header lines and the close delimiter
// may each be split across reads: every chunk size gives the same form.
TEST(Multipart, EveryChunkSizeGivesTheSameForm) {
  TempDir spool;
  TempDir bodies;
  std::string bytes = normal_form();
  auto whole = parse_multipart_bytes(bytes, kBoundary, spool.path(), MultipartLimits{});
  ASSERT_TRUE(whole.ok());
  std::string want = describe(*whole);
  Body spooled = spooled_body(bytes, bodies.path());
  for (size_t chunk = 1; chunk <= bytes.size() + 1; ++chunk) {
    MultipartProbe probe;
    probe.chunk_size = chunk;
    auto f = parse_multipart_bytes(bytes, kBoundary, spool.path(), MultipartLimits{}, probe);
    ASSERT_TRUE(f.ok()) << "chunk " << chunk << ": " << f.error().message;
    EXPECT_EQ(describe(*f), want) << "chunk " << chunk;
    MultipartProbe file_probe;
    file_probe.chunk_size = chunk;
    auto g = parse_multipart(spooled, kContentType, spool.path(), MultipartLimits{}, file_probe);
    ASSERT_TRUE(g.ok()) << "spooled, chunk " << chunk << ": " << g.error().message;
    EXPECT_EQ(describe(*g), want) << "spooled, chunk " << chunk;
  }
  *whole = MultipartForm{};
  EXPECT_TRUE(dir_entries(spool.path()).empty());
}

std::string sha256_hex(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

long vm_hwm_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A 30 MB attachment from a spooled body: streamed to its spool file with a
// bounded buffer, same bytes out as in. The content is strewn with prefixes of
// the delimiter so that near-misses fall on every chunk border.
TEST(Multipart, ThirtyMegabyteFileStreamsFromASpooledBodyInBoundedMemory) {
  TempDir spool;
  TempDir bodies;
  using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
  MdCtx in_md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  ASSERT_TRUE(EVP_DigestInit_ex(in_md.get(), EVP_sha256(), nullptr));

  Body body;
  auto put = [&](std::string_view s) { ASSERT_TRUE(body.append(s.data(), s.size(), 0, bodies.path()).ok()); };
  put(lines({kDelim, "Content-Disposition: form-data; name=\"metadata\"", "", kMetadata, kDelim,
             "Content-Disposition: form-data; name=\"attachment\"; filename=\"big.bin\"",
             "Content-Type: application/octet-stream", ""}));
  const uint64_t kFileBytes = 30ull * 1000 * 1000;
  std::mt19937_64 rng(251);
  std::string piece;
  uint64_t written = 0;
  const std::string near = "\r\n" + kDelim;
  while (written < kFileBytes) {
    piece.clear();
    while (piece.size() < (1u << 20)) {
      uint64_t r = rng();
      if ((r & 0xff) == 0) {
        // Never the whole delimiter, and nothing that could complete one.
        piece += near.substr(0, 1 + (r >> 8) % (near.size() - 1));
        piece += '\0';
      } else {
        piece.append(reinterpret_cast<const char*>(&r), sizeof r);
      }
    }
    piece.resize(std::min<uint64_t>(piece.size(), kFileBytes - written));
    ASSERT_TRUE(EVP_DigestUpdate(in_md.get(), piece.data(), piece.size()));
    put(piece);
    written += piece.size();
  }
  put("\r\n" + kClose + "\r\n");
  body.finish();
  ASSERT_TRUE(body.in_file());
  std::string want = sha256_hex(in_md.get());

  long hwm_before = vm_hwm_kib();
  MultipartProbe probe;
  auto form = parse_multipart(body, kContentType, spool.path(), MultipartLimits{}, probe);
  long hwm_after = vm_hwm_kib();
  ASSERT_TRUE(form.ok()) << form.error().message;
  ASSERT_EQ(form->parts.size(), 2u);
  EXPECT_EQ(form->parts[0].value, kMetadata);
  const MultipartPart& big = form->parts[1];
  EXPECT_EQ(big.size, kFileBytes);
  EXPECT_EQ(std::filesystem::file_size(big.path), kFileBytes);

  MdCtx out_md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  ASSERT_TRUE(EVP_DigestInit_ex(out_md.get(), EVP_sha256(), nullptr));
  std::ifstream f(big.path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    ASSERT_TRUE(EVP_DigestUpdate(out_md.get(), buf.data(), static_cast<size_t>(f.gcount())));
  }
  EXPECT_EQ(sha256_hex(out_md.get()), want);

  // One read plus what a read may leave behind (a header section at most).
  EXPECT_LE(probe.peak_buffer, probe.chunk_size + MultipartLimits{}.max_part_header_bytes + 512);
  // Loosely: the peak RSS did not grow by anything like the file's size.
  if (hwm_before > 0 && hwm_after > 0) {
    EXPECT_LT(hwm_after - hwm_before, 8 * 1024) << "KiB";
  }
}

struct BadCase {
  const char* what;
  std::string bytes;
  const char* code;
  MultipartLimits limits{};
};

std::string file_part(std::string_view name = "attachment", std::string_view content = "%PDF-1.7 ...") {
  return lines(
      {kDelim, "Content-Disposition: form-data; name=\"" + std::string(name) + "\"; filename=\"a.pdf\"", "", content});
}

std::string with_filename(std::string_view param) {
  return lines({kDelim, "Content-Disposition: form-data; name=\"attachment\"; " + std::string(param), "", "x", kClose});
}

std::vector<BadCase> bad_cases() {
  std::vector<BadCase> c;
  auto add = [&](const char* what, std::string bytes, const char* code) {
    c.push_back(BadCase{what, std::move(bytes), code, MultipartLimits{}});
  };
  std::string ok = file_part() + kClose + "\r\n";
  add("empty body", "", "multipart.malformed");
  add("no delimiter line at all", "just some text\r\n", "multipart.malformed");
  add("missing closing delimiter", file_part(), "multipart.truncated");
  add("cut inside a file", ok.substr(0, ok.size() / 2), "multipart.truncated");
  add("cut inside the headers", kDelim + "\r\nContent-Disposition: form-da", "multipart.truncated");
  add("cut after the delimiter", file_part() + kDelim, "multipart.truncated");
  add("cut after a dash of the close delimiter", file_part() + kDelim + "-", "multipart.truncated");
  add("close delimiter only", kClose + "\r\n", "multipart.empty");
  add("base64 transfer encoding",
      file_part() + lines({kDelim, "Content-Disposition: form-data; name=\"b\"", "Content-Transfer-Encoding: base64",
                           "", "eA==", kClose}),
      "multipart.encoding");
  add("quoted-printable transfer encoding",
      lines({kDelim, "Content-Disposition: form-data; name=\"b\"", "Content-Transfer-Encoding: quoted-printable", "",
             "x", kClose}),
      "multipart.encoding");
  add("missing name",
      file_part() + lines({kDelim, "Content-Disposition: form-data; filename=\"a.pdf\"", "", "x", kClose}),
      "multipart.disposition");
  add("empty name", lines({kDelim, "Content-Disposition: form-data; name=\"\"", "", "x", kClose}),
      "multipart.disposition");
  add("no Content-Disposition", file_part() + lines({kDelim, "Content-Type: text/plain", "", "x", kClose}),
      "multipart.disposition");
  add("attachment disposition", lines({kDelim, "Content-Disposition: attachment; name=\"a\"", "", "x", kClose}),
      "multipart.disposition");
  add("unterminated quoted name", lines({kDelim, "Content-Disposition: form-data; name=\"a", "", "x", kClose}),
      "multipart.disposition");
  add("backslash escaping a letter", lines({kDelim, R"(Content-Disposition: form-data; name="a\b")", "", "x", kClose}),
      "multipart.disposition");
  add("repeated name parameter",
      lines({kDelim, "Content-Disposition: form-data; name=\"a\"; NAME=\"b\"", "", "x", kClose}),
      "multipart.disposition");
  add("file name with a slash", file_part() + with_filename("filename=\"../../etc/passwd\""), "multipart.filename");
  add("file name with a backslash", with_filename(R"(filename="C:\\Users\\a.pdf")"), "multipart.filename");
  add("file name ..", with_filename("filename=\"..\""), "multipart.filename");
  add("file name .", with_filename("filename=."), "multipart.filename");
  add("empty file name", with_filename("filename=\"\""), "multipart.filename");
  add("file name with NUL", with_filename(std::string("filename=\"a\0.pdf\"", 17)), "multipart.filename");
  add("file name with a control character", with_filename("filename=\"a\x1b.pdf\""), "multipart.filename");
  add("file name with DEL", with_filename("filename=\"a\x7f.pdf\""), "multipart.filename");
  add("filename* with NUL", with_filename("filename*=UTF-8''a%00.pdf"), "multipart.filename");
  add("filename* with a C1 control", with_filename("filename*=UTF-8''a%C2%85.pdf"), "multipart.filename");
  add("filename* with a slash", with_filename("filename=\"ok.pdf\"; filename*=UTF-8''..%2Fx.pdf"),
      "multipart.filename");
  add("filename* of ..", with_filename("filename*=UTF-8''%2E%2E"), "multipart.filename");
  add("filename* not UTF-8", with_filename("filename*=ISO-8859-1''Quy%E9t.pdf"), "multipart.filename");
  add("filename* bad escape", with_filename("filename*=UTF-8''a%G0.pdf"), "multipart.filename");
  add("filename* without charset", with_filename("filename*=a.pdf"), "multipart.filename");
  add("file name not UTF-8", with_filename("filename=\"Quy\xe9t.pdf\""), "multipart.filename");
  add("file name overlong UTF-8", with_filename("filename*=UTF-8''%C0%AE%C0%AE"), "multipart.filename");
  add("header line ending in LF only",
      kDelim + "\r\nContent-Disposition: form-data; name=\"a\"\n\r\nx\r\n" + kClose + "\r\n", "multipart.crlf");
  add("header line with a bare CR", kDelim + "\r\nContent-Disposition: form-data;\r name=\"a\"\r\n\r\nx\r\n" + kClose,
      "multipart.crlf");
  std::string lf_only = file_part() + kClose + "\r\n";
  for (size_t i; (i = lf_only.find("\r\n")) != std::string::npos;) lf_only.erase(i, 1);
  add("LF-only body", lf_only, "multipart.crlf");
  add("LF-only body with a preamble", "preamble\n" + lf_only, "multipart.crlf");
  add("delimiter line ending in LF only", file_part() + kDelim + "\nContent-Disposition: form-data; name=\"b\"\r\n",
      "multipart.crlf");
  add("delimiter preceded by LF only", file_part("a", "data\n" + kClose), "multipart.crlf");
  add("delimiter followed by a bare CR", kDelim + "\rX", "multipart.crlf");
  add("a line that starts with the boundary", file_part("a", "some\r\n" + kDelim + "xyz\r\nmore") + kClose,
      "multipart.malformed");
  add("a line that starts with the boundary and one dash", file_part() + kDelim + "-x\r\n", "multipart.malformed");
  add("folded header", kDelim + "\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nx\r\n" + kClose,
      "multipart.header");
  add("header without colon", lines({kDelim, "Content-Disposition form-data; name=\"a\"", "", "x", kClose}),
      "multipart.header");
  add("repeated Content-Disposition",
      lines({kDelim, "Content-Disposition: form-data; name=\"a\"", "Content-Disposition: form-data; name=\"b\"", "",
             "x", kClose}),
      "multipart.header");
  add("control character in Content-Type",
      lines({kDelim, "Content-Disposition: form-data; name=\"a\"", "Content-Type: text/plain\x01", "", "x", kClose}),
      "multipart.header");
  add("no empty line after the headers", lines({kDelim, "Content-Disposition: form-data; name=\"a\"", kClose}),
      "multipart.header");
  add("header section too long",
      lines(
          {kDelim, "Content-Disposition: form-data; name=\"a\"", "X-Pad: " + std::string(9000, 'p'), "", "x", kClose}),
      "multipart.header_too_large");
  add("one endless header line", kDelim + "\r\nX-Pad: " + std::string(20000, 'p'), "multipart.header_too_large");

  MultipartLimits few;
  few.max_parts = 3;
  c.push_back({"too many parts", file_part() + file_part() + file_part() + file_part() + kClose,
               "multipart.too_many_parts", few});
  MultipartLimits small;
  small.max_field_bytes = 10;
  small.max_file_bytes = 100;
  small.max_fields_total_bytes = 15;
  c.push_back(
      {"oversize field",
       file_part() + lines({kDelim, "Content-Disposition: form-data; name=\"metadata\"", "", "12345678901", kClose}),
       "http.too_large", small});
  c.push_back({"oversize file", file_part("attachment", std::string(101, 'z')) + kClose, "http.too_large", small});
  c.push_back({"fields too large together",
               lines({kDelim, "Content-Disposition: form-data; name=\"a\"", "", "1234567890", kDelim,
                      "Content-Disposition: form-data; name=\"b\"", "", "123456", kClose}),
               "http.too_large", small});
  return c;
}

TEST(Multipart, RefusesEveryMalformedShapeAtEveryChunkSizeLeavingNoFile) {
  TempDir spool;
  for (const BadCase& bc : bad_cases()) {
    std::vector<size_t> chunks;
    for (size_t n = 1; n <= bc.bytes.size() + 1; n += (bc.bytes.size() > 4000 ? 997 : 1)) chunks.push_back(n);
    chunks.push_back(64 * 1024);
    for (size_t chunk : chunks) {
      MultipartProbe probe;
      probe.chunk_size = chunk;
      auto r = parse_multipart_bytes(bc.bytes, kBoundary, spool.path(), bc.limits, probe);
      ASSERT_FALSE(r.ok()) << bc.what << ", chunk " << chunk;
      EXPECT_EQ(r.error().code, bc.code) << bc.what << ", chunk " << chunk << ": " << r.error().message;
      EXPECT_FALSE(r.error().message.empty());
      ASSERT_TRUE(dir_entries(spool.path()).empty()) << bc.what << ", chunk " << chunk << " left a file";
    }
  }
}

TEST(Multipart, ErrorsSayWhatToFix) {
  TempDir spool;
  std::string lf_only = file_part() + kClose + "\r\n";
  for (size_t i; (i = lf_only.find("\r\n")) != std::string::npos;) lf_only.erase(i, 1);
  auto r = parse_multipart_bytes(lf_only, kBoundary, spool.path(), MultipartLimits{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("CRLF"), std::string::npos) << r.error().message;
  auto t = parse_multipart_bytes(file_part(), kBoundary, spool.path(), MultipartLimits{});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("closing delimiter"), std::string::npos) << t.error().message;
}

TEST(Multipart, LimitsAreInclusive) {
  TempDir spool;
  MultipartLimits l;
  l.max_parts = 3;
  l.max_field_bytes = 10;
  l.max_file_bytes = 100;
  std::string bytes = file_part("attachment", std::string(100, 'z')) +
                      lines({kDelim, "Content-Disposition: form-data; name=\"metadata\"", "", "1234567890"}) +
                      file_part() + kClose;
  auto form = parse_multipart_bytes(bytes, kBoundary, spool.path(), l);
  ASSERT_TRUE(form.ok()) << form.error().message;
  EXPECT_EQ(form->parts.size(), 3u);
  EXPECT_EQ(form->parts[0].size, 100u);
}

TEST(Multipart, ParseOfABodyChecksItsContentType) {
  TempDir spool;
  Body body;
  std::string bytes = normal_form();
  ASSERT_TRUE(body.append(bytes.data(), bytes.size(), 1 << 20, spool.path()).ok());
  auto r = parse_multipart(body, "multipart/form-data", spool.path(), MultipartLimits{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "multipart.content_type");
  auto w = parse_multipart(body, "multipart/form-data; boundary=other", spool.path(), MultipartLimits{});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "multipart.malformed") << "no delimiter of that boundary";
  auto bad = parse_multipart_bytes(bytes, "bad@boundary", spool.path(), MultipartLimits{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "multipart.content_type");
}

TEST(Multipart, UnwritableSpoolDirectoryIsAnErrorNotACrash) {
  auto r = parse_multipart_bytes(normal_form(), kBoundary, "/nonexistent/edxgate-spool", MultipartLimits{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "io.spool");
}

}  // namespace
}  // namespace edxgate::gateway
