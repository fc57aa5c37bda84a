// Test helpers: ZIP archives made with libzip (as the VNPT library would make
// them, and the hostile kinds), and byte patches of their headers.
#pragma once

#include <zip.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.h"

namespace edxgate::edxml::testing {

struct ZipEntry {
  std::string name;
  std::string data;
  zip_int32_t method = ZIP_CM_DEFLATE;
  uint16_t encryption = ZIP_EM_NONE;  // e.g. ZIP_EM_AES_256
  zip_uint32_t unix_mode = 0;         // e.g. S_IFLNK | 0777 for a link
};

// The bytes of a ZIP holding `entries`, written by libzip.
inline std::string make_zip(const TempDir& dir, const std::vector<ZipEntry>& entries) {
  const std::string path = dir / "made.zip";
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!za) throw std::runtime_error("zip_open failed");
  for (const ZipEntry& e : entries) {
    zip_source_t* src = zip_source_buffer(za, e.data.data(), e.data.size(), 0);
    zip_int64_t idx = src ? zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) throw std::runtime_error(std::string("zip_file_add: ") + zip_strerror(za));
    if (zip_set_file_compression(za, idx, e.method, 0) != 0) throw std::runtime_error("compression");
    if (e.encryption != ZIP_EM_NONE &&
        zip_file_set_encryption(za, idx, e.encryption, "mật khẩu 123") != 0) {
      throw std::runtime_error("encryption");
    }
    if (e.unix_mode != 0 &&
        zip_file_set_external_attributes(za, idx, 0, ZIP_OPSYS_UNIX, e.unix_mode << 16) != 0) {
      throw std::runtime_error("attributes");
    }
  }
  if (zip_close(za) != 0) throw std::runtime_error("zip_close failed");
  std::string bytes = read_text(path);
  std::filesystem::remove(path);
  return bytes;
}

inline void put_le(std::string& s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.at(at + i) = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Offsets of every record with a 4-byte signature ("PK\1\2", "PK\3\4", ...).
inline std::vector<size_t> records(const std::string& zip, const char* sig) {
  std::vector<size_t> at;
  for (size_t i = zip.find(sig, 0, 4); i != std::string::npos; i = zip.find(sig, i + 1, 4)) at.push_back(i);
  return at;
}

// Rewrites the uncompressed size (in the local and the central header).
inline void patch_uncompressed_size(std::string& zip, uint32_t size) {
  for (size_t at : records(zip, "PK\x03\x04")) put_le(zip, at + 22, size, 4);
  for (size_t at : records(zip, "PK\x01\x02")) put_le(zip, at + 24, size, 4);
}

// Rewrites the compression method (in the local and the central header).
inline void patch_method(std::string& zip, uint16_t method) {
  for (size_t at : records(zip, "PK\x03\x04")) put_le(zip, at + 8, method, 2);
  for (size_t at : records(zip, "PK\x01\x02")) put_le(zip, at + 10, method, 2);
}

// Rewrites the entry counts of the end-of-central-directory record.
inline void patch_entry_count(std::string& zip, uint16_t count) {
  size_t at = records(zip, "PK\x05\x06").back();
  put_le(zip, at + 8, count, 2);
  put_le(zip, at + 10, count, 2);
}

}  // namespace edxgate::edxml::testing
