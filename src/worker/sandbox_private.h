/* worker/sandbox_private.h — private to src/worker/sandbox*.c: what the files of one
 * sandbox share.  Others call worker/sandbox.h.
 *
 * Files, in the order a sandbox runs: sandbox.c (the parent's side: signals, slirp,
 * the clone, pipes, relays and the wait), sandbox_init.c (PID 1 in the new
 * namespaces: cgroups, sysctls, the root overlay, devices, /etc files, pivot_root,
 * the reaper), sandbox_confine.c (capabilities and the seccomp program),
 * sandbox_exec.c (the command's environment, stdio, ids and exec) and
 * sandbox_oci.c (an OCI runtime's bundle instead of kiln's own confinement);
 * sandbox_join.c runs a command in a running sandbox with the same confinement. */
#pragma once
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"
#include "worker/sandbox.h"
#include "worker/users.h"

struct seccomp_profile;
struct sigaction;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What the parent hands the sandbox's first process. */
struct child_args
{
  const struct sandbox_spec *s;
  int status_fd; /* write end: an error message, or nothing on exec */
  int status_close; /* the parent's end of the status pipe, closed in the child */
  int go_fd;        /* read end: the parent says the network is ready, -1: do not wait */
  int go_close;     /* the parent's end of that pipe, closed in the child */
  /* The command's environment, made by the parent: the child may share the
   * parent's memory and must not touch its `environ` (see sandbox_command_env). */
  char **envp;
  char *home;
  const struct sock_fprog *seccomp; /* NULL: none (privileged) */
  const char *leave_devices;        /* privileged: the cgroup to go back to; NULL: stay */
  uint64_t caps;                    /* the bounding set */
  int console_fd;                   /* pty: the socket the master goes back on; -1 */
  bool detached;                    /* sandbox_join_run -d: outlives kiln */
};

/* sandbox.c: passing signals on to `pid` (saved: the old dispositions, or NULL). */
void sandbox_forward_signals_to (pid_t pid, struct sigaction *saved);
/* sandbox.c: the forwarded signals back to their defaults, for the command. */
void sandbox_default_signals (void);
/* sandbox.c: the old dispositions back (kiln no longer passes signals on). */
void sandbox_restore_signals (struct sigaction *saved);
#define SANDBOX_N_FORWARDED 6 /* INT, TERM, HUP, QUIT, USR1, USR2 */
/* sandbox.c: the command's stdio as pipes kiln relays (pipe_stdio): `local` is the
 * spec with the command's ends, `child` those ends (closed once the command has them). */
struct relay;
int sandbox_pipe_stdio (const struct sandbox_spec *s, struct sandbox_spec *local, struct relay *relay, int child[3],
                        struct kiln_err *err);

/* sandbox_init.c: the clone's entry point in the new namespaces (becomes PID 1). */
int sandbox_child (void *arg);
/* sandbox_init.c: PID 1 of the sandbox: builds the root, then becomes the command
 * (or, with an init, starts it, passes signals on and reaps). */
void sandbox_init (struct child_args *a) __attribute__ ((noreturn));
/* sandbox_init.c: brings up `lo` in the current network namespace. */
void sandbox_loopback_up (void);

/* sandbox_confine.c */
uint64_t sandbox_bounding_caps (const struct sandbox_spec *s);
int sandbox_drop_bounding_set (uint64_t keep);
int sandbox_set_capabilities (bool root, uint64_t caps);
const struct sock_fprog *sandbox_seccomp_for (const char *store_root, const struct seccomp_profile *profile,
                                              uint64_t caps, struct kiln_err *err);

/* sandbox_exec.c */
void sandbox_command_env (const struct sandbox_spec *s, struct strv *out, char **home);
void sandbox_attach_stdio (const struct sandbox_spec *s);
void sandbox_run_command (const struct child_args *a, const struct user_ids *ids) __attribute__ ((noreturn));

/* sandbox_oci.c */
void sandbox_exec_runtime (const struct child_args *a, const struct user_ids *ids, const char *etc)
    __attribute__ ((noreturn));
