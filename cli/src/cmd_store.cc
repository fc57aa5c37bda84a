// edxgate commands of the store part.
#include "cli.h"

namespace edxgate::cli {

std::span<const Command> store_commands() { return {}; }

}  // namespace edxgate::cli
