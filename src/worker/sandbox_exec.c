/* worker/sandbox_exec.c — the last steps of the command's process: its environment,
 * stdio and terminal, rlimits, capabilities, seccomp, user, then the exec. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/envmap.h"
#include "worker/pty.h"
#include "worker/rootfs.h"
#include "worker/sandbox_private.h"


/* The spec's environment as execve wants it (a later K=V replaces an earlier K in
 * place, as docker keeps an image's Env), then PATH and HOSTNAME (unless the spec
 * says no) defaults, and
 * HOME: "HOME=/root" when the image sets none, which the child cuts to "HOME=/"
 * for a user other than root (*home points at it, NULL if the image sets HOME). */
void
sandbox_command_env (const struct sandbox_spec *s, struct strv *out, char **home)
{
  struct envmap m = ENVMAP_INIT;
  envmap_from_strv (&m, &s->env);
  if (envmap_get (&m, "PATH", 4) == NULL)
    envmap_set (&m, "PATH", DEFAULT_PATH);
  if (envmap_get (&m, "HOSTNAME", 8) == NULL && s->hostname && !s->no_hostname_env)
    envmap_set (&m, "HOSTNAME", s->hostname);
  bool has_home = envmap_get (&m, "HOME", 4) != NULL;
  envmap_to_strv (&m, out);
  envmap_free (&m);
  *home = NULL;
  if (!has_home)
    {
      strv_push (out, "HOME=/root");
      *home = out->v[out->n - 1];
    }
}

/* execvp with the command's own PATH (not kiln's), and no shell fallback for a
 * file that is not an executable (runc does not have one either). */
static void
exec_in_path (const char *file, char *const argv[], char *const envp[])
{
  if (strchr (file, '/'))
    {
      execve (file, argv, envp);
      return;
    }
  const char *path = DEFAULT_PATH;
  for (size_t i = 0; envp[i]; i++)
    if (strncmp (envp[i], "PATH=", 5) == 0)
      path = envp[i] + 5;
  int saved = ENOENT;
  for (const char *p = path;; p++)
    {
      const char *end = strchrnul (p, ':');
      char full[4096];
      size_t dlen = (size_t) (end - p);
      if (dlen + strlen (file) + 2 < sizeof full)
        {
          if (dlen == 0)
            snprintf (full, sizeof full, "%s", file);
          else
            snprintf (full, sizeof full, "%.*s/%s", (int) dlen, p, file);
          execve (full, argv, envp);
          if (errno == EACCES)
            saved = EACCES;
          else if (errno != ENOENT && errno != ENOTDIR)
            return;
        }
      if (*end == '\0')
        break;
      p = end;
    }
  errno = saved;
}


/* The command's stdin is the spec's or /dev/null, never kiln's own. */
void
sandbox_attach_stdio (const struct sandbox_spec *s)
{
  if (s->stdin_fd >= 0)
    dup2 (s->stdin_fd, 0);
  else
    {
      int n = open ("/dev/null", O_RDONLY);
      if (n >= 0)
        dup2 (n, 0);
    }
  if (s->stdout_fd >= 0)
    dup2 (s->stdout_fd, 1);
  if (s->stderr_fd >= 0)
    dup2 (s->stderr_fd, 2);
}

void __attribute__ ((noreturn))
sandbox_run_command (const struct child_args *a, const struct user_ids *ids)
{
  const struct sandbox_spec *s = a->s;
  int status_fd = a->status_fd;
  sandbox_attach_stdio (s);
  if (a->console_fd >= 0)
    {
      /* After pivot_root: /dev/ptmx is the container's devpts. */
      int master, slave;
      char why[256];
      if (pty_open (&master, &slave, why, sizeof why) < 0)
        sandbox_die (status_fd, "%s", why);
      struct winsize ws = {.ws_row = s->pty_rows, .ws_col = s->pty_cols};
      if (ws.ws_row)
        pty_winsize_set (master, &ws);
      if (pty_send_fd (a->console_fd, master) < 0 || pty_make_controlling (slave, ids->uid) < 0)
        sandbox_die (status_fd, "setting up the container's terminal: %s", strerror (errno));
      close (master);
      close (a->console_fd);
    }
  else if (s->tty)
    {
      setsid ();
      ioctl (0, TIOCSCTTY, 0);
    }
  bool root = ids->uid == 0;
  /* While kiln may still raise a hard limit (CAP_SYS_RESOURCE). */
  for (size_t i = 0; i < s->n_rlimits; i++)
    {
      struct rlimit rl = {.rlim_cur = s->rlimits[i].soft, .rlim_max = s->rlimits[i].hard};
      if (setrlimit (s->rlimits[i].resource, &rl) < 0)
        sandbox_die (status_fd, "--ulimit %s: %s", limits_oci_name (s->rlimits[i].resource), strerror (errno));
    }
  if (sandbox_drop_bounding_set (a->caps) < 0)
    sandbox_die (status_fd, "dropping capabilities: %s", strerror (errno));
  /* The filter goes on while kiln still holds CAP_SYS_ADMIN, so no_new_privs is
   * not needed for it (as runc does): setuid programs keep working, as in docker.
   * What follows (setgroups, setuid, capset, prctl, close_range, execve) is in
   * every profile's allow-list. */
  if (s->no_new_privs && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    sandbox_die (status_fd, "no_new_privs: %s", strerror (errno));
  if (a->seccomp && prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, a->seccomp, 0, 0) < 0)
    sandbox_die (status_fd, "seccomp: %s", strerror (errno));
  if (setgroups (ids->n_groups, ids->groups) < 0 || setgid (ids->gid) < 0)
    sandbox_die (status_fd, "setting groups: %s", strerror (errno));
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || setuid (ids->uid) < 0)
    sandbox_die (status_fd, "setting user %u: %s", (unsigned) ids->uid, strerror (errno));
  if (sandbox_set_capabilities (root, a->caps) < 0)
    sandbox_die (status_fd, "dropping capabilities: %s", strerror (errno));
  /* setuid cleared the parent-death signal: a kiln killed outright must still
   * take the command (PID 1 of its namespace) with it. */
  if (!a->detached)
    prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (a->home && ids->uid != 0)
    a->home[sizeof "HOME=/" - 1] = '\0';
  /* Nothing of kiln's or its caller's reaches the command but stdio; the status
   * pipe stays open until the exec, for the reason it fails. */
  close_range (3, ~0U, CLOSE_RANGE_CLOEXEC);
  exec_in_path (s->argv.v[0], s->argv.v, a->envp);
  sandbox_die (status_fd, "exec %s: %s", s->argv.v[0], strerror (errno));
}
