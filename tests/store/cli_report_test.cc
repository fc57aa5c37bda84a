// edxgate report incoming|outgoing over a store the test fills through the
// API, its clock set relative to now (the command judges "overdue" and "no
// answer" at the real clock): the table, --json and --csv, and bad periods.

#include <chrono>
#include <cstdio>

#include "../support/run_cli.h"
#include "edxgate/base/json.h"
#include "store_test_util.h"

namespace edxgate::store {
namespace {

using testing::TempDir;

constexpr int64_t kDay = 86'400'000;

using edxgate::test::CliRun;
CliRun edxgate(const std::string& args) { return edxgate::test::run_edxgate(args); }

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// "YYYY-MM-DD" of an instant in Vietnam time.
std::string vn_day(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000 + 7 * 3600);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

struct CliReport : ::testing::Test {
  TempDir dir;
  testing::FakeClock clock;
  const int64_t now = wall_ms();

  void SetUp() override {
    clock.ms->store(now - 20 * kDay);
    StoreOptions o = testing::options_for(dir.path());
    o.now_ms = clock.fn();
    auto store = testing::open_or_die(o);
    ASSERT_TRUE(store);
    auto in = [&](const std::string& name, int64_t due) {
      auto env = store->blobs().put("<edXML>" + name + "</edXML>");
      NewDocument d = testing::incoming_doc(*env, name);
      d.state = State::verified;
      d.due_date = vn_day(due);
      auto c = store->create_document(d);
      EXPECT_TRUE(c.ok());
      return c->id;
    };
    auto go = [&](DocumentId id, std::initializer_list<State> path) {
      for (State s : path) ASSERT_TRUE(store->transition(id, s, "test", "").ok()) << state_name(s);
    };
    auto unit = [&](DocumentId id, const std::string& u) {
      TrackingUpdate t;
      t.unit = u;
      ASSERT_TRUE(store->update_tracking(id, t).ok());
    };
    // Received 20 days ago; due 10 days ago.
    const DocumentId done_late = in("late", now - 10 * kDay);
    const DocumentId done_on_time = in("on-time", now - 10 * kDay);
    const DocumentId overdue = in("overdue", now - 10 * kDay);
    unit(done_late, "Vụ Pháp chế");
    unit(done_on_time, "Vụ Pháp chế");
    unit(overdue, "=HYPERLINK(\"x\"),Phòng 2");
    go(done_on_time, {State::registered, State::assigned});
    go(done_late, {State::registered, State::assigned});
    go(overdue, {State::registered, State::assigned});
    clock.ms->store(now - 15 * kDay);
    go(done_on_time, {State::completed});
    clock.ms->store(now - 5 * kDay);
    go(done_late, {State::completed});

    // One outgoing document to two organs, sent 12 days ago: one completed it,
    // the other only said it arrived.
    clock.ms->store(now - 12 * kDay);
    NewDocument d = testing::outgoing_doc();
    d.recipients = {"000.00.00.H41", "000.00.00.H29"};
    auto sent = store->create_document(d);
    ASSERT_TRUE(sent.ok());
    go(sent->id, {State::pending_signature, State::signed_, State::queued, State::sent});
    ASSERT_TRUE(
        store->add_status_message(sent->id, {Direction::incoming, "06", "", "", {}, 0, "", "000.00.00.H41"}).ok());
    ASSERT_TRUE(
        store->add_status_message(sent->id, {Direction::incoming, "01", "", "", {}, 0, "", "000.00.00.H29"}).ok());
  }
  std::string period() const { return " --from " + vn_day(now - 30 * kDay) + " --to " + vn_day(now); }
  std::string db() const { return " --db " + dir.path(); }
};

TEST_F(CliReport, IncomingAsATablePerUnit) {
  CliRun r = edxgate("report incoming" + db() + period());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("UNIT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DONE_ON_TIME"), std::string::npos) << r.out;
  // Vụ Pháp chế: received 2, in progress 0, on time 1, late 1, refused 0, overdue 0.
  EXPECT_NE(r.out.find("\nVụ Pháp chế                     2            0             1          1        0        0\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("TOTAL"), std::string::npos);
}

TEST_F(CliReport, IncomingAsJsonAndCsv) {
  CliRun j = edxgate("report incoming --json" + db() + period());
  ASSERT_EQ(j.code, 0) << j.out;
  auto v = json::parse(j.out);
  ASSERT_TRUE(v.ok()) << j.out;
  const auto& o = v->as_object();
  EXPECT_EQ(o.at("to").as_string(), vn_day(now));
  EXPECT_EQ(o.at("total").as_object().at("received").as_int64(), 3);
  EXPECT_EQ(o.at("total").as_object().at("overdue").as_int64(), 1);
  EXPECT_EQ(o.at("total").as_object().at("done_late").as_int64(), 1);
  ASSERT_EQ(o.at("units").as_array().size(), 2u);

  CliRun c = edxgate("report incoming --csv" + db() + period());
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(c.out,
            "unit,received,in_progress,done_on_time,done_late,refused,overdue\r\n"
            "\"'=HYPERLINK(\"\"x\"\"),Phòng 2\",1,0,0,0,0,1\r\n"
            "Vụ Pháp chế,2,0,1,1,0,0\r\n");
}

TEST_F(CliReport, OutgoingPerOrganWithNoAnswerAfterNDays) {
  CliRun c = edxgate("report outgoing --csv" + db() + period());
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(c.out,
            "organ_id,sent,delivered,accepted,in_progress,completed,refused,no_answer,waiting\r\n"
            "000.00.00.H29,1,0,0,0,0,0,1,0\r\n"
            "000.00.00.H41,1,0,0,0,1,0,0,0\r\n");
  // With 30 days of patience, H29's "arrived" is just delivered.
  c = edxgate("report outgoing --csv --no-answer-days 30" + db() + period());
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("000.00.00.H29,1,1,0,0,0,0,0,0\r\n"), std::string::npos) << c.out;
  CliRun t = edxgate("report outgoing" + db() + period());
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("no answer after 7 days"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("NO_ANSWER"), std::string::npos) << t.out;
}

TEST_F(CliReport, ABadPeriodIsRefusedWithItsExitCode) {
  CliRun r = edxgate("report incoming" + db() + " --from 2026-11-30 --to 2026-11-01");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("after it ends"), std::string::npos) << r.out;
  r = edxgate("report incoming" + db() + " --from 2026-02-30");
  EXPECT_EQ(r.code, 2) << r.out;
  r = edxgate("report sideways" + db());
  EXPECT_EQ(r.code, 2) << r.out;
  r = edxgate("report incoming --json --csv" + db());
  EXPECT_EQ(r.code, 2) << r.out;
}

}  // namespace
}  // namespace edxgate::store
