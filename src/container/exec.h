/* container/exec.h — a command in a running container: `kiln exec` and the
 * health probes of the container's monitor (container/health.h), one path for
 * both.
 *
 * What the command gets comes from config.json through container_process_spec,
 * the same helper that makes the container's own process: its environment (with
 * the exec's -e after it), user (or -u), working directory (or -w), capabilities,
 * seccomp profile and no_new_privs; --privileged gives every capability, as
 * docker's exec does, under the container's own seccomp filter.  The sandbox
 * joins the namespaces and cgroups of the container's init (worker/sandbox.h,
 * sandbox_join_run).  With `tty` (exec -t) the command gets a pty of the
 * container's devpts as its stdio and controlling terminal, relayed to kiln's
 * own stdio by container/exec_tty.h (stdin only with -i). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "container/state.h"
#include "util/buf.h"
#include "util/err.h"

struct container_exec
{
  struct strv argv;       /* the command */
  struct strv env;        /* -e K=V, --env-file: after the container's */
  const char *user;       /* -u, NULL: Config.User */
  const char *workdir;    /* -w, NULL: Config.WorkingDir */
  bool privileged;        /* --privileged */
  bool detach;            /* -d: returns once it runs; its output is dropped */
  bool tty;               /* -t: a pty (not with -d: nobody would read it) */
  int stdin_fd;           /* -i: the caller's input; -1: none */
  int stdout_fd;          /* where its output goes (-1: only on_stdio) */
  int stderr_fd;
  void (*on_stdio) (void *ud, int stream, const char *buf, size_t len);
  void *ud;
  int timeout_ms;         /* > 0: killed after this long (a probe's timeout) */
  bool timed_out;         /* out */
};

void container_exec_clear (struct container_exec *e);

/* Runs `e` in container `id` (its config.json `config`, its state `s`, which
 * must say running).  -1 when the command did not start: `err` says why and
 * *exit_code is docker's (127 not found, 126 not executable, 125 otherwise);
 * else 0 and *exit_code the command's status (0 for -d). */
int container_exec_run (const char *root, const char *id, const json_t *config, const struct container_state *s,
                        struct container_exec *e, int *exit_code, struct kiln_err *err);
