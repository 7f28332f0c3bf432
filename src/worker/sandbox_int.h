/* worker/sandbox_int.h — what a sandbox's command and a command joined to a running
 * sandbox share (worker-internal: sandbox.c and sandbox_join.c).  One code path
 * confines both: the bounding set, the seccomp filter, the environment, the user,
 * capabilities and the exec (sandbox_run_command). */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"
#include "worker/relay.h"
#include "worker/sandbox.h"
#include "worker/users.h"

struct sock_fprog;

struct child_args
{
  const struct sandbox_spec *s;
  int status_fd; /* write end: an error message, or nothing on exec */
  int status_close; /* the parent's end of the status pipe, closed in the child */
  int go_fd;        /* read end: the parent says the network is ready, -1: do not wait */
  int go_close;     /* the parent's end of that pipe, closed in the child */
  /* The command's environment, made by the parent: the child may share the
   * parent's memory and must not touch its `environ` (see command_env). */
  char **envp;
  char *home;
  const struct sock_fprog *seccomp; /* NULL: none (privileged) */
  const char *leave_devices;        /* privileged: the cgroup to go back to; NULL: stay */
  uint64_t caps;                    /* the bounding set */
  int console_fd;                   /* pty: the socket the master goes back on; -1 */
  bool detached;                    /* sandbox_join_run -d: outlives kiln */
};

/* The bounding set (1 << CAP_X): the spec's, docker's default, or all for a
 * privileged sandbox; never more than kiln's own. */
uint64_t sandbox_bounding_caps (const struct sandbox_spec *s);
/* The seccomp program of a profile (NULL: docker's) for a bounding set, compiled
 * once per process (docker's kept in the store). */
const struct sock_fprog *sandbox_seccomp_for (const char *store_root, const struct seccomp_profile *profile,
                                              uint64_t caps, struct kiln_err *err);
/* The command's environment (PATH, HOSTNAME, HOME defaults; *home: see sandbox.c). */
void sandbox_command_env (const struct sandbox_spec *s, struct strv *out, char **home);
/* In the command's process, in its root: rlimits, bounding set, filter, ids,
 * capabilities, descriptors, exec. */
void sandbox_run_command (const struct child_args *a, const struct user_ids *ids) __attribute__ ((noreturn));
/* The command's stdio as relayed pipes (pipe_stdio). */
int sandbox_relay_open (const struct sandbox_spec *s, struct sandbox_spec *local, struct relay *relay, int child[3],
                        struct kiln_err *err);

/* INT, TERM, HUP, QUIT, USR1, USR2: passed on to `pid` (saved: the old handlers). */
#define SANDBOX_N_FORWARDED 6
void sandbox_forward_signals_to (pid_t pid, struct sigaction *saved);
void sandbox_restore_signals (struct sigaction *saved);
/* Their default dispositions, in a command's process. */
void sandbox_signals_default (void);
