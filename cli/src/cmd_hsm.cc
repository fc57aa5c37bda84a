// edxgate commands of the hsm part.
#include "cli.h"

namespace edxgate::cli {

std::span<const Command> hsm_commands() { return {}; }

}  // namespace edxgate::cli
