// The outbox worker: sends what the store says is due to the axis, and (in
// pull mode) fetches what the axis holds for us.
#pragma once

#include "context.h"
#include "incoming.h"

namespace edxgate::workflow::detail {

class OutboxWorker {
 public:
  OutboxWorker(Context& c, Incoming& incoming) : c_(c), incoming_(incoming) {}
  // Sends the items due (at most one batch); returns how many were sent.
  Result<size_t> run_once();
  // One poll of the axis; returns how many deliveries were stored.
  Result<size_t> poll_once();
  static constexpr uint32_t kBatch = 16;

 private:
  Status send_item(const store::OutboxItem& item);
  void record_failure(const store::OutboxItem& item, const Error& e);
  // Sends `items` with up to opt.outbox_in_flight in flight; the items of one
  // document in their order. results[i] is items[i]'s.
  std::vector<Status> send_all(const std::vector<store::OutboxItem>& items);
  Context& c_;
  Incoming& incoming_;
};

}  // namespace edxgate::workflow::detail
