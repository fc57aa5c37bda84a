// Status messages: the ones recipients send about our outgoing documents,
// and the ones we send about incoming documents (01/02 on receipt, and the
// processing reports of internal systems).
#pragma once

#include "context.h"

namespace edxgate::workflow::detail {

class StatusMessages {
 public:
  explicit StatusMessages(Context& c) : c_(c) {}

  // A status message the axis delivered (`envelope` holds its bytes, already
  // read and verified in one pass): checked against the document it is about
  // and recorded; moves that document on. Returns the outgoing document's id.
  // `axis_from` is the organ the axis authenticated ("" if unknown).
  Result<store::DocumentId> receive(const edxml::Envelope& env, const crypto::Verification& verification,
                                    const store::BlobRef& envelope, const std::string& axis_from);

  // Builds a status message about an incoming document, signs it with the
  // organization's unattended key when there is one, queues it for the
  // sender (moving the document to `move_to` in the same transaction, if set)
  // and records it.
  Status send(const store::Document& doc, edxml::StatusCode code, const std::string& description,
              const std::string& staff, const std::string& department, std::optional<store::State> move_to,
              const std::string& actor);

  Result<store::State> report(store::DocumentId id, const ProcessingReport& report, const std::string& actor,
                              const std::string& deadline = "");
  Status acknowledge(store::DocumentId id, const std::string& actor);

 private:
  Context& c_;
};

}  // namespace edxgate::workflow::detail
