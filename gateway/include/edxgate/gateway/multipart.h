// multipart/form-data request bodies (RFC 7578 over RFC 2046), parsed as a
// stream: POST /v1/outgoing sends one `metadata` part (JSON text) and N
// `attachment` parts (files, some of them hundreds of MB).
//
// Plain fields are kept in memory; each file part is written, as it arrives,
// to a private file (0600) in the spool directory, so memory use does not grow
// with the size of the files. The parser is strict where lenient parsers
// differ: CRLF line ends only, a line that starts with the delimiter must be a
// delimiter, no header folding, file names are checked and never rewritten.
// Every failure is a Result error ("multipart.*", or "http.too_large" for an
// oversize field or file so the API can answer 413); after a failure no spool
// file is left behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/result.h"
#include "edxgate/gateway/http.h"

namespace edxgate::gateway {

struct MultipartLimits {
  uint32_t max_parts = 210;
  uint32_t max_part_header_bytes = 8 * 1024;       // all header lines of one part, CRLFs included
  uint64_t max_field_bytes = 1024 * 1024;          // a part without filename (kept in memory)
  uint64_t max_file_bytes = 512ull * 1024 * 1024;  // one file part
  // All plain fields together: without it max_parts fields of max_field_bytes
  // would all sit in memory at once.
  uint64_t max_fields_total_bytes = 8ull * 1024 * 1024;
};

struct MultipartPart {
  std::string name;          // form field name (Content-Disposition name=), bytes as sent
  std::string filename;      // "" for a plain field; filename* (RFC 5987, UTF-8'') wins over
                             // filename=; checked (no '/', '\\', control chars, "." or "..",
                             // valid UTF-8), NFC untouched, bytes as sent
  std::string content_type;  // as sent; default "text/plain" for fields,
                             // "application/octet-stream" for files
  std::string value;         // fields: the bytes
  std::string path;          // files: a private file in the spool dir holding the bytes (0600)
  uint64_t size = 0;         // bytes in value or in the file
  bool is_file() const { return !filename.empty(); }
};

// The parts of a form, in order. Owns the spool files of its file parts:
// destruction unlinks every file whose path is still non-empty.
class MultipartForm {
 public:
  std::vector<MultipartPart> parts;

  MultipartForm() = default;
  ~MultipartForm();
  MultipartForm(MultipartForm&& o) noexcept;
  MultipartForm& operator=(MultipartForm&& o) noexcept;
  MultipartForm(const MultipartForm&) = delete;
  MultipartForm& operator=(const MultipartForm&) = delete;

  // Returns part `index`'s spool file path and forgets it: the caller now owns
  // the file (must rename or remove it). "" for a field or an index out of range.
  std::string take_file(size_t index);
  // The first part named `name`, or nullptr.
  const MultipartPart* field(std::string_view name) const;

 private:
  void unlink_files() noexcept;
};

// The boundary parameter of a multipart/form-data Content-Type. Error
// "multipart.content_type" if the type is not multipart/form-data or the
// boundary is absent, repeated or invalid (RFC 2046: 1..70 bchars, not ending
// in a space).
Result<std::string> multipart_boundary(std::string_view content_type);

// For tests and fuzzing: the read size, and what the parser reports back.
struct MultipartProbe {
  size_t chunk_size = 64 * 1024;  // bytes read (or fed from memory) at a time, >= 1
  size_t peak_buffer = 0;         // out: the largest the parser's input buffer grew
};

// Parses a whole request body, in memory or spooled to a file (read in chunks
// of 64 KiB). `spool_dir` receives the file parts.
Result<MultipartForm> parse_multipart(const Body& body, std::string_view content_type, const std::string& spool_dir,
                                      const MultipartLimits& limits);
Result<MultipartForm> parse_multipart(const Body& body, std::string_view content_type, const std::string& spool_dir,
                                      const MultipartLimits& limits, MultipartProbe& probe);

// The same over bytes in memory with a known boundary (tests, fuzzing).
Result<MultipartForm> parse_multipart_bytes(std::string_view bytes, std::string_view boundary,
                                            const std::string& spool_dir, const MultipartLimits& limits);
Result<MultipartForm> parse_multipart_bytes(std::string_view bytes, std::string_view boundary,
                                            const std::string& spool_dir, const MultipartLimits& limits,
                                            MultipartProbe& probe);

}  // namespace edxgate::gateway
