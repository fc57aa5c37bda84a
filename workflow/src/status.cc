#include "status.h"

#include <algorithm>

#include "edxgate/base/log.h"
#include "edxgate/edxml/writer.h"
#include "tracking.h"

namespace edxgate::workflow {

namespace ex = edxgate::edxml;
using store::Direction;
using store::DocumentId;
using store::State;

std::optional<State> state_for_status(ex::StatusCode code) {
  switch (code) {
    case ex::StatusCode::arrived:
      return State::delivered;
    case ex::StatusCode::refused:
      return State::refused;
    case ex::StatusCode::accepted:
      return State::accepted;
    case ex::StatusCode::assigned:
      return State::assigned;
    case ex::StatusCode::processing:
      return State::processing;
    case ex::StatusCode::completed:
      return State::completed;
    default:
      return std::nullopt;
  }
}

std::optional<ex::StatusCode> status_for_state(State state) {
  switch (state) {
    case State::registered:
      return ex::StatusCode::accepted;
    case State::refused:
      return ex::StatusCode::refused;
    case State::assigned:
      return ex::StatusCode::assigned;
    case State::processing:
      return ex::StatusCode::processing;
    case State::completed:
      return ex::StatusCode::completed;
    default:
      return std::nullopt;
  }
}

namespace detail {

Result<DocumentId> StatusMessages::receive(const ex::Envelope& env, const crypto::Verification& verification,
                                           const store::BlobRef& envelope, const std::string& axis_from) {
  const ex::StatusMessage& s = *env.status;
  if (s.response_for.document_id.empty()) {
    return make_error(ErrorKind::invalid, "status.document", "the status message names no DocumentId in ResponseFor");
  }
  // The document is ours (we are its sender), has this DocumentId and names
  // the status message's sender among its recipients: DocumentId alone may
  // repeat (another organ's, or an old one of ours).
  store::DocumentQuery q;
  q.direction = Direction::outgoing;
  q.sender = c_.opt.organ_id;
  q.envelope_id = s.response_for.document_id;
  q.limit = 50;
  auto page = c_.store.list_documents(q);
  if (!page.ok()) return page.error();
  std::optional<store::Document> found;
  for (const auto& candidate : page->documents) {
    auto full = c_.store.get_document(candidate.id);
    if (!full.ok()) return full.error();
    if (std::find(full->recipients.begin(), full->recipients.end(), s.from.organ_id) != full->recipients.end()) {
      found = std::move(*full);
      break;
    }
  }
  if (!found && !page->documents.empty()) {
    return make_error(
        ErrorKind::forbidden, "status.sender",
        "organ '" + s.from.organ_id + "' is not a recipient of our document '" + s.response_for.document_id + "'");
  }
  if (!found) {
    return make_error(ErrorKind::not_found, "status.unknown_document",
                      "no outgoing document has DocumentId '" + s.response_for.document_id + "'");
  }
  auto doc = Result<store::Document>(std::move(*found));
  // The organ the axis authenticated as the sender must be the one the
  // message names: otherwise any system on the axis could report (unsigned)
  // in a recipient's name.
  if (!axis_from.empty() && !same_organ(axis_from, s.from.organ_id)) {
    return make_error(
        ErrorKind::forbidden, "status.sender",
        "the status message says it is from " + s.from.organ_id + " but the axis delivered it from " + axis_from);
  }
  if (std::find(doc->recipients.begin(), doc->recipients.end(), s.from.organ_id) == doc->recipients.end()) {
    return make_error(ErrorKind::forbidden, "status.sender",
                      "organ '" + s.from.organ_id + "' is not a recipient of document " + std::to_string(doc->id));
  }
  if (env.signature == ex::SignaturePresence::dsig) {
    c_.metrics.verifications.inc({verification.valid ? "ok" : verification.code});
    if (!verification.valid) {
      return make_error(ErrorKind::invalid, verification.code,
                        "the status message's signature is not valid: " + verification.message);
    }
  }
  auto known = c_.store.status_messages(doc->id);
  if (!known.ok()) return known.error();
  for (const auto& k : *known) {
    if (k.envelope && k.envelope->sha256 == envelope.sha256) return doc->id;  // a redelivery
  }
  store::StatusMessage sm;
  sm.direction = Direction::incoming;
  sm.code = ex::format_status_code(s.code);
  sm.description = s.description;
  sm.staff = s.staff.staff;
  sm.unit = s.staff.department;
  sm.organ_id = s.from.organ_id;
  sm.envelope = envelope;
  EDX_TRY(c_.store.add_status_message(doc->id, sm));
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
        return doc->id;
      }
    }
  }
  State current = doc->state;
  if (current == State::queued && state_for_status(s.code)) {
    // The axis took an earlier send whose answer we never saw (a crash, a
    // lost connection) and the retry is still due: the recipient's status
    // proves it was sent. Without this the status would be dropped and the
    // document left at sent once the retry completes.
    auto sent = c_.store.transition(doc->id, State::sent, "organ:" + s.from.organ_id,
                                    "a status message from a recipient shows it was sent", State::queued);
    if (!sent.ok() && sent.error().code != "store.conflict") return sent.error();
    auto again = c_.store.get_document(doc->id);
    if (!again.ok()) return again.error();
    current = again->state;
  }
  if (auto to = state_for_status(s.code); to && store::is_legal(Direction::outgoing, current, *to)) {
    auto moved = c_.store.transition(doc->id, *to, "organ:" + s.from.organ_id,
                                     "status " + sm.code + ": " + s.description, current);
    if (!moved.ok() && moved.error().code != "store.conflict") return moved.error();
  }
  log::info("status received", {{"document", std::to_string(doc->id)}, {"code", sm.code}, {"from", s.from.organ_id}});
  return doc->id;
}

Status StatusMessages::send(const store::Document& doc, ex::StatusCode code, const std::string& description,
                            const std::string& staff, const std::string& department, std::optional<State> move_to,
                            const std::string& actor) {
  ex::Envelope env;
  ex::StatusMessage& s = env.status.emplace();
  s.response_for.organ_id = doc.sender;
  if (!doc.code_number.empty()) s.response_for.code = doc.code_number + "/" + doc.code_notation;
  if (auto d = ex::parse_date(doc.promulgation_date); d.ok()) s.response_for.promulgation_date = *d;
  s.response_for.document_id = doc.envelope_id;
  s.from.organ_id = c_.opt.organ_id;
  s.from.organ_name = c_.opt.organ_name;
  s.from.organization_in_charge = c_.opt.organ_name;
  s.code = code;
  s.description = description.empty() ? std::string(ex::status_code_meaning(code)) : description;
  s.staff.staff = staff;
  s.staff.department = department;
  s.timestamp = ex::now_vietnam();
  env.trace.traces.push_back({c_.opt.organ_id, s.timestamp});

  // A status message is small: built, signed and stored from memory.
  auto written = ex::write_envelope_string(env, c_.opt.write);
  if (!written.ok()) return written.error();
  std::string bytes = std::move(*written);
  if (c_.keys && c_.keys->has_unattended_key()) {
    // Signed when the gateway holds a key it may use on its own.
    auto key = c_.keys->open("", nullptr);
    auto parsed = ex::parse_xml(bytes, c_.opt.read.limits);
    if (key.ok() && parsed.ok()) {
      crypto::SignOptions so;
      so.algorithm = key->algorithm;
      so.include_chain = !key->chain.empty();
      auto signed_doc = crypto::sign(std::move(*parsed), *key->signer, key->certificate, key->chain, so, *c_.verifier);
      if (signed_doc.ok()) {
        auto saved = document_bytes(signed_doc->get());
        if (!saved.ok()) return saved.error();
        bytes = std::move(*saved);
      } else {
        log::warn("status message sent unsigned", {{"error", signed_doc.error().message}});
      }
    } else {
      log::warn("status message sent unsigned", {{"error", key.ok() ? parsed.error().message : key.error().message}});
    }
  }
  auto ref = c_.store.blobs().put(bytes);
  if (!ref.ok()) return ref.error();
  // Queued and recorded in one transaction (with the document's move, if any).
  store::OutboxRequest out{"status", doc.sender, *ref, store::StatusMessage{}};
  store::StatusMessage& sm = *out.record;
  sm.direction = Direction::outgoing;
  sm.code = ex::format_status_code(code);
  sm.description = s.description;
  sm.staff = staff;
  sm.unit = department;
  sm.organ_id = c_.opt.organ_id;
  sm.envelope = *ref;
  if (move_to) {
    auto moved = c_.store.transition(doc.id, *move_to, actor, description, doc.state, out);
    if (!moved.ok()) return moved.error();
  } else {
    auto q = c_.store.enqueue(doc.id, out);
    if (!q.ok()) return q.error();
  }
  c_.wake();
  return {};
}

Status StatusMessages::acknowledge(DocumentId id, const std::string& actor) {
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) return doc.error();
  if (doc->direction != Direction::incoming) {
    return make_error(ErrorKind::not_found, "store.not_found", "no incoming document " + std::to_string(id));
  }
  return c_.store.append({actor, "incoming.ack", "document:" + std::to_string(id), "ok",
                          "state " + std::string(store::state_name(doc->state))});
}

Result<State> StatusMessages::report(DocumentId id, const ProcessingReport& r, const std::string& actor,
                                     const std::string& deadline) {
  auto code = status_for_state(r.state);
  if (!code) {
    return make_error(ErrorKind::invalid, "report.state",
                      "a report's state is accepted, refused, assigned, processing or completed");
  }
  if (r.state == State::refused && r.reason.empty()) {
    return make_error(ErrorKind::invalid, "report.reason", "a refusal needs a reason");
  }
  // The tracking (tracking.h): checked before anything moves.
  auto tracking = tracking_update(r, deadline, actor);
  if (!tracking.ok()) return tracking.error();
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) return doc.error();
  if (doc->direction != Direction::incoming) {
    return make_error(ErrorKind::not_found, "store.not_found", "no incoming document " + std::to_string(id));
  }
  // Recorded first, so that a report retried after a failure below records
  // it again; a repeated report may so set a new deadline or unit.
  EDX_TRY(c_.store.update_tracking(id, *tracking));
  if (doc->state == r.state) return r.state;  // a repeated report changes no state
  // Accepting is implied by any later step: a verified document reported as
  // assigned is first registered (03), then assigned (04).
  if (doc->state == State::verified && r.state != State::registered && r.state != State::refused) {
    EDX_TRY(send(*doc, ex::StatusCode::accepted, "", r.staff, r.department, State::registered, actor));
    auto again = c_.store.get_document(id);
    if (!again.ok()) return again.error();
    doc = std::move(again);
  }
  if (!store::is_legal(Direction::incoming, doc->state, r.state)) {
    return make_error(ErrorKind::conflict, "store.illegal_transition",
                      "document " + std::to_string(id) + " cannot go from " +
                          std::string(store::state_name(doc->state)) + " to " +
                          std::string(store::state_name(r.state)));
  }
  EDX_TRY(send(*doc, *code, r.reason, r.staff, r.department, r.state, actor));
  return r.state;
}

}  // namespace detail
}  // namespace edxgate::workflow
