// Zipped attachments (zipped.h): recognised by name, type and magic;
// unzipped with libzip under limits, streamed to an atomic file.
#include "edxgate/edxml/zipped.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "edxgate/base/digest.h"
#include "edxgate/base/fs.h"

namespace edxgate::edxml {
namespace {

struct ZipDiscard {
  void operator()(zip_t* z) const noexcept { zip_discard(z); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const noexcept { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

constexpr uint64_t kRatioFloor = 1 << 20;              // the ratio limit applies past 1 MiB
constexpr uint64_t kMaxCentralDirectory = 256 * 1024;  // one entry's record is < 200 KiB
constexpr size_t kChunk = 64 * 1024;
constexpr std::string_view kZipMagic("PK\x03\x04", 4);

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string extension_of(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? std::string() : lower_ascii(name.substr(dot + 1));
}

// Formats that are ZIP archives themselves: their magic says nothing.
bool is_zip_based_format(const std::string& ext) {
  static constexpr std::string_view kFormats[] = {"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm",
                                                  "pptx", "pptm", "ppsx", "potx", "odt",  "ods",  "odp",  "odg",
                                                  "ott",  "ots",  "otp",  "epub", "jar",  "war",  "apk",  "xps",
                                                  "oxps", "vsdx", "kmz",  "3mf",  "appx", "ipa"};
  return std::find(std::begin(kFormats), std::end(kFormats), ext) != std::end(kFormats);
}

bool labelled_zip(std::string_view content_type) {
  std::string ct = lower_ascii(content_type.substr(0, content_type.find(';')));
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.pop_back();
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.erase(0, 1);
  return ct == "application/zip" || ct == "application/x-zip" || ct == "application/x-zip-compressed";
}

Error zip_problem(const char* code, const std::string& what, ErrorKind kind = ErrorKind::invalid) {
  return make_error(kind, code, "The zipped attachment cannot be unzipped: " + what + ".");
}

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(le16(p)) | (static_cast<uint32_t>(le16(p + 2)) << 16);
}
uint64_t le64(const unsigned char* p) {
  return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32);
}

Status pread_full(int fd, unsigned char* buf, size_t n, uint64_t offset) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return make_error(ErrorKind::io, "io.read",
                        std::string("Cannot read a zipped attachment: ") + std::strerror(errno) + ".");
    if (r == 0) return zip_problem("edxml.zip_corrupt", "it is truncated");
    got += static_cast<size_t>(r);
  }
  return {};
}

// Reads the end-of-central-directory record (and its ZIP64 form) before
// libzip does: libzip allocates per entry of the central directory, so an
// archive that claims many entries is refused here, with memory bounded.
Status check_central_directory(int fd, uint64_t file_size) {
  constexpr size_t kEocd = 22, kLocator = 20, kZip64Eocd = 56;
  const size_t tail = static_cast<size_t>(std::min<uint64_t>(file_size, kEocd + 65535 + kLocator));
  std::string buf(tail, '\0');
  auto* p = reinterpret_cast<unsigned char*>(buf.data());
  EDX_TRY(pread_full(fd, p, tail, file_size - tail));
  size_t at = std::string::npos;
  for (size_t i = tail >= kEocd ? tail - kEocd + 1 : 0; i-- > 0;) {
    if (p[i] == 'P' && p[i + 1] == 'K' && p[i + 2] == 5 && p[i + 3] == 6) {
      at = i;
      break;
    }
  }
  if (at == std::string::npos)
    return zip_problem("edxml.zip_corrupt", "it is not a ZIP archive (no central directory)");
  uint64_t entries = le16(p + at + 10);
  uint64_t cd_size = le32(p + at + 12);
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF) {  // ZIP64: the real values are elsewhere
    if (at < kLocator || std::memcmp(p + at - kLocator, "PK\x06\x07", 4) != 0) {
      return zip_problem("edxml.zip_corrupt", "its ZIP64 end record is missing");
    }
    uint64_t offset = le64(p + at - kLocator + 8);
    if (offset > file_size || file_size - offset < kZip64Eocd) {
      return zip_problem("edxml.zip_corrupt", "its ZIP64 end record is out of the file");
    }
    unsigned char z[kZip64Eocd];
    EDX_TRY(pread_full(fd, z, sizeof z, offset));
    if (std::memcmp(z, "PK\x06\x06", 4) != 0)
      return zip_problem("edxml.zip_corrupt", "its ZIP64 end record is damaged");
    entries = le64(z + 32);
    cd_size = le64(z + 40);
  }
  if (entries != 1) {
    return zip_problem("edxml.zip_entries",
                       "it holds " + std::to_string(entries) + " entries where one file is expected");
  }
  if (cd_size > kMaxCentralDirectory) {
    return zip_problem("edxml.zip_corrupt", "its central directory is larger than one entry needs");
  }
  return {};
}

Error libzip_error(zip_error_t* e, const char* doing) {
  int code = zip_error_code_zip(e);
  std::string what = std::string(doing) + " (" + zip_error_strerror(e) + ")";
  switch (code) {
    case ZIP_ER_CRC:
      return zip_problem("edxml.zip_crc", "its CRC-32 does not match " + what);
    case ZIP_ER_NOPASSWD:
    case ZIP_ER_WRONGPASSWD:
      return zip_problem("edxml.zip_encrypted", "it is encrypted " + what);
    case ZIP_ER_COMPNOTSUPP:
    case ZIP_ER_ENCRNOTSUPP:
      return zip_problem("edxml.zip_method", "its method is not supported " + what);
    case ZIP_ER_MEMORY:
      throw std::bad_alloc();
    default:
      return zip_problem("edxml.zip_corrupt", "it is damaged " + what);
  }
}

struct Entry {
  std::string name;
  uint64_t size = 0, compressed = 0;
};

// Everything about the one entry that can be refused before inflating it.
Result<Entry> check_entry(zip_t* za, uint64_t file_size) {
  if (zip_get_num_entries(za, 0) != 1) return zip_problem("edxml.zip_entries", "it does not hold exactly one entry");
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(za, 0, 0, &st) != 0) return libzip_error(zip_get_error(za), "reading its entry");
  const char* raw_name = zip_get_name(za, 0, ZIP_FL_ENC_GUESS);
  Entry e;
  e.name = raw_name ? raw_name : "";
  zip_uint8_t opsys = 0;
  zip_uint32_t attributes = 0;
  if (zip_file_get_external_attributes(za, 0, 0, &opsys, &attributes) == 0 && opsys == ZIP_OPSYS_UNIX) {
    const unsigned type = (attributes >> 16) & S_IFMT;
    if (type != 0 && type != S_IFREG)
      return zip_problem("edxml.zip_entry", "its entry is a link or a directory, not a file");
  }
  if (!e.name.empty() && e.name.back() == '/') return zip_problem("edxml.zip_entry", "its entry is a directory");
  if (auto ok = check_attachment_name(e.name); !ok) {
    return zip_problem("edxml.zip_name",
                       "its entry name '" + e.name.substr(0, 80) + "' is unsafe: " + ok.error().message);
  }
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
    return zip_problem("edxml.zip_encrypted", "its entry is encrypted");
  }
  if ((st.valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(st.comp_method, 0)) {
    return zip_problem("edxml.zip_method",
                       "its compression method " + std::to_string(st.comp_method) + " is not supported");
  }
  e.size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
  e.compressed = std::min<uint64_t>((st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : file_size, file_size);
  return e;
}

uint64_t allowed_output(uint64_t compressed, const Limits& limits) {
  uint64_t by_ratio = compressed > UINT64_MAX / std::max<uint32_t>(limits.max_zip_ratio, 1)
                          ? UINT64_MAX
                          : compressed * limits.max_zip_ratio;
  return std::min<uint64_t>(limits.max_attachment_bytes, std::max(kRatioFloor, by_ratio));
}

Status check_output_size(uint64_t size, uint64_t compressed, const Limits& limits, const char* which) {
  if (size > limits.max_attachment_bytes) {
    return zip_problem("edxml.zip_size",
                       std::string(which) + " size is over the attachment limit of " +
                           std::to_string(limits.max_attachment_bytes) + " bytes",
                       ErrorKind::too_large);
  }
  if (size > allowed_output(compressed, limits)) {
    return zip_problem("edxml.zip_ratio",
                       std::string(which) + " size is more than " + std::to_string(limits.max_zip_ratio) +
                           " times its compressed size (a ZIP bomb?)",
                       ErrorKind::too_large);
  }
  return {};
}

}  // namespace

bool is_zipped_attachment(std::string_view name, std::string_view content_type, std::string_view head) {
  const std::string ext = extension_of(name);
  if (ext == "zip") return false;
  if (labelled_zip(content_type)) return true;
  return head.substr(0, 4) == kZipMagic && !is_zip_based_format(ext);
}

Result<bool> is_zipped_attachment_file(const std::string& path, std::string_view name, std::string_view content_type) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    return make_error(ErrorKind::io, "io.read", "Cannot open " + path + ": " + std::strerror(errno) + ".");
  char head[4];
  ssize_t n;
  do {
    n = ::read(fd.get(), head, sizeof head);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return make_error(ErrorKind::io, "io.read", "Cannot read " + path + ": " + std::strerror(errno) + ".");
  return is_zipped_attachment(name, content_type, std::string_view(head, static_cast<size_t>(n)));
}

Result<UnzippedFile> unzip_attachment(const std::string& zip_path, const std::string& out_dir,
                                      const std::string& out_name, const Limits& limits, fs::Durability durability) {
  EDX_TRY(check_attachment_name(out_name));
  fs::UniqueFd fd(::open(zip_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    return make_error(ErrorKind::io, "io.read", "Cannot open " + zip_path + ": " + std::strerror(errno) + ".");
  struct stat sb {};
  if (::fstat(fd.get(), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    return make_error(ErrorKind::io, "io.read", "Cannot read " + zip_path + ": not a regular file.");
  }
  const uint64_t file_size = static_cast<uint64_t>(sb.st_size);
  EDX_TRY(check_central_directory(fd.get(), file_size));

  int open_error = 0;
  ZipPtr za(zip_open(zip_path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &open_error));
  if (!za) {
    zip_error_t e;
    zip_error_init_with_code(&e, open_error);
    Error err = libzip_error(&e, "opening it");
    zip_error_fini(&e);
    return err;
  }
  auto entry = check_entry(za.get(), file_size);
  if (!entry.ok()) return entry.error();
  EDX_TRY(check_output_size(entry->size, entry->compressed, limits, "its declared"));

  ZipFilePtr zf(zip_fopen_index(za.get(), 0, 0));
  if (!zf) return libzip_error(zip_get_error(za.get()), "opening its entry");
  auto out = fs::AtomicFile::create(out_dir);
  if (!out.ok()) return out.error();
  Sha256 sha;
  UnzippedFile result;
  std::string buf(kChunk, '\0');
  for (;;) {
    zip_int64_t n = zip_fread(zf.get(), buf.data(), buf.size());
    if (n < 0) return libzip_error(zip_file_get_error(zf.get()), "inflating its entry");
    if (n == 0) break;
    result.size += static_cast<uint64_t>(n);
    EDX_TRY(check_output_size(result.size, entry->compressed, limits, "its actual"));
    sha.update(buf.data(), static_cast<size_t>(n));
    EDX_TRY(out->write(buf.data(), static_cast<size_t>(n)));
  }
  EDX_TRY(out->commit(out_name, durability));
  result.sha256 = sha.finish();
  result.path = out_dir + "/" + out_name;
  result.name = out_name;
  result.entry_name = entry->name;
  return result;
}

}  // namespace edxgate::edxml
