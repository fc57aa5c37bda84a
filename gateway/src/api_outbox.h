// The outbox route of the internal API (issue 13), registered by
// add_api_routes:
//
//   POST /v1/outgoing/{id}/retry   officer   re-queue a document the axis
//                                            refused permanently (state failed)
//
// A document is `failed` once the axis refused it [axis]
// max_permanent_failures times; officers find them with
// GET /v1/outgoing?state=failed. The re-queue is audited (outbox.requeue).
#pragma once

#include <functional>

#include "edxgate/gateway/api.h"

namespace edxgate::gateway {

void add_outbox_routes(const std::function<void(Route)>& add, workflow::Engine& engine);

}  // namespace edxgate::gateway
