// The tracking a processing report carries: the unit and the person named in
// it, and for an assignment (04) the deadline the internal system sets.
#pragma once

#include <string>

#include "edxgate/base/result.h"
#include "edxgate/store/reports.h"
#include "edxgate/workflow/engine.h"

namespace edxgate::workflow::detail {

// The change a report makes to its document's tracking. Errors (invalid):
// "report.deadline" (a deadline that is not a real YYYY-MM-DD day, or one on
// another state than assigned), "report.field_too_long".
Result<store::TrackingUpdate> tracking_update(const ProcessingReport& report, const std::string& deadline,
                                              const std::string& actor);

}  // namespace edxgate::workflow::detail
