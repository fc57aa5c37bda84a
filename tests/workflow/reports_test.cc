// Processing tracking through the engine, with the stores' clocks moved by
// hand: A sends B documents with a DueDate; B's internal system assigns them
// to units (one with a deadline of its own) and completes them in time or
// late; B's incoming report and gauges, and A's outgoing report built from
// the statuses B sent back, say so.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>

#include "../support/ministry.h"
#include "../support/temp_dir.h"
#include "../support/workflow_doubles.h"
#include "edxgate/base/metrics.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"
#include "edxgate/workflow/reports.h"

namespace edxgate::workflow {
namespace {

using store::State;
using test::Ministry;
using test::TempDir;
using test::write_file;

constexpr const char* kA = "000.00.00.G01";
constexpr const char* kB = "000.00.00.G02";
constexpr int64_t kDay = 86'400'000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kNov2Vietnam = 1'793'552'400'000;  // 2026-11-02 00:00 in Vietnam

// A ministry (tests/support/ministry.h) whose store runs on `clock`, that
// reports a document unanswered after 7 days and refreshes its gauges at once.
test::MinistryOptions on_clock(std::shared_ptr<std::atomic<int64_t>> clock) {
  test::MinistryOptions o;
  o.now_ms = [clock] { return clock->load(); };
  o.tune_engine = [](EngineOptions& eo) {
    eo.no_answer_days = 7;
    eo.report_gauge_interval = std::chrono::milliseconds(0);
  };
  return o;
}

struct TrackingTest : ::testing::Test {
  TempDir dir{"edxgate-tracking"};
  std::shared_ptr<std::atomic<int64_t>> clock = std::make_shared<std::atomic<int64_t>>(kNov2Vietnam + 9 * kHour);
  Ministry a{kA, "good", dir, on_clock(clock)};
  Ministry b{kB, "good2", dir, on_clock(clock)};
  int sends = 0;

  // A sends B a signed document due on `due` (SDK form yyyy/MM/dd, or none);
  // returns (A's id, B's id).
  std::pair<store::DocumentId, store::DocumentId> send(const std::string& subject, const std::string& due) {
    json::bj::object message{{"from", json::bj::object{{"organ_id", kA}}},
                             {"to", json::bj::array{json::bj::object{{"organ_id", kB}}}},
                             {"code", std::to_string(++sends) + "/BTN-VP"},  // each its own DocumentId
                             {"promulgation_date", "2026/11/02"},
                             {"subject", subject}};
    if (!due.empty()) message["due_date"] = due;
    Submission s;
    s.header = json::bj::object{{"message", std::move(message)}};
    const std::string file = a.root + "/upload-" + subject;
    write_file(file, "Nội dung " + subject);
    s.files = {file};
    s.names = {"Công văn.txt"};
    s.submitter = "eoffice";
    s.allowed_senders = {kA};
    auto sub = a.engine->submit(std::move(s));
    EXPECT_TRUE(sub.ok()) << sub.error().message;
    SecretString pin("1234");
    EXPECT_TRUE(a.engine->sign(sub->id, "", &pin, "leader").ok());
    EXPECT_TRUE(a.engine->run_outbox_once().ok());
    auto sent = a.axis.take();
    EXPECT_EQ(sent.size(), 1u);
    auto got = b.deliver(sent.at(0).bytes, kA, "edoc");
    EXPECT_TRUE(got.ok()) << got.error().message;
    return {sub->id, got->document};
  }
  // B's statuses back to A.
  void relay() {
    ASSERT_TRUE(b.engine->run_outbox_once().ok());
    for (const auto& s : b.axis.take()) {
      auto r = a.deliver(s.bytes, kB, "status");
      ASSERT_TRUE(r.ok()) << r.error().message;
    }
  }
  Result<State> report(store::DocumentId id, State state, const std::string& unit, const std::string& deadline = "") {
    ProcessingReport r;
    r.state = state;
    r.staff = "Trần Thị Hoa";
    r.department = unit;
    return b.engine->report(id, r, "eoffice-b", deadline);
  }
};

TEST_F(TrackingTest, TheDueDateOfAnIncomingEnvelopeIsItsDeadline) {
  auto [out, in] = send("có hạn", "2026/11/10");
  auto t = b.db->tracking(in);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->deadline_ms, store::deadline_of_day("2026-11-10"));
  EXPECT_EQ(t->deadline_source, store::DeadlineSource::due_date);
  auto none = send("không hạn", "");
  EXPECT_EQ(b.db->tracking(none.second)->deadline_ms, std::nullopt);
}

TEST_F(TrackingTest, AnAssignmentSetsTheUnitThePersonAndItsOwnDeadline) {
  auto [out, in] = send("giao việc", "2026/11/10");
  auto moved = report(in, State::assigned, "Vụ Pháp chế", "2026-11-06");
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  auto t = b.db->tracking(in);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->deadline_ms, store::deadline_of_day("2026-11-06"));
  EXPECT_EQ(t->deadline_source, store::DeadlineSource::assigned);
  EXPECT_EQ(t->unit, "Vụ Pháp chế");
  EXPECT_EQ(t->handler, "Trần Thị Hoa");
  // The unit travels with the status message (04) and A records who sent it.
  relay();
  auto msgs = a.db->status_messages(out);
  ASSERT_TRUE(msgs.ok());
  ASSERT_FALSE(msgs->empty());
  EXPECT_EQ(msgs->back().code, "04");
  EXPECT_EQ(msgs->back().organ_id, kB);
  EXPECT_EQ(msgs->back().unit, "Vụ Pháp chế");
  auto ours = b.db->status_messages(in);
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(ours->back().unit, "Vụ Pháp chế");
  EXPECT_EQ(ours->back().organ_id, kB);
}

TEST_F(TrackingTest, ABadDeadlineIsRefusedAndChangesNothing) {
  auto [out, in] = send("sai hạn", "2026/11/10");
  auto bad_day = report(in, State::assigned, "Vụ Pháp chế", "2026-02-30");
  ASSERT_FALSE(bad_day.ok());
  EXPECT_EQ(bad_day.error().code, "report.deadline");
  EXPECT_EQ(bad_day.error().kind, ErrorKind::invalid);
  auto not_assigned = report(in, State::processing, "Vụ Pháp chế", "2026-11-06");
  ASSERT_FALSE(not_assigned.ok());
  EXPECT_EQ(not_assigned.error().code, "report.deadline");
  EXPECT_EQ(b.db->get_document(in)->state, State::verified);
  auto t = b.db->tracking(in);
  EXPECT_EQ(t->deadline_ms, store::deadline_of_day("2026-11-10"));
  EXPECT_EQ(t->unit, "");
}

TEST_F(TrackingTest, ReportsAndGaugesShowDeadlinesMetMissedAndOverdue) {
  auto on_time = send("đúng hạn", "2026/11/05");
  auto late = send("trễ hạn", "2026/11/03");
  auto overdue = send("quá hạn", "2026/11/20");
  ASSERT_TRUE(report(on_time.second, State::assigned, "Vụ Pháp chế").ok());
  ASSERT_TRUE(report(late.second, State::assigned, "Vụ Pháp chế").ok());
  ASSERT_TRUE(report(overdue.second, State::assigned, "Văn phòng", "2026-11-04").ok());
  relay();

  *clock = kNov2Vietnam + 3 * kDay + 10 * kHour;  // 5 November, 10:00
  ASSERT_TRUE(report(on_time.second, State::completed, "Vụ Pháp chế").ok());
  ASSERT_TRUE(report(late.second, State::completed, "Vụ Pháp chế").ok());
  relay();

  *clock = kNov2Vietnam + 12 * kDay;  // 14 November
  auto days = report_days("2026-11-01", "2026-11-30", *clock);
  ASSERT_TRUE(days.ok()) << days.error().message;
  auto in = b.db->incoming_report(days->period);
  ASSERT_TRUE(in.ok()) << in.error().message;
  ASSERT_EQ(in->units.size(), 2u);
  EXPECT_EQ(in->units[0].unit, "Văn phòng");
  EXPECT_EQ(in->units[0].overdue, 1u);
  EXPECT_EQ(in->units[1].unit, "Vụ Pháp chế");
  EXPECT_EQ(in->units[1].done_on_time, 1u);
  EXPECT_EQ(in->units[1].done_late, 1u);
  EXPECT_EQ(in->total.received, 3u);

  auto json = incoming_report_json(*days, *in);
  EXPECT_EQ(json.at("from").as_string(), "2026-11-01");
  EXPECT_EQ(json.at("total").as_object().at("overdue").as_uint64(), 1u);

  // A's view: B completed two and has the third in progress; none unanswered.
  auto out = a.db->outgoing_report(days->period, 7);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->organs.size(), 1u);
  EXPECT_EQ(out->organs[0].organ_id, kB);
  EXPECT_EQ(out->organs[0].sent, 3u);
  EXPECT_EQ(out->organs[0].completed, 2u);
  EXPECT_EQ(out->organs[0].in_progress, 1u);
  EXPECT_EQ(out->organs[0].no_answer, 0u);

  b.engine->refresh_gauges();
  const std::string metrics = b.metrics.render();
  EXPECT_NE(metrics.find("edxgate_incoming_overdue{unit=\"Văn phòng\"} 1"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("edxgate_incoming_overdue{unit=\"Vụ Pháp chế\"}"), std::string::npos)
      << "a unit with nothing overdue gets no series";
  // Done: the series stays, at zero.
  ASSERT_TRUE(report(overdue.second, State::completed, "Văn phòng").ok());
  b.engine->refresh_gauges();
  EXPECT_NE(b.metrics.render().find("edxgate_incoming_overdue{unit=\"Văn phòng\"} 0"), std::string::npos);
}

TEST_F(TrackingTest, TheOverdueGaugeHasABoundedSetOfUnits) {
  const size_t units = OverdueGauges::kMaxUnitLabels + 2;
  for (size_t i = 0; i < units; ++i) {
    auto doc = send("văn bản " + std::to_string(i), "2026/11/03");
    ASSERT_TRUE(report(doc.second, State::assigned, "Phòng " + std::to_string(i)).ok());
  }
  *clock = kNov2Vietnam + 5 * kDay;
  b.engine->refresh_gauges();
  const std::string metrics = b.metrics.render();
  size_t series = 0;
  for (size_t at = metrics.find("edxgate_incoming_overdue{"); at != std::string::npos;
       at = metrics.find("edxgate_incoming_overdue{", at + 1)) {
    ++series;
  }
  EXPECT_EQ(series, OverdueGauges::kMaxUnitLabels + 1);  // + "other"
  EXPECT_NE(metrics.find("edxgate_incoming_overdue{unit=\"other\"} 2"), std::string::npos) << metrics;
}

TEST(ReportDays, ResolveDaysInVietnamTimeBothIncluded) {
  auto d = report_days("2026-11-01", "2026-11-30", 0);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->period.from_ms, 1'793'466'000'000);  // 2026-10-31T17:00:00Z
  EXPECT_EQ(d->period.to_ms, 1'796'058'000'000);    // 2026-11-30T17:00:00Z
  // Defaults: the 30 days up to today (Vietnam): at 2026-11-01T18:00Z it is already 2 November there.
  auto def = report_days("", "", 1'793'556'000'000);
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->to, "2026-11-02");
  EXPECT_EQ(def->from, "2026-10-04");
  auto reversed = report_days("2026-11-30", "2026-11-01", 0);
  ASSERT_FALSE(reversed.ok());
  EXPECT_EQ(reversed.error().code, "report.range");
  EXPECT_EQ(reversed.error().kind, ErrorKind::invalid);
  auto bad = report_days("2026-11-31", "", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "report.date");
  EXPECT_EQ(bad.error().kind, ErrorKind::malformed);
}

}  // namespace
}  // namespace edxgate::workflow
