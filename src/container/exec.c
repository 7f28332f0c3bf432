/* container/exec.c — a command in a running container (see the header). */
#include "container/exec.h"

#include <errno.h>
#include <string.h>

#include "container/config.h"
#include "container/exec_tty.h"
#include "container/monitor.h"
#include "container/resources.h"
#include "util/envmap.h"
#include "util/proc.h"
#include "worker/pty.h"
#include "worker/sandbox.h"
#include "worker/seccomp.h"

void
container_exec_clear (struct container_exec *e)
{
  strv_free (&e->argv);
  strv_free (&e->env);
}

int
container_exec_run (const char *root, const char *id, const json_t *config, const struct container_state *s,
                    struct container_exec *e, int *exit_code, struct kiln_err *err)
{
  *exit_code = 125;
  struct sandbox_spec sb = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .netns_fd = -1};
  struct seccomp_profile *profile = NULL;
  int ret = -1;
  struct container_sandbox_extras extras = {0};
  /* The process part, and the container's --ulimit and --group-add (its devices
   * and cgroups come with joining it). */
  if (container_process_spec (config, &sb, &profile, err) < 0
      || container_resources_spec (json_object_get (config, "HostConfig"), &sb, &extras, err) < 0)
    goto out;
  sb.store_root = root;
  /* The container's environment, then the exec's (a later K=V replaces). */
  if (e->env.n)
    {
      struct envmap m = ENVMAP_INIT;
      envmap_from_strv (&m, &sb.env);
      for (size_t i = 0; i < e->env.n; i++)
        {
          const char *eq = strchr (e->env.v[i], '=');
          if (eq)
            envmap_setn (&m, e->env.v[i], (size_t) (eq - e->env.v[i]), eq + 1);
        }
      strv_free (&sb.env);
      envmap_to_strv (&m, &sb.env);
      envmap_free (&m);
    }
  for (size_t i = 0; i < e->argv.n; i++)
    strv_push (&sb.argv, e->argv.v[i]);
  if (e->user)
    sb.user = e->user;
  if (e->workdir)
    sb.cwd = e->workdir;
  struct sandbox_join j = {.target = s->pid,
                           .target_start = s->pid_start,
                           .container_privileged = sb.privileged,
                           .detach = e->detach,
                           .timeout_ms = e->timeout_ms};
  /* A privileged container's processes have every capability, as --privileged gives one. */
  sb.privileged = e->privileged || j.container_privileged;
  sb.pipe_stdio = true;
  sb.stdin_fd = e->stdin_fd;
  sb.stdout_fd = e->stdout_fd;
  sb.stderr_fd = e->stderr_fd;
  sb.on_stdio = e->on_stdio;
  sb.stdio_ud = e->ud;
  struct exec_tty tty = {.input = e->stdin_fd >= 0};
  if (e->tty && !e->detach)
    {
      struct winsize ws;
      sb.pty = true;
      sb.pipe_stdio = false;
      sb.stdin_fd = sb.stdout_fd = sb.stderr_fd = -1;
      sb.on_pty = exec_tty_relay;
      sb.pty_ud = &tty;
      if (pty_winsize_get (1, &ws) == 0 || pty_winsize_get (0, &ws) == 0)
        sb.pty_rows = ws.ws_row, sb.pty_cols = ws.ws_col; /* the command sees it from its start */
    }
  /* The init still the one the state names: a pid reused since is not joined. */
  if (s->status != CONTAINER_RUNNING || !proc_is (s->pid, s->pid_start))
    {
      kiln_err_set (err, ESRCH, "Container %s is not running", id);
      *exit_code = 1;
      goto out;
    }
  if (sandbox_join_run (&sb, &j, exit_code, err) < 0)
    {
      /* docker's exec: 127 or 126 for the command itself, else 126 too (its
       * default for an exec that did not start). */
      *exit_code = err->msg && strncmp (err->msg, "exec ", 5) == 0 ? container_start_failure_code (err->msg) : 126;
      if (*exit_code == 125)
        *exit_code = 126;
      goto out;
    }
  e->timed_out = j.timed_out;
  ret = 0;
out:
  container_sandbox_extras_clear (&extras);
  sandbox_spec_clear (&sb);
  seccomp_profile_free (profile);
  return ret;
}
