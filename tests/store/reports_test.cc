// Processing tracking and the two reports, on both engines, with the store's
// clock moved by hand: deadlines met and missed, overdue now, per unit and per
// recipient organ.
#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "edxgate/store/reports.h"

namespace edxgate::store {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kHour = 3'600'000;

// 2026-11-02 00:00 in Vietnam (2026-11-01T17:00:00Z).
constexpr int64_t kNov2Vietnam = 1'793'552'400'000;

TEST(Deadline, IsTheLastMillisecondOfTheDayInVietnam) {
  // 2026-11-10 ends at 2026-11-10T16:59:59.999Z.
  EXPECT_EQ(deadline_of_day("2026-11-10"), std::optional<int64_t>(1'794'329'999'999));
  EXPECT_EQ(deadline_of_day("2024-02-29"), std::optional<int64_t>(1'709'225'999'999));
  EXPECT_FALSE(deadline_of_day("2026-02-29"));
  EXPECT_FALSE(deadline_of_day("2026-13-01"));
  EXPECT_FALSE(deadline_of_day("2026/11/10"));
  EXPECT_FALSE(deadline_of_day("2026-11-1"));
  EXPECT_FALSE(deadline_of_day(""));
  EXPECT_FALSE(deadline_of_day("2026-11-10x"));
}

class Reports : public testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    clock_.ms->store(kNov2Vietnam + 9 * kHour);  // 09:00 on 2 November
    StoreOptions o = base_options();
    o.now_ms = clock_.fn();
    store_ = testing::open_or_die(o);
    ASSERT_TRUE(store_);
  }

  // An incoming document received now, verified, with `due` as its DueDate.
  DocumentId incoming(const std::string& name, const std::string& due = "") {
    auto env = store_->blobs().put("<edXML>" + name + "</edXML>");
    EXPECT_TRUE(env.ok());
    NewDocument d = testing::incoming_doc(*env, name);
    d.due_date = due;
    auto c = store_->create_document(d);
    EXPECT_TRUE(c.ok()) << c.error().message;
    move(c->id, {State::verified});
    return c->id;
  }
  void move(DocumentId id, std::initializer_list<State> path) {
    for (State s : path) {
      auto r = store_->transition(id, s, "test", "");
      ASSERT_TRUE(r.ok()) << state_name(s) << ": " << r.error().message;
    }
  }
  void assign(DocumentId id, const std::string& unit, std::optional<int64_t> deadline = std::nullopt) {
    TrackingUpdate u;
    u.unit = unit;
    u.handler = "Nguyễn Văn Bình";
    u.deadline_ms = deadline;
    u.actor = "system:qlvb";
    ASSERT_TRUE(store_->update_tracking(id, u).ok());
    move(id, {State::registered, State::assigned});
  }
  const IncomingUnitCounts* unit(const IncomingReport& r, const std::string& name) {
    for (const auto& u : r.units) {
      if (u.unit == name) return &u;
    }
    return nullptr;
  }

  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_P(Reports, ADueDateBecomesTheDeadlineAndAnAssignmentReplacesIt) {
  const DocumentId id = incoming("due", "2026-11-10");
  auto t = store_->tracking(id);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->deadline_ms, deadline_of_day("2026-11-10"));
  EXPECT_EQ(t->deadline_source, DeadlineSource::due_date);
  EXPECT_EQ(t->unit, "");

  assign(id, "Vụ Pháp chế", deadline_of_day("2026-11-05"));
  t = store_->tracking(id);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->deadline_ms, deadline_of_day("2026-11-05"));
  EXPECT_EQ(t->deadline_source, DeadlineSource::assigned);
  EXPECT_EQ(t->unit, "Vụ Pháp chế");
  EXPECT_EQ(t->handler, "Nguyễn Văn Bình");

  // A later report naming only the unit keeps the deadline and the handler.
  TrackingUpdate u;
  u.unit = "Văn phòng";
  ASSERT_TRUE(store_->update_tracking(id, u).ok());
  t = store_->tracking(id);
  EXPECT_EQ(t->deadline_ms, deadline_of_day("2026-11-05"));
  EXPECT_EQ(t->unit, "Văn phòng");
  EXPECT_EQ(t->handler, "Nguyễn Văn Bình");

  // Audited; and an outgoing or unknown document has no tracking to change.
  auto rows = store_->audit_rows(0, 1000);
  ASSERT_TRUE(rows.ok());
  int tracked = 0;
  for (const auto& r : *rows) tracked += r.event.action == "document.tracking";
  EXPECT_EQ(tracked, 2);
  auto out = store_->create_document(testing::outgoing_doc());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(store_->update_tracking(out->id, u).error().code, "store.not_found");
  EXPECT_EQ(store_->update_tracking(99999, u).error().code, "store.not_found");
  EXPECT_EQ(store_->tracking(out->id)->deadline_ms, std::nullopt);
}

TEST_P(Reports, IncomingCountsDeadlinesMetMissedAndOverduePerUnit) {
  // Received on 2 November.
  const DocumentId on_time = incoming("on-time", "2026-11-05");
  const DocumentId late = incoming("late", "2026-11-03");
  const DocumentId overdue = incoming("overdue");
  const DocumentId open = incoming("open", "2026-11-30");
  const DocumentId no_deadline = incoming("no-deadline");
  const DocumentId refused = incoming("refused");
  const DocumentId unplaced = incoming("unplaced");
  assign(on_time, "Vụ Pháp chế");
  assign(late, "Vụ Pháp chế");
  assign(overdue, "Vụ Pháp chế", deadline_of_day("2026-11-04"));
  assign(open, "Văn phòng");
  assign(no_deadline, "Văn phòng");
  move(refused, {State::refused});
  (void)unplaced;

  // 4 November, 08:00: `late` (due 3 November) is done a day late; `overdue`
  // is due today, so still in progress.
  clock_.ms->store(kNov2Vietnam + 2 * kDay + 8 * kHour);
  move(late, {State::processing, State::completed});
  ReportPeriod p{kNov2Vietnam - kDay, kNov2Vietnam + 7 * kDay};
  auto r = store_->incoming_report(p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(unit(*r, "Vụ Pháp chế"));
  EXPECT_EQ(unit(*r, "Vụ Pháp chế")->done_late, 1u);
  EXPECT_EQ(unit(*r, "Vụ Pháp chế")->overdue, 0u);
  EXPECT_EQ(unit(*r, "Vụ Pháp chế")->in_progress, 2u);
  // 5 November, 17:00: `on_time` (due that day) is done in time.
  clock_.ms->store(kNov2Vietnam + 3 * kDay + 17 * kHour);
  move(on_time, {State::processing, State::completed});
  move(no_deadline, {State::completed});

  // Received on 10 November: outside a report of 1..9 November.
  clock_.ms->store(kNov2Vietnam + 8 * kDay);
  incoming("later", "2026-11-11");

  clock_.ms->store(kNov2Vietnam + 6 * kDay);  // 8 November: `overdue` (due 4 Nov) is overdue
  r = store_->incoming_report(p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->now_ms, clock_.now());
  ASSERT_EQ(r->units.size(), 3u);
  EXPECT_EQ(r->units[0].unit, "");  // sorted by name; "" first
  const auto* legal = unit(*r, "Vụ Pháp chế");
  const auto* office = unit(*r, "Văn phòng");
  const auto* none = unit(*r, "");
  ASSERT_TRUE(legal && office && none);
  EXPECT_EQ(legal->received, 3u);
  EXPECT_EQ(legal->done_on_time, 1u);
  EXPECT_EQ(legal->done_late, 1u);
  EXPECT_EQ(legal->overdue, 1u);
  EXPECT_EQ(legal->in_progress, 0u);
  EXPECT_EQ(office->received, 2u);
  EXPECT_EQ(office->in_progress, 1u);
  EXPECT_EQ(office->done_on_time, 1u);  // no deadline: never late
  EXPECT_EQ(office->overdue, 0u);
  EXPECT_EQ(none->received, 2u);
  EXPECT_EQ(none->refused, 1u);
  EXPECT_EQ(none->in_progress, 1u);
  EXPECT_EQ(r->total.received, 7u);
  EXPECT_EQ(r->total.in_progress + r->total.done_on_time + r->total.done_late + r->total.refused + r->total.overdue,
            r->total.received);
}

TEST_P(Reports, QuarantinedDocumentsAreNotReceivedOnes) {
  auto env = store_->blobs().put("<edXML>bad</edXML>");
  ASSERT_TRUE(env.ok());
  NewDocument d = testing::incoming_doc(*env, "bad");
  d.state = State::quarantined;
  ASSERT_TRUE(store_->create_document(d).ok());
  incoming("good");
  auto r = store_->incoming_report({0, clock_.now() + 1});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total.received, 1u);
}

TEST_P(Reports, APeriodThatEndsBeforeItStartsIsRefused) {
  auto in = store_->incoming_report({clock_.now(), clock_.now() - 1});
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().code, "report.range");
  EXPECT_EQ(in.error().kind, ErrorKind::invalid);
  auto out = store_->outgoing_report({clock_.now(), clock_.now() - 1}, 7);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "report.range");
  EXPECT_EQ(store_->outgoing_report({0, 1}, 0).error().code, "report.no_answer_days");
}

TEST_P(Reports, OutgoingCountsEachRecipientByItsOwnAnswers) {
  auto sent = [&](const std::vector<std::string>& to) {
    NewDocument d = testing::outgoing_doc();
    d.recipients = to;
    auto c = store_->create_document(d);
    EXPECT_TRUE(c.ok());
    move(c->id, {State::pending_signature, State::signed_, State::queued, State::sent});
    return c->id;
  };
  auto answer = [&](DocumentId id, const std::string& organ, const std::string& code) {
    StatusMessage m;
    m.direction = Direction::incoming;
    m.code = code;
    m.organ_id = organ;
    m.unit = "Văn phòng";
    ASSERT_TRUE(store_->add_status_message(id, m).ok());
  };
  const std::string h41 = "000.00.00.H41", h29 = "000.00.00.H29", g12 = "000.00.00.G12";
  // 2 November: four documents.
  const DocumentId a = sent({h41, h29});
  const DocumentId b = sent({h41});
  const DocumentId c = sent({h41, g12});
  const DocumentId old_silent = sent({g12});
  answer(a, h41, "01");
  answer(a, h41, "03");
  answer(a, h41, "05");  // h41: a in progress
  answer(a, h29, "01");
  answer(a, h29, "02");  // h29: a refused
  answer(b, h41, "01");
  answer(b, h41, "06");  // h41: b completed
  answer(c, h41, "01");  // h41: c only arrived, and stays so
  answer(c, g12, "03");  // g12: c accepted
  (void)old_silent;      // g12: never answered
  // 12 November (10 days later): one more to h29, not answered yet.
  clock_.advance(10 * kDay);
  const DocumentId recent = sent({h29});
  (void)recent;

  auto r = store_->outgoing_report({0, clock_.now() + 1}, 7);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->organs.size(), 3u);
  EXPECT_EQ(r->no_answer_days, 7);
  const auto& g = r->organs[0];
  const auto& h29r = r->organs[1];
  const auto& h41r = r->organs[2];
  ASSERT_EQ(g.organ_id, g12);
  ASSERT_EQ(h29r.organ_id, h29);
  ASSERT_EQ(h41r.organ_id, h41);
  EXPECT_EQ(h41r.sent, 3u);
  EXPECT_EQ(h41r.in_progress, 1u);
  EXPECT_EQ(h41r.completed, 1u);
  EXPECT_EQ(h41r.no_answer, 1u);  // c: only "arrived" after 10 days
  EXPECT_EQ(h41r.delivered, 0u);
  EXPECT_EQ(h29r.sent, 2u);
  EXPECT_EQ(h29r.refused, 1u);
  EXPECT_EQ(h29r.waiting, 1u);
  EXPECT_EQ(g.sent, 2u);
  EXPECT_EQ(g.accepted, 1u);
  EXPECT_EQ(g.no_answer, 1u);
  EXPECT_EQ(r->total.sent, 7u);
  const auto& t = r->total;
  EXPECT_EQ(t.delivered + t.accepted + t.in_progress + t.completed + t.refused + t.no_answer + t.waiting, t.sent);

  // With a 30-day patience, c's "arrived" is still just delivered.
  r = store_->outgoing_report({0, clock_.now() + 1}, 30);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->organs[2].delivered, 1u);
  EXPECT_EQ(r->organs[2].no_answer, 0u);
  EXPECT_EQ(r->organs[0].waiting, 1u);

  // The period counts documents by when they were first sent.
  r = store_->outgoing_report({clock_.now() - kDay, clock_.now() + 1}, 7);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->organs.size(), 1u);
  EXPECT_EQ(r->organs[0].organ_id, h29);
  EXPECT_EQ(r->total.sent, 1u);
}

TEST_P(Reports, StatusMessagesKeepTheirOrganAndUnit) {
  NewDocument d = testing::outgoing_doc();
  auto c = store_->create_document(d);
  ASSERT_TRUE(c.ok());
  StatusMessage m;
  m.direction = Direction::incoming;
  m.code = "04";
  m.organ_id = "000.00.00.H41";
  m.unit = "Phòng Tổng hợp";
  m.staff = "Lê Văn An";
  ASSERT_TRUE(store_->add_status_message(c->id, m).ok());
  auto all = store_->status_messages(c->id);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].organ_id, "000.00.00.H41");
  EXPECT_EQ((*all)[0].unit, "Phòng Tổng hợp");
}

EDXGATE_BOTH_BACKENDS(Reports);

}  // namespace
}  // namespace edxgate::store
