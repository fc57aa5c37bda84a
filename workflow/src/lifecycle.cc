#include "lifecycle.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <utility>

#include "edxgate/base/log.h"
#include "edxgate/edxml/json.h"

namespace edxgate::workflow::detail {

namespace bj = json::bj;
namespace ex = edxgate::edxml;
using store::Direction;
using store::DocumentId;
using store::LifecycleEvent;
using store::State;

namespace {

// Markers (store::Document::lifecycle). The original's:
constexpr const char* kRecallRequested = "recall_requested";
constexpr const char* kRevoked = "revoked";
constexpr const char* kRecallRefused = "recall_refused";
constexpr const char* kUpdated = "updated";
constexpr const char* kReplaced = "replaced";
// The document that carries the request:
constexpr const char* kRevocation = "revocation";
constexpr const char* kUpdate = "update";
constexpr const char* kReplacement = "replacement";

// Markers under which a document may still be recalled, updated or replaced.
const std::vector<std::string>& open_markers() {
  static const std::vector<std::string> k{"", kUpdated, kRecallRefused};
  return k;
}

bool was_sent(State s) {
  switch (s) {
    case State::sent:
    case State::delivered:
    case State::accepted:
    case State::assigned:
    case State::processing:
    case State::completed:
      return true;
    default:
      return false;
  }
}

LifecycleEvent event(DocumentId id, std::string marker, std::optional<DocumentId> related, std::string relation,
                     const std::string& actor, const std::string& reason) {
  LifecycleEvent e;
  e.document_id = id;
  e.lifecycle = std::move(marker);
  e.related = related;
  e.relation = std::move(relation);
  e.actor = actor;
  e.reason = reason;
  return e;
}

bj::object business_json(ex::BusinessDocType type, const LifecycleRequest& r) {
  bj::object b{{"doc_type", static_cast<int>(type)}, {"reason", r.reason}, {"paper", false}};
  if (!r.staff.empty() || !r.department.empty()) {
    b["staff"] = bj::object{{"staff", r.staff}, {"department", r.department}};
  }
  return b;
}

// The DocumentId a relation of the related document names, if any.
std::optional<DocumentId> related_by(const std::vector<LifecycleEvent>& events, std::string_view relation) {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->relation == relation && it->related) return it->related;
  }
  return std::nullopt;
}

}  // namespace

Result<store::Document> Lifecycle::sendable_original(DocumentId id, const std::string& what) {
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) return doc.error();
  const std::string which = "document " + std::to_string(id);
  if (doc->direction != Direction::outgoing) {
    return make_error(ErrorKind::not_found, "store.not_found", "no outgoing " + which);
  }
  if (!was_sent(doc->state)) {
    return make_error(ErrorKind::conflict, "lifecycle.not_sent",
                      which + " is " + std::string(store::state_name(doc->state)) + ": only a document sent to " +
                          "its recipients can be " + what);
  }
  const auto& open = open_markers();
  if (std::find(open.begin(), open.end(), doc->lifecycle) == open.end()) {
    return make_error(ErrorKind::conflict, "lifecycle.state",
                      which + " is " + doc->lifecycle + ": it can no longer be " + what);
  }
  return doc;
}

Result<ex::Envelope> Lifecycle::read_original(const store::Document& doc, const std::string& dir) {
  if (!doc.envelope) {
    return make_error(ErrorKind::conflict, "lifecycle.state",
                      "document " + std::to_string(doc.id) + " has no envelope");
  }
  EDX_TRY(c_.store.blobs().verify(*doc.envelope));
  ex::ReadOptions ro = c_.opt.read;
  ro.attachment_dir = dir;
  return ex::read_envelope_file(c_.store.blobs().path_of(doc.envelope->sha256), ro);
}

Result<Submitted> Lifecycle::submit_linked(const store::Document& original, Submission sub,
                                           const std::string& original_marker, const std::string& original_relation,
                                           const std::string& new_marker, const std::string& new_relation,
                                           const LifecycleRequest& r) {
  sub.submitter = r.submitter;
  sub.allowed_senders = r.allowed_senders;
  sub.idempotency_key = r.idempotency_key;
  auto made = outgoing_.submit(std::move(sub));
  if (!made.ok()) return made.error();
  if (made->existing) return made;  // a retried request: linked the first time
  LifecycleEvent on_original = event(original.id, original_marker, made->id, original_relation, r.submitter, r.reason);
  on_original.expected_lifecycle = open_markers();
  const LifecycleEvent both[] = {on_original,
                                 event(made->id, new_marker, original.id, new_relation, r.submitter, r.reason)};
  if (Status linked = c_.store.record_lifecycle(both); !linked.ok()) {
    // Another request took the original meanwhile: this one is not sent.
    (void)c_.store.transition(made->id, State::cancelled, r.submitter, "not linked: " + linked.error().message);
    return linked.error();
  }
  log::info("lifecycle request submitted",
            {{"original", std::to_string(original.id)}, {"document", std::to_string(made->id)}, {"kind", new_marker}});
  return made;
}

Result<std::optional<Submitted>> Lifecycle::earlier_request(DocumentId original, const LifecycleRequest& r,
                                                            const std::string& relation, const std::string& what) {
  if (r.idempotency_key.empty()) return std::optional<Submitted>();
  store::DocumentQuery q;
  q.direction = Direction::outgoing;
  q.submitter = r.submitter;
  q.idempotency_key = r.idempotency_key;
  q.limit = 1;
  auto page = c_.store.list_documents(q);
  if (!page.ok()) return page.error();
  if (page->documents.empty()) return std::optional<Submitted>();
  const store::Document& first = page->documents.front();
  auto events = c_.store.lifecycle_events(first.id);
  if (!events.ok()) return events.error();
  for (const auto& e : *events) {
    if (e.relation == relation && e.related == original) {
      return std::optional<Submitted>(Submitted{first.id, first.state, /*existing=*/true});
    }
  }
  return make_error(ErrorKind::invalid, "idempotency.mismatch",
                    "this Idempotency-Key was used for document " + std::to_string(first.id) + ", not for " + what +
                        " of document " + std::to_string(original) + "; a retry must repeat the same request");
}

Result<Submitted> Lifecycle::revoke(DocumentId id, const LifecycleRequest& r) {
  if (r.reason.empty()) return make_error(ErrorKind::invalid, "lifecycle.reason", "a recall needs a reason");
  if (auto earlier = earlier_request(id, r, "revocation_of", "a recall"); !earlier.ok() || earlier->has_value()) {
    if (!earlier.ok()) return earlier.error();
    return **earlier;  // answered as the first time
  }
  auto original = sendable_original(id, "recalled");
  if (!original.ok()) return original.error();
  auto scratch = make_scratch(c_);
  if (!scratch.ok()) return scratch.error();
  auto env = read_original(*original, (*scratch)->path());
  if (!env.ok()) return env.error();
  // As the SDK package's revocation: the original's header and DocumentId,
  // type 1 and the reason; no attachments (nothing of them is asked back
  // but the document itself).
  bj::value full = ex::envelope_to_json(*env);
  Submission sub;
  sub.header = bj::object{{"message", full.as_object().at("message")},
                          {"trace", bj::object{{"business", business_json(ex::BusinessDocType::revocation, r)}}}};
  return submit_linked(*original, std::move(sub), kRecallRequested, "revoked_by", kRevocation, "revocation_of", r);
}

Result<Submitted> Lifecycle::update(DocumentId id, const LifecycleRequest& r, const bj::object& changes,
                                    std::vector<std::string> files, std::vector<std::string> names) {
  struct Cleanup {
    std::vector<std::string>& files;
    ~Cleanup() {
      for (const auto& f : files) std::filesystem::remove(f);
    }
  } cleanup{files};
  if (r.reason.empty()) return make_error(ErrorKind::invalid, "lifecycle.reason", "an update needs a reason");
  if (changes.empty() && files.empty()) {
    return make_error(ErrorKind::invalid, "lifecycle.changes", "an update changes header fields, attachments or both");
  }
  for (const char* fixed : {"from", "document_id"}) {
    if (changes.contains(fixed)) {
      return make_error(ErrorKind::invalid, "lifecycle.changes",
                        std::string("an update keeps the document's \"") + fixed + "\"; send a replacement instead");
    }
  }
  if (auto earlier = earlier_request(id, r, "update_of", "an update"); !earlier.ok() || earlier->has_value()) {
    if (!earlier.ok()) return earlier.error();
    return **earlier;  // answered as the first time
  }
  auto original = sendable_original(id, "updated");
  if (!original.ok()) return original.error();
  auto scratch = make_scratch(c_);
  if (!scratch.ok()) return scratch.error();
  auto env = read_original(*original, (*scratch)->path());
  if (!env.ok()) return env.error();
  bj::value full = ex::envelope_to_json(*env);
  bj::object message = full.as_object().at("message").as_object();
  for (const auto& [key, value] : changes) message[key] = value;
  bj::object business = business_json(ex::BusinessDocType::update, r);
  // As the SDK package's update: the DocumentId of the document updated, and
  // what changed (DocumentInfo: the header; DocumentReceiver: the recipients).
  business["document_id"] = original->envelope_id;
  business["document_info"] = changes.empty() ? "0" : "1";
  business["document_receiver"] = changes.contains("to") ? "1" : "0";
  Submission sub;
  sub.header = bj::object{{"message", std::move(message)}, {"trace", bj::object{{"business", std::move(business)}}}};
  if (files.empty()) {
    // The original's attachments, as decoded from its envelope.
    for (const auto& a : env->attachments) {
      sub.files.push_back(a.path);
      sub.names.push_back(a.name);
    }
  } else {
    sub.files = std::move(files);
    sub.names = std::move(names);
    files.clear();
  }
  return submit_linked(*original, std::move(sub), kUpdated, "updated_by", kUpdate, "update_of", r);
}

Result<Submitted> Lifecycle::replace(DocumentId id, const LifecycleRequest& r, Submission sub) {
  struct Cleanup {
    std::vector<std::string>& files;
    ~Cleanup() {
      for (const auto& f : files) std::filesystem::remove(f);
    }
  } cleanup{sub.files};
  if (r.reason.empty()) return make_error(ErrorKind::invalid, "lifecycle.reason", "a replacement needs a reason");
  if (auto earlier = earlier_request(id, r, "replaces", "a replacement"); !earlier.ok() || earlier->has_value()) {
    if (!earlier.ok()) return earlier.error();
    return **earlier;  // answered as the first time
  }
  auto original = sendable_original(id, "replaced");
  if (!original.ok()) return original.error();
  if (!sub.header.is_object()) {
    return make_error(ErrorKind::invalid, "submit.header", "the metadata must be a JSON object");
  }
  bj::object& header = sub.header.as_object();
  if (header.contains("trace")) {
    return make_error(ErrorKind::invalid, "lifecycle.changes",
                      "a replacement's Bussiness block is the gateway's to write");
  }
  if (const auto* m = header.if_contains("message"); m && m->is_object()) {
    if (const auto* d = m->as_object().if_contains("document_id");
        d && d->is_string() && d->as_string() == original->envelope_id) {
      return make_error(ErrorKind::invalid, "lifecycle.changes",
                        "a replacement is a new document with its own DocumentId; send an update instead");
    }
  }
  bj::object business = business_json(ex::BusinessDocType::replacement, r);
  bj::array organs;
  for (const auto& o : original->recipients) organs.emplace_back(o);
  business["replacements"] =
      bj::array{bj::object{{"document_id", original->envelope_id}, {"organ_ids", std::move(organs)}}};
  header["trace"] = bj::object{{"business", std::move(business)}};
  Submission moved;
  std::swap(moved, sub);  // leaves `sub` (whose files the cleanup removes) empty
  return submit_linked(*original, std::move(moved), kReplaced, "replaced_by", kReplacement, "replaces", r);
}

Result<std::string> Lifecycle::answer_recall(DocumentId id, bool agree, const ProcessingReport& r,
                                             const std::string& actor) {
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) return doc.error();
  if (doc->direction != Direction::incoming) {
    return make_error(ErrorKind::not_found, "store.not_found", "no incoming document " + std::to_string(id));
  }
  if (doc->lifecycle != kRecallRequested) {
    return make_error(ErrorKind::conflict, "lifecycle.state",
                      "document " + std::to_string(id) + " has no recall request to answer" +
                          (doc->lifecycle.empty() ? std::string() : " (it is " + doc->lifecycle + ")"));
  }
  if (!agree && r.reason.empty()) return make_error(ErrorKind::invalid, "report.reason", "a refusal needs a reason");
  const ex::StatusCode code = agree ? ex::StatusCode::recall_agreed : ex::StatusCode::recall_refused;
  const std::string marker = agree ? kRevoked : kRecallRefused;
  EDX_TRY(status_.send(*doc, code, r.reason, r.staff, r.department, std::nullopt, actor));
  LifecycleEvent e = event(id, marker, std::nullopt, "", actor, r.reason);
  e.expected_lifecycle = std::vector<std::string>{kRecallRequested};
  EDX_TRY(c_.store.record_lifecycle(std::span<const LifecycleEvent>(&e, 1)));
  return marker;
}

void Lifecycle::apply_incoming(DocumentId id, const ex::Envelope& env) {
  const ex::Business& b = *env.trace.business;
  const ex::MessageHeader& m = *env.message;
  std::vector<std::string> targets;
  const char* marker = "";
  const char* carrier = "";
  const char* relation = "";
  const char* back = "";
  switch (b.doc_type) {
    case ex::BusinessDocType::revocation:
      marker = kRecallRequested, carrier = kRevocation, relation = "revocation_of", back = "revoked_by";
      targets.push_back(b.document_id.empty() ? m.document_id : b.document_id);
      break;
    case ex::BusinessDocType::update:
      marker = kUpdated, carrier = kUpdate, relation = "update_of", back = "updated_by";
      targets.push_back(b.document_id.empty() ? m.document_id : b.document_id);
      break;
    case ex::BusinessDocType::replacement:
      marker = kReplaced, carrier = kReplacement, relation = "replaces", back = "replaced_by";
      for (const auto& ri : b.replacements) targets.push_back(ri.document_id);
      if (targets.empty() && !b.document_id.empty()) targets.push_back(b.document_id);
      break;
    default:
      return;
  }
  const std::string actor = "organ:" + m.from.organ_id;
  std::vector<LifecycleEvent> events;
  events.push_back(event(id, carrier, std::nullopt, "", actor, b.reason));
  for (const std::string& target : targets) {
    if (target.empty()) continue;
    store::DocumentQuery q;
    q.direction = Direction::incoming;
    q.sender = m.from.organ_id;
    q.envelope_id = target;
    q.limit = 20;
    auto page = c_.store.list_documents(q);
    if (!page.ok()) {
      log::warn("lifecycle target not looked up", {{"document", std::to_string(id)}, {"error", page.error().message}});
      continue;
    }
    // The original: the newest stored document of that sender and DocumentId
    // that is neither this one nor another request, nor quarantined.
    const store::Document* found = nullptr;
    for (const auto& d : page->documents) {
      if (d.id == id || d.state == State::quarantined || d.state == State::received) continue;
      if (d.lifecycle == kRevocation || d.lifecycle == kUpdate || d.lifecycle == kReplacement) continue;
      found = &d;
      break;
    }
    if (!found) {
      log::warn("lifecycle request for a document we do not hold",
                {{"document", std::to_string(id)}, {"sender", m.from.organ_id}, {"target", target}});
      continue;
    }
    events.push_back(event(found->id, marker, id, back, actor, b.reason));
    events.back().expected_lifecycle = std::vector<std::string>{found->lifecycle};  // unchanged since read
    events.front().related = found->id;
    events.front().relation = relation;
  }
  if (Status s = c_.store.record_lifecycle(events); !s.ok()) {
    log::warn("lifecycle request not applied", {{"document", std::to_string(id)}, {"error", s.error().message}});
    return;
  }
  log::info("lifecycle request received", {{"document", std::to_string(id)},
                                           {"kind", carrier},
                                           {"from", m.from.organ_id},
                                           {"targets", std::to_string(events.size() - 1)}});
}

Result<Accepted> Lifecycle::receive_recall_request(const ex::Envelope& env, const crypto::Verification& verification,
                                                   const store::BlobRef& envelope, const std::string& axis_from) {
  const ex::StatusMessage& s = *env.status;
  if (!axis_from.empty() && axis_from != s.from.organ_id) {
    return make_error(
        ErrorKind::forbidden, "status.sender",
        "the status message says it is from " + s.from.organ_id + " but the axis delivered it from " + axis_from);
  }
  if (env.signature == ex::SignaturePresence::dsig && !verification.valid) {
    return make_error(ErrorKind::invalid, verification.code,
                      "the status message's signature is not valid: " + verification.message);
  }
  store::DocumentQuery q;
  q.direction = Direction::incoming;
  q.sender = s.from.organ_id;  // only the sender of a document may ask it back
  q.envelope_id = s.response_for.document_id;
  q.limit = 20;
  auto page = c_.store.list_documents(q);
  if (!page.ok()) return page.error();
  const store::Document* found = nullptr;
  for (const auto& d : page->documents) {
    if (d.state == State::quarantined || d.state == State::received) continue;
    if (d.lifecycle == kRevocation || d.lifecycle == kUpdate || d.lifecycle == kReplacement) continue;
    found = &d;
    break;
  }
  if (s.response_for.document_id.empty() || !found) {
    return make_error(
        ErrorKind::not_found, "status.unknown_document",
        "no incoming document from " + s.from.organ_id + " has DocumentId '" + s.response_for.document_id + "'");
  }
  auto known = c_.store.status_messages(found->id);
  if (!known.ok()) return known.error();
  for (const auto& k : *known) {
    if (k.envelope && k.envelope->sha256 == envelope.sha256) {
      return Accepted{Accepted::Kind::status_message, found->id, found->state, true};  // a redelivery
    }
  }
  store::StatusMessage sm;
  sm.direction = Direction::incoming;
  sm.code = ex::format_status_code(s.code);
  sm.description = s.description;
  sm.staff = s.staff.staff;
  sm.envelope = envelope;
  EDX_TRY(c_.store.add_status_message(found->id, sm));
  if (found->lifecycle != kRecallRequested && found->lifecycle != kRevoked) {
    LifecycleEvent e = event(found->id, kRecallRequested, std::nullopt, "", "organ:" + s.from.organ_id, s.description);
    e.expected_lifecycle = std::vector<std::string>{found->lifecycle};
    if (Status st = c_.store.record_lifecycle(std::span<const LifecycleEvent>(&e, 1)); !st.ok()) {
      return st.error();
    }
  }
  log::info("recall request received", {{"document", std::to_string(found->id)}, {"from", s.from.organ_id}});
  return Accepted{Accepted::Kind::status_message, found->id, found->state, false};
}

void Lifecycle::after_status(DocumentId id, ex::StatusCode code, const std::string& from) {
  if (code != ex::StatusCode::recall_agreed && code != ex::StatusCode::recall_refused) return;
  auto doc = c_.store.get_document(id);
  if (!doc.ok() || (doc->lifecycle != kRevocation && doc->lifecycle != kRecallRequested)) return;
  const bool agreed = code == ex::StatusCode::recall_agreed;
  const std::string actor = "organ:" + from;
  DocumentId original = id;
  if (doc->lifecycle == kRevocation) {
    // The answer names the DocumentId the recall shares with its original:
    // the request itself is accepted or refused, the original settled.
    auto events = c_.store.lifecycle_events(id);
    if (!events.ok()) return;
    auto target = related_by(*events, "revocation_of");
    if (!target) return;
    original = *target;
    const State to = agreed ? State::accepted : State::refused;
    if (store::is_legal(Direction::outgoing, doc->state, to)) {
      (void)c_.store.transition(id, to, actor, agreed ? "recall agreed (15)" : "recall refused (16)", doc->state);
    }
  }
  LifecycleEvent e =
      event(original, agreed ? kRevoked : kRecallRefused, std::nullopt, "", actor, agreed ? "status 15" : "status 16");
  e.expected_lifecycle = std::vector<std::string>{kRecallRequested};
  if (Status s = c_.store.record_lifecycle(std::span<const LifecycleEvent>(&e, 1)); !s.ok()) {
    log::warn("recall answer not applied", {{"document", std::to_string(original)}, {"error", s.error().message}});
  }
}

}  // namespace edxgate::workflow::detail
