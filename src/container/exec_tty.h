/* container/exec_tty.h — `kiln exec -t`'s terminal, the caller's side.
 *
 * The exec's command opens its pty in the container's devpts (worker/pty.h,
 * from the process that joined the container's namespaces) and its master
 * comes back to kiln (sandbox_spec.on_pty).  There is no monitor in between, as
 * there is for `run -t` (container/attach.h): kiln relays the master itself
 * while the command runs.  With -i the caller's terminal is raw while relayed
 * and restored on every way out; its size goes to the pty at the start and on
 * every SIGWINCH. */
#pragma once
#include <stdbool.h>

struct exec_tty
{
  bool input; /* -i: what is typed goes to the pty */
};

/* The sandbox_spec.on_pty of an exec -t (`ud` is a struct exec_tty): relays
 * `master` to stdout (and stdin to it) until the pty ends. */
void exec_tty_relay (void *ud, int master);
