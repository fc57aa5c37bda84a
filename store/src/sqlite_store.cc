// Opening the SQLite store, its connections, clock and randomness, blob
// references and garbage collection.
#include "sqlite_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "edxgate/base/fs.h"
#include "migrations.h"

namespace edxgate::store {
namespace {

constexpr const char* kDbName = "edxgate.db";

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

// Creates the database file with mode 0600 before SQLite opens it (SQLite
// would use 0644); its -wal and -shm files inherit that mode.
Status precreate(const std::string& path, bool& created) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  created = fd.valid();
  if (!created && errno != EEXIST) {
    return make_error("store.open", "cannot create database " + path + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, len);
}

int latest_schema_version() { return kLatestSchemaVersion; }

Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  return SqliteStore::open(options);
}

Result<std::unique_ptr<Store>> SqliteStore::open(const StoreOptions& options) {
  if (options.state_dir.empty()) {
    return make_error("store.open", "no state directory given for the store");
  }
  std::string db_path = options.db_path.empty() ? options.state_dir + "/" + kDbName : options.db_path;
  bool created = false;
  if (options.read_only) {
    struct stat st {};
    if (::stat(db_path.c_str(), &st) != 0) {
      return make_error("store.open", "no database at " + db_path);
    }
  } else {
    EDX_TRY(fs::make_dirs(options.state_dir));
    EDX_TRY(precreate(db_path, created));
  }
  auto blobs = BlobStore::open(options.state_dir + "/blobs", options.max_blob_bytes,
                               /*create=*/!options.read_only);
  if (!blobs.ok()) return blobs.error();
  std::unique_ptr<SqliteStore> store(new SqliteStore(options, std::move(blobs.value())));
  store->db_path_ = db_path;

  auto conn = sql::Conn::open(db_path, options.read_only, options.busy_timeout_ms);
  if (!conn.ok()) return conn.error();
  if (options.read_only) {
    auto version = read_schema_version(**conn);
    if (!version.ok()) return version.error();
    if (*version > kLatestSchemaVersion) {
      return make_error("store.schema_newer",
                        "the database has schema version " + std::to_string(*version) +
                            " but this edxgate knows only up to " +
                            std::to_string(kLatestSchemaVersion) + "; run a newer edxgate");
    }
    if (*version < kLatestSchemaVersion) {
      return make_error("store.schema_older",
                        "the database has schema version " + std::to_string(*version) +
                            "; open it once read-write (start the daemon) to upgrade it to " +
                            std::to_string(kLatestSchemaVersion));
    }
    store->schema_version_ = *version;
    store->readers_.push_back(std::move(conn.value()));
  } else {
    auto version = migrate(**conn);
    if (!version.ok()) return version.error();
    store->schema_version_ = *version;
    store->writer_ = std::move(conn.value());
    if (created) EDX_TRY(fs::fsync_dir(options.state_dir));  // the new file's entry
  }
  return std::unique_ptr<Store>(std::move(store));
}

int64_t SqliteStore::now() const {
  if (options_.now_ms) return options_.now_ms();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

uint64_t SqliteStore::random64() const {
  if (options_.random) return options_.random();
  uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    throw std::runtime_error("the system random generator failed");  // resource exhaustion
  }
  return v;
}

std::string SqliteStore::new_token() const {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw std::runtime_error("the system random generator failed");
  }
  return hex(bytes, sizeof bytes);
}

Result<uint64_t> SqliteStore::blob_references(std::string_view sha256) {
  return read_tx<uint64_t>([&](sql::Conn& c) -> Result<uint64_t> {
    auto st = c.prepare(
        "SELECT (SELECT count(*) FROM attachments WHERE sha256 = ?1)"
        " + (SELECT count(*) FROM documents WHERE envelope_sha256 = ?1)"
        " + (SELECT count(*) FROM outbox WHERE payload_sha256 = ?1)"
        " + (SELECT count(*) FROM status_messages WHERE envelope_sha256 = ?1)");
    if (!st.ok()) return st.error();
    st->bind(1, sha256);
    auto row = st->step();
    if (!row.ok()) return row.error();
    return static_cast<uint64_t>(st->i64(0));
  });
}

Result<GcReport> SqliteStore::collect_garbage() {
  if (!writer_) return make_error("store.read_only", "the store was opened read-only");
  GcReport report;
  const int64_t at = now();
  auto temps = blobs_.remove_stale_temps(at, options_.gc_grace_ms);
  if (!temps.ok()) return temps.error();
  report.temps_removed = *temps;
  std::vector<std::string> names;
  EDX_TRY(blobs_.for_each([&](std::string_view name) { names.emplace_back(name); }));
  for (const std::string& name : names) {
    auto refs = blob_references(name);
    if (!refs.ok()) return refs.error();
    if (*refs > 0) {
      ++report.blobs_kept;
      continue;
    }
    // A blob claimed since the count has a fresh mtime and is spared here.
    auto removed = blobs_.remove_if_older(name, at, options_.gc_grace_ms);
    if (!removed.ok()) return removed.error();
    if (*removed) {
      ++report.blobs_removed;
    } else {
      ++report.blobs_kept;
    }
  }
  if (report.blobs_removed > 0) EDX_TRY(fs::fsync_dir(blobs_.dir()));
  return report;
}

}  // namespace edxgate::store
