// The answer a sender is owed for each incoming document it delivered: status
// 01 (received) when the document was stored verified, 02 (refused) with the
// reason when it was quarantined. Building, signing (on the token when the
// gateway holds an unattended key) and queueing it takes longer than storing
// the document, so it runs off the request path: the delivery is answered as
// soon as the document is durable, and worker threads answer the senders
// (two, so that one's token signature overlaps the other's building and storing).
//
// Nothing is lost in a crash: the owed answer is not a separate record but a
// fact of the store (an incoming document, verified or quarantined, that
// names recipients and has no outgoing status message yet). The worker looks
// for such documents when it starts, so a document stored just before a
// crash gets its answer after the restart. An answer is sent once: the
// worker checks, just before sending, that the document has no outgoing
// status message yet (a duplicate delivery, or a clerk's 03 first, gets none),
// and one document is answered by one thread at a time.
#pragma once

#include <cstddef>
#include <deque>
#include <set>
#include <thread>
#include <vector>

#include "context.h"
#include "status.h"

namespace edxgate::workflow::detail {

class Answers {
 public:
  // Owed answers waiting in memory at most; beyond, the request path
  // answers itself (as when the worker is not running).
  static constexpr size_t kMaxQueued = 4096;
  static constexpr size_t kWorkers = 2;

  Answers(Context& c, StatusMessages& status) : c_(c), status_(status) {}
  ~Answers() { stop(); }
  Answers(const Answers&) = delete;
  Answers& operator=(const Answers&) = delete;

  // The document `id` (just stored) is owed its answer. With the worker
  // running, queued for it; otherwise (the CLI, tests driving the engine by
  // hand, a full queue) answered here. Errors are logged, never returned:
  // the document is stored whatever happens to its answer.
  void owe(store::DocumentId id) EXCLUDES(mu_);

  // Starts the workers: the first looks for documents stored but never
  // answered (a crash); both answer what owe() queues.
  void start() EXCLUDES(mu_);
  // Stops the workers after the answers in hand; what is still queued is
  // found again by the next start().
  void stop() EXCLUDES(mu_);
  // Owed answers not yet queued in the outbox.
  size_t pending() const EXCLUDES(mu_);
  // Answers `id` now if it is still owed its answer: called before any later
  // status about it (03 and on, a recall's answer) is sent, so that the
  // sender always hears 01 first.
  void settle(store::DocumentId id) { answer(id); }

 private:
  void run(bool recover_first);
  // Answers one document if it is still owed its answer. One thread at a
  // time per document: the check that none was sent and the sending go
  // together (settle() waits for a worker answering the same document).
  void answer(store::DocumentId id) EXCLUDES(answer_mu_);
  // Queues the documents a previous run stored and never answered.
  void recover();

  Context& c_;
  StatusMessages& status_;
  Mutex answer_mu_;
  std::condition_variable answer_cv_;                             // a document's answer is done
  std::set<store::DocumentId> answering_ GUARDED_BY(answer_mu_);  // being answered now
  mutable Mutex mu_;
  std::condition_variable cv_;
  std::deque<store::DocumentId> queue_ GUARDED_BY(mu_);
  // Each document queued or in a worker's hands, once: a document owed by a
  // delivery and by the start's recovery (or by several deliveries) is
  // queued once, and pending() counts documents.
  std::set<store::DocumentId> owed_ GUARDED_BY(mu_);
  bool running_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace edxgate::workflow::detail
