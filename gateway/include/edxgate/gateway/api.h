// The internal API (documented in gateway/openapi.json, served at
// /openapi.json): JSON over mutual TLS for internal document systems
// (role system), leaders and security officers.
//
//   POST /v1/outgoing                     system           submit (multipart or application/xml)
//   GET  /v1/outgoing                     officer leader   list (state filter, paging)
//   GET  /v1/outgoing/{id}                system officer leader   state, history, status messages
//   GET  /v1/outgoing/{id}/attachments/{n} system officer leader  attachment n (0-based, streamed)
//   POST /v1/outgoing/{id}/sign           leader           sign on the gateway's token (the leader's PIN in body)
//   GET  /v1/outgoing/{id}/to-sign        leader           remote agent: the bytes to sign
//   POST /v1/outgoing/{id}/signature      leader           remote agent: the signature value
//   POST /v1/outgoing/{id}/revoke         system           recall a sent document (api_lifecycle.h)
//   POST /v1/outgoing/{id}/update         system           update it
//   POST /v1/outgoing/{id}/replace        system           replace it with a new document
//   GET  /v1/incoming                     system officer   list (filters, paging)
//   GET  /v1/incoming/{id}                system officer   metadata
//   GET  /v1/incoming/{id}/envelope       system officer   the envelope as received (streamed)
//   GET  /v1/incoming/{id}/attachments/{n} system officer  attachment n (0-based, streamed)
//   POST /v1/incoming/{id}/ack            system           acknowledge receipt
//   POST /v1/incoming/{id}/status         system           report accepted/refused/assigned/processing/completed,
//                                                          or answer a recall: recall_agreed/recall_refused
//   GET  /v1/summary                      officer          the officers' dashboard data (console.h)
//   GET  /v1/reports/incoming?from=&to=   officer          per unit: received, in progress, done on time/late, overdue
//   GET  /v1/reports/outgoing?from=&to=   officer          per recipient organ: delivered ... no answer after N days
//
// A system sees only the outgoing documents it submitted (as one of its organ
// ids), and only incoming documents addressed to one of its organ ids that
// passed verification (quarantined ones are for officers); anything else is
// 404. A leader signs only with its own PIN and its configured keys
// ([[clients]] sign_keys, else [hsm] key_uri); officers never sign. A leader reads only the outgoing documents awaiting
// a signature (the ones it is asked to sign). Errors are application/problem+json.
//
// A request that a browser marks as sent by a page of another site
// (Sec-Fetch-Site other than same-origin/none, or an Origin that is not the
// gateway's own) is refused (403 api.cross_site) on every POST route: a
// browser holding an officer's or a leader's certificate would otherwise
// present it for any site that makes it post here. curl and internal systems
// send neither header.
#pragma once

#include <memory>
#include <string>

#include "edxgate/gateway/console.h"
#include "edxgate/gateway/multipart.h"
#include "edxgate/gateway/router.h"
#include "edxgate/store/store.h"
#include "edxgate/workflow/engine.h"

namespace edxgate::gateway {

struct ApiOptions {
  std::string spool_dir;  // where request bodies are written before the store takes them
  uint64_t max_json_bytes = 1024 * 1024;
  MultipartLimits multipart;
  int report_no_answer_days = 7;  // [reports] no_answer_days
  std::string key_uri;            // [hsm] key_uri: the key a leader without sign_keys may use
};

// Adds the routes above. `engine` and `store` must outlive the router.
// `summary` answers GET /v1/summary; when null, one over `store` alone (no
// readiness checks, no certificates).
void add_api_routes(Router& router, workflow::Engine& engine, store::Store& store, ApiOptions options,
                    std::shared_ptr<OperatorSummary> summary = nullptr);

// Adds the two report routes (api_reports.cc; add_api_routes calls it). The
// period is ?from=YYYY-MM-DD&to=YYYY-MM-DD, days in Vietnam time, both
// included (default: the 30 days up to today); from > to is 422
// report.range, a malformed day 400 report.date. `store` must outlive the router.
void add_report_routes(Router& router, store::Store& store, int no_answer_days);

}  // namespace edxgate::gateway
