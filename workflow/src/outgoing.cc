#include "outgoing.h"

#include <unistd.h>

#include <algorithm>

#include "edxgate/base/log.h"
#include "edxgate/edxml/json.h"
#include "edxgate/edxml/pack.h"
#include "edxgate/workflow/directory.h"

namespace edxgate::workflow::detail {

namespace ex = edxgate::edxml;
using store::Direction;
using store::DocumentId;
using store::State;

namespace {

void remove_files(const std::vector<std::string>& files) {
  for (const auto& f : files) {
    if (!f.empty()) ::unlink(f.c_str());
  }
}

bool may_send_as(const std::vector<std::string>& allowed, const std::string& organ) {
  return std::find(allowed.begin(), allowed.end(), organ) != allowed.end();
}

// The recipients must be in the agency directory, once one is stored (directory.h).
Status check_to(store::Store& store, const ex::MessageHeader& m) {
  std::vector<std::string> organs;
  for (const auto& t : m.to) organs.push_back(t.organ_id);
  return check_recipients(store, organs);
}

}  // namespace

Result<Submitted> Outgoing::submit(Submission sub) {
  struct Cleanup {
    std::vector<std::string>& files;
    ~Cleanup() { remove_files(files); }
  } cleanup{sub.files};
  auto env = ex::envelope_from_json(sub.header);
  if (!env.ok()) return env.error();
  if (!env->message) {
    return make_error(ErrorKind::invalid, "submit.header", "the metadata must describe a document (\"message\")");
  }
  const std::string& from = env->message->from.organ_id;
  if (!may_send_as(sub.allowed_senders, from)) {
    return make_error(ErrorKind::forbidden, "submit.sender", "this client may not send as organ '" + from + "'");
  }
  if (from != c_.opt.organ_id) {
    return make_error(ErrorKind::forbidden, "submit.sender",
                      "this gateway sends as organ '" + c_.opt.organ_id + "', not '" + from + "'");
  }
  EDX_TRY(check_to(c_.store, *env->message));
  const auto& limits = c_.opt.read.limits;
  if (sub.files.size() > limits.max_attachments) {
    return make_error(ErrorKind::invalid, "submit.attachments",
                      "too many attachments (at most " + std::to_string(limits.max_attachments) + ")");
  }
  EDX_TRY(ex::complete_for_pack(*env, sub.files, sub.names));
  EDX_TRY(ex::check_envelope(*env, c_.opt.read.format));
  for (const auto& a : env->attachments) {
    if (a.size > limits.max_attachment_bytes) {
      return make_error(ErrorKind::too_large, "http.too_large", "attachment '" + a.name + "' is larger than the limit");
    }
  }
  auto scratch = make_scratch(c_);
  if (!scratch.ok()) return scratch.error();
  const std::string envelope_file = **scratch / "envelope.xml";
  EDX_TRY(ex::write_envelope_file(*env, c_.opt.write, envelope_file));

  const auto& blobs = c_.store.blobs();
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
  auto created = c_.store.create_document(nd);
  if (!created.ok()) return created.error();
  auto doc = c_.store.get_document(created->id);
  if (!doc.ok()) return doc.error();
  log::info("outgoing submitted", {{"document", std::to_string(created->id)},
                                   {"by", sub.submitter},
                                   {"existing", created->existing ? "true" : "false"}});
  return Submitted{created->id, doc->state, created->existing};
}

Result<Submitted> Outgoing::submit_envelope(std::string file, const std::string& submitter,
                                            const std::vector<std::string>& allowed_senders,
                                            const std::string& idempotency_key) {
  struct Cleanup {
    std::string& f;
    ~Cleanup() { ::unlink(f.c_str()); }
  } cleanup{file};
  auto scratch = make_scratch(c_);
  if (!scratch.ok()) return scratch.error();
  ex::ReadOptions ro = c_.opt.read;
  ro.attachment_dir = (*scratch)->path();
  // One pass reads the envelope and checks its signature, if it has one.
  crypto::VerifiedEnvelope read = c_.verifier->read_and_verify(file, ro);
  if (!read.envelope.ok()) return read.envelope.error();
  const ex::Envelope& env = read.envelope->envelope;
  if (!env.message) {
    return make_error(ErrorKind::invalid, "submit.header", "the envelope must be a document, not a status message");
  }
  // We are about to send it: the content rules for what we send apply (organ
  // ids, document code, trace hops). The element order is the submitter's
  // (the SDK and the VNPT library write DocumentId after To, and a signed
  // envelope cannot be reordered): any order real peers write is taken.
  EDX_TRY(ex::check_envelope(env, ro.format, ex::Strictness::outgoing));
  const ex::MessageHeader& m = *env.message;
  if (!may_send_as(allowed_senders, m.from.organ_id) || m.from.organ_id != c_.opt.organ_id) {
    return make_error(ErrorKind::forbidden, "submit.sender",
                      "this client may not send as organ '" + m.from.organ_id + "'");
  }
  if (m.document_id.empty()) return make_error(ErrorKind::invalid, "edxml.missing", "the envelope has no DocumentId");
  EDX_TRY(check_to(c_.store, m));
  std::optional<crypto::Verification> verified;
  if (env.signature == ex::SignaturePresence::dsig) {
    const crypto::Verification& v = read.verification;
    if (!v.valid) {
      return make_error(ErrorKind::invalid, v.code, "the envelope's signature is not valid: " + v.message);
    }
    verified = v;
  }
  const auto& blobs = c_.store.blobs();
  store::NewDocument nd;
  nd.direction = Direction::outgoing;
  nd.state = State::pending_signature;
  auto envelope = blobs.put_file(file);
  if (!envelope.ok()) return envelope.error();
  nd.envelope = *envelope;
  EDX_TRY(fill_document(nd, env, blobs));
  if (verified) nd.signer_summary = signer_summary(*verified);
  nd.submitter = submitter;
  nd.idempotency_key = idempotency_key;
  nd.actor = submitter;
  auto created = c_.store.create_document(nd);
  if (!created.ok()) return created.error();
  if (verified && !created->existing) {
    auto moved = c_.store.transition(created->id, State::signed_, submitter,
                                     "submitted signed: " + nd.signer_summary, State::pending_signature);
    if (!moved.ok()) return moved.error();
    auto queued = c_.store.transition(created->id, State::queued, submitter, "", State::signed_,
                                      store::OutboxRequest{"edoc", join_list(nd.recipients), *envelope});
    if (!queued.ok()) return queued.error();
    c_.wake();
  }
  auto doc = c_.store.get_document(created->id);
  if (!doc.ok()) return doc.error();
  return Submitted{created->id, doc->state, created->existing};
}

Result<ex::XmlDocPtr> Outgoing::load_unsigned(const store::Document& doc) {
  const std::string which = "document " + std::to_string(doc.id);
  if (doc.direction != Direction::outgoing) {
    return make_error(ErrorKind::not_found, "store.not_found", which + " is not an outgoing document");
  }
  if (doc.state != State::pending_signature && doc.state != State::draft) {
    return make_error(ErrorKind::conflict, "store.conflict",
                      which + " is " + std::string(store::state_name(doc.state)) + ", not waiting for a signature");
  }
  if (!doc.envelope) return make_error(ErrorKind::conflict, "store.conflict", which + " has no envelope");
  EDX_TRY(c_.store.blobs().verify(*doc.envelope));
  return ex::parse_xml_file(c_.store.blobs().path_of(doc.envelope->sha256), c_.opt.read.limits);
}

Result<State> Outgoing::store_signed(DocumentId id, xmlDoc* doc, const crypto::Verification& v,
                                     const std::string& actor) {
  auto scratch = make_scratch(c_);
  if (!scratch.ok()) return scratch.error();
  const std::string file = **scratch / "signed.xml";
  EDX_TRY(save_document(doc, file));
  auto ref = c_.store.blobs().put_file(file);
  if (!ref.ok()) return ref.error();
  const std::string summary = signer_summary(v);
  EDX_TRY(c_.store.set_envelope(id, *ref, summary, actor));
  auto current = c_.store.get_document(id);
  if (!current.ok()) return current.error();
  if (current->state == State::draft) {
    auto r = c_.store.transition(id, State::pending_signature, actor, "", State::draft);
    if (!r.ok()) return r.error();
  }
  auto s = c_.store.transition(id, State::signed_, actor, "signed by " + summary, State::pending_signature);
  if (!s.ok()) return s.error();
  // A crash here leaves it signed; the worker queues signed documents it finds.
  auto q = c_.store.transition(id, State::queued, actor, "", State::signed_,
                               store::OutboxRequest{"edoc", join_list(current->recipients), *ref});
  if (!q.ok()) return q.error();
  c_.metrics.signatures.inc({"ok"});
  c_.wake();
  return State::queued;
}

Result<State> Outgoing::sign(DocumentId id, const std::string& key_uri, const SecretString* pin,
                             const std::string& actor) {
  if (!c_.keys) return make_error(ErrorKind::unavailable, "sign.no_token", "this gateway has no token configured");
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) return doc.error();
  auto unsigned_doc = load_unsigned(*doc);
  if (!unsigned_doc.ok()) return unsigned_doc.error();
  auto key = c_.keys->open(key_uri, pin);
  if (!key.ok()) {
    c_.metrics.signatures.inc({"failed"});
    return key.error();
  }
  crypto::SignOptions so;
  so.algorithm = key->algorithm;
  so.include_chain = !key->chain.empty();
  crypto::Verification v;
  auto signed_doc =
      crypto::sign(std::move(*unsigned_doc), *key->signer, key->certificate, key->chain, so, *c_.verifier, &v);
  if (!signed_doc.ok()) {
    c_.metrics.signatures.inc({"failed"});
    return signed_doc.error();
  }
  return store_signed(id, signed_doc->get(), v, actor);
}

Result<crypto::PreparedSignature> Outgoing::prepare_remote(DocumentId id,
                                                          const std::vector<crypto::Certificate>& certificates,
                                                          std::optional<crypto::SignatureAlgorithm> algorithm) {
  if (certificates.empty()) {
    return make_error(ErrorKind::invalid, "sign.certificate", "the signer's certificate is missing");
  }
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) return doc.error();
  auto unsigned_doc = load_unsigned(*doc);
  if (!unsigned_doc.ok()) return unsigned_doc.error();
  crypto::SignOptions so;
  so.algorithm = algorithm.value_or(crypto::default_algorithm(certificates.front()));
  so.include_chain = certificates.size() > 1;
  std::span<const crypto::Certificate> chain(certificates.data() + 1, certificates.size() - 1);
  return crypto::prepare(std::move(*unsigned_doc), certificates.front(), chain, so);
}

Result<ToSign> Outgoing::to_sign(DocumentId id, const std::vector<crypto::Certificate>& certificates,
                                 std::optional<crypto::SignatureAlgorithm> algorithm) {
  auto prepared = prepare_remote(id, certificates, algorithm);
  if (!prepared.ok()) return prepared.error();
  auto bytes = prepared->bytes_to_sign();
  return ToSign{std::vector<uint8_t>(bytes.begin(), bytes.end()), prepared->algorithm()};
}

Result<State> Outgoing::complete_signature(DocumentId id, const std::vector<crypto::Certificate>& certificates,
                                           std::optional<crypto::SignatureAlgorithm> algorithm,
                                           const std::vector<uint8_t>& signature, const std::string& actor) {
  // prepare() is deterministic: the same bytes the agent signed.
  auto prepared = prepare_remote(id, certificates, algorithm);
  if (!prepared.ok()) return prepared.error();
  crypto::Verification v;
  auto signed_doc = crypto::complete(std::move(*prepared), signature, *c_.verifier, &v);
  if (!signed_doc.ok()) {
    c_.metrics.signatures.inc({"failed"});
    return signed_doc.error();
  }
  return store_signed(id, signed_doc->get(), v, actor);
}

void Outgoing::requeue_signed() {
  store::DocumentQuery q;
  q.direction = Direction::outgoing;
  q.state = State::signed_;
  q.limit = 100;
  auto page = c_.store.list_documents(q);
  if (!page.ok()) return;
  for (const auto& d : page->documents) {
    auto full = c_.store.get_document(d.id);
    if (!full.ok() || !full->envelope) continue;
    (void)c_.store.transition(d.id, State::queued, "system:engine", "queued after a restart", State::signed_,
                              store::OutboxRequest{"edoc", join_list(full->recipients), *full->envelope});
  }
}

}  // namespace edxgate::workflow::detail
