// What the engine's paths share: the options, the store, the verifier, the
// keys, the axis, the metrics, and small helpers. One Context per Engine; it
// outlives every path object, which holds a reference to it.
#pragma once

#include <libxml/tree.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edxgate/base/metrics.h"
#include "edxgate/base/mutex.h"
#include "edxgate/crypto/verifier.h"
#include "edxgate/edxml/model.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"

namespace edxgate::workflow::detail {

struct EngineMetrics {
  explicit EngineMetrics(MetricsRegistry& r);
  Gauge& documents;
  Gauge& outbox_depth;
  Gauge& outbox_oldest;
  Counter& signatures;
  Counter& verifications;
  Counter& sends;
  Counter& incoming;
};

// Whether the last axis call succeeded, and why not (readiness).
class AxisHealth {
 public:
  void ok() { ok_ = true; }
  void failed(const std::string& why);
  Status check() const;

 private:
  std::atomic<bool> ok_{true};
  mutable Mutex mu_;
  std::string error_ GUARDED_BY(mu_);
};

struct Context {
  Context(EngineOptions o, store::Store& s, std::shared_ptr<const crypto::Verifier> v, KeyProvider* k, AxisTransport* a,
          MetricsRegistry& r)
      : opt(std::move(o)), store(s), verifier(std::move(v)), keys(k), axis(a), metrics(r) {}
  EngineOptions opt;
  store::Store& store;
  std::shared_ptr<const crypto::Verifier> verifier;
  KeyProvider* keys;    // may be null: no token
  AxisTransport* axis;  // may be null: no axis
  EngineMetrics metrics;
  AxisHealth axis_health;
  std::function<void()> wake;  // a new outbox item is due
};

// A private temp directory under the work dir, removed with everything in it.
// `make` false: only named, for a caller that makes it when it needs it (it is
// removed if it was made).
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& parent, bool make = true);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};
// The scratch directory, or an io error naming the work dir.
Result<std::unique_ptr<ScratchDir>> make_scratch(const Context& c);
// The directory under the work dir that the engine's one-off files share,
// each under a unique name (ScratchFile, ReadOptions::temp_names): a file
// costs one create, not a directory made and removed around it (on ext4 the
// inode allocator skips recently freed inodes one by one, so every removal
// makes later creates slower).
std::string files_dir(const std::string& work_dir);
// A unique file name in files_dir (nothing is created), removed with the
// object if it exists then. `tag` ends the name, for whoever reads a listing.
class ScratchFile {
 public:
  ScratchFile(const std::string& work_dir, const std::string& tag);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};
// The attachment files a read decoded under temp names, removed with the
// object (by then the blob store holds its own links to those it kept).
class DecodedFiles {
 public:
  explicit DecodedFiles(const crypto::VerifiedEnvelope& read);
  ~DecodedFiles();
  DecodedFiles(const DecodedFiles&) = delete;
  DecodedFiles& operator=(const DecodedFiles&) = delete;

 private:
  std::vector<std::string> paths_;
};
// Read options that decode attachments into files_dir under temp names
// (their files then are the caller's: keep a DecodedFiles), unsynced (the
// blob store syncs what it keeps), with zipped ones unzipped into `unzip`
// (made only if one needs it).
edxml::ReadOptions shared_dir_read(const Context& c, const ScratchDir& unzip);
// Removes what a crash left in the work dir, and makes files_dir.
void clean_work_dir(const std::string& work_dir);

std::vector<std::string> split_list(const std::string& text);
std::string join_list(const std::vector<std::string>& items);
// A document's bytes as it is (no reformatting: the signature covers it).
Result<std::string> document_bytes(xmlDoc* doc);
// "subject (serial, issuer), algorithm" or the refusal, for history and lists.
std::string signer_summary(const crypto::Verification& v);
// The searchable header fields of a document from its envelope, and its
// attachments moved into the blob store (with their unzipped files).
// The attachment files are the engine's own (spool or scratch files, consumed):
// they are linked into the blob store, not copied. `from_reader`: they are the
// reader's decoded files (hashed as they were written, not hashed again), and
// their names are synced only by the caller's blobs.sync_names(); otherwise
// they are hashed, and their names synced as `names` says.
Status fill_document(store::NewDocument& nd, const edxml::Envelope& env, const store::BlobStore& blobs,
                     bool from_reader = false, store::NameSync names = store::NameSync::now);
// Whether two organ ids name the same organ: the axis and peers do not agree
// on the case of the letter ("000.00.00.G01" / "000.00.00.g01").
bool same_organ(std::string_view a, std::string_view b);
// Whether an error is the input's fault (answered once) rather than ours
// (retried): the kind says.
bool is_input_error(const Error& e);

}  // namespace edxgate::workflow::detail
