// Pack (file -> envelope) and unpack (envelope -> files) of one attachment of
// 1, 10 and 100 MB, against the floor of the coreutils doing the same byte
// work in the same run:
//   pack floor   = `base64 -w 76 FILE >ENC; sha256sum FILE`
//   unpack floor = `base64 -d ENC >OUT;     sha256sum OUT`
// Counters: MB_per_s (ours), floor_MB_per_s, x_floor (our time / floor time,
// lower is better), peak_rss_MB (a fresh child process doing one operation:
// it must stay flat as the attachment grows).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"

namespace {

using namespace edxgate::edxml;
namespace fsys = std::filesystem;

struct Workdir {
  fsys::path root;
  Workdir() {
    root = fsys::temp_directory_path() / ("edxml-bench-" + std::to_string(::getpid()));
    fsys::create_directories(root);
  }
  ~Workdir() { fsys::remove_all(root); }
  std::string operator/(const std::string& n) const { return (root / n).string(); }
};

Workdir& work() {
  static Workdir w;
  return w;
}

std::string make_input(size_t mb) {
  std::string path = work() / ("in-" + std::to_string(mb) + ".bin");
  if (fsys::exists(path)) return path;
  std::ofstream f(path, std::ios::binary);
  std::string block(1 << 20, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull + mb;
  for (size_t i = 0; i < mb; ++i) {
    for (size_t j = 0; j < block.size(); j += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(&block[j], &x, 8);
    }
    f.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  return path;
}

Envelope sample(const std::string& attachment) {
  Envelope env;
  MessageHeader& m = env.message.emplace();
  m.from.organ_id = "000.00.00.G06";
  m.to.emplace_back().organ_id = "000.00.00.H41";
  m.code = DocumentCode{"251", "TMĐT-TTTH"};
  m.promulgation_date = Date{2024, 3, 15};
  m.subject = "V/v đo hiệu năng";
  Attachment a;
  a.content_id = "bench";
  a.name = "bench.bin";
  a.content_type = "application/octet-stream";
  a.path = attachment;
  env.attachments.push_back(a);
  return env;
}

double seconds(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void sh(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) std::abort();
}

// Peak RSS (MB) of a fresh child running `f` once.
double child_peak_rss_mb(const std::function<bool()>& f) {
  pid_t pid = fork();
  if (pid == 0) _exit(f() ? 0 : 1);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

void report(benchmark::State& state, size_t bytes, double floor_s, double ours_total_s) {
  double ours = ours_total_s / static_cast<double>(state.iterations());
  double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
  state.counters["MB_per_s"] = mb / ours;
  state.counters["floor_MB_per_s"] = mb / floor_s;
  state.counters["x_floor"] = ours / floor_s;
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}

void BM_Pack(benchmark::State& state) {
  size_t mb = static_cast<size_t>(state.range(0));
  std::string in = make_input(mb), out = work() / "pack.xml";
  double floor_s = seconds(
      [&] { sh("base64 -w 76 '" + in + "' > '" + work() / "floor.b64" + "' && sha256sum '" + in + "' >/dev/null"); });
  Envelope env = sample(in);
  double total = 0;
  for (auto _ : state) {
    total += seconds([&] {
      if (!write_envelope_file(env, WriteOptions{}, out).ok()) std::abort();
    });
  }
  report(state, mb << 20, floor_s, total);
  state.counters["peak_rss_MB"] = child_peak_rss_mb([&] { return write_envelope_file(env, WriteOptions{}, out).ok(); });
}

void BM_Unpack(benchmark::State& state) {
  size_t mb = static_cast<size_t>(state.range(0));
  std::string in = make_input(mb), envelope = work() / ("unpack-" + std::to_string(mb) + ".xml");
  std::string enc = work() / "floor.b64", dir = work() / "unpacked";
  fsys::create_directories(dir);
  if (!write_envelope_file(sample(in), WriteOptions{}, envelope).ok()) std::abort();
  sh("base64 -w 76 '" + in + "' > '" + enc + "'");
  double floor_s = seconds([&] {
    sh("base64 -d '" + enc + "' > '" + work() / "floor.out" + "' && sha256sum '" + work() / "floor.out" +
       "' >/dev/null");
  });
  ReadOptions ro;
  ro.attachment_dir = dir;
  double total = 0;
  for (auto _ : state) {
    total += seconds([&] {
      if (!read_envelope_file(envelope, ro).ok()) std::abort();
    });
  }
  report(state, mb << 20, floor_s, total);
  state.counters["peak_rss_MB"] = child_peak_rss_mb([&] { return read_envelope_file(envelope, ro).ok(); });
}

BENCHMARK(BM_Pack)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Unpack)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
