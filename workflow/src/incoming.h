// The incoming path: a delivery is kept as received, read and verified in one
// pass, and becomes either a stored document (verified or quarantined, the
// sender told with 01 or 02 off the request path, answers.h) or a status
// message about one of ours.
#pragma once

#include "answers.h"
#include "context.h"
#include "lifecycle.h"
#include "status.h"

namespace edxgate::workflow::detail {

class Incoming {
 public:
  Incoming(Context& c, StatusMessages& status, Lifecycle& lifecycle, Answers& answers)
      : c_(c), status_(status), lifecycle_(lifecycle), answers_(answers) {}
  Result<Accepted> accept(IncomingDelivery& delivery);

 private:
  Result<Accepted> store_document(const IncomingDelivery& d, const store::BlobRef& envelope,
                                  crypto::VerifiedEnvelope& read);
  Context& c_;
  StatusMessages& status_;
  Lifecycle& lifecycle_;
  Answers& answers_;
};

}  // namespace edxgate::workflow::detail
