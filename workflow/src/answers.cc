#include "answers.h"

#include "edxgate/base/log.h"

namespace edxgate::workflow::detail {

namespace ex = edxgate::edxml;
using store::Direction;
using store::DocumentId;
using store::State;

namespace {

// The reason a quarantined document was refused, as store_document wrote it
// into the signer summary ("quarantined: <code>: <problem>").
void refusal_reason(const std::string& summary, std::string& code, std::string& problem) {
  static constexpr std::string_view kPrefix = "quarantined: ";
  std::string_view s = summary;
  if (s.substr(0, kPrefix.size()) == kPrefix) s.remove_prefix(kPrefix.size());
  const auto colon = s.find(": ");
  code = std::string(s.substr(0, colon));
  problem = colon == std::string_view::npos ? "" : std::string(s.substr(colon + 2));
}

}  // namespace

void Answers::owe(DocumentId id) {
  {
    MutexLock lock(mu_);
    if (running_ && !stop_ && owed_.count(id) != 0) return;  // queued or in hand: answered once
    if (running_ && !stop_ && queue_.size() < kMaxQueued) {
      owed_.insert(id);
      queue_.push_back(id);
      cv_.notify_one();
      return;
    }
  }
  answer(id);
}

void Answers::start() {
  MutexLock lock(mu_);
  if (!threads_.empty()) return;
  stop_ = false;
  running_ = true;
  for (size_t k = 0; k < kWorkers; ++k) threads_.emplace_back([this, k] { run(k == 0); });
}

void Answers::stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  MutexLock lock(mu_);
  running_ = false;
  queue_.clear();  // still owed in the store: the next start() finds them
  owed_.clear();
}

size_t Answers::pending() const {
  MutexLock lock(mu_);
  return owed_.size();
}

void Answers::run(bool recover_first) {
  if (recover_first) recover();
  for (;;) {
    DocumentId id = 0;
    {
      MutexLock lock(mu_);
      while (!stop_ && queue_.empty()) lock.wait(cv_);
      if (stop_) return;
      id = queue_.front();
      queue_.pop_front();
    }
    answer(id);
    MutexLock lock(mu_);
    owed_.erase(id);
  }
}

void Answers::recover() {
  size_t found = 0;
  for (State state : {State::verified, State::quarantined}) {
    store::DocumentQuery q;
    q.direction = Direction::incoming;
    q.state = state;
    q.limit = 500;
    for (;;) {
      {
        MutexLock lock(mu_);
        if (stop_) return;
      }
      auto page = c_.store.list_documents(q);
      if (!page.ok()) {
        log::warn("unanswered documents not looked for", {{"error", page.error().message}});
        return;
      }
      for (const auto& d : page->documents) {
        auto sent = c_.store.status_messages(d.id);
        if (!sent.ok() || !sent->empty()) continue;
        MutexLock lock(mu_);
        if (!owed_.insert(d.id).second) continue;  // a delivery since the start owes it already
        queue_.push_back(d.id);                    // may exceed kMaxQueued once, bounded by the backlog
        ++found;
      }
      if (!page->next_before_id) break;
      q.before_id = page->next_before_id;
    }
  }
  if (found > 0) log::info("documents stored but not answered before a restart", {{"count", std::to_string(found)}});
}

void Answers::answer(DocumentId id) {
  {
    MutexLock lock(answer_mu_);
    while (answering_.count(id) != 0) lock.wait(answer_cv_);
    answering_.insert(id);
  }
  // Released however the answer ends.
  struct Done {
    Answers& a;
    DocumentId id;
    ~Done() {
      MutexLock lock(a.answer_mu_);
      a.answering_.erase(id);
      a.answer_cv_.notify_all();
    }
  } done{*this, id};
  auto doc = c_.store.get_document(id);
  if (!doc.ok()) {
    log::warn("status not queued", {{"document", std::to_string(id)}, {"error", doc.error().message}});
    return;
  }
  // An envelope that could not be read names no recipients: nobody to answer
  // with any confidence (the axis' from is not the envelope's).
  if (doc->direction != Direction::incoming || doc->sender.empty() || doc->recipients.empty()) return;
  if (doc->state != State::verified && doc->state != State::quarantined) return;  // moved on: answered already
  auto sent = c_.store.status_messages(id);
  if (!sent.ok()) {
    log::warn("status not queued", {{"document", std::to_string(id)}, {"error", sent.error().message}});
    return;
  }
  if (!sent->empty()) return;  // answered (a duplicate delivery, or a clerk was first)
  Status st;
  if (doc->state == State::verified) {
    st = status_.send(*doc, ex::StatusCode::arrived, std::string(ex::status_code_meaning(ex::StatusCode::arrived)), "",
                      "", std::nullopt, "system:engine");
  } else {
    std::string code, problem;
    refusal_reason(doc->signer_summary, code, problem);
    st = status_.send(*doc, ex::StatusCode::refused,
                      "Từ chối tiếp nhận: " + problem + " [" + code +
                          "] (envelope sha256:" + (doc->envelope ? doc->envelope->sha256 : std::string()) + ")",
                      "", "", std::nullopt, "system:engine");
  }
  if (!st.ok()) {
    // The document is stored; its answer is found again at the next start
    // (or sent by an operator).
    log::warn("status not queued", {{"document", std::to_string(id)}, {"error", st.error().message}});
  }
}

}  // namespace edxgate::workflow::detail
