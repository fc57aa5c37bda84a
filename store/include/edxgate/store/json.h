// One JSON form of a stored document, shared by the API, the console (which
// renders the API's JSON) and `edxgate doc show/list --json`.
//
//   {"id":"12","direction":"incoming","state":"verified","document_id":"...",
//    "from":"000.00.00.G01","to":[...],"code":"12/BC-VP","promulgation_date":
//    "2026-11-23","subject":"...","document_type":"Công văn","priority":0,
//    "due_date":"","signer":"...","created":"...Z","updated":"...Z",
//    "envelope":{"sha256":"..","size":n},
//    "attachments":[{"index":0,"name":"..","content_type":"..","size":n,
//                    "sha256":"..","unzipped":true,"as_received":{..},"note":".."}],
//    "lifecycle":"", "history":[...], "status_messages":[...], "lifecycle_events":[...]}
//
// `to` and `attachments` only in the full form; `history` and
// `status_messages` only from document_detail_json.
#pragma once

#include "edxgate/base/json.h"
#include "edxgate/base/result.h"
#include "edxgate/store/store.h"

namespace edxgate::store {

// `full`: the document as get_document returns it (recipients and
// attachments filled); list entries carry neither.
json::bj::object document_json(const Document& d, bool full);

// A document's recall/update/replacement events, with the linked document.
Result<json::bj::array> lifecycle_events_json(Store& store, DocumentId id);

// The full form with the document's history, status messages and lifecycle events.
Result<json::bj::object> document_detail_json(Store& store, const Document& d);

}  // namespace edxgate::store
