#include "outgoing.h"

#include <unistd.h>

#include <algorithm>

#include "edxgate/base/log.h"
#include "edxgate/edxml/json.h"
#include "edxgate/edxml/pack.h"
#include "edxgate/workflow/directory.h"
#include "edxgate/workflow/policy.h"

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

// Takes "security_level" out of the header (top level, or in "message"), so
// that the envelope reader sees only edXML fields.
Result<std::string> take_security_level(json::bj::value& header) {
  std::string level;
  auto take = [&](json::bj::object& o) -> Status {
    auto it = o.find("security_level");
    if (it == o.end()) return {};
    if (!it->value().is_string()) {
      return make_error(ErrorKind::invalid, "policy.security_level", "security_level must be a string");
    }
    level = std::string(it->value().as_string());
    o.erase(it);
    return {};
  };
  if (!header.is_object()) return level;
  EDX_TRY(take(header.as_object()));
  if (auto* m = header.as_object().if_contains("message"); m && m->is_object()) EDX_TRY(take(m->as_object()));
  return level;
}

// "subject (SHA-256 fingerprint)" of the certificate that signed, for history.
std::string certificate_named(const crypto::Verification& v) {
  if (!v.signer) return "an unknown certificate";
  return v.signer->subject + " (sha256:" + v.signer->sha256 + ")";
}

}  // namespace

// Records a refusal by the content rules in the audit log (who tried what).
void Outgoing::audit_refusal(const Error& e, const std::string& submitter, const std::string& what) {
  AuditEvent ev{submitter, "policy.refuse", what, "failed", e.code + ": " + e.message};
  if (auto st = c_.store.append(ev); !st.ok()) {
    log::warn("policy refusal not audited", {{"error", st.error().message}});
  }
}

Status Outgoing::check_policy(policy::SecurityLevel level, const edxml::MessageHeader& m,
                              const std::string& submitter) {
  Status st = policy::check_outgoing(level, m, c_.opt.forbidden_kinds);
  if (!st.ok()) {
    audit_refusal(st.error(), submitter, "outgoing " + m.code.number + "/" + m.code.notation);
    return st;
  }
  return {};
}

// DocumentId is unique per sending organ among live outgoing documents. A
// retry of the same submission (same submitter and Idempotency-Key) is let
// through: the store returns the existing document for it.
// A recall (BussinessDocType 1) or an update (2) of a document carries that
// document's DocumentId on purpose (lifecycle.cc): it is not a second document.
Status Outgoing::check_unique_document_id(const std::string& sender, const std::string& document_id,
                                          const std::string& submitter, const std::string& idempotency_key,
                                          const ex::TraceHeaderList& trace) {
  if (document_id.empty()) return {};
  if (trace.business && (trace.business->doc_type == ex::BusinessDocType::revocation ||
                         trace.business->doc_type == ex::BusinessDocType::update)) {
    return {};
  }
  store::DocumentQuery q;
  q.direction = Direction::outgoing;
  q.sender = sender;
  q.envelope_id = document_id;
  q.limit = 50;
  auto page = c_.store.list_documents(q);
  if (!page.ok()) return page.error();
  for (const auto& d : page->documents) {
    if (d.state == State::cancelled || d.state == State::refused) continue;  // not live
    if (!idempotency_key.empty() && d.submitter == submitter && d.idempotency_key == idempotency_key) continue;
    Error e = make_error(ErrorKind::conflict, "document.duplicate_id",
                         "organ " + sender + " already has a live document with DocumentId '" + document_id +
                             "' (document " + std::to_string(d.id) + "); give the new document another code or date");
    audit_refusal(e, submitter, "outgoing " + document_id);
    return e;
  }
  return {};
}

// A retried submission (same submitter and Idempotency-Key) must be the same
// document: the same DocumentId, subject, recipients and attachments.
Status Outgoing::check_same_submission(const store::NewDocument& nd, const store::Document& existing) {
  bool same = nd.envelope_id == existing.envelope_id && nd.subject == existing.subject &&
              nd.recipients == existing.recipients && nd.attachments.size() == existing.attachments.size();
  for (size_t i = 0; same && i < nd.attachments.size(); ++i) {
    same = nd.attachments[i].name == existing.attachments[i].name &&
           nd.attachments[i].blob.sha256 == existing.attachments[i].blob.sha256;
  }
  if (same) return {};
  return make_error(ErrorKind::invalid, "idempotency.mismatch",
                    "this Idempotency-Key was used for another document (" + std::to_string(existing.id) +
                        "); a retry must send the same metadata and files");
}

// Organization mode: the agency's key signs what a system submitted.
Result<Submitted> Outgoing::sign_for_organization(Submitted s, const std::string& submitter) {
  if (c_.opt.signing != SigningMode::organization || s.state != State::pending_signature) return s;
  const std::string how = "signed by the organization for " + submitter;
  auto signed_state = sign_with(s.id, "", nullptr, "system:organization", how, how);
  if (!signed_state.ok()) return signed_state.error();
  s.state = *signed_state;
  return s;
}

Result<Submitted> Outgoing::submit(Submission sub) {
  struct Cleanup {
    std::vector<std::string>& files;
    ~Cleanup() { remove_files(files); }
  } cleanup{sub.files};
  auto level_text = take_security_level(sub.header);
  if (!level_text.ok()) return level_text.error();
  auto level = policy::parse_security_level(*level_text);
  if (!level.ok()) return level.error();
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
  EDX_TRY(check_policy(*level, *env->message, sub.submitter));
  const auto& limits = c_.opt.read.limits;
  if (sub.files.size() > limits.max_attachments) {
    return make_error(ErrorKind::invalid, "submit.attachments",
                      "too many attachments (at most " + std::to_string(limits.max_attachments) + ")");
  }
  EDX_TRY(ex::complete_for_pack(*env, sub.files, sub.names));
  EDX_TRY(ex::check_envelope(*env, c_.opt.read.format));
  EDX_TRY(check_unique_document_id(from, env->message->document_id, sub.submitter, sub.idempotency_key, env->trace));
  for (const auto& a : env->attachments) {
    if (a.size > limits.max_attachment_bytes) {
      return make_error(ErrorKind::too_large, "http.too_large", "attachment '" + a.name + "' is larger than the limit");
    }
  }
  const ScratchFile scratch(c_.opt.work_dir, "envelope.xml");
  const std::string& envelope_file = scratch.path();
  // Not synced: it is signed into another file, or linked into the blob
  // store, which syncs what it keeps.
  EDX_TRY(ex::write_envelope_file(*env, c_.opt.write, envelope_file, fs::Durability::unsynced));

  store::NewDocument nd;
  nd.direction = Direction::outgoing;
  nd.state = State::pending_signature;
  nd.submitter = sub.submitter;
  nd.idempotency_key = sub.idempotency_key;
  nd.actor = sub.submitter;
  if (c_.opt.signing == SigningMode::organization) return submit_for_organization(envelope_file, *env, std::move(nd));

  const auto& blobs = c_.store.blobs();
  auto envelope = blobs.adopt_file(envelope_file, nullptr, store::NameSync::deferred);  // ours: linked, not copied
  if (!envelope.ok()) return envelope.error();
  nd.envelope = *envelope;
  EDX_TRY(fill_document(nd, *env, blobs, /*from_reader=*/false, store::NameSync::deferred));
  EDX_TRY(blobs.sync_names());  // one directory sync for the envelope and the attachments
  auto created = c_.store.create_document(nd);
  if (!created.ok()) return refused_create(created.error(), nd);
  auto doc = c_.store.get_document(created->id);
  if (!doc.ok()) return doc.error();
  if (created->existing) EDX_TRY(check_same_submission(nd, *doc));
  log_submitted(created->id, sub.submitter, created->existing);
  return Submitted{created->id, doc->state, created->existing};
}

// Organization mode: the envelope is signed (and self-checked) before anything
// is stored, and the document is created signed and queued in one
// transaction: its unsigned envelope is never stored, a token failure leaves
// nothing behind, and the submitter may simply retry.
Result<Submitted> Outgoing::submit_for_organization(const std::string& envelope_file, const ex::Envelope& env,
                                                    store::NewDocument nd) {
  const ScratchFile signed_scratch(c_.opt.work_dir, "signed.xml");
  auto v = sign_into(envelope_file, "", nullptr, signed_scratch.path());
  if (!v.ok()) {
    // No document yet: the audit row names the submission.
    audit_failed_sign("outgoing " + env.message->document_id + " for " + nd.submitter, "system:organization",
                      v.error().code + ": " + v.error().message);
    return v.error();
  }
  const auto& blobs = c_.store.blobs();
  auto envelope = blobs.adopt_file(signed_scratch.path(), nullptr, store::NameSync::deferred);
  if (!envelope.ok()) return envelope.error();
  nd.envelope = *envelope;
  nd.signer_summary = signer_summary(*v);
  EDX_TRY(fill_document(nd, env, blobs, /*from_reader=*/false, store::NameSync::deferred));
  EDX_TRY(blobs.sync_names());
  const std::string how = "signed by the organization for " + nd.submitter;
  const store::SignedStart start{"system:organization", how + " with the certificate " + certificate_named(*v),
                                 store::OutboxRequest{"edoc", join_list(nd.recipients), *envelope}, how};
  auto created = c_.store.create_signed(nd, start);
  if (!created.ok()) return refused_create(created.error(), nd);
  if (!created->existing) {
    c_.metrics.signatures.inc({"ok"});
    c_.wake();
    log_submitted(created->id, nd.submitter, false);
    return Submitted{created->id, State::queued, false};
  }
  // A retried submission: the first one's document, whose envelope this
  // signature does not replace (the new blob is collected).
  auto doc = c_.store.get_document(created->id);
  if (!doc.ok()) return doc.error();
  EDX_TRY(check_same_submission(nd, *doc));
  log_submitted(created->id, nd.submitter, true);
  // Stored before this gateway signed at submission (an older version, or
  // the personal mode then): signed now, from its stored envelope.
  return sign_for_organization(Submitted{created->id, doc->state, true}, nd.submitter);
}

Error Outgoing::refused_create(const Error& e, const store::NewDocument& nd) {
  // Two submissions of one DocumentId at once: both passed the check before
  // the envelope was written, the database let one in.
  if (e.code == "document.duplicate_id") audit_refusal(e, nd.submitter, "outgoing " + nd.envelope_id);
  return e;
}

void Outgoing::log_submitted(DocumentId id, const std::string& submitter, bool existing) {
  log::info("outgoing submitted",
            {{"document", std::to_string(id)}, {"by", submitter}, {"existing", existing ? "true" : "false"}});
}

Result<Submitted> Outgoing::submit_envelope(std::string file, const std::string& submitter,
                                            const std::vector<std::string>& allowed_senders,
                                            const std::string& idempotency_key) {
  struct Cleanup {
    std::string& f;
    ~Cleanup() { ::unlink(f.c_str()); }
  } cleanup{file};
  const ScratchDir unzipped(c_.opt.work_dir, /*make=*/false);
  const ex::ReadOptions ro = shared_dir_read(c_, unzipped);
  // One pass reads the envelope and checks its signature, if it has one.
  crypto::VerifiedEnvelope read = c_.verifier->read_and_verify(file, ro);
  const DecodedFiles decoded(read);
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
  EDX_TRY(check_policy(policy::SecurityLevel::normal, m, submitter));
  EDX_TRY(check_unique_document_id(m.from.organ_id, m.document_id, submitter, idempotency_key, env.trace));
  std::optional<crypto::Verification> verified;
  if (env.signature == ex::SignaturePresence::dsig) {
    const crypto::Verification& v = read.verification;
    if (!v.valid) {
      return make_error(ErrorKind::invalid, v.code, "the envelope's signature is not valid: " + v.message);
    }
    verified = v;
  }
  store::NewDocument nd;
  nd.direction = Direction::outgoing;
  nd.state = State::pending_signature;
  nd.submitter = submitter;
  nd.idempotency_key = idempotency_key;
  nd.actor = submitter;
  if (!verified && c_.opt.signing == SigningMode::organization)
    return submit_for_organization(file, env, std::move(nd));
  const auto& blobs = c_.store.blobs();
  auto envelope = blobs.put_file(file);
  if (!envelope.ok()) return envelope.error();
  nd.envelope = *envelope;
  EDX_TRY(fill_document(nd, env, blobs));
  // Signed by the submitter: stored signed and queued in one transaction.
  if (verified) nd.signer_summary = signer_summary(*verified);
  auto created = verified
                     ? c_.store.create_signed(nd, {submitter, "submitted signed: " + nd.signer_summary,
                                                   store::OutboxRequest{"edoc", join_list(nd.recipients), *envelope},
                                                   /*audit_detail=*/""})
                     : c_.store.create_document(nd);
  if (!created.ok()) return refused_create(created.error(), nd);
  if (verified && !created->existing) c_.wake();
  auto doc = c_.store.get_document(created->id);
  if (!doc.ok()) return doc.error();
  if (created->existing) EDX_TRY(check_same_submission(nd, *doc));
  return sign_for_organization(Submitted{created->id, doc->state, created->existing}, submitter);
}

Result<std::string> Outgoing::unsigned_file(const store::Document& doc) {
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
  return c_.store.blobs().path_of(doc.envelope->sha256);
}

Result<State> Outgoing::store_signed(DocumentId id, const std::vector<std::string>& recipients, const std::string& file,
                                     const crypto::Verification& v, const std::string& actor, const std::string& how,
                                     const std::string& audit_detail) {
  auto ref = c_.store.blobs().adopt_file(file, nullptr, store::NameSync::now);  // a scratch file: linked
  if (!ref.ok()) return ref.error();
  // The envelope, the moves to signed and queued, the outbox item and the
  // signature's audit row: one transaction.
  EDX_TRY(c_.store.queue_signed(id, *ref, signer_summary(v),
                                {actor, how + " with the certificate " + certificate_named(v),
                                 store::OutboxRequest{"edoc", join_list(recipients), *ref}, audit_detail}));
  c_.metrics.signatures.inc({"ok"});
  c_.wake();
  return State::queued;
}

Result<State> Outgoing::sign(DocumentId id, const std::string& key_uri, const SecretString* pin,
                             const std::string& actor) {
  if (c_.opt.signing == SigningMode::organization) {
    return make_error(ErrorKind::conflict, "sign.mode",
                      "this gateway signs with the organization's key when a document is submitted ([signing] mode)");
  }
  if (!pin) {
    audit_failed_sign("document " + std::to_string(id), actor, "no PIN given");
    return make_error(ErrorKind::malformed, "sign.pin_required", "give the PIN of your signing key (\"pin\")");
  }
  auto r = sign_with(id, key_uri, pin, actor, "signed by " + actor, "personal signature");
  if (!r.ok()) audit_failed_sign("document " + std::to_string(id), actor, r.error().code);
  return r;
}

void Outgoing::audit_failed_sign(const std::string& object, const std::string& actor, const std::string& detail) {
  AuditEvent ev{actor, "document.sign", object, "failed", detail};
  if (auto st = c_.store.append(ev); !st.ok()) log::warn("signature not audited", {{"error", st.error().message}});
}

Result<crypto::Verification> Outgoing::sign_into(const std::string& unsigned_envelope, const std::string& key_uri,
                                                 const SecretString* pin, const std::string& signed_file) {
  if (!c_.keys) return make_error(ErrorKind::unavailable, "sign.no_token", "this gateway has no token configured");
  auto key = c_.keys->open(key_uri, pin);
  if (!key.ok()) {
    c_.metrics.signatures.inc({"failed"});
    return key.error();
  }
  crypto::SignOptions so;
  so.algorithm = key->algorithm;
  so.include_chain = !key->chain.empty();
  crypto::Verification v;
  auto signed_ok = crypto::sign_file(unsigned_envelope, signed_file, *key->signer, key->certificate, key->chain, so,
                                     *c_.verifier, c_.opt.read.limits, &v);
  key->signer.reset();  // the token (its lock, a person's session) is not held while the envelope is stored
  if (!signed_ok.ok()) {
    c_.metrics.signatures.inc({"failed"});
    return signed_ok.error();
  }
  return v;
}

Result<State> Outgoing::sign_with(DocumentId id, const std::string& key_uri, const SecretString* pin,
                                  const std::string& actor, const std::string& how, const std::string& audit_detail) {
  if (!c_.keys) return make_error(ErrorKind::unavailable, "sign.no_token", "this gateway has no token configured");
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) return doc.error();
  auto unsigned_envelope = unsigned_file(*doc);
  if (!unsigned_envelope.ok()) return unsigned_envelope.error();
  const ScratchFile scratch(c_.opt.work_dir, "signed.xml");
  auto v = sign_into(*unsigned_envelope, key_uri, pin, scratch.path());
  if (!v.ok()) return v.error();
  return store_signed(id, doc->recipients, scratch.path(), *v, actor, how, audit_detail);
}

Result<crypto::PreparedSignature> Outgoing::prepare_remote(DocumentId id,
                                                           const std::vector<crypto::Certificate>& certificates,
                                                           std::optional<crypto::SignatureAlgorithm> algorithm) {
  if (c_.opt.signing == SigningMode::organization) {
    return make_error(ErrorKind::conflict, "sign.mode",
                      "this gateway signs with the organization's key when a document is submitted ([signing] mode)");
  }
  if (certificates.empty()) {
    return make_error(ErrorKind::invalid, "sign.certificate", "the signer's certificate is missing");
  }
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) return doc.error();
  auto unsigned_envelope = unsigned_file(*doc);
  if (!unsigned_envelope.ok()) return unsigned_envelope.error();
  crypto::SignOptions so;
  so.algorithm = algorithm.value_or(crypto::default_algorithm(certificates.front()));
  so.include_chain = certificates.size() > 1;
  std::span<const crypto::Certificate> chain(certificates.data() + 1, certificates.size() - 1);
  return crypto::prepare_file(*unsigned_envelope, c_.opt.read.limits, certificates.front(), chain, so);
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
  const ScratchFile scratch(c_.opt.work_dir, "signed.xml");
  const std::string& signed_file = scratch.path();
  crypto::Verification v;
  auto signed_ok =
      crypto::complete_file(std::move(*prepared), signature, signed_file, *c_.verifier, c_.opt.read.limits, &v);
  if (!signed_ok.ok()) {
    c_.metrics.signatures.inc({"failed"});
    return signed_ok.error();
  }
  auto doc = c_.store.get_document(id);
  auto stored = doc.ok() ? store_signed(id, doc->recipients, signed_file, v, actor,
                                        "signed by " + actor + " (remote agent)", "remote signature")
                         : Result<State>(doc.error());
  if (!stored.ok()) audit_failed_sign("document " + std::to_string(id), actor, stored.error().code);
  return stored;
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
