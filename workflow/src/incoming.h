// The incoming path: a delivery is kept as received, read and verified in one
// pass, and becomes either a stored document (verified or quarantined, the
// sender told with 01 or 02) or a status message about one of ours.
#pragma once

#include "context.h"
#include "status.h"

namespace edxgate::workflow::detail {

class Incoming {
 public:
  Incoming(Context& c, StatusMessages& status) : c_(c), status_(status) {}
  Result<Accepted> accept(IncomingDelivery& delivery);

 private:
  Result<Accepted> store_document(const IncomingDelivery& d, const store::BlobRef& envelope,
                                  crypto::VerifiedEnvelope& read);
  Context& c_;
  StatusMessages& status_;
};

}  // namespace edxgate::workflow::detail
