// Committed documents per second with fsync (synchronous=FULL), single and
// group commit, beside a raw SQLite baseline measured in the same run:
// one INSERT + COMMIT of a document-sized row with WAL and synchronous=FULL.
// Every figure is also reported as x_raw = its rate / the baseline's rate.
//
// The directory is $EDXGATE_BENCH_DIR or the system temp directory: point it
// at the disk the state directory will live on.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "edxgate/store/store.h"

using namespace edxgate::store;

namespace {

double g_raw_rate = 0;  // rows/s of the baseline, set by BM_RawSqliteInsertCommit

std::string make_dir() {
  const char* env = std::getenv("EDXGATE_BENCH_DIR");
  std::string base = env ? env : std::filesystem::temp_directory_path().string();
  std::string tmpl = base + "/edxbench-XXXXXX";
  return ::mkdtemp(tmpl.data());
}

struct DirGuard {
  std::string path = make_dir();
  ~DirGuard() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

NewDocument doc() {
  NewDocument d;
  d.sender = "000.00.00.G06";
  d.recipients = {"000.00.00.H41", "000.00.00.H29"};
  d.code_number = "251";
  d.code_notation = "TMĐT-TTTH";
  d.promulgation_date = "2026-11-20";
  d.subject = "Công văn về việc triển khai hệ thống chữ ký số trong các cơ quan nhà nước";
  d.document_type = "Công văn";
  d.actor = "bench";
  return d;
}

void report(benchmark::State& state, double items, double seconds, bool baseline = false) {
  const double rate = seconds > 0 ? items / seconds : 0;
  state.counters["docs_per_s"] = rate;
  if (baseline) g_raw_rate = rate;
  if (g_raw_rate > 0) state.counters["x_raw"] = rate / g_raw_rate;
  state.SetItemsProcessed(static_cast<int64_t>(items));
}

void BM_RawSqliteInsertCommit(benchmark::State& state) {
  DirGuard dir;
  sqlite3* db = nullptr;
  sqlite3_open((dir.path + "/raw.db").c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE d(id INTEGER PRIMARY KEY, sender TEXT, subject TEXT, state TEXT, ms INTEGER)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO d(sender, subject, state, ms) VALUES(?,?,?,?)", -1, &st, nullptr);
  const std::string subject = doc().subject;
  double n = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    sqlite3_bind_text(st, 1, "000.00.00.G06", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, subject.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, "draft", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, 1);
    sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    ++n;
  }
  report(state, n, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), true);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// One document per transaction: the document row, its recipients, its first
// transition and its hash-chained audit row, then an fsync'd commit.
void BM_StoreCreateDocument(benchmark::State& state) {
  DirGuard dir;
  StoreOptions o;
  o.state_dir = dir.path;
  auto store = open_store(o);
  if (!store.ok()) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  const NewDocument d = doc();
  double n = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto r = (*store)->create_document(d);
    benchmark::DoNotOptimize(r);
    ++n;
  }
  report(state, n, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// Group commit: range(0) documents in one transaction (one fsync).
void BM_StoreCreateDocumentsGroupCommit(benchmark::State& state) {
  DirGuard dir;
  StoreOptions o;
  o.state_dir = dir.path;
  auto store = open_store(o);
  if (!store.ok()) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  const std::vector<NewDocument> batch(static_cast<size_t>(state.range(0)), doc());
  double n = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto r = (*store)->create_documents(batch);
    benchmark::DoNotOptimize(r);
    n += static_cast<double>(batch.size());
  }
  report(state, n, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// A workflow step: state update, transition row, audit row, fsync'd commit.
void BM_StoreTransition(benchmark::State& state) {
  DirGuard dir;
  StoreOptions o;
  o.state_dir = dir.path;
  auto store = open_store(o);
  if (!store.ok()) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  auto id = (*store)->create_document(doc());
  double n = 0;
  bool forward = true;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    // draft <-> pending_signature back and forth: both legal.
    auto r = (*store)->transition(id->id, forward ? State::pending_signature : State::draft, "bench", "");
    benchmark::DoNotOptimize(r);
    forward = !forward;
    ++n;
  }
  report(state, n, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// A durable 64 KiB attachment: hash, write, fsync, rename, fsync the directory.
void BM_BlobPut64KiB(benchmark::State& state) {
  DirGuard dir;
  auto blobs = BlobStore::open(dir.path + "/blobs", 1 << 30);
  std::string data(64 * 1024, 'x');
  double n = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    std::memcpy(data.data(), &n, sizeof n);  // distinct content each time
    auto r = blobs->put(data);
    benchmark::DoNotOptimize(r);
    ++n;
  }
  report(state, n, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  state.SetBytesProcessed(static_cast<int64_t>(n) * static_cast<int64_t>(data.size()));
}

}  // namespace

BENCHMARK(BM_RawSqliteInsertCommit)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_StoreCreateDocument)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_StoreCreateDocumentsGroupCommit)->Arg(8)->Arg(64)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_StoreTransition)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_BlobPut64KiB)->MinTime(2.0)->UseRealTime();
BENCHMARK_MAIN();
