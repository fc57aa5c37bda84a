// The [edxml] section of the configuration as the reader's and writer's
// options: the one mapping, used by the daemon and every CLI command.
#pragma once

#include "edxgate/config/config.h"
#include "edxgate/edxml/limits.h"
#include "edxgate/edxml/reader.h"
#include "edxgate/edxml/writer.h"

namespace edxgate::edxml {

Limits limits_from(const config::Edxml& e);
FormatOptions format_from(const config::Edxml& e);
// Receive strictness, no attachment directory (set per use).
ReadOptions read_options_from(const config::Edxml& e);
WriteOptions write_options_from(const config::Edxml& e);

}  // namespace edxgate::edxml
