// Processing tracking and reports: the deadline, unit and handler of an
// incoming document, and the counts officers watch (per unit for incoming
// documents, per recipient organ for outgoing ones), aggregated by the
// database (the same SQL meaning on SQLite and PostgreSQL).
//
// Deadlines. An incoming document's deadline is its edXML DueDate, a day in
// Vietnam time (UTC+7): the document is due by the last millisecond of that
// day there. The internal system may set another when it reports the
// document assigned (status 04); the latest one set wins. A document without
// either has no deadline: it is never late nor overdue.
//
// Incoming, per unit (the unit last named by a report about the document;
// "" for documents no report has placed yet), over the documents received in
// [from_ms, to_ms) (quarantined ones are not received documents):
//   received      all of them
//   done_on_time  completed no later than the deadline (or without one)
//   done_late     completed after the deadline
//   refused       refused by us
//   overdue       still open and past the deadline at `now`
//   in_progress   still open and not overdue
// "Open" is every state but completed, refused and the lifecycle's closing
// states (revoked, replaced); the last five counts add up to `received`
// except for documents in those lifecycle states.
//
// Outgoing, per recipient organ, over the documents first sent in
// [from_ms, to_ms), judged by the statuses that organ sent back:
//   sent          all of them
//   refused       it refused (02) the document, whatever came before
//   completed     its furthest status is 06
//   in_progress   04 or 05
//   accepted      03
//   delivered     01 (arrived), sent no more than no_answer_days ago
//   no_answer     nothing beyond 01 although sent more than no_answer_days ago
//   waiting       no status yet, sent no more than no_answer_days ago
// These eight partition `sent`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edxgate/base/result.h"

namespace edxgate::store {

// Where an incoming document's deadline comes from.
enum class DeadlineSource { none, due_date, assigned };
std::string_view deadline_source_name(DeadlineSource s);  // "" | "due_date" | "assigned"

// The tracking of one incoming document.
struct Tracking {
  std::optional<int64_t> deadline_ms;  // due by this instant (inclusive)
  DeadlineSource deadline_source = DeadlineSource::none;
  std::string unit;     // the unit (department) handling it
  std::string handler;  // the person handling it
  int64_t updated_ms = 0;
};

// A change to a document's tracking: fields left empty keep their value.
struct TrackingUpdate {
  std::optional<int64_t> deadline_ms;  // with source `assigned`
  std::string unit;
  std::string handler;
  std::string actor;  // audited
};

// The last millisecond (UTC epoch) of day `date` ("YYYY-MM-DD", a real day)
// in Vietnam time, or none when `date` is not such a day.
std::optional<int64_t> deadline_of_day(std::string_view date);

// A report's period: documents received (incoming) or first sent (outgoing)
// in [from_ms, to_ms). REQUIRES from_ms <= to_ms ("report.range" otherwise).
struct ReportPeriod {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};

struct IncomingUnitCounts {
  std::string unit;
  uint64_t received = 0;
  uint64_t in_progress = 0;
  uint64_t done_on_time = 0;
  uint64_t done_late = 0;
  uint64_t refused = 0;
  uint64_t overdue = 0;
};

struct IncomingReport {
  int64_t now_ms = 0;                     // the instant `overdue` refers to
  std::vector<IncomingUnitCounts> units;  // by unit name; at most kMaxReportRows
  IncomingUnitCounts total;               // unit ""; over every unit
};

struct OutgoingOrganCounts {
  std::string organ_id;
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t accepted = 0;
  uint64_t in_progress = 0;
  uint64_t completed = 0;
  uint64_t refused = 0;
  uint64_t no_answer = 0;
  uint64_t waiting = 0;
};

struct OutgoingReport {
  int64_t now_ms = 0;
  int no_answer_days = 7;
  std::vector<OutgoingOrganCounts> organs;  // by organ id; at most kMaxReportRows
  OutgoingOrganCounts total;                // organ_id ""; over every organ
};

// Rows of one report at most (the ones with most documents are kept; the
// totals always count everything), so that an answer stays bounded.
inline constexpr size_t kMaxReportRows = 1000;

}  // namespace edxgate::store
