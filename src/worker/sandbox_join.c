/* worker/sandbox_join.c — a command in a running sandbox (kiln exec, health
 * probes): sandbox_join_run of worker/sandbox.h.  It joins the target's cgroups and
 * namespaces, then goes through the same sandbox_run_command as a sandbox's own
 * command (worker/sandbox_private.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/proc.h"
#include "worker/devices.h"
#include "worker/join.h"
#include "worker/pty.h"
#include "worker/rootfs.h"
#include "worker/sandbox.h"
#include "worker/relay.h"
#include "worker/sandbox_private.h"

/* ---------- a command in a running sandbox (kiln exec, health probes) ---------- */

static const struct
{
  const char *name;
  int type;
} join_ns[] = {
  /* The mount namespace last: after it, the host's /proc is out of sight. */
  {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
  {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
};
#define N_JOIN_NS (sizeof join_ns / sizeof *join_ns)

static volatile pid_t join_timeout_pgid = -1;
static volatile sig_atomic_t join_timed_out;

static void
join_timeout (int sig)
{
  (void) sig;
  if (join_timeout_pgid > 0)
    kill (-join_timeout_pgid, SIGKILL);
  join_timed_out = 1;
}

/* The command's process, in the target's PID namespace: its root is the
 * target's (setns of the mount namespace moved it there). */
static void __attribute__ ((noreturn))
join_command (struct child_args *a)
{
  const struct sandbox_spec *s = a->s;
  int status_fd = a->status_fd;
  /* A process group of its own: a timeout kills what it started too. */
  setsid ();
  if (a->detached)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0)
        sandbox_die (status_fd, "/dev/null: %s", strerror (errno));
    }
  else
    prctl (PR_SET_PDEATHSIG, SIGKILL);
  int root_fd = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    sandbox_die (status_fd, "the container's root: %s", strerror (errno));
  struct user_ids ids;
  char why[512] = "";
  if (users_resolve (root_fd, s->user, false, &ids, why, sizeof why) < 0
      || users_add_groups (root_fd, s->group_add, &ids, why, sizeof why) < 0)
    sandbox_die (status_fd, "%s", why);
  close (root_fd);
  if (chdir (s->cwd && *s->cwd ? s->cwd : "/") < 0)
    sandbox_die (status_fd, "chdir to cwd (\"%s\") set in config.json failed: %s", s->cwd, strerror (errno));
  sandbox_default_signals ();
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction (SIGALRM, &dfl, NULL);
  sigaction (SIGPIPE, &dfl, NULL);
  sandbox_run_command (a, &ids);
}

struct join_args
{
  struct child_args *a;
  const char *const *procs; /* cgroup.procs files to write "0" to */
  size_t n_procs;
  int ns_fd[N_JOIN_NS];     /* -1: the same as kiln's */
  int pid_fd;               /* write end: the command's pid */
};

/* The first process: joins the cgroups and namespaces, then starts the command
 * (in the target's PID namespace, which only children enter) as kiln's child
 * (CLONE_PARENT) or, detached, its own, and exits. */
static void __attribute__ ((noreturn))
join_first (struct join_args *j)
{
  int status_fd = j->a->status_fd;
  close (j->a->status_close);
  for (size_t i = 0; i < j->n_procs; i++)
    {
      int fd = open (j->procs[i], O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, "0", 1) != 1)
        sandbox_die (status_fd, "joining the cgroup %s: %s", j->procs[i], strerror (errno));
      close (fd);
    }
  for (size_t i = 0; i < N_JOIN_NS; i++)
    if (j->ns_fd[i] >= 0 && setns (j->ns_fd[i], join_ns[i].type) < 0)
      sandbox_die (status_fd, "joining the container's %s namespace: %s", join_ns[i].name, strerror (errno));
  unsigned long flags = SIGCHLD | (j->a->detached ? 0 : CLONE_PARENT);
  pid_t cmd = (pid_t) syscall (SYS_clone, flags, NULL, NULL, NULL, 0UL);
  if (cmd < 0)
    sandbox_die (status_fd, "fork: %s", strerror (errno));
  if (cmd == 0)
    join_command (j->a);
  /* The command's host pid: ours is the host's view too, as clone returned it
   * from kiln's side of the PID namespace. */
  if (write (j->pid_fd, &cmd, sizeof cmd) != (ssize_t) sizeof cmd)
    _exit (125);
  _exit (0);
}

/* What joining `j->target` takes: its namespaces that differ from kiln's (ns_fd,
 * -1 for the others) and the cgroup.procs of its cgroups kiln is not in. */
static int
join_target (const struct sandbox_spec *s, const struct sandbox_join *j, int ns_fd[N_JOIN_NS], struct strv *procs,
             struct kiln_err *err)
{
  for (size_t i = 0; i < N_JOIN_NS; i++)
    {
      char path[64], self[64];
      snprintf (path, sizeof path, "/proc/%d/ns/%s", (int) j->target, join_ns[i].name);
      snprintf (self, sizeof self, "/proc/self/ns/%s", join_ns[i].name);
      struct stat a, b;
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || fstat (fd, &a) < 0)
        {
          kiln_err_set (err, errno, "the container's %s namespace: %s", join_ns[i].name, strerror (errno));
          if (fd >= 0)
            close (fd);
          return -1;
        }
      if (stat (self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        close (fd);
      else
        ns_fd[i] = fd;
    }
  /* The device cgroup every sandbox shares: kiln moves itself there once (the
   * move began at sandbox_warm_up, while the caller looked the container up), so
   * the command's process is born in it instead of paying a migration, which
   * can cost ~10 ms. */
  if (!j->container_privileged && s->runtime == NULL)
    {
      struct kiln_err ignored = {0};
      devices_join (&ignored);
      kiln_err_clear (&ignored);
    }
  if (join_cgroup_procs_of (j->target, procs, err) < 0)
    return -1;
  /* What was opened is the target's only if it is still the same process. */
  if (j->target_start && !proc_is (j->target, j->target_start))
    {
      return kiln_err_set (err, ESRCH, "the container's first process (pid %d) is gone", (int) j->target);
    }
  return 0;
}

/* The started command to its end: signals passed on, the timeout (health probes),
 * its output relayed or its pty handed to on_pty; its status in *exit_code. */
static void
join_wait (const struct sandbox_spec *s, struct sandbox_join *j, pid_t cmd, struct relay *relay, int console_fd,
           int *exit_code)
{
  if (s->on_start)
    s->on_start (s->start_ud, cmd);
  struct sigaction saved[SANDBOX_N_FORWARDED], alarm_old, pipe_old;
  sandbox_forward_signals_to (cmd, saved);
  struct sigaction ign = {.sa_handler = SIG_IGN};
  sigaction (SIGPIPE, &ign, &pipe_old);
  if (j->timeout_ms > 0)
    {
      join_timed_out = 0;
      join_timeout_pgid = cmd;
      struct sigaction sa = {.sa_handler = join_timeout};
      sigaction (SIGALRM, &sa, &alarm_old);
      struct itimerval it = {.it_value = {.tv_sec = j->timeout_ms / 1000, .tv_usec = (j->timeout_ms % 1000) * 1000}};
      setitimer (ITIMER_REAL, &it, NULL);
    }
  if (relay->out_src >= 0)
    relay_run (relay);
  relay->out_src = relay->err_src = relay->in_dst = -1;
  if (console_fd >= 0)
    {
      /* Sent before the exec: it is there now.  on_pty relays it until the
       * pty ends (every holder of the slave gone). */
      int master = pty_recv_fd (console_fd);
      if (master >= 0)
        {
          if (s->on_pty)
            s->on_pty (s->pty_ud, master);
          close (master);
        }
    }
  int st = 0;
  while (waitpid (cmd, &st, 0) < 0 && errno == EINTR)
    ;
  if (j->timeout_ms > 0)
    {
      struct itimerval off = {0};
      setitimer (ITIMER_REAL, &off, NULL);
      sigaction (SIGALRM, &alarm_old, NULL);
      join_timeout_pgid = -1;
      j->timed_out = join_timed_out;
    }
  sigaction (SIGPIPE, &pipe_old, NULL);
  sandbox_restore_signals (saved);
  *exit_code = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}

int
sandbox_join_run (const struct sandbox_spec *s, struct sandbox_join *j, int *exit_code, struct kiln_err *err)
{
  *exit_code = 0;
  j->timed_out = false;
  if (s->argv.n == 0)
    return kiln_err_set (err, EINVAL, "nothing to run");
  struct join_args ja = {.pid_fd = -1};
  for (size_t i = 0; i < N_JOIN_NS; i++)
    ja.ns_fd[i] = -1;
  int ret = -1;
  int status[2] = {-1, -1}, pidp[2] = {-1, -1}, relay_child[3] = {-1, -1, -1}, console[2] = {-1, -1};
  struct relay relay = {.in_src = -1, .in_dst = -1, .out_src = -1, .err_src = -1};
  struct sandbox_spec local;
  _cleanup_strv_ struct strv procs = STRV_INIT, env = STRV_INIT;
  if (join_target (s, j, ja.ns_fd, &procs, err) < 0)
    goto out;
  /* The target's profile, as sandbox_run gives it: the filter for the
   * container's bounding set, the bounding set (all of kiln's when privileged). */
  struct sandbox_spec filter_spec = *s;
  filter_spec.privileged = j->container_privileged;
  uint64_t caps = sandbox_bounding_caps (s);
  const struct sock_fprog *filter = NULL;
  if (!j->container_privileged && !s->seccomp_unconfined
      && (filter = sandbox_seccomp_for (s->store_root, s->seccomp_profile, sandbox_bounding_caps (&filter_spec), err)) == NULL)
    goto out;
  if (pipe2 (status, O_CLOEXEC) < 0 || pipe2 (pidp, O_CLOEXEC) < 0)
    {
      kiln_err_set (err, errno, "pipe: %s", strerror (errno));
      goto out;
    }
  /* exec -t: the command's process opens the pty in the container's devpts
   * (after setns, /dev/ptmx is the container's) and sends the master back. */
  if (s->pty && !j->detach && socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, console) < 0)
    {
      kiln_err_set (err, errno, "socketpair: %s", strerror (errno));
      goto out;
    }
  if (s->pipe_stdio && !s->pty && !j->detach)
    {
      if (sandbox_pipe_stdio (s, &local, &relay, relay_child, err) < 0)
        goto out;
      s = &local;
    }
  char *home;
  sandbox_command_env (s, &env, &home);
  struct child_args args = {.s = s,
                            .status_fd = status[1],
                            .status_close = status[0],
                            .go_fd = -1,
                            .go_close = -1,
                            .envp = env.v,
                            .home = home,
                            .seccomp = filter,
                            .caps = caps,
                            .console_fd = console[1],
                            .detached = j->detach};
  ja.a = &args;
  ja.procs = (const char *const *) procs.v;
  ja.n_procs = procs.n;
  ja.pid_fd = pidp[1];
  fflush (NULL);
  pid_t first = fork ();
  if (first < 0)
    {
      kiln_err_set (err, errno, "fork: %s", strerror (errno));
      goto out;
    }
  if (first == 0)
    join_first (&ja);
  close (status[1]);
  status[1] = -1;
  close (pidp[1]);
  pidp[1] = -1;
  if (console[1] >= 0)
    close (console[1]), console[1] = -1;
  for (int k = 0; k < 3; k++)
    if (relay_child[k] >= 0)
      close (relay_child[k]), relay_child[k] = -1;
  pid_t cmd = -1;
  ssize_t got;
  while ((got = read (pidp[0], &cmd, sizeof cmd)) < 0 && errno == EINTR)
    ;
  if (got != (ssize_t) sizeof cmd)
    cmd = -1;
  while (waitpid (first, NULL, 0) < 0 && errno == EINTR)
    ;
  /* The status pipe closes on the command's exec, or carries why it failed. */
  char msg[1024];
  ssize_t n = 0;
  while ((got = read (status[0], msg + n, sizeof msg - 1 - (size_t) n)) > 0 || (got < 0 && errno == EINTR))
    if (got > 0)
      n += got;
  if (n > 0 || cmd < 0)
    {
      msg[n] = '\0';
      kiln_err_set (err, EIO, "%s", n > 0 ? msg : "the command did not start");
      relay.in_src = -1;
      if (relay.out_src >= 0)
        relay_run (&relay); /* closes its ends */
      relay.out_src = relay.err_src = relay.in_dst = -1;
      if (cmd > 0 && !j->detach)
        while (waitpid (cmd, NULL, 0) < 0 && errno == EINTR)
          ;
      goto out;
    }
  if (j->detach)
    {
      ret = 0;
      goto out;
    }
  join_wait (s, j, cmd, &relay, console[0], exit_code);
  ret = 0;
out:
  for (size_t i = 0; i < N_JOIN_NS; i++)
    if (ja.ns_fd[i] >= 0)
      close (ja.ns_fd[i]);
  int fds[] = {console[0], console[1], status[0], status[1], pidp[0], pidp[1], relay_child[0], relay_child[1], relay_child[2],
               relay.in_dst, relay.out_src, relay.err_src};
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  return ret;
}
