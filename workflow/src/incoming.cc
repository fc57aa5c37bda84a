#include "incoming.h"

#include <sys/stat.h>

#include <algorithm>
#include <future>
#include <optional>
#include <system_error>
#include <vector>

#include "edxgate/base/log.h"
#include "edxgate/workflow/policy.h"

namespace edxgate::workflow::detail {

namespace ex = edxgate::edxml;
using store::Direction;
using store::State;

Result<Accepted> Incoming::accept(IncomingDelivery& d) {
  // The bytes as received are kept, whatever they turn out to be: the
  // delivered file itself is linked into the blob store (no copy; named by
  // the hash the receiver computed on the way in, if any) and its content
  // synced while it is read and verified. Its name, and those of the
  // attachments, are synced once, together (sync_names, shared with the
  // concurrent deliveries), before any row names them: the delivery is
  // durable, blobs and row, before it is answered.
  const auto& blobs = c_.store.blobs();
  std::optional<store::BlobRef> known;
  if (store::is_blob_name(d.sha256)) known = store::BlobRef{d.sha256, d.size};
  auto keep = [&blobs, file = d.file, known] {
    return blobs.adopt_file(file, known ? &*known : nullptr, store::NameSync::deferred);
  };
  std::future<Result<store::BlobRef>> kept;
  try {
    kept = std::async(std::launch::async, keep);
  } catch (const std::system_error&) {  // no thread to spare: one after the other
    std::promise<Result<store::BlobRef>> now;
    now.set_value(keep());
    kept = now.get_future();
  }
  // One pass: the hardened reader builds the model and decodes the
  // attachments (zipped ones unzipped beside them) while the streaming
  // verifier digests the same events.
  // The decoded files go into the engine's shared files directory under
  // unique temp names, not into a directory per delivery (files_dir), and
  // are not synced there: the blob store syncs their content when it links
  // them (fill_document). A zipped attachment is unzipped into a scratch
  // directory made only then.
  const ScratchDir unzipped(c_.opt.work_dir, /*make=*/false);
  const ex::ReadOptions ro = shared_dir_read(c_, unzipped);
  crypto::VerifiedEnvelope read = c_.verifier->read_and_verify(d.file, ro);
  const DecodedFiles decoded(read);
  if (!read.envelope.ok() && read.envelope.error().kind == ErrorKind::io) {
    // The files directory may be gone (an operator's cleanup): made again
    // for the retry.
    ::mkdir(ro.attachment_dir.c_str(), 0700);
  }
  auto envelope = kept.get();
  if (!envelope.ok()) {
    c_.metrics.incoming.inc({"error"});
    return envelope.error();
  }
  if (!read.envelope.ok() &&
      (read.envelope.error().kind == ErrorKind::io || read.envelope.error().kind == ErrorKind::unavailable)) {
    // Our own trouble (a disk, a temp file), not the envelope's: the delivery
    // fails and is retried, nothing is quarantined for it.
    c_.metrics.incoming.inc({"error"});
    return read.envelope.error();
  }

  if (read.envelope.ok() && read.envelope->envelope.status) {
    if (Status st = blobs.sync_names(); !st.ok()) {  // the envelope's name, before a row names it
      c_.metrics.incoming.inc({"error"});
      return st.error();
    }
    const ex::Envelope& env = read.envelope->envelope;
    if (env.status->code == ex::StatusCode::recall_requested) {
      // 13: the sender of one of our incoming documents asks it back.
      auto asked = lifecycle_.receive_recall_request(env, read.verification, *envelope, d.from);
      c_.metrics.incoming.inc({asked.ok() ? "status" : "status_refused"});
      return asked;
    }
    auto about = status_.receive(env, read.verification, *envelope, d.from);
    if (!about.ok()) {
      c_.metrics.incoming.inc({"status_refused"});
      return about.error();
    }
    lifecycle_.after_status(*about, env.status->code, env.status->from.organ_id);
    c_.metrics.incoming.inc({"status"});
    return Accepted{Accepted::Kind::status_message, *about, State::sent, false};
  }
  auto stored = store_document(d, *envelope, read);
  if (!stored.ok()) c_.metrics.incoming.inc({"error"});
  return stored;
}

Result<Accepted> Incoming::store_document(const IncomingDelivery& d, const store::BlobRef& envelope,
                                          crypto::VerifiedEnvelope& read) {
  const auto& blobs = c_.store.blobs();
  store::NewDocument nd;
  nd.direction = Direction::incoming;
  nd.envelope = envelope;
  nd.actor = "axis";
  std::string problem_code, problem;
  const ex::Envelope* env = read.envelope.ok() ? &read.envelope->envelope : nullptr;
  if (!env) {
    problem_code = read.envelope.error().code;
    problem = read.envelope.error().to_string();
    nd.envelope_id = "sha256:" + envelope.sha256;
    nd.sender = d.from.empty() ? "unknown" : d.from;
  } else {
    const ex::MessageHeader& m = *env->message;
    EDX_TRY(fill_document(nd, *env, blobs, /*from_reader=*/true));
    if (nd.envelope_id.empty()) nd.envelope_id = "sha256:" + envelope.sha256;
    const crypto::Verification& v = read.verification;
    // The policy, cheapest first: addressed to us, from whom the axis says,
    // then the signature.
    if (std::find(nd.recipients.begin(), nd.recipients.end(), c_.opt.organ_id) == nd.recipients.end()) {
      problem_code = "edxml.recipient";
      problem = "the envelope is not addressed to this organ (" + c_.opt.organ_id + ")";
    } else if (!d.from.empty() && !same_organ(d.from, nd.sender)) {
      problem_code = "edxml.sender";
      problem = "the envelope says it is from " + nd.sender + " but the axis delivered it from " + d.from;
    } else if (m.document_id.empty()) {
      problem_code = "edxml.missing";
      problem = "the envelope has no DocumentId";
    } else if (Status p = policy::check_incoming(m); !p.ok()) {
      problem_code = p.error().code;
      problem = p.error().message;
      // Audited once per envelope (a redelivery is stored once, so is its refusal).
      AuditEvent ev{"axis", "policy.refuse", "incoming " + m.document_id + " from " + nd.sender, "failed",
                    problem_code + ": envelope sha256:" + envelope.sha256};
      if (auto st = c_.store.append(ev); !st.ok())
        log::warn("policy refusal not audited", {{"error", st.error().message}});
    } else {
      c_.metrics.verifications.inc({v.valid ? "ok" : v.code});
      nd.signer_summary = signer_summary(v);
      if (!v.valid) {
        problem_code = v.code;
        problem = v.message;
      }
    }
    for (const auto& w : env->warnings) {
      log::info("incoming envelope deviates from our rules",
                {{"sender", nd.sender}, {"code", w.code}, {"warning", w.message}});
    }
  }
  // The names of the envelope and attachments kept above, in one directory
  // sync (shared with concurrent deliveries), before the row names them.
  EDX_TRY(blobs.sync_names());
  nd.state = problem_code.empty() ? State::verified : State::quarantined;
  if (!problem_code.empty()) {
    nd.signer_summary = ("quarantined: " + problem_code + ": " + problem).substr(0, 4000);
  }
  auto created = c_.store.create_document(nd);
  if (!created.ok()) return created.error();
  c_.metrics.incoming.inc({created->existing ? "duplicate" : std::string(store::state_name(nd.state))});
  log::info("incoming stored", {{"document", std::to_string(created->id)},
                                {"state", std::string(store::state_name(nd.state))},
                                {"from", nd.sender},
                                {"reason", problem_code},
                                {"duplicate", created->existing ? "true" : "false"}});
  bool changed = created->existing;  // the stored state may not be nd.state
  if (!created->existing && nd.state == State::verified && env->trace.business &&
      env->trace.business->doc_type != ex::BusinessDocType::new_document) {
    lifecycle_.apply_incoming(created->id, *env);  // a recall, update or replacement
    changed = true;
  }
  // Tell the sender (01 or 02), off the request path (answers.h): the
  // delivery is answered now that the document is durable. Once: a duplicate
  // delivery whose answer is queued gets none.
  if (env && !nd.sender.empty()) answers_.owe(created->id);
  State state = nd.state;
  if (changed) {
    auto doc = c_.store.get_document(created->id);
    if (!doc.ok()) return doc.error();
    state = doc->state;
  }
  return Accepted{Accepted::Kind::document, created->id, state, created->existing};
}

}  // namespace edxgate::workflow::detail
