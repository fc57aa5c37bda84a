// edxgate commands of the crypto part.
#include "cli.h"

namespace edxgate::cli {

std::span<const Command> crypto_commands() { return {}; }

}  // namespace edxgate::cli
