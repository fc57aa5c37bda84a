// Opening the store on either engine, its clock and randomness, blob
// references and garbage collection.
#include "sql_store.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "edxgate/base/fs.h"
#include "edxgate/base/hex.h"
#include "migrations.h"

namespace edxgate::store {
namespace {

constexpr const char* kDbName = "edxgate.db";

// Creates the database file with mode 0600 before SQLite opens it (SQLite
// would use 0644); its -wal and -shm files inherit that mode.
Status precreate(const std::string& path, bool& created) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  created = fd.valid();
  if (!created && errno != EEXIST) {
    return fs::file_error(errno, "store.open", "cannot create database " + path);
  }
  return {};
}

}  // namespace

int latest_schema_version() { return kLatestSchemaVersion; }

std::string_view backend_name(Backend b) { return b == Backend::postgresql ? "postgresql" : "sqlite"; }

Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  if (options.backend == Backend::postgresql) return SqlStore::open_postgresql(options);
  return SqlStore::open_sqlite(options);
}

namespace {

Status check_version(int version) {
  if (version > kLatestSchemaVersion) {
    return make_error(ErrorKind::conflict, "store.schema_newer",
                      "the database has schema version " + std::to_string(version) +
                          " but this edxgate knows only up to " + std::to_string(kLatestSchemaVersion) +
                          "; run a newer edxgate");
  }
  if (version < kLatestSchemaVersion) {
    return make_error(ErrorKind::conflict, "store.schema_older",
                      "the database has schema version " + std::to_string(version) +
                          "; open it once read-write (start the daemon) to upgrade it to " +
                          std::to_string(kLatestSchemaVersion));
  }
  return {};
}

std::string blob_dir_of(const StoreOptions& o) { return o.blob_dir.empty() ? o.state_dir + "/blobs" : o.blob_dir; }

}  // namespace

Result<std::unique_ptr<Store>> SqlStore::open_sqlite(const StoreOptions& options) {
  if (options.state_dir.empty()) {
    return make_error(ErrorKind::usage, "store.open", "no state directory given for the store");
  }
  std::string db_path = options.db_path.empty() ? options.state_dir + "/" + kDbName : options.db_path;
  bool created = false;
  if (options.read_only) {
    struct stat st {};
    if (::stat(db_path.c_str(), &st) != 0) {
      return make_error(ErrorKind::io, "store.open", "no database at " + db_path);
    }
  } else {
    EDX_TRY(fs::make_dirs(options.state_dir));
    EDX_TRY(precreate(db_path, created));
  }
  auto blobs = BlobStore::open(blob_dir_of(options), options.max_blob_bytes,
                               /*create=*/!options.read_only);
  if (!blobs.ok()) return blobs.error();
  std::unique_ptr<SqlStore> store(new SqlStore(options, std::move(blobs.value())));

  auto conn = sql::SqliteConn::open(db_path, options.read_only, options.busy_timeout_ms);
  if (!conn.ok()) return conn.error();
  if (options.read_only) {
    auto version = read_schema_version(**conn);
    if (!version.ok()) return version.error();
    EDX_TRY(check_version(*version));
    store->schema_version_ = *version;
    store->db_ = std::make_unique<SqliteDatabase>(db_path, options.busy_timeout_ms, nullptr, std::move(conn.value()));
  } else {
    auto version = migrate(**conn);
    if (!version.ok()) return version.error();
    store->schema_version_ = *version;
    store->db_ = std::make_unique<SqliteDatabase>(db_path, options.busy_timeout_ms, std::move(conn.value()), nullptr);
    if (created) EDX_TRY(fs::fsync_dir(options.state_dir));  // the new file's entry
  }
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> SqlStore::open_postgresql(const StoreOptions& options) {
  if (options.dsn.empty()) {
    return make_error(ErrorKind::usage, "store.open", "no PostgreSQL connection string given for the store");
  }
  if (options.blob_dir.empty() && options.state_dir.empty()) {
    return make_error(ErrorKind::usage, "store.open", "no blob directory given for the store (blob_dir or state_dir)");
  }
  auto blobs = BlobStore::open(blob_dir_of(options), options.max_blob_bytes,
                               /*create=*/!options.read_only);
  if (!blobs.ok()) return blobs.error();
  std::unique_ptr<SqlStore> store(new SqlStore(options, std::move(blobs.value())));
  PgDatabase::Options po;
  po.settings.dsn = options.dsn;
  po.settings.statement_timeout_ms = options.statement_timeout_ms;
  po.settings.connect_timeout_s = options.connect_timeout_s;
  po.settings.application_name = options.application_name;
  po.max_connections = std::max<uint32_t>(options.pool_size, 1);
  po.acquire_timeout_ms = std::max<uint32_t>(options.statement_timeout_ms, 1000);
  po.read_only = options.read_only;
  auto db = std::make_unique<PgDatabase>(std::move(po));
  int version = 0;
  Status s = db->with_connection([&](sql::Conn& c) -> Status {
    auto v = options.read_only ? read_schema_version(c) : migrate(c);
    if (!v.ok()) return v.error();
    version = *v;
    return {};
  });
  if (!s.ok()) return s.error();
  if (options.read_only) EDX_TRY(check_version(version));
  store->schema_version_ = version;
  store->db_ = std::move(db);
  return std::unique_ptr<Store>(std::move(store));
}

int64_t SqlStore::now() const {
  if (options_.now_ms) return options_.now_ms();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

uint64_t SqlStore::random64() const {
  if (options_.random) return options_.random();
  uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
    throw std::runtime_error("the system random generator failed");  // resource exhaustion
  }
  return v;
}

std::string SqlStore::new_token() const {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw std::runtime_error("the system random generator failed");
  }
  return to_hex(bytes, sizeof bytes);
}

Result<uint64_t> SqlStore::blob_references(std::string_view sha256) {
  return read_tx<uint64_t>([&](sql::Conn& c) -> Result<uint64_t> {
    auto st = c.prepare(
        "SELECT (SELECT count(*) FROM attachments WHERE sha256 = ?1 OR unzipped_sha256 = ?1)"
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

Result<GcReport> SqlStore::collect_garbage() {
  if (db_->read_only()) return make_error(ErrorKind::io, "store.read_only", "the store was opened read-only");
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

namespace edxgate::store {

WriteStats write_stats(const Store& store) {
  const auto* sql = dynamic_cast<const SqlStore*>(&store);
  return sql ? sql->write_stats() : WriteStats{};
}

}  // namespace edxgate::store
