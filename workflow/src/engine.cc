#include "edxgate/workflow/engine.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "answers.h"
#include "context.h"
#include "edxgate/base/log.h"
#include "edxgate/base/mutex.h"
#include "edxgate/workflow/reports.h"
#include "incoming.h"
#include "lifecycle.h"
#include "outbox.h"
#include "outgoing.h"
#include "status.h"

namespace edxgate::workflow {

using store::Direction;
using store::DocumentId;
using store::State;

// The shared context, the four paths over it, and the worker thread's state.
struct Engine::Parts {
  Parts(EngineOptions o, store::Store& s, std::shared_ptr<const crypto::Verifier> v, KeyProvider* k, AxisTransport* a,
        MetricsRegistry& r)
      : c(std::move(o), s, std::move(v), k, a, r),
        outgoing(c),
        status(c),
        lifecycle(c, outgoing, status),
        answers(c, status),
        incoming(c, status, lifecycle, answers),
        outbox(c, incoming),
        overdue(r, c.opt.no_answer_days) {}
  detail::Context c;
  detail::Outgoing outgoing;
  detail::StatusMessages status;
  detail::Lifecycle lifecycle;
  detail::Answers answers;  // the 01/02 owed for incoming documents, off the request path
  detail::Incoming incoming;
  detail::OutboxWorker outbox;
  OverdueGauges overdue;
  std::atomic<int64_t> overdue_refreshed_ms{0};  // steady clock; 0: never

  Mutex mu;
  std::condition_variable cv;
  bool stop GUARDED_BY(mu) = false;
  bool woken GUARDED_BY(mu) = false;
  std::thread thread;
};

Engine::Engine(EngineOptions options, store::Store& store, std::shared_ptr<const crypto::Verifier> verifier,
               KeyProvider* keys, AxisTransport* axis, MetricsRegistry& metrics)
    : p_(std::make_unique<Parts>(std::move(options), store, std::move(verifier), keys, axis, metrics)) {
  p_->c.wake = [this] { wake(); };
  // Leftovers of a previous run (a crash mid-request) are garbage.
  detail::clean_work_dir(p_->c.opt.work_dir);
}

Engine::~Engine() { stop(); }

Result<Submitted> Engine::submit(Submission submission) { return p_->outgoing.submit(std::move(submission)); }

Result<Submitted> Engine::submit_envelope(std::string file, const std::string& submitter,
                                          const std::vector<std::string>& allowed_senders,
                                          const std::string& idempotency_key) {
  return p_->outgoing.submit_envelope(std::move(file), submitter, allowed_senders, idempotency_key);
}

Result<State> Engine::sign(DocumentId id, const std::string& key_uri, const SecretString* pin,
                           const std::string& actor) {
  return p_->outgoing.sign(id, key_uri, pin, actor);
}

Result<ToSign> Engine::to_sign(DocumentId id, const std::vector<crypto::Certificate>& certificates,
                               std::optional<crypto::SignatureAlgorithm> algorithm) {
  return p_->outgoing.to_sign(id, certificates, algorithm);
}

Result<State> Engine::complete_signature(DocumentId id, const std::vector<crypto::Certificate>& certificates,
                                         std::optional<crypto::SignatureAlgorithm> algorithm,
                                         const std::vector<uint8_t>& signature, const std::string& actor) {
  return p_->outgoing.complete_signature(id, certificates, algorithm, signature, actor);
}

Result<Accepted> Engine::accept(IncomingDelivery& delivery) { return p_->incoming.accept(delivery); }

Status Engine::acknowledge(DocumentId id, const std::string& actor) { return p_->status.acknowledge(id, actor); }

Result<State> Engine::report(DocumentId id, const ProcessingReport& report, const std::string& actor,
                             const std::string& deadline) {
  p_->answers.settle(id);  // the sender hears 01 before anything later
  return p_->status.report(id, report, actor, deadline);
}

Result<Submitted> Engine::revoke(DocumentId original, const LifecycleRequest& request) {
  return p_->lifecycle.revoke(original, request);
}

Result<Submitted> Engine::update(DocumentId original, const LifecycleRequest& request, const json::bj::object& changes,
                                 std::vector<std::string> files, std::vector<std::string> names) {
  return p_->lifecycle.update(original, request, changes, std::move(files), std::move(names));
}

Result<Submitted> Engine::replace(DocumentId original, const LifecycleRequest& request, Submission replacement) {
  return p_->lifecycle.replace(original, request, std::move(replacement));
}

Result<std::string> Engine::answer_recall(DocumentId incoming, bool agree, const ProcessingReport& report,
                                          const std::string& actor) {
  p_->answers.settle(incoming);  // the sender hears 01 before anything later
  return p_->lifecycle.answer_recall(incoming, agree, report, actor);
}

Result<size_t> Engine::run_outbox_once() { return p_->outbox.run_once(); }

size_t Engine::answers_pending() const { return p_->answers.pending(); }

Status Engine::retry_failed(DocumentId id, const std::string& actor) {
  EDX_TRY(p_->c.store.requeue_failed(id, actor, "re-queued by " + actor));
  wake();
  return {};
}

Result<size_t> Engine::poll_once() { return p_->outbox.poll_once(); }

Status Engine::axis_check() const {
  if (!p_->c.axis) return make_error(ErrorKind::unavailable, "ready.axis", "no axis is configured");
  return p_->c.axis_health.check();
}

void Engine::refresh_gauges() {
  using namespace std::chrono;
  const int64_t now = duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  const int64_t last = p_->overdue_refreshed_ms.load();
  if (last == 0 || now - last >= p_->c.opt.report_gauge_interval.count()) {
    p_->overdue_refreshed_ms = now;
    if (auto st = p_->overdue.refresh(p_->c.store); !st.ok()) {
      log::warn("overdue gauges not refreshed", {{"error", st.error().message}});
    }
  }
  auto s = p_->c.store.stats();
  if (!s.ok()) return;
  auto& m = p_->c.metrics;
  for (Direction d : {Direction::outgoing, Direction::incoming}) {
    for (State st : store::all_states()) {
      if (!store::belongs_to(d, st)) continue;
      uint64_t n = 0;
      for (const auto& c : s->documents) {
        if (c.direction == d && c.state == st) n = c.count;
      }
      m.documents.set({std::string(store::direction_name(d)), std::string(store::state_name(st))},
                      static_cast<double>(n));
    }
  }
  m.outbox_depth.set({}, static_cast<double>(s->outbox_pending));
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  m.outbox_oldest.set(
      {}, s->outbox_oldest_created_ms == 0 ? 0.0 : static_cast<double>(now_ms - s->outbox_oldest_created_ms) / 1000.0);
}

void Engine::wake() {
  MutexLock lock(p_->mu);
  p_->woken = true;
  p_->cv.notify_all();
}

void Engine::start() {
  MutexLock lock(p_->mu);
  if (p_->thread.joinable()) return;
  p_->stop = false;
  if (auto r = p_->c.store.release_leases(p_->c.opt.worker); r.ok() && *r > 0) {
    log::info("outbox leases of a previous run released", {{"count", std::to_string(*r)}});
  }
  p_->thread = std::thread([this] { loop(); });
  p_->answers.start();
}

void Engine::stop() {
  p_->answers.stop();
  {
    MutexLock lock(p_->mu);
    p_->stop = true;
    p_->cv.notify_all();
  }
  if (p_->thread.joinable()) p_->thread.join();
}

void Engine::loop() {
  using clock = std::chrono::steady_clock;
  const EngineOptions& opt = p_->c.opt;
  auto next_poll = clock::now();
  auto next_gc = clock::now() + opt.gc_interval;
  auto next_recover = clock::now();
  for (;;) {
    {
      MutexLock lock(p_->mu);
      if (p_->stop) return;
    }
    if (clock::now() >= next_recover) {
      p_->outgoing.requeue_signed();  // left signed by a crash between signing and queueing
      next_recover = clock::now() + std::chrono::minutes(5);
    }
    auto sent = p_->outbox.run_once();
    if (!sent.ok()) log::warn("outbox pass failed", {{"error", sent.error().message}});
    if (opt.pull && clock::now() >= next_poll) {
      auto got = p_->outbox.poll_once();
      if (!got.ok()) log::warn("axis poll failed", {{"error", got.error().message}});
      next_poll = clock::now() + opt.poll_interval;
    }
    if (clock::now() >= next_gc) {
      if (auto gc = p_->c.store.collect_garbage(); !gc.ok()) {
        log::warn("garbage collection failed", {{"error", gc.error().message}});
      }
      next_gc = clock::now() + opt.gc_interval;
    }
    refresh_gauges();
    MutexLock lock(p_->mu);
    if (p_->stop) return;
    // Sent a full batch: go on at once.
    if (sent.ok() && *sent >= detail::OutboxWorker::kBatch) continue;
    const auto until = clock::now() + opt.outbox_interval;
    while (!p_->stop && !p_->woken && lock.wait_until(p_->cv, until) != std::cv_status::timeout) {
    }
    p_->woken = false;
  }
}

}  // namespace edxgate::workflow
