// libFuzzer target: a zipped attachment as a peer may send it, unzipped
// within small limits. Any input must end in a file or an edxml.zip_* code,
// never a crash, a leak or a file left behind.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "edxgate/edxml/zipped.h"

using namespace edxgate::edxml;

namespace {

// A directory of this process's own, removed at exit.
struct WorkDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("edxml-fuzz-zip-" + std::to_string(::getpid()));
  WorkDir() { std::filesystem::create_directories(path / "out"); }
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

const std::filesystem::path& work_dir() {
  static const WorkDir dir;
  return dir.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)is_zipped_attachment("GUIDE.SIGNED.PDF", "application/zip", bytes.substr(0, 4));
  const std::string in = (work_dir() / "in.zip").string();
  {
    std::ofstream f(in, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  Limits limits;
  limits.max_attachment_bytes = 4 << 20;
  limits.max_zip_ratio = 50;
  const std::string out = (work_dir() / "out").string();
  auto r = unzip_attachment(in, out, "GUIDE.SIGNED.PDF", limits);
  if (r.ok()) {
    if (r->size > limits.max_attachment_bytes || std::filesystem::file_size(r->path) != r->size) std::abort();
    std::filesystem::remove(r->path);
  } else if (r.error().code.rfind("edxml.zip_", 0) != 0) {
    std::fprintf(stderr, "unexpected code %s\n", r.error().code.c_str());
    std::abort();
  }
  if (!std::filesystem::is_empty(out)) std::abort();  // no temp file left
  return 0;
}
