// Test helpers: ZIP archives made with libzip (as the VNPT library would make
// them, and the hostile kinds), and byte patches of their headers.
#pragma once

#include <zip.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/zip.h"
#include "test_util.h"

namespace edxgate::edxml::testing {

using test::ZipEntry;

// The bytes of a ZIP holding `entries`, written by libzip.
inline std::string make_zip(const TempDir& dir, const std::vector<ZipEntry>& entries) {
  return test::make_zip(dir / "", entries);
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
