// The stop signals of the programs (SIGTERM from systemd, SIGINT from a
// terminal), taken synchronously: block them before any thread starts (every
// thread inherits the mask), then wait for one on the main thread.
#pragma once

namespace edxgate {

// Blocks SIGTERM and SIGINT in the calling thread (call first in main) and
// ignores SIGPIPE (a peer's reset is an error value, not a death).
void block_stop_signals();
// Waits until SIGTERM or SIGINT arrives; returns it.
int wait_for_stop_signal();

}  // namespace edxgate
