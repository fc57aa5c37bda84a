// Parser limits for edXML input; the gateway fills them from [edxml].
#pragma once

#include <cstdint>

namespace edxgate::edxml {

struct Limits {
  uint32_t max_depth = 64;
  uint64_t max_nodes = 100000;
  uint32_t max_attributes = 32;
  uint64_t max_text_bytes = 1024 * 1024;
  uint32_t max_attachments = 200;
  uint64_t max_attachment_bytes = 512ull * 1024 * 1024;
  uint64_t max_total_bytes = 2ull * 1024 * 1024 * 1024;
  uint32_t parse_timeout_s = 120;
  // A zipped attachment (zipped.h) may unzip to at most max_attachment_bytes
  // and, beyond its first MiB, to at most this many times its compressed size.
  uint32_t max_zip_ratio = 200;
};

}  // namespace edxgate::edxml
