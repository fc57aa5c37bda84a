// The daemons' resident memory (issue 15): two real edxgated (A sends, B
// receives through edxgate-axis-sim, real TLS and SoftHSM2 tokens, as in the
// e2e tests), measured from /proc:
//   idle   VmRSS a few seconds after start, before any document;
//   peak   VmHWM after a burst of documents A -> B (each submitted, signed
//          on A's token, sent, pushed to B, verified and stored);
//   after  VmRSS `--settle` seconds after the burst ended.
// Targets: idle <= 20 MB, after <= 40 MB; four concurrent 100 MB deliveries
// (`--docs 4 --concurrency 4 --attachment-kb 102400`) within 256 MB peak.
// A program, not a ctest. Prints a table and one JSON line.
//
// --maps also prints where each daemon's idle RSS goes (/proc/PID/smaps
// summed per library, the heap, anonymous mappings and thread stacks).
//
//   gateway_rss_bench [--docs N] [--concurrency C] [--attachment-kb K] [--settle S] [--maps]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "e2e_support.h"

namespace edxgate::e2e {
namespace {

struct Options {
  size_t docs = 200;
  unsigned concurrency = 4;
  size_t attachment_kb = 100;
  unsigned settle_s = 60;
  bool maps = false;
};

[[noreturn]] void die(const std::string& why) {
  std::cerr << "gateway_rss_bench: " << why << "\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--docs")
      o.docs = std::stoul(next());
    else if (a == "--concurrency")
      o.concurrency = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--attachment-kb")
      o.attachment_kb = std::stoul(next());
    else if (a == "--settle")
      o.settle_s = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--maps")
      o.maps = true;
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: gateway_rss_bench [--docs N] [--concurrency C] [--attachment-kb K] [--settle S] [--maps]\n";
      std::exit(0);
    } else {
      die("unknown option " + a);
    }
  }
  if (o.docs == 0 || o.concurrency == 0) die("--docs and --concurrency must be > 0");
  return o;
}

// A field of /proc/PID/status in MB (VmRSS, VmHWM), -1 if unreadable.
double status_mb(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return -1;
}

// Resident KB per mapping name in /proc/PID/smaps: a library by its file
// name (text, data and relro together), "[heap]", "[stack]", "[anon]" for
// unnamed mappings (thread stacks, malloc arenas, mmap'ed buffers).
std::vector<std::pair<std::string, size_t>> rss_by_mapping(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/smaps");
  std::map<std::string, size_t> kb;
  std::string line, name;
  while (std::getline(f, line)) {
    if (line.rfind("Rss:", 0) == 0) {
      kb[name] += std::stoul(line.substr(4));
      continue;
    }
    // A mapping's first line: "start-end perms offset dev inode [path]".
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    if (!(in >> range >> perms >> offset >> dev >> inode) || range.find('-') == std::string::npos) continue;
    std::getline(in >> std::ws, path);
    if (path.empty())
      name = "[anon]";
    else if (path[0] == '[')
      name = path;
    else
      name = path.substr(path.rfind('/') + 1);
  }
  std::vector<std::pair<std::string, size_t>> out(kb.begin(), kb.end());
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  return out;
}

void print_maps(const char* who, pid_t pid) {
  const auto maps = rss_by_mapping(pid);
  size_t total = 0;
  for (const auto& [name, kb] : maps) total += kb;
  std::printf("%s idle RSS by mapping (%.1f MB):\n", who, static_cast<double>(total) / 1024.0);
  for (const auto& [name, kb] : maps) {
    if (kb >= 64) std::printf("  %8zu KB  %s\n", kb, name.c_str());
  }
}

size_t count_at_b(World& w) {
  Reply r = w.call(w.b(), "officer-b", "GET", "/v1/incoming?limit=1000");
  if (r.status != 200) return 0;
  const bj::value v = r.json();
  if (!v.is_object() || !v.as_object().contains("documents")) return 0;
  return v.as_object().at("documents").as_array().size();
}

int run(const Options& o) {
  // 100 MB envelopes over loopback TLS on a loaded machine take longer than
  // the e2e tests' timeouts (10 s to the axis, 3 s for the simulator's push).
  World w([](Gateway& a, Gateway& b) {
    a.axis_timeout_s = b.axis_timeout_s = 300;
    b.push_timeout_ms = 300000;
  });
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const pid_t a = w.a().proc.pid(), b = w.b().proc.pid();
  const double idle_a = status_mb(a, "VmRSS"), idle_b = status_mb(b, "VmRSS");
  if (o.maps) {
    print_maps("A", a);
    print_maps("B", b);
  }

  const std::string file = w.path("attachment.bin");
  random_file(file, o.attachment_kb * 1024, 42);
  std::atomic<size_t> next{0}, failed{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = next++; i < o.docs; i = next++) {
        const std::string code = std::to_string(i + 1) + "/RSS-VP";
        const auto r = submit_and_sign(w, w.path("form-" + std::to_string(t)), code, "V/v đo bộ nhớ " + code,
                                       {{"phu-luc.bin", file}});
        if (r.id.empty() || r.signed_reply.status != 200) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  const size_t want = o.docs - failed;
  const bool all = wait_until([&] { return count_at_b(w) >= want; }, std::chrono::seconds(600));
  const double burst_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double peak_a = status_mb(a, "VmHWM"), peak_b = status_mb(b, "VmHWM");
  const double end_a = status_mb(a, "VmRSS"), end_b = status_mb(b, "VmRSS");
  std::this_thread::sleep_for(std::chrono::seconds(o.settle_s));
  const double after_a = status_mb(a, "VmRSS"), after_b = status_mb(b, "VmRSS");

  std::printf("%zu documents of %zu KB, concurrency %u: %s in %.1f s (%zu refused)\n", o.docs, o.attachment_kb,
              o.concurrency, all ? "all delivered" : "NOT all delivered", burst_s, static_cast<size_t>(failed));
  std::printf("%-28s %10s %10s %14s %14s\n", "edxgated", "idle MB", "peak MB", "at end MB", "after MB");
  std::printf("%-28s %10.1f %10.1f %14.1f %14.1f\n", "A (submit, sign, send)", idle_a, peak_a, end_a, after_a);
  std::printf("%-28s %10.1f %10.1f %14.1f %14.1f\n", "B (receive, verify, store)", idle_b, peak_b, end_b, after_b);
  std::printf("targets: idle <= 20 MB, %u s after the burst <= 40 MB\n", o.settle_s);
  bj::object j{{"bench", "gateway_rss"},
               {"docs", o.docs},
               {"attachment_kb", o.attachment_kb},
               {"concurrency", o.concurrency},
               {"delivered", all},
               {"burst_s", burst_s},
               {"settle_s", o.settle_s},
               {"a", bj::object{{"idle_mb", idle_a}, {"peak_mb", peak_a}, {"after_mb", after_a}}},
               {"b", bj::object{{"idle_mb", idle_b}, {"peak_mb", peak_b}, {"after_mb", after_b}}},
               {"idle_target_met", idle_a <= 20 && idle_b <= 20},
               {"peak_target_met", peak_a <= 256 && peak_b <= 256},
               {"after_target_met", after_a <= 40 && after_b <= 40}};
  std::printf("%s\n", bj::serialize(j).c_str());
  return all ? 0 : 1;
}

}  // namespace
}  // namespace edxgate::e2e

int main(int argc, char** argv) {
  try {
    return edxgate::e2e::run(edxgate::e2e::parse(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "gateway_rss_bench: " << e.what() << "\n";
    return 2;
  }
}
