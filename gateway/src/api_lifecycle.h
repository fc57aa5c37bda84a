// The lifecycle routes of the internal API (issue 16; README "Recall,
// update, replace"), registered by add_api_routes:
//
//   POST /v1/outgoing/{id}/revoke    system   recall a sent document (JSON {reason, staff})
//   POST /v1/outgoing/{id}/update    system   update it (multipart: reason, changes, attachment files; or JSON)
//   POST /v1/outgoing/{id}/replace   system   replace it (multipart: reason, metadata, attachment files)
//
// Each answers 202 with the new outgoing document, pending its signature.
// The answer to a recall goes through POST /v1/incoming/{id}/status
// (recall_agreed, recall_refused), in api.cc.
#pragma once

#include <functional>
#include <string_view>

#include "edxgate/gateway/api.h"

namespace edxgate::gateway {

void add_lifecycle_routes(const std::function<void(Route)>& add, workflow::Engine& engine, store::Store& store,
                          const ApiOptions& options);

// True for the lifecycle markers a document list may be filtered by.
bool is_lifecycle_marker(std::string_view marker);

}  // namespace edxgate::gateway
