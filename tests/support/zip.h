// Test helper: the bytes of a ZIP archive made with libzip, as the VNPT
// library makes them (and the hostile kinds: encrypted, links, many entries).
#pragma once

#include <zip.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace edxgate::test {

struct ZipEntry {
  std::string name;
  std::string data;
  zip_int32_t method = ZIP_CM_DEFLATE;
  uint16_t encryption = ZIP_EM_NONE;  // e.g. ZIP_EM_AES_256
  zip_uint32_t unix_mode = 0;         // e.g. S_IFLNK | 0777 for a link
};

// The bytes of a ZIP holding `entries`; `scratch_dir` holds the file briefly.
inline std::string make_zip(const std::string& scratch_dir, const std::vector<ZipEntry>& entries) {
  const std::string path = scratch_dir + "/made.zip";
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!za) throw std::runtime_error("zip_open failed");
  for (const ZipEntry& e : entries) {
    zip_source_t* src = zip_source_buffer(za, e.data.data(), e.data.size(), 0);
    zip_int64_t idx = src ? zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
      const std::string why = zip_strerror(za);
      zip_discard(za);
      throw std::runtime_error("zip_file_add: " + why);
    }
    if (zip_set_file_compression(za, idx, e.method, 0) != 0 ||
        (e.encryption != ZIP_EM_NONE && zip_file_set_encryption(za, idx, e.encryption, "mật khẩu 123") != 0) ||
        (e.unix_mode != 0 && zip_file_set_external_attributes(za, idx, 0, ZIP_OPSYS_UNIX, e.unix_mode << 16) != 0)) {
      zip_discard(za);
      throw std::runtime_error("zip entry settings");
    }
  }
  if (zip_close(za) != 0) {
    zip_discard(za);
    throw std::runtime_error("zip_close failed");
  }
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::filesystem::remove(path);
  return ss.str();
}

}  // namespace edxgate::test
