/* container/monitor.h — the process that runs a container and records its end.
 *
 * kiln has no daemon: each running container has a monitor, a kiln process that
 * runs it through the sandbox, copies its output into the json-file log and
 * writes its state (container/state.h).
 *
 *   kiln run -d / kiln start        kiln container-monitor ID  (exec of /proc/self/exe)
 *   ───────────────────────         ─────────────────────────
 *   containers.lock taken           forks, setsid()s, forks again: the parent
 *   fork + exec ───────────────▶    returns at once, the grandchild lives on in a
 *   waits for the first process     session of its own, stdio on /dev/null and
 *   reads the notify socket ◀─────  nothing else of the caller's open but the
 *     "ok" or the failure           notify socket; reads config.json, builds the spec
 *   containers.lock released        (container_spec_build), closes the store;
 *                                   sandbox_run: on_start writes state `running`
 *                                   (the init's pid, its own pid and start time)
 *                                   and says "ok"; output → the log;
 *                                   the end: containers.lock, state `exited`,
 *                                   AutoRemove, exit; or, as the restart
 *                                   policy says (container/restart.h), state
 *                                   `restarting`, the backoff, and run again.
 *
 * A tty container's monitor also holds its pty and serves attach.sock
 * (container/attach.h): `run -t` is container_start_ex + attach_tty.
 *
 * The foreground `kiln run` is its own container's monitor: the same steps in its
 * own process, with the caller's stdio as well as the log.
 *
 * The sandbox's init dies with its parent (PR_SET_PDEATHSIG), so a killed monitor
 * takes its container with it; container_state_get then records the end. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "container/state.h"
#include "util/err.h"

struct kiln_store;

/* Starts container `id` under a new monitor and returns once its command runs.
 * 1 if it was already running (nothing done); -1 if it could not start: `err`
 * says why and *exit_code is docker's (127 command not found, 126 not
 * executable, 125 anything else). */
int container_start (struct kiln_store *st, const char *id, int *exit_code, struct kiln_err *err);
/* The same; `wait_attach`: a tty container's first output waits (10 s at most)
 * for the client about to attach (run -t, start -a). */
int container_start_ex (struct kiln_store *st, const char *id, bool wait_attach, int *exit_code,
                        struct kiln_err *err);

/* Runs container `id` in this process to its end, with the caller's stdio (and
 * `stdin_fd` when >= 0) as well as the log: the foreground `kiln run`.
 * *exit_code is the command's status, or docker's start code as above. */
int container_run_attached (const char *root, const char *id, int stdin_fd, int *exit_code, struct kiln_err *err);

/* `kiln container-monitor [--notify-fd N] [--wait-attach] ID`: never returns to a
 * caller that is not the monitor (the first process exits once the monitor is
 * detached). */
int container_monitor_main (const char *root, const char *id, int notify_fd, bool wait_attach);

/* A container waiting out its restart policy's backoff (state `restarting`):
 * its monitor is told to stop restarting (the caller marked the state stopped
 * by a user first).  1 if it was restarting. */
int container_stop_restarting (const struct container_state *s);

/* docker's exit code for a command that did not start, from the sandbox's
 * message: 127 not found, 126 not executable, 125 anything else. */
int container_start_failure_code (const char *msg);

/* Signals the container's first process (kiln's init, which passes INT, TERM,
 * HUP, QUIT, USR1 and USR2 on to the command); 0 if it is not running. */
int container_signal (const struct container_state *s, int sig, struct kiln_err *err);

/* Waits until the container's monitor is gone (it has recorded the end), at most
 * `timeout_ms` (-1: no limit).  1 when gone, 0 on timeout. */
int container_wait_monitor (const struct container_state *s, int timeout_ms);

/* Waits until the container's first process has exited, at most `timeout_ms`.
 * 1 when it has, 0 on timeout. */
int container_wait_init (const struct container_state *s, int timeout_ms);

/* A descriptor that becomes readable when the container's monitor is gone (a
 * pidfd), -1 when it is gone already. */
int container_monitor_fd (const struct container_state *s);
