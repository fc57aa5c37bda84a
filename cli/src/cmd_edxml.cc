// edxgate commands of the edxml part.
#include "cli.h"

namespace edxgate::cli {

std::span<const Command> edxml_commands() { return {}; }

}  // namespace edxgate::cli
