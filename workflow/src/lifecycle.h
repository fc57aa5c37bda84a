// The lifecycle of a sent document (issue 16): recall (thu hồi), update
// (cập nhật) and replacement (thay thế), on both sides.
//
// Sending: each is a new outgoing document whose envelope carries the
// Bussiness block (BussinessDocType 1, 2 or 3); it is submitted, signed and
// sent like any document (messagetype edoc), and linked to the original
// (store::LifecycleEvent on both). A recall reuses the original's header and
// DocumentId and carries no attachments; an update reuses the DocumentId with
// the changed fields and/or attachments; a replacement is a new document
// naming the original in ReplacementInfoList. The original's marker becomes
// recall_requested, updated or replaced; a recipient's status 15 turns
// recall_requested into revoked, a 16 into recall_refused.
//
// Receiving: a verified envelope of type 1/2/3 is stored like any document
// (marked revocation, update or replacement) and applied to the stored
// document it names (same sender and DocumentId): recall_requested, updated
// or replaced, with the links. A status 13 from the sender asks for a recall
// too. The internal system answers a recall with 15 (recall_agreed: revoked)
// or 16 (recall_refused).
#pragma once

#include "context.h"
#include "outgoing.h"
#include "status.h"

namespace edxgate::workflow::detail {

class Lifecycle {
 public:
  Lifecycle(Context& c, Outgoing& outgoing, StatusMessages& status) : c_(c), outgoing_(outgoing), status_(status) {}

  Result<Submitted> revoke(store::DocumentId original, const LifecycleRequest& r);
  Result<Submitted> update(store::DocumentId original, const LifecycleRequest& r, const json::bj::object& changes,
                           std::vector<std::string> files, std::vector<std::string> names);
  Result<Submitted> replace(store::DocumentId original, const LifecycleRequest& r, Submission replacement);
  Result<std::string> answer_recall(store::DocumentId incoming, bool agree, const ProcessingReport& r,
                                    const std::string& actor);

  // Receiving side: a new incoming document `id` (verified, just stored)
  // whose envelope has a Bussiness block of type 1, 2 or 3.
  void apply_incoming(store::DocumentId id, const edxml::Envelope& env);
  // A status 13 from the sender of one of our incoming documents.
  Result<Accepted> receive_recall_request(const edxml::Envelope& env, const crypto::Verification& verification,
                                          const store::BlobRef& envelope, const std::string& axis_from);
  // After a status message about outgoing document `id` was recorded: a 15
  // or 16 answering a recall settles the original's marker.
  void after_status(store::DocumentId id, edxml::StatusCode code, const std::string& from);

 private:
  // The original: outgoing, sent, and free for a new lifecycle step.
  Result<store::Document> sendable_original(store::DocumentId id, const std::string& what);
  // The original's envelope read back (attachments decoded into `dir`).
  Result<edxml::Envelope> read_original(const store::Document& doc, const std::string& dir);
  // A retried request (the same submitter and Idempotency-Key as an earlier
  // one): the document the first one made and linked to `original` with
  // `relation`; none when the key is new; "idempotency.mismatch" when the
  // key made something else.
  Result<std::optional<Submitted>> earlier_request(store::DocumentId original, const LifecycleRequest& r,
                                                   const std::string& relation, const std::string& what);
  // Submits `sub` and links it to `original` (cancelled again if the link fails).
  Result<Submitted> submit_linked(const store::Document& original, Submission sub, const std::string& original_marker,
                                  const std::string& original_relation, const std::string& new_marker,
                                  const std::string& new_relation, const LifecycleRequest& r);
  Context& c_;
  Outgoing& outgoing_;
  StatusMessages& status_;
};

}  // namespace edxgate::workflow::detail
