// libFuzzer target: the multipart/form-data parser over arbitrary bytes.
// Oracles: the form (or the error code) does not depend on how the body is cut
// into reads; a file part's spool file holds exactly `size` bytes; accepted
// file names carry no '/', '\\' or NUL; and no spool file outlives its form,
// whether the parse succeeded or failed.
#include <dirent.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "edxgate/gateway/multipart.h"

using namespace edxgate::gateway;

namespace {

const std::string& spool_dir() {
  static const std::string dir = [] {
    std::string tmpl = "/tmp/edxgate-fuzz-multipart-XXXXXX";
    if (!::mkdtemp(tmpl.data())) std::abort();
    return tmpl;
  }();
  return dir;
}

bool spool_empty() {
  DIR* d = ::opendir(spool_dir().c_str());
  if (!d) std::abort();
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n != "." && n != "..") empty = false;
  }
  ::closedir(d);
  return empty;
}

std::string contents(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string describe(const MultipartForm& f) {
  std::string out;
  for (const auto& p : f.parts) {
    if (p.filename.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) std::abort();
    std::string bytes = p.path.empty() ? p.value : contents(p.path);
    if (bytes.size() != p.size) std::abort();
    out += p.name + '\x01' + p.filename + '\x01' + p.content_type + '\x01' + bytes + '\x02';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)multipart_boundary(bytes.substr(0, 120));

  MultipartLimits limits;
  limits.max_parts = 8;
  limits.max_part_header_bytes = 512;
  limits.max_field_bytes = 256;
  limits.max_file_bytes = 4096;
  limits.max_fields_total_bytes = 1024;
  {
    MultipartProbe whole;
    MultipartProbe cut;
    cut.chunk_size = 1 + data[0] % 64;
    auto a = parse_multipart_bytes(bytes, "fz", spool_dir(), limits, whole);
    auto b = parse_multipart_bytes(bytes, "fz", spool_dir(), limits, cut);
    if (a.ok() != b.ok()) std::abort();
    if (!a.ok() && a.error().code != b.error().code) std::abort();
    if (a.ok() && describe(*a) != describe(*b)) std::abort();
    // One read plus what may stay behind: a header section, a delimiter line.
    if (cut.peak_buffer > cut.chunk_size + limits.max_part_header_bytes + 512) std::abort();
  }
  if (!spool_empty()) std::abort();
  return 0;
}
