#include "outbox.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "edxgate/base/log.h"

namespace edxgate::workflow::detail {

using store::State;

Status OutboxWorker::send_item(const store::OutboxItem& item) {
  if (!item.payload) return make_error(ErrorKind::internal, "outbox.payload", "the item has nothing to send");
  EDX_TRY(c_.store.blobs().verify(*item.payload));
  const std::string path = c_.store.blobs().path_of(item.payload->sha256);
  Result<std::string> r = item.kind == "status"
                              ? c_.axis->send_status(path, split_list(item.destination))
                              : c_.axis->send_envelope(path, split_list(item.destination), AxisMessageType::edoc);
  if (r.ok()) {
    c_.axis_health.ok();
    return {};
  }
  // A refusal is the axis answering; anything else means it is unreachable.
  if (!is_permanent_refusal(r.error())) c_.axis_health.failed(r.error().message);
  return r.error();
}

// A permanent refusal counts towards max_permanent_failures (then the item
// and its document are failed); any other failure is retried with backoff.
void OutboxWorker::record_failure(const store::OutboxItem& item, const Error& e) {
  const std::string why = e.code + ": " + e.message;
  Status recorded;
  if (is_permanent_refusal(e)) {
    auto failed = c_.store.refuse_outbox(item.id, item.lease_token, why, c_.opt.max_permanent_failures);
    if (failed.ok() && *failed) {
      log::warn("the axis refused a document permanently: it is failed until an officer re-queues it",
                {{"item", std::to_string(item.id)}, {"document", std::to_string(item.document_id)}, {"error", why}});
    }
    if (!failed.ok()) recorded = failed.error();
  } else {
    recorded = c_.store.fail_outbox(item.id, item.lease_token, why);
  }
  if (!recorded.ok()) {
    log::warn("outbox failure not recorded", {{"item", std::to_string(item.id)}, {"error", recorded.error().message}});
  }
}

std::vector<Status> OutboxWorker::send_all(const std::vector<store::OutboxItem>& items) {
  std::vector<Status> results(items.size());
  // One lane per document, its items in the order claimed: a status message
  // never overtakes the one before it.
  std::vector<std::vector<size_t>> lanes;
  std::map<store::DocumentId, size_t> lane_of;
  for (size_t i = 0; i < items.size(); ++i) {
    auto [it, added] = lane_of.try_emplace(items[i].document_id, lanes.size());
    if (added) lanes.emplace_back();
    lanes[it->second].push_back(i);
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t l = next++; l < lanes.size(); l = next++) {
      for (size_t i : lanes[l]) results[i] = send_item(items[i]);
    }
  };
  const size_t width = std::min(std::max<size_t>(c_.opt.outbox_in_flight, 1), lanes.size());
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < width; ++t) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  return results;
}

Result<size_t> OutboxWorker::run_once() {
  if (!c_.axis) return size_t{0};
  auto items = c_.store.claim_outbox(c_.opt.worker, c_.opt.lease_ms, kBatch);
  if (!items.ok()) return items.error();
  // The sends overlap; the store learns their outcomes one by one, in order.
  const std::vector<Status> results = send_all(*items);
  size_t sent = 0;
  for (size_t n = 0; n < items->size(); ++n) {
    const store::OutboxItem& item = (*items)[n];
    const Status& result = results[n];
    if (result.ok()) {
      std::optional<State> advance;
      if (item.kind == "edoc") {
        auto doc = c_.store.get_document(item.document_id);
        if (doc.ok() && doc->state == State::queued) advance = State::sent;
      }
      auto done = c_.store.complete_outbox(item.id, item.lease_token, advance, "system:outbox");
      if (!done.ok()) {
        log::warn("outbox completion failed", {{"item", std::to_string(item.id)}, {"error", done.error().message}});
      }
      c_.metrics.sends.inc({item.kind, "ok"});
      ++sent;
      log::info(
          "sent to the axis",
          {{"item", std::to_string(item.id)}, {"document", std::to_string(item.document_id)}, {"kind", item.kind}});
    } else {
      c_.metrics.sends.inc({item.kind, "failed"});
      record_failure(item, result.error());
      log::warn("send to the axis failed", {{"item", std::to_string(item.id)},
                                            {"attempt", std::to_string(item.attempts + 1)},
                                            {"error", result.error().message}});
    }
  }
  return sent;
}

Result<size_t> OutboxWorker::poll_once() {
  if (!c_.axis) return size_t{0};
  size_t stored = 0;
  for (AxisMessageType type : {AxisMessageType::edoc, AxisMessageType::status}) {
    AxisListQuery q;
    q.message_type = type;
    auto items = c_.axis->list_received(q);
    if (!items.ok()) {
      c_.axis_health.failed(items.error().message);
      return items.error();
    }
    c_.axis_health.ok();
    for (const auto& item : *items) {
      const ScratchFile scratch(c_.opt.work_dir, "delivery.xml");
      const std::string& file = scratch.path();
      if (auto g = c_.axis->get(item.doc_id, file); !g.ok()) {
        log::warn("axis get failed", {{"doc_id", item.doc_id}, {"error", g.error().message}});
        continue;  // the next poll tries again
      }
      IncomingDelivery d;
      d.file = file;
      d.message_type = item.message_type;
      d.from = item.from;
      std::error_code ec;
      d.size = std::filesystem::file_size(file, ec);
      auto r = incoming_.accept(d);
      AxisItemStatus mark = AxisItemStatus::done;
      if (!r.ok()) {
        // Bad input is answered once (fail); our own trouble (store, disk) is retried.
        if (!is_input_error(r.error())) continue;
        mark = AxisItemStatus::fail;
        log::warn("axis delivery refused", {{"doc_id", item.doc_id}, {"error", r.error().message}});
      } else {
        ++stored;
      }
      if (auto u = c_.axis->update_status(item.doc_id, mark); !u.ok()) {
        log::warn("axis updateStatus failed", {{"doc_id", item.doc_id}, {"error", u.error().message}});
      }
    }
  }
  return stored;
}

}  // namespace edxgate::workflow::detail
