#include "reference_digest.h"

#include <openssl/err.h>

#include <algorithm>
#include <condition_variable>
#include <string>
#include <thread>

#include "edxgate/base/mutex.h"

namespace edxgate::crypto {

// Canonical bytes into the digest. The canonicalizer writes many small
// pieces around the few big ones (attachment text): they are gathered into
// 1 MiB blocks, and from the second block on a worker thread hashes one block
// while the parser fills the next, so hashing adds little to the pass.
class ReferenceDigest::Hash : public c14n::Output {
 public:
  explicit Hash(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1) throw std::bad_alloc();
    block_.reserve(kBlock);
  }
  ~Hash() override { stop(); }

  void write(std::string_view bytes) override {
    while (!bytes.empty()) {
      const size_t n = std::min(bytes.size(), kBlock - block_.size());
      block_.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
      if (block_.size() == kBlock) hand_over();
    }
  }

  std::vector<uint8_t> finish() {
    stop();  // the worker has hashed everything handed over
    update(block_);
    block_.clear();
    if (failed_) throw std::bad_alloc();
    std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &n) != 1) throw std::bad_alloc();
    out.resize(n);
    return out;
  }

 private:
  static constexpr size_t kBlock = 1 << 20;

  void update(std::string_view bytes) {
    if (!bytes.empty() && EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1) failed_ = true;
  }

  // Gives the full block to the worker (started on first use) once it has
  // finished the previous one.
  void hand_over() EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    if (!worker_.joinable()) worker_ = std::thread([this] { work(); });
    while (pending_) lock.wait(cv_);
    std::swap(block_, work_);
    pending_ = true;
    cv_.notify_all();
    lock.unlock();
    block_.clear();
    block_.reserve(kBlock);
  }

  void work() EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    for (;;) {
      while (!pending_ && !stopping_) lock.wait(cv_);
      if (!pending_) return;
      lock.unlock();
      update(work_);  // only the worker touches ctx_ while it runs
      lock.lock();
      pending_ = false;
      cv_.notify_all();
    }
  }

  void stop() EXCLUDES(mutex_) {
    {
      MutexLock lock(mutex_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

  // ctx_ and work_ pass between the two threads with pending_: the worker
  // owns them while it is true, the canonicalizer while it is false.
  ossl::EvpMdCtxPtr ctx_;
  std::string block_;  // being filled by the canonicalizer
  std::string work_;   // being hashed by the worker
  bool failed_ = false;
  Mutex mutex_;
  std::condition_variable cv_;
  bool pending_ GUARDED_BY(mutex_) = false;
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::thread worker_;
};

ReferenceDigest::ReferenceDigest() = default;

ReferenceDigest::ReferenceDigest(const dsig::ReferenceMethod& method) { start(method); }

ReferenceDigest::~ReferenceDigest() = default;

void ReferenceDigest::start(const dsig::ReferenceMethod& method) {
  static const dsig::C14nMethod& inclusive = *dsig::find_c14n("http://www.w3.org/TR/2001/REC-xml-c14n-20010315");
  hash_ = std::make_unique<Hash>(method.digest->md());
  // URI="" never covers comments: the node set has none, whatever the method says.
  dsig::C14nMethod m = method.c14n ? *method.c14n : inclusive;
  m.with_comments = false;
  c14n_ = std::make_unique<c14n::StreamCanonicalizer>(m, method.prefixes.prefixes, *hash_);
  if (signature_) c14n_->exclude(signature_);
  state_ = State::streaming;
}

void ReferenceDigest::fail(const Error& e) {
  failure_ = e;
  c14n_.reset();
  hash_.reset();
  state_ = State::stopped;
}

// The signature has passed: read its method, then replay what came before it.
void ReferenceDigest::signature_read(const xmlNode* signature) {
  xmlDoc* doc = signature->doc;
  auto parts = dsig::parse_signature_element(doc, const_cast<xmlNode*>(signature));
  if (!parts.ok()) {  // the structural checks refuse the envelope anyway
    state_ = State::stopped;
    return;
  }
  if (parts->reference.prefixes.unreadable) {
    fail(make_error(ErrorKind::invalid, "c14n.failed", "the reference's InclusiveNamespaces has no PrefixList"));
    return;
  }
  if (content_before_) {
    state_ = State::second_pass_needed;
    return;
  }
  start(parts->reference);
  if (auto st = c14n::replay_until(doc, signature, *c14n_); !st) fail(st.error());
}

Status ReferenceDigest::start_element(const xmlNode* element, bool attachment_content) {
  ++depth_;
  if (attachment_content) content_depth_ = depth_;
  if (!signature_ && dsig::is_element(element, dsig::kDsigNs, "Signature") &&
      element->parent == dsig::find_edxml_header(element->doc)) {
    signature_ = element;
    if (c14n_) c14n_->exclude(element);
  }
  if (c14n_) {
    if (auto st = c14n_->start_element(element); !st) fail(st.error());
  }
  return {};
}

Status ReferenceDigest::end_element(const xmlNode* element) {
  if (content_depth_ == depth_) content_depth_ = 0;
  --depth_;
  if (c14n_) {
    c14n_->end_element();
  } else if (element == signature_ && state_ == State::awaiting_signature) {
    signature_read(element);
  }
  return {};
}

Status ReferenceDigest::text(std::string_view chunk) {
  if (c14n_) {
    c14n_->text(chunk);
  } else if (content_depth_ != 0 && content_depth_ == depth_ && !signature_) {
    content_before_ = true;
  }
  return {};
}

Status ReferenceDigest::comment(std::string_view value) {
  if (c14n_) c14n_->comment(value);
  return {};
}

Status ReferenceDigest::processing_instruction(std::string_view target, std::string_view data) {
  if (c14n_) c14n_->processing_instruction(target, data);
  return {};
}

Status ReferenceDigest::end_document(xmlDoc* doc) {
  if (state_ == State::streaming && hash_) digest_ = hash_->finish();
  c14n_.reset();
  hash_.reset();
  if (on_document_) on_document_(doc);
  return {};
}

}  // namespace edxgate::crypto
