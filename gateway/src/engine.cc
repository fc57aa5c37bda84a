#include "edxgate/gateway/engine.h"

#include <libxml/xmlsave.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "edxgate/base/log.h"
#include "edxgate/edxml/json.h"
#include "edxgate/edxml/pack.h"

namespace edxgate::gateway {

namespace ex = edxgate::edxml;
using store::Direction;
using store::DocumentId;
using store::State;

std::optional<State> state_for_status(ex::StatusCode code) {
  switch (code) {
    case ex::StatusCode::arrived: return State::delivered;
    case ex::StatusCode::refused: return State::refused;
    case ex::StatusCode::accepted: return State::accepted;
    case ex::StatusCode::assigned: return State::assigned;
    case ex::StatusCode::processing: return State::processing;
    case ex::StatusCode::completed: return State::completed;
    default: return std::nullopt;
  }
}

std::optional<ex::StatusCode> status_for_state(State state) {
  switch (state) {
    case State::registered: return ex::StatusCode::accepted;
    case State::refused: return ex::StatusCode::refused;
    case State::assigned: return ex::StatusCode::assigned;
    case State::processing: return ex::StatusCode::processing;
    case State::completed: return ex::StatusCode::completed;
    default: return std::nullopt;
  }
}

struct Engine::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : documents(r.gauge("edxgate_documents", "Documents in the store by direction and state.",
                          {"direction", "state"})),
        outbox_depth(r.gauge("edxgate_outbox_pending", "Outbox items waiting to be sent.")),
        outbox_oldest(r.gauge("edxgate_outbox_oldest_age_seconds", "Age of the oldest pending outbox item.")),
        signatures(r.counter("edxgate_signatures_total", "Envelopes signed, by result.", {"result"})),
        verifications(r.counter("edxgate_verifications_total", "Incoming signatures verified, by result code.",
                                {"code"})),
        sends(r.counter("edxgate_axis_sends_total", "Outbox deliveries to the axis, by kind and result.",
                        {"kind", "result"})),
        incoming(r.counter("edxgate_incoming_total", "Incoming deliveries by outcome.", {"outcome"})) {}
  Gauge& documents;
  Gauge& outbox_depth;
  Gauge& outbox_oldest;
  Counter& signatures;
  Counter& verifications;
  Counter& sends;
  Counter& incoming;
};

namespace {

// A private temp directory under the work dir, removed with everything in it.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& parent) {
    path_ = parent + "/scratch-" + ex::new_uuid();
    std::error_code ec;
    std::filesystem::create_directories(path_, ec);
    if (ec) path_.clear();
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void remove_files(const std::vector<std::string>& files) {
  for (const auto& f : files) {
    if (!f.empty()) ::unlink(f.c_str());
  }
}

std::string iso_date(const ex::Date& d) {
  std::string s = ex::format_date(d);
  std::replace(s.begin(), s.end(), '/', '-');
  return s;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ",";
    out += i;
  }
  return out;
}

int parse_priority(const std::string& text) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() ? v : 0;
}

// Writes a document as it is (no reformatting: the signature covers it).
Status save_document(xmlDoc* doc, const std::string& path) {
  xmlSaveCtxtPtr ctx = xmlSaveToFilename(path.c_str(), "UTF-8", 0);
  if (!ctx) return make_error("io.write", "cannot write " + path);
  const long r = xmlSaveDoc(ctx, doc);
  const int closed = xmlSaveClose(ctx);
  if (r < 0 || closed < 0) return make_error("io.write", "cannot write " + path);
  return {};
}

std::string signer_summary(const crypto::Verification& v) {
  if (!v.signer) return v.valid ? "valid" : v.code + ": " + v.message;
  std::string s = v.signer->subject + " (serial " + v.signer->serial + ", issuer " + v.signer->issuer + ")";
  s += v.valid ? ", " + v.signature_algorithm : "; " + v.code + ": " + v.message;
  return s.substr(0, 4000);
}

// The searchable header fields of a document (store::NewDocument) from its
// envelope, and its attachments moved into the blob store.
Status fill_document(store::NewDocument& nd, const ex::Envelope& env, const store::BlobStore& blobs) {
  const ex::MessageHeader& m = *env.message;
  nd.envelope_id = m.document_id;
  nd.sender = m.from.organ_id;
  for (const auto& t : m.to) nd.recipients.push_back(t.organ_id);
  nd.code_number = m.code.number;
  nd.code_notation = m.code.notation;
  nd.promulgation_date = iso_date(m.promulgation_date);
  nd.subject = m.subject;
  nd.document_type = m.type_name.empty() ? m.type : m.type_name;
  nd.priority = parse_priority(m.priority);
  if (m.due_date) nd.due_date = iso_date(*m.due_date);
  for (const auto& a : env.attachments) {
    auto ref = blobs.put_file(a.path);
    if (!ref.ok()) return ref.error();
    nd.attachments.push_back({a.name, a.content_type, *ref});
  }
  return {};
}

bool is_input_error(const Error& e) {
  for (const char* p : {"edxml.", "json.", "xml.", "submit.", "usage.", "sig.", "sign.", "cert.", "c14n."}) {
    if (e.code.rfind(p, 0) == 0) return true;
  }
  return false;
}

}  // namespace

Engine::Engine(EngineOptions options, store::Store& store, std::shared_ptr<const crypto::Verifier> verifier,
               KeyProvider* keys, AxisTransport* axis, MetricsRegistry& metrics)
    : opt_(std::move(options)),
      store_(store),
      verifier_(std::move(verifier)),
      keys_(keys),
      axis_(axis),
      m_(std::make_unique<Metrics>(metrics)) {
  std::error_code ec;
  std::filesystem::create_directories(opt_.work_dir, ec);
  // Leftovers of a previous run (a crash mid-request) are garbage.
  for (const auto& entry : std::filesystem::directory_iterator(opt_.work_dir, ec)) {
    if (entry.path().filename().string().rfind("scratch-", 0) == 0) std::filesystem::remove_all(entry.path(), ec);
  }
}

Engine::~Engine() { stop(); }

// ---------------------------------------------------------------- outgoing

Result<Submitted> Engine::submit(Submission sub) {
  struct Cleanup {
    std::vector<std::string>& files;
    ~Cleanup() { remove_files(files); }
  } cleanup{sub.files};
  auto env = ex::envelope_from_json(sub.header);
  if (!env.ok()) return env.error();
  if (!env->message) return make_error("submit.header", "the metadata must describe a document (\"message\")");
  const std::string& from = env->message->from.organ_id;
  if (std::find(sub.allowed_senders.begin(), sub.allowed_senders.end(), from) == sub.allowed_senders.end()) {
    return make_error("submit.sender", "this client may not send as organ '" + from + "'");
  }
  if (from != opt_.organ_id) {
    return make_error("submit.sender", "this gateway sends as organ '" + opt_.organ_id + "', not '" + from + "'");
  }
  if (sub.files.size() > opt_.read.limits.max_attachments) {
    return make_error("submit.attachments", "too many attachments (at most " +
                                                std::to_string(opt_.read.limits.max_attachments) + ")");
  }
  EDX_TRY(ex::complete_for_pack(*env, sub.files, sub.names));
  EDX_TRY(ex::check_envelope(*env, opt_.read.format));
  for (const auto& a : env->attachments) {
    if (a.size > opt_.read.limits.max_attachment_bytes) {
      return make_error("http.too_large", "attachment '" + a.name + "' is larger than the limit");
    }
  }
  ScratchDir scratch(opt_.work_dir);
  if (!scratch.ok()) return make_error("io.write", "cannot create a temp directory in " + opt_.work_dir);
  const std::string envelope_file = scratch / "envelope.xml";
  EDX_TRY(ex::write_envelope_file(*env, opt_.write, envelope_file));

  const auto& blobs = store_.blobs();
  store::NewDocument nd;
  nd.direction = Direction::outgoing;
  nd.state = State::pending_signature;
  auto envelope = blobs.put_file(envelope_file);
  if (!envelope.ok()) return envelope.error();
  nd.envelope = *envelope;
  EDX_TRY(fill_document(nd, *env, blobs));
  nd.submitter = sub.submitter;
  nd.idempotency_key = sub.idempotency_key;
  nd.actor = sub.submitter;
  auto created = store_.create_document(nd);
  if (!created.ok()) return created.error();
  auto doc = store_.get_document(created->id);
  if (!doc.ok()) return doc.error();
  log::info("outgoing submitted", {{"document", std::to_string(created->id)},
                                   {"by", sub.submitter},
                                   {"existing", created->existing ? "true" : "false"}});
  return Submitted{created->id, doc->state, created->existing};
}

Result<Submitted> Engine::submit_envelope(std::string file, const std::string& submitter,
                                          const std::vector<std::string>& allowed_senders,
                                          const std::string& idempotency_key) {
  struct Cleanup {
    std::string& f;
    ~Cleanup() { ::unlink(f.c_str()); }
  } cleanup{file};
  ScratchDir scratch(opt_.work_dir);
  if (!scratch.ok()) return make_error("io.write", "cannot create a temp directory in " + opt_.work_dir);
  ex::ReadOptions ro = opt_.read;
  ro.attachment_dir = scratch.path();
  // We are about to send it: the content rules for what we send apply (organ
  // ids, document code, trace hops). The element order is the submitter's
  // (the SDK and the VNPT library write DocumentId after To, and a signed
  // envelope cannot be reordered): any order real peers write is taken.
  auto env = ex::read_envelope_file(file, ro);
  if (!env.ok()) return env.error();
  EDX_TRY(ex::check_envelope(*env, ro.format, ex::Strictness::outgoing));
  if (!env->message) return make_error("submit.header", "the envelope must be a document, not a status message");
  const ex::MessageHeader& m = *env->message;
  if (std::find(allowed_senders.begin(), allowed_senders.end(), m.from.organ_id) == allowed_senders.end() ||
      m.from.organ_id != opt_.organ_id) {
    return make_error("submit.sender", "this client may not send as organ '" + m.from.organ_id + "'");
  }
  if (m.document_id.empty()) return make_error("edxml.missing", "the envelope has no DocumentId");
  std::optional<crypto::Verification> verified;
  if (env->signature == ex::SignaturePresence::dsig) {
    auto doc = ex::parse_xml_file(file, ro.limits);
    if (!doc.ok()) return doc.error();
    crypto::Verification v = verifier_->verify(doc->get());
    if (!v.valid) return make_error(v.code, "the envelope's signature is not valid: " + v.message);
    verified = std::move(v);
  }
  const auto& blobs = store_.blobs();
  store::NewDocument nd;
  nd.direction = Direction::outgoing;
  nd.state = State::pending_signature;
  auto envelope = blobs.put_file(file);
  if (!envelope.ok()) return envelope.error();
  nd.envelope = *envelope;
  EDX_TRY(fill_document(nd, *env, blobs));
  if (verified) nd.signer_summary = signer_summary(*verified);
  nd.submitter = submitter;
  nd.idempotency_key = idempotency_key;
  nd.actor = submitter;
  auto created = store_.create_document(nd);
  if (!created.ok()) return created.error();
  if (verified && !created->existing) {
    auto moved = store_.transition(created->id, State::signed_, submitter, "submitted signed: " + nd.signer_summary,
                                   State::pending_signature);
    if (!moved.ok()) return moved.error();
    auto queued = store_.transition(created->id, State::queued, submitter, "", State::signed_,
                                    store::OutboxRequest{"edoc", join_list(nd.recipients), *envelope});
    if (!queued.ok()) return queued.error();
    wake();
  }
  auto doc = store_.get_document(created->id);
  if (!doc.ok()) return doc.error();
  return Submitted{created->id, doc->state, created->existing};
}

Result<ex::XmlDocPtr> Engine::load_unsigned(const store::Document& doc) {
  if (doc.direction != Direction::outgoing) {
    return make_error("store.not_found", "document " + std::to_string(doc.id) + " is not an outgoing document");
  }
  if (doc.state != State::pending_signature && doc.state != State::draft) {
    return make_error("store.conflict", "document " + std::to_string(doc.id) + " is " +
                                            std::string(store::state_name(doc.state)) + ", not waiting for a signature");
  }
  if (!doc.envelope) return make_error("store.conflict", "document " + std::to_string(doc.id) + " has no envelope");
  EDX_TRY(store_.blobs().verify(*doc.envelope));
  return ex::parse_xml_file(store_.blobs().path_of(doc.envelope->sha256), opt_.read.limits);
}

Result<State> Engine::store_signed(DocumentId id, xmlDoc* doc, const crypto::Verification& v,
                                   const std::string& actor) {
  ScratchDir scratch(opt_.work_dir);
  if (!scratch.ok()) return make_error("io.write", "cannot create a temp directory in " + opt_.work_dir);
  const std::string file = scratch / "signed.xml";
  EDX_TRY(save_document(doc, file));
  auto ref = store_.blobs().put_file(file);
  if (!ref.ok()) return ref.error();
  const std::string summary = signer_summary(v);
  EDX_TRY(store_.set_envelope(id, *ref, summary, actor));
  auto current = store_.get_document(id);
  if (!current.ok()) return current.error();
  if (current->state == State::draft) {
    auto r = store_.transition(id, State::pending_signature, actor, "", State::draft);
    if (!r.ok()) return r.error();
  }
  auto s = store_.transition(id, State::signed_, actor, "signed by " + summary, State::pending_signature);
  if (!s.ok()) return s.error();
  // A crash here leaves it signed; the worker queues signed documents it finds.
  auto q = store_.transition(id, State::queued, actor, "", State::signed_,
                             store::OutboxRequest{"edoc", join_list(current->recipients), *ref});
  if (!q.ok()) return q.error();
  m_->signatures.inc({"ok"});
  wake();
  return State::queued;
}

Result<State> Engine::sign(DocumentId id, const std::string& key_uri, const SecretString* pin,
                           const std::string& actor) {
  if (!keys_) return make_error("sign.no_token", "this gateway has no token configured");
  auto doc = store_.get_document(id);
  if (!doc.ok()) return doc.error();
  auto unsigned_doc = load_unsigned(*doc);
  if (!unsigned_doc.ok()) return unsigned_doc.error();
  auto key = keys_->open(key_uri, pin);
  if (!key.ok()) {
    m_->signatures.inc({"failed"});
    return key.error();
  }
  crypto::SignOptions so;
  so.algorithm = key->algorithm;
  so.include_chain = !key->chain.empty();
  crypto::Verification v;
  auto signed_doc = crypto::sign(std::move(*unsigned_doc), *key->signer, key->certificate, key->chain, so,
                                 *verifier_, &v);
  if (!signed_doc.ok()) {
    m_->signatures.inc({"failed"});
    return signed_doc.error();
  }
  return store_signed(id, signed_doc->get(), v, actor);
}

Result<crypto::PreparedSignature> Engine::prepare_remote(DocumentId id,
                                                        const std::vector<crypto::Certificate>& certificates,
                                                        std::optional<crypto::SignatureAlgorithm> algorithm) {
  if (certificates.empty()) return make_error("sign.certificate", "the signer's certificate is missing");
  auto doc = store_.get_document(id);
  if (!doc.ok()) return doc.error();
  auto unsigned_doc = load_unsigned(*doc);
  if (!unsigned_doc.ok()) return unsigned_doc.error();
  crypto::SignOptions so;
  so.algorithm = algorithm.value_or(crypto::default_algorithm(certificates.front()));
  so.include_chain = certificates.size() > 1;
  std::span<const crypto::Certificate> chain(certificates.data() + 1, certificates.size() - 1);
  return crypto::prepare(std::move(*unsigned_doc), certificates.front(), chain, so);
}

Result<ToSign> Engine::to_sign(DocumentId id, const std::vector<crypto::Certificate>& certificates,
                               std::optional<crypto::SignatureAlgorithm> algorithm) {
  auto prepared = prepare_remote(id, certificates, algorithm);
  if (!prepared.ok()) return prepared.error();
  auto bytes = prepared->bytes_to_sign();
  return ToSign{std::vector<uint8_t>(bytes.begin(), bytes.end()), prepared->algorithm()};
}

Result<State> Engine::complete_signature(DocumentId id, const std::vector<crypto::Certificate>& certificates,
                                         std::optional<crypto::SignatureAlgorithm> algorithm,
                                         const std::vector<uint8_t>& signature, const std::string& actor) {
  // prepare() is deterministic: the same bytes the agent signed.
  auto prepared = prepare_remote(id, certificates, algorithm);
  if (!prepared.ok()) return prepared.error();
  crypto::Verification v;
  auto signed_doc = crypto::complete(std::move(*prepared), signature, *verifier_, &v);
  if (!signed_doc.ok()) {
    m_->signatures.inc({"failed"});
    return signed_doc.error();
  }
  return store_signed(id, signed_doc->get(), v, actor);
}

// ---------------------------------------------------------------- incoming

Result<std::string> Engine::accept(IncomingDelivery& d) {
  ScratchDir scratch(opt_.work_dir);
  if (!scratch.ok()) return make_error("io.write", "cannot create a temp directory in " + opt_.work_dir);
  std::string status_for;
  auto id = store_incoming_document(d, scratch.path(), status_for);
  if (!id.ok()) {
    m_->incoming.inc({"error"});
    return id.error();
  }
  return *id >= 0 ? std::to_string(*id) : "status:" + status_for;
}

// Returns the document id, or -1 for a status message (handled by
// accept_status; `status_for` receives the id of the document it is about).
Result<DocumentId> Engine::store_incoming_document(IncomingDelivery& d, const std::string& dir,
                                                   std::string& status_for) {
  const auto& blobs = store_.blobs();
  // The bytes as received are kept first, whatever they turn out to be.
  auto envelope = blobs.put_file(d.file);
  if (!envelope.ok()) return envelope.error();

  ex::ReadOptions ro = opt_.read;
  ro.attachment_dir = dir;
  auto env = ex::read_envelope_file(blobs.path_of(envelope->sha256), ro);

  store::NewDocument nd;
  nd.direction = Direction::incoming;
  nd.envelope = *envelope;
  nd.actor = "axis";
  std::string problem_code, problem;

  if (env.ok() && env->status) {
    auto r = accept_status(blobs.path_of(envelope->sha256), envelope->sha256, d.from);
    if (!r.ok()) {
      m_->incoming.inc({"status_refused"});
      return r.error();
    }
    status_for = *r;
    m_->incoming.inc({"status"});
    return DocumentId{-1};
  }
  if (!env.ok()) {
    problem_code = env.error().code;
    problem = env.error().to_string();
    nd.envelope_id = "sha256:" + envelope->sha256;
    nd.sender = d.from.empty() ? "unknown" : d.from;
  } else {
    const ex::MessageHeader& m = *env->message;
    EDX_TRY(fill_document(nd, *env, blobs));
    if (nd.envelope_id.empty()) nd.envelope_id = "sha256:" + envelope->sha256;
    // The policy, cheapest first: addressed to us, from whom the axis says,
    // then the signature.
    if (std::find(nd.recipients.begin(), nd.recipients.end(), opt_.organ_id) == nd.recipients.end()) {
      problem_code = "edxml.recipient";
      problem = "the envelope is not addressed to this organ (" + opt_.organ_id + ")";
    } else if (!d.from.empty() && d.from != nd.sender) {
      problem_code = "edxml.sender";
      problem = "the envelope says it is from " + nd.sender + " but the axis delivered it from " + d.from;
    } else if (m.document_id.empty()) {
      problem_code = "edxml.missing";
      problem = "the envelope has no DocumentId";
    } else {
      auto doc = ex::parse_xml_file(blobs.path_of(envelope->sha256), ro.limits);
      crypto::Verification v;
      if (!doc.ok()) {
        v.code = doc.error().code;
        v.message = doc.error().to_string();
      } else {
        v = verifier_->verify(doc->get());
      }
      m_->verifications.inc({v.valid ? "ok" : v.code});
      nd.signer_summary = signer_summary(v);
      if (!v.valid) {
        problem_code = v.code;
        problem = v.message;
      }
    }
  }
  nd.state = problem_code.empty() ? State::verified : State::quarantined;
  if (!problem_code.empty()) {
    nd.signer_summary = ("quarantined: " + problem_code + ": " + problem).substr(0, 4000);
  }
  auto created = store_.create_document(nd);
  if (!created.ok()) return created.error();
  m_->incoming.inc({created->existing ? "duplicate" : std::string(store::state_name(nd.state))});
  log::info("incoming stored", {{"document", std::to_string(created->id)},
                                {"state", std::string(store::state_name(nd.state))},
                                {"from", nd.sender},
                                {"reason", problem_code},
                                {"duplicate", created->existing ? "true" : "false"}});
  // Tell the sender (once: a duplicate delivery whose answer is queued gets none).
  auto doc = store_.get_document(created->id);
  if (!doc.ok()) return doc.error();
  auto sent = store_.status_messages(created->id);
  if (!sent.ok()) return sent.error();
  if (sent->empty() && env.ok() && env->message && !nd.sender.empty()) {
    Status st = problem_code.empty()
                    ? queue_status(*doc, ex::StatusCode::arrived, std::string(ex::status_code_meaning(ex::StatusCode::arrived)),
                                   "", "", std::nullopt, "system:engine")
                    : queue_status(*doc, ex::StatusCode::refused,
                                   "Từ chối tiếp nhận: " + problem + " [" + problem_code + "] (envelope sha256:" +
                                       nd.envelope->sha256 + ")",
                                   "", "",
                                   std::nullopt, "system:engine");
    if (!st.ok()) {
      // The document is stored; the answer is retried at the next delivery or
      // by an operator. Never fail the delivery for it.
      log::warn("status not queued", {{"document", std::to_string(created->id)}, {"error", st.error().message}});
    }
  }
  return created->id;
}

Result<std::string> Engine::accept_status(const std::string& file, const std::string& envelope_sha256,
                                          const std::string& axis_from) {
  ex::ReadOptions ro = opt_.read;
  auto env = ex::read_envelope_file(file, ro);
  if (!env.ok()) return env.error();
  const ex::StatusMessage& s = *env->status;
  if (s.response_for.document_id.empty()) {
    return make_error("status.document", "the status message names no DocumentId in ResponseFor");
  }
  store::DocumentQuery q;
  q.direction = Direction::outgoing;
  q.envelope_id = s.response_for.document_id;
  q.limit = 2;
  auto page = store_.list_documents(q);
  if (!page.ok()) return page.error();
  if (page->documents.empty()) {
    return make_error("status.unknown_document",
                      "no outgoing document has DocumentId '" + s.response_for.document_id + "'");
  }
  auto doc = store_.get_document(page->documents.front().id);
  if (!doc.ok()) return doc.error();
  // The organ the axis authenticated as the sender must be the one the
  // message names: otherwise any system on the axis could report (unsigned)
  // in a recipient's name.
  if (!axis_from.empty() && axis_from != s.from.organ_id) {
    return make_error("status.sender", "the status message says it is from " + s.from.organ_id +
                                           " but the axis delivered it from " + axis_from);
  }
  if (std::find(doc->recipients.begin(), doc->recipients.end(), s.from.organ_id) == doc->recipients.end()) {
    return make_error("status.sender", "organ '" + s.from.organ_id + "' is not a recipient of document " +
                                           std::to_string(doc->id));
  }
  if (env->signature == ex::SignaturePresence::dsig) {
    auto parsed = ex::parse_xml_file(file, ro.limits);
    if (!parsed.ok()) return parsed.error();
    crypto::Verification v = verifier_->verify(parsed->get());
    m_->verifications.inc({v.valid ? "ok" : v.code});
    if (!v.valid) return make_error(v.code, "the status message's signature is not valid: " + v.message);
  }
  auto known = store_.status_messages(doc->id);
  if (!known.ok()) return known.error();
  for (const auto& k : *known) {
    if (k.envelope && k.envelope->sha256 == envelope_sha256) return std::to_string(doc->id);  // a redelivery
  }
  store::StatusMessage sm;
  sm.direction = Direction::incoming;
  sm.code = ex::format_status_code(s.code);
  sm.description = s.description;
  sm.staff = s.staff.staff;
  sm.envelope = store::BlobRef{envelope_sha256, 0};
  auto size = store_.blobs().stat(envelope_sha256);
  if (!size.ok()) return size.error();
  sm.envelope->size = *size;
  EDX_TRY(store_.add_status_message(doc->id, sm));
  // A refusal that names the hash of the envelope it refused, when that is
  // not the envelope we sent, is about a copy someone else made (a forgery
  // injected at the axis): it is recorded, and the genuine document keeps its
  // state. A refusal without a hash (other implementations) counts as usual.
  if (s.code == ex::StatusCode::refused && doc->envelope) {
    const auto at = s.description.find("sha256:");
    if (at != std::string::npos && s.description.size() >= at + 7 + 64) {
      const std::string refused = s.description.substr(at + 7, 64);
      if (store::is_blob_name(refused) && refused != doc->envelope->sha256) {
        log::warn("a refusal of an envelope we did not send (a forged copy?)",
                  {{"document", std::to_string(doc->id)}, {"from", s.from.organ_id}, {"refused_sha256", refused}});
        return std::to_string(doc->id);
      }
    }
  }
  State current = doc->state;
  if (current == State::queued && state_for_status(s.code)) {
    // The axis took an earlier send whose answer we never saw (a crash, a
    // lost connection) and the retry is still due: the recipient's status
    // proves it was sent. Without this the status would be dropped and the
    // document left at sent once the retry completes.
    auto sent = store_.transition(doc->id, State::sent, "organ:" + s.from.organ_id,
                                  "a status message from a recipient shows it was sent", State::queued);
    if (!sent.ok() && sent.error().code != "store.conflict") return sent.error();
    auto again = store_.get_document(doc->id);
    if (!again.ok()) return again.error();
    current = again->state;
  }
  if (auto to = state_for_status(s.code); to && store::is_legal(Direction::outgoing, current, *to)) {
    auto moved = store_.transition(doc->id, *to, "organ:" + s.from.organ_id,
                                   "status " + sm.code + ": " + s.description, current);
    if (!moved.ok() && moved.error().code != "store.conflict") return moved.error();
  }
  log::info("status received", {{"document", std::to_string(doc->id)}, {"code", sm.code}, {"from", s.from.organ_id}});
  return std::to_string(doc->id);
}

Status Engine::queue_status(const store::Document& doc, ex::StatusCode code, const std::string& description,
                            const std::string& staff, const std::string& department,
                            std::optional<State> move_to, const std::string& actor) {
  ex::Envelope env;
  ex::StatusMessage& s = env.status.emplace();
  s.response_for.organ_id = doc.sender;
  if (!doc.code_number.empty()) s.response_for.code = doc.code_number + "/" + doc.code_notation;
  if (auto d = ex::parse_date(doc.promulgation_date); d.ok()) s.response_for.promulgation_date = *d;
  s.response_for.document_id = doc.envelope_id;
  s.from.organ_id = opt_.organ_id;
  s.from.organ_name = opt_.organ_name;
  s.from.organization_in_charge = opt_.organ_name;
  s.code = code;
  s.description = description.empty() ? std::string(ex::status_code_meaning(code)) : description;
  s.staff.staff = staff;
  s.staff.department = department;
  s.timestamp = ex::now_vietnam();
  env.trace.traces.push_back({opt_.organ_id, s.timestamp});

  ScratchDir scratch(opt_.work_dir);
  if (!scratch.ok()) return make_error("io.write", "cannot create a temp directory in " + opt_.work_dir);
  std::string file = scratch / "status.xml";
  EDX_TRY(ex::write_envelope_file(env, opt_.write, file));
  if (keys_ && keys_->has_unattended_key()) {
    // Signed when the gateway holds a key it may use on its own.
    auto key = keys_->open("", nullptr);
    auto parsed = ex::parse_xml_file(file, opt_.read.limits);
    if (key.ok() && parsed.ok()) {
      crypto::SignOptions so;
      so.algorithm = key->algorithm;
      so.include_chain = !key->chain.empty();
      auto signed_doc = crypto::sign(std::move(*parsed), *key->signer, key->certificate, key->chain, so, *verifier_);
      if (signed_doc.ok()) {
        file = scratch / "status-signed.xml";
        EDX_TRY(save_document(signed_doc->get(), file));
      } else {
        log::warn("status message sent unsigned", {{"error", signed_doc.error().message}});
      }
    } else {
      log::warn("status message sent unsigned", {{"error", key.ok() ? parsed.error().message : key.error().message}});
    }
  }
  auto ref = store_.blobs().put_file(file);
  if (!ref.ok()) return ref.error();
  store::OutboxRequest out{"status", doc.sender, *ref};
  if (move_to) {
    auto moved = store_.transition(doc.id, *move_to, actor, description, doc.state, out);
    if (!moved.ok()) return moved.error();
  } else {
    auto q = store_.enqueue(doc.id, out);
    if (!q.ok()) return q.error();
  }
  store::StatusMessage sm;
  sm.direction = Direction::outgoing;
  sm.code = ex::format_status_code(code);
  sm.description = s.description;
  sm.staff = staff;
  sm.envelope = *ref;
  EDX_TRY(store_.add_status_message(doc.id, sm));
  wake();
  return {};
}

Status Engine::acknowledge(DocumentId id, const std::string& actor) {
  auto doc = store_.get_document(id);
  if (!doc.ok()) return doc.error();
  if (doc->direction != Direction::incoming) {
    return make_error("store.not_found", "no incoming document " + std::to_string(id));
  }
  return store_.append({actor, "incoming.ack", "document:" + std::to_string(id), "ok",
                        "state " + std::string(store::state_name(doc->state))});
}

Result<State> Engine::report(DocumentId id, const ProcessingReport& r, const std::string& actor) {
  auto code = status_for_state(r.state);
  if (!code) {
    return make_error("report.state", "a report's state is accepted, refused, assigned, processing or completed");
  }
  if (r.state == State::refused && r.reason.empty()) {
    return make_error("report.reason", "a refusal needs a reason");
  }
  auto doc = store_.get_document(id);
  if (!doc.ok()) return doc.error();
  if (doc->direction != Direction::incoming) {
    return make_error("store.not_found", "no incoming document " + std::to_string(id));
  }
  if (doc->state == r.state) return r.state;  // a repeated report changes nothing
  // Accepting is implied by any later step: a verified document reported as
  // assigned is first registered (03), then assigned (04).
  if (doc->state == State::verified && r.state != State::registered && r.state != State::refused) {
    EDX_TRY(queue_status(*doc, ex::StatusCode::accepted, "", r.staff, r.department, State::registered, actor));
    auto again = store_.get_document(id);
    if (!again.ok()) return again.error();
    doc = std::move(again);
  }
  if (!store::is_legal(Direction::incoming, doc->state, r.state)) {
    return make_error("store.illegal_transition", "document " + std::to_string(id) + " cannot go from " +
                                                      std::string(store::state_name(doc->state)) + " to " +
                                                      std::string(store::state_name(r.state)));
  }
  EDX_TRY(queue_status(*doc, *code, r.reason, r.staff, r.department, r.state, actor));
  return r.state;
}

// ---------------------------------------------------------------- workers

Result<size_t> Engine::run_outbox_once() {
  if (!axis_) return size_t{0};
  auto items = store_.claim_outbox(opt_.worker, opt_.lease_ms, 16);
  if (!items.ok()) return items.error();
  size_t sent = 0;
  for (const auto& item : *items) {
    Status result;
    if (!item.payload) {
      result = make_error("outbox.payload", "the item has nothing to send");
    } else if (auto v = store_.blobs().verify(*item.payload); !v.ok()) {
      result = v;
    } else {
      const std::string path = store_.blobs().path_of(item.payload->sha256);
      Result<std::string> r = item.kind == "status"
                                  ? axis_->send_status(path, split_list(item.destination))
                                  : axis_->send_envelope(path, split_list(item.destination), AxisMessageType::edoc);
      if (r.ok()) {
        axis_ok_ = true;
      } else {
        result = r.error();
        if (r.error().code != "axis.refused") {
          axis_ok_ = false;
          std::lock_guard lock(axis_err_mu_);
          axis_error_ = r.error().message;
        }
      }
    }
    if (result.ok()) {
      std::optional<State> advance;
      if (item.kind == "edoc") {
        auto doc = store_.get_document(item.document_id);
        if (doc.ok() && doc->state == State::queued) advance = State::sent;
      }
      auto done = store_.complete_outbox(item.id, item.lease_token, advance, "system:outbox");
      if (!done.ok()) log::warn("outbox completion failed", {{"item", std::to_string(item.id)}, {"error", done.error().message}});
      m_->sends.inc({item.kind, "ok"});
      ++sent;
      log::info("sent to the axis", {{"item", std::to_string(item.id)},
                                     {"document", std::to_string(item.document_id)},
                                     {"kind", item.kind}});
    } else {
      m_->sends.inc({item.kind, "failed"});
      auto f = store_.fail_outbox(item.id, item.lease_token, result.error().code + ": " + result.error().message);
      if (!f.ok()) log::warn("outbox failure not recorded", {{"item", std::to_string(item.id)}, {"error", f.error().message}});
      log::warn("send to the axis failed", {{"item", std::to_string(item.id)},
                                            {"attempt", std::to_string(item.attempts + 1)},
                                            {"error", result.error().message}});
    }
  }
  return sent;
}

Result<size_t> Engine::poll_once() {
  if (!axis_) return size_t{0};
  size_t stored = 0;
  for (AxisMessageType type : {AxisMessageType::edoc, AxisMessageType::status}) {
    AxisListQuery q;
    q.message_type = type;
    auto items = axis_->list_received(q);
    if (!items.ok()) {
      axis_ok_ = false;
      std::lock_guard lock(axis_err_mu_);
      axis_error_ = items.error().message;
      return items.error();
    }
    axis_ok_ = true;
    for (const auto& item : *items) {
      ScratchDir scratch(opt_.work_dir);
      if (!scratch.ok()) return make_error("io.write", "cannot create a temp directory in " + opt_.work_dir);
      const std::string file = scratch / "delivery.xml";
      if (auto g = axis_->get(item.doc_id, file); !g.ok()) {
        log::warn("axis get failed", {{"doc_id", item.doc_id}, {"error", g.error().message}});
        continue;  // the next poll tries again
      }
      IncomingDelivery d;
      d.file = file;
      d.message_type = item.message_type;
      d.from = item.from;
      std::error_code ec;
      d.size = std::filesystem::file_size(file, ec);
      auto r = accept(d);
      AxisItemStatus mark = AxisItemStatus::done;
      if (!r.ok()) {
        // Bad input is answered once (fail); our own trouble (store, disk) is retried.
        if (!is_input_error(r.error()) && r.error().code.rfind("status.", 0) != 0) continue;
        mark = AxisItemStatus::fail;
        log::warn("axis delivery refused", {{"doc_id", item.doc_id}, {"error", r.error().message}});
      } else {
        ++stored;
      }
      if (auto u = axis_->update_status(item.doc_id, mark); !u.ok()) {
        log::warn("axis updateStatus failed", {{"doc_id", item.doc_id}, {"error", u.error().message}});
      }
    }
  }
  return stored;
}

Status Engine::axis_check() const {
  if (!axis_) return make_error("ready.axis", "no axis is configured");
  if (axis_ok_) return {};
  std::lock_guard lock(const_cast<std::mutex&>(axis_err_mu_));
  return make_error("ready.axis", "the last axis call failed: " + axis_error_);
}

void Engine::refresh_gauges() {
  auto s = store_.stats();
  if (!s.ok()) return;
  for (Direction d : {Direction::outgoing, Direction::incoming}) {
    for (State st : store::all_states()) {
      if (!store::belongs_to(d, st)) continue;
      uint64_t n = 0;
      for (const auto& c : s->documents) {
        if (c.direction == d && c.state == st) n = c.count;
      }
      m_->documents.set({std::string(store::direction_name(d)), std::string(store::state_name(st))},
                        static_cast<double>(n));
    }
  }
  m_->outbox_depth.set({}, static_cast<double>(s->outbox_pending));
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  m_->outbox_oldest.set({}, s->outbox_oldest_created_ms == 0
                                ? 0.0
                                : static_cast<double>(now_ms - s->outbox_oldest_created_ms) / 1000.0);
}

void Engine::wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

void Engine::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  if (auto r = store_.release_leases(opt_.worker); r.ok() && *r > 0) {
    log::info("outbox leases of a previous run released", {{"count", std::to_string(*r)}});
  }
  thread_ = std::thread([this] { loop(); });
}

void Engine::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Engine::loop() {
  using clock = std::chrono::steady_clock;
  auto next_poll = clock::now();
  auto next_gc = clock::now() + opt_.gc_interval;
  auto next_recover = clock::now();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stop_) return;
    }
    if (clock::now() >= next_recover) {
      // A document left signed by a crash between signing and queueing.
      store::DocumentQuery q;
      q.direction = Direction::outgoing;
      q.state = State::signed_;
      q.limit = 100;
      if (auto page = store_.list_documents(q); page.ok()) {
        for (const auto& d : page->documents) {
          auto full = store_.get_document(d.id);
          if (!full.ok() || !full->envelope) continue;
          (void)store_.transition(d.id, State::queued, "system:engine", "queued after a restart", State::signed_,
                                  store::OutboxRequest{"edoc", join_list(full->recipients), *full->envelope});
        }
      }
      next_recover = clock::now() + std::chrono::minutes(5);
    }
    auto sent = run_outbox_once();
    if (!sent.ok()) log::warn("outbox pass failed", {{"error", sent.error().message}});
    if (opt_.pull && clock::now() >= next_poll) {
      auto got = poll_once();
      if (!got.ok()) log::warn("axis poll failed", {{"error", got.error().message}});
      next_poll = clock::now() + opt_.poll_interval;
    }
    if (clock::now() >= next_gc) {
      if (auto gc = store_.collect_garbage(); !gc.ok()) log::warn("garbage collection failed", {{"error", gc.error().message}});
      next_gc = clock::now() + opt_.gc_interval;
    }
    refresh_gauges();
    std::unique_lock lock(mu_);
    if (stop_) return;
    // Sent a full batch: go on at once.
    if (sent.ok() && *sent >= 16) continue;
    cv_.wait_for(lock, opt_.outbox_interval, [this] { return stop_ || woken_; });
    woken_ = false;
  }
}

std::string Engine::temp_dir() { return opt_.work_dir; }

}  // namespace edxgate::gateway
