/* container/monitor.c — running a container to its end and recording it (the
 * process tree and the hand-over are in the header). */
#include "container/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/attach.h"
#include "container/config.h"
#include "container/health.h"
#include "container/restart.h"
#include "container/logopts.h"
#include "container/mounts.h"
#include "container/logs.h"
#include "container/resources.h"
#include "net/net.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/proc.h"

/* What one run of a container needs between the sandbox's callbacks. */
struct run
{
  const char *root;
  const char *id;
  struct container_state state; /* as this run last wrote it */
  int notify_fd;                /* detached: the starter's socket; -1 */
  int lock_fd;                  /* attached: containers.lock, held until the start */
  bool started;
  struct log_writer log;
  struct kiln_err start_err;    /* recording `running` failed */
  struct attach_server attach;  /* a tty container's terminal; listen_fd -1 otherwise */
  bool wait_attach;             /* run -t: the first output waits for its client */
  const json_t *config;         /* config.json */
  pid_t checker;                /* the health checker (container/health.h), or -1 */
};

/* docker's exit codes for a container that did not start (its client's
 * runStartContainerErr), and the ExitCode its State records (the daemon's). */
static int
start_failure_code (const char *msg, bool for_state)
{
  msg = msg ? msg : "";
  if (strcasestr (msg, "no such file or directory") || strcasestr (msg, "executable file not found"))
    return 127;
  if (strcasestr (msg, "permission denied"))
    return 126;
  return for_state ? 128 : 125;
}

static void
notify (struct run *r, const char *msg)
{
  if (r->notify_fd >= 0)
    {
      /* A starter that is gone is no reason for the container to go: no SIGPIPE
       * (the socket's MSG_NOSIGNAL), whose default would kill the monitor. */
      ssize_t sent = send (r->notify_fd, msg, strlen (msg), MSG_NOSIGNAL);
      (void) sent; /* a starter that does not hear it: the state says it all */
      close (r->notify_fd);
      r->notify_fd = -1;
    }
  containers_unlock (r->lock_fd);
  r->lock_fd = -1;
}

static void
on_output (void *ud, int stream, const char *buf, size_t len)
{
  log_writer_chunk (ud, stream, buf, len);
}

/* The command runs: record it, then tell whoever waits. */
static void
on_start (void *ud, pid_t pid)
{
  struct run *r = ud;
  struct container_state *s = &r->state;
  s->status = CONTAINER_RUNNING;
  s->pid = pid;
  s->pid_start = proc_start_time (pid);
  s->monitor_pid = getpid ();
  s->monitor_start = proc_start_time (s->monitor_pid);
  s->started = container_now ();
  s->restarting = false;
  s->exit_code = 0;
  s->oom_killed = false;
  s->paused = false;
  free (s->error);
  s->error = NULL;
  struct health_config hc;
  if (health_config_read (r->config, &hc))
    {
      json_t *h = health_starting (s->health);
      json_decref (s->health);
      s->health = h;
    }
  health_config_clear (&hc);
  if (container_state_write (r->root, r->id, s, &r->start_err) < 0)
    {
      /* A container nobody can see running must not run. */
      kill (pid, SIGKILL);
      return;
    }
  r->started = true;
  notify (r, "ok");
  health_checker_stop (r->checker); /* a run before this one's, if any */
  r->checker = health_checker_start (r->root, r->id, r->config, s);
  /* From here the monitor idles for the container's life: give back what the
   * start used (the store's page cache, the spec, libarchive's and libnftables'
   * buffers), freed but kept by malloc, so a monitor costs little (issue 13:
   * RssAnon <= 1 MiB). */
  net_drop_caches ();
  malloc_trim (0);
}

/* Under containers.lock, as a run ends: the checker stopped (it writes only under
 * the lock: never mid-write, so `disk`, read under the same lock, has its last
 * word) and the Health it recorded taken into this run's state, "unhealthy" now
 * that the checks have stopped (as docker). `disk`: NULL when unreadable. */
static void
health_end (struct run *r, const struct container_state *disk)
{
  health_checker_stop (r->checker);
  r->checker = -1;
  if (disk)
    {
      json_decref (r->state.health);
      r->state.health = json_incref (disk->health);
    }
  health_stopped (r->state.health);
}

/* The start failed: the status stays what it was, with the reason. */
static void
record_failure (struct run *r, struct kiln_err *err, int *exit_code)
{
  *exit_code = start_failure_code (err->msg, false);
  struct container_state *s = &r->state;
  s->exit_code = start_failure_code (err->msg, true);
  if (s->restarting)
    {
      /* A restart that failed is the end. */
      s->status = CONTAINER_EXITED;
      s->restarting = false;
      s->finished = container_now ();
    }
  free (s->error);
  s->error = xstrdup (err->msg ? err->msg : "the container did not start");
  struct kiln_err ignored = {0};
  container_state_write (r->root, r->id, s, &ignored);
  kiln_err_clear (&ignored);
  struct buf m = BUF_INIT;
  buf_printf (&m, "%d %s", *exit_code, s->error);
  notify (r, buf_str (&m));
  buf_free (&m);
}

/* The end: recorded under containers.lock; AutoRemove removes the container.
 * Called with the lock held (`lock`), which it releases. */
static int
record_end (struct run *r, int lock, int code, bool auto_remove, struct kiln_err *err)
{
  struct container_state *s = &r->state;
  s->status = CONTAINER_EXITED;
  s->restarting = false;
  s->paused = false;
  s->exit_code = code;
  s->finished = container_now ();
  s->pid = 0;
  s->pid_start = 0;
  int ret = container_state_write (r->root, r->id, s, err);
  if (ret == 0 && auto_remove)
    {
      struct kiln_store *st = store_open (r->root, err);
      ret = st ? mounts_remove_container (st, r->id, true, err) : -1; /* anonymous volumes go too */
      store_close (st);
    }
  containers_unlock (lock);
  return ret;
}

/* ---------- a tty container's terminal (container/attach.h) ---------- */

static void
on_pty (void *ud, int master)
{
  struct run *r = ud;
  attach_server_run (&r->attach, master);
}

/* A detached tty container: its monitor listens for clients before the first run. */
static int
monitor_tty_listen (struct run *r, const json_t *config, bool attached, struct kiln_err *err)
{
  r->attach.listen_fd = -1;
  if (attached || !json_is_true (json_object_get (json_object_get (config, "Config"), "Tty")))
    return 0;
  return attach_server_open (&r->attach, r->root, r->id, r->wait_attach, &r->log, err);
}

static void
monitor_tty_setup (struct run *r, const json_t *config, struct sandbox_spec *sb)
{
  (void) config;
  if (r->attach.listen_fd < 0)
    return;
  sb->pty = true;
  sb->on_pty = on_pty;
  sb->pty_ud = r;
  sb->pipe_stdio = false;
}

static void
monitor_tty_close (struct run *r, int exit_code)
{
  attach_server_close (&r->attach, exit_code);
}

/* ---------- restart policies (the decision is container/restart.c's) ---------- */

static volatile sig_atomic_t stop_asked; /* a user's stop reached the monitor during a backoff */

static void
on_stop_asked (int sig)
{
  (void) sig;
  stop_asked = 1;
}

/* The command ended with `code`: under containers.lock, either the end is
 * recorded (0, or -1) or, as the policy says, the state becomes `restarting`
 * (1, with *delay_ns): RestartCount counts it, and a user's stop from now on
 * reaches this process (SIGTERM, see container_stop_restarting). */
static int
end_or_restart (struct run *r, struct restart_manager *rm, int code, bool by_user, bool auto_remove,
                int64_t *delay_ns, struct kiln_err *err)
{
  int lock = containers_lock (r->root, err);
  if (lock < 0)
    return -1;
  /* One read of state.json: the checker's Health, and a user's stop or kill
   * (written there by the command that did it). */
  struct container_state now;
  struct kiln_err ignored = {0};
  bool read = container_state_read (r->root, r->id, &now, &ignored) == 0;
  kiln_err_clear (&ignored);
  health_end (r, read ? &now : NULL);
  by_user = by_user || now.stopped_by_user; /* false when unread: zeroed */
  container_state_clear (&now);
  r->state.stopped_by_user = by_user;
  int64_t ran = container_now () - r->state.started;
  if (auto_remove || !restart_decide (rm, code, by_user || stop_asked, ran, delay_ns))
    return record_end (r, lock, code, auto_remove, err);
  struct sigaction sa = {.sa_handler = on_stop_asked};
  sigemptyset (&sa.sa_mask);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  struct container_state *s = &r->state;
  s->restarting = true;
  s->restart_count++;
  s->exit_code = code;
  s->finished = container_now ();
  s->pid = 0;
  s->pid_start = 0;
  int ret = container_state_write (r->root, r->id, s, err);
  containers_unlock (lock);
  return ret < 0 ? -1 : 1;
}

/* Waits out the backoff; 1 to run again, with containers.lock held in r->lock_fd
 * (on_start releases it once `running` is written), 0 when a user stopped the
 * container meanwhile (its end recorded). */
static int
restart_wait (struct run *r, int64_t delay_ns, struct kiln_err *err)
{
  struct timespec ts = {.tv_sec = delay_ns / 1000000000, .tv_nsec = delay_ns % 1000000000};
  while (!stop_asked && nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
  int lock = containers_lock (r->root, err);
  if (lock < 0)
    return -1;
  struct container_state now;
  struct kiln_err ignored = {0};
  bool by_user = stop_asked;
  if (container_state_read (r->root, r->id, &now, &ignored) == 0)
    by_user = by_user || now.stopped_by_user;
  container_state_clear (&now);
  kiln_err_clear (&ignored);
  if (by_user)
    {
      r->state.stopped_by_user = true;
      return record_end (r, lock, r->state.exit_code, false, err) < 0 ? -1 : 0;
    }
  r->lock_fd = lock;
  return 1;
}

/* Builds the spec from config.json and runs it once to its end: 0 with
 * *exit_code the command's, -1 when it did not start. */
static int
run_once (struct run *r, json_t *config, bool attached, int stdin_fd, int *exit_code, struct kiln_err *err)
{
  struct container_spec cs = {0};
  struct net_attachment na = {.netns_fd = -1};
  /* The container's cgroup is made beside the spec's work (resources.h). */
  struct container_cgroup cgroup;
  container_cgroup_start (r->root, r->id, config, &cgroup);
  struct kiln_store *st = store_open (r->root, err);
  if (st != NULL)
    {
      const char *image = json_string_value (json_object_get (config, "Image"));
      if (container_spec_build (st, r->id, image ? image : "", config, &cs, err) == 0)
        container_cgroup_enter (r->root, r->id, config, &cs.sb, &cgroup, err);
      /* Nothing of the store stays open while the container runs. */
      store_close (st);
    }
  int ret = -1;
  if (kiln_err_is_set (err))
    goto out;
  r->started = false;
  struct sandbox_spec *sb = &cs.sb;
  sb->on_start = on_start;
  sb->start_ud = r;
  sb->on_stdio = on_output;
  sb->stdio_ud = &r->log;
  if (attached)
    {
      const json_t *c = json_object_get (config, "Config");
      sb->stdout_fd = 1;
      sb->stderr_fd = 2;
      sb->stdin_fd = json_is_true (json_object_get (c, "OpenStdin")) ? stdin_fd : -1;
    }
  monitor_tty_setup (r, config, sb);
  if (sb->runtime == NULL && !sb->privileged)
    sandbox_warm_up ();
  /* A kiln network: its namespace, veth, address and ports before the command,
   * made again for every run of a restart policy. */
  if (sb->runtime == NULL
      && net_mode_attaches (json_string_value (json_object_get (json_object_get (config, "HostConfig"), "NetworkMode"))))
    {
      if (net_attach (r->root, r->id, config, &na, err) < 0)
        goto out;
      sb->netns_fd = na.netns_fd;
      sb->hosts_extra = na.hosts;
      sb->resolv_conf = na.resolv;
    }
  int code = 0;
  if (sandbox_run (sb, &code, err) < 0 || !r->started)
    {
      health_checker_stop (r->checker);
      r->checker = -1;
      log_writer_flush (&r->log);
      if (kiln_err_is_set (&r->start_err))
        {
          kiln_err_clear (err);
          *err = r->start_err;
          memset (&r->start_err, 0, sizeof r->start_err);
        }
      else if (!kiln_err_is_set (err))
        kiln_err_set (err, EIO, "the container did not start");
      goto out;
    }
  log_writer_flush (&r->log);
  *exit_code = code;
  ret = 0;
out:
  net_detach (r->root, r->id, &na);
  {
    /* Whether the kernel killed in it for memory, read before it goes. */
    bool oom = container_cgroup_leave (r->root, r->id, &cgroup);
    if (ret == 0)
      r->state.oom_killed = oom;
  }
  container_spec_clear (&cs);
  return ret;
}

/* Runs container `id` to its end in this process (the monitor, or the foreground
 * run), again and again as its restart policy says. The caller holds
 * containers.lock: its own (`lock_fd`, released once the command runs) or a
 * starter's that waits on `notify_fd`. */
static int
monitor_run (const char *root, const char *id, bool attached, bool wait_attach, int stdin_fd, int notify_fd,
             int lock_fd, int *exit_code, struct kiln_err *err)
{
  struct run r = {.root = root, .id = id, .notify_fd = notify_fd, .lock_fd = lock_fd, .wait_attach = wait_attach,
                  .checker = -1};
  r.attach.listen_fd = -1;
  json_t *config = NULL;
  _cleanup_close_ int log_fd = -1;
  int ret = -1;
  if (container_state_read (root, id, &r.state, err) < 0)
    {
      notify (&r, "125 the container's state cannot be read");
      *exit_code = 125;
      return -1;
    }
  /* A start by a user: whatever stop came before is forgotten. */
  r.state.stopped_by_user = false;
  _cleanup_free_ char *cfg_path = container_path (root, id, "config.json");
  json_error_t je;
  if ((config = json_load_file (cfg_path, 0, &je)) == NULL)
    {
      kiln_err_set (err, EIO, "%s: %s", cfg_path, je.text);
      goto failed;
    }
  {
    _cleanup_buf_ struct buf log_name = BUF_INIT;
    buf_printf (&log_name, "%s-json.log", id);
    _cleanup_free_ char *log_path = container_path (root, id, buf_str (&log_name));
    log_fd = open (log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (log_fd < 0)
      {
        kiln_err_set (err, errno, "%s: %s", log_path, strerror (errno));
        goto failed;
      }
    log_writer_init (&r.log, log_fd);
    int64_t max_size;
    int max_files;
    log_opts_rotation (json_object_get (config, "HostConfig"), &max_size, &max_files);
    log_writer_rotate_at (&r.log, log_path, max_size, max_files);
  }
  r.config = config;
  if (monitor_tty_listen (&r, config, attached, err) < 0)
    goto failed;
  struct restart_manager rm = {0};
  restart_policy_from_config (config, &rm.policy);
  bool auto_remove = json_is_true (json_object_get (json_object_get (config, "HostConfig"), "AutoRemove"));
  for (;;)
    {
      int code = 0;
      unsigned long forwarded = sandbox_signals_forwarded ();
      if (run_once (&r, config, attached, stdin_fd, &code, err) < 0)
        goto failed;
      *exit_code = code;
      /* A signal the foreground run passed on (^C) is its user's stop. */
      bool by_user = sandbox_signals_forwarded () != forwarded;
      int64_t delay = 0;
      int again = end_or_restart (&r, &rm, code, by_user, auto_remove, &delay, err);
      if (again > 0)
        again = restart_wait (&r, delay, err);
      if (again <= 0)
        {
          ret = again < 0 ? -1 : 0;
          goto out;
        }
    }
failed:
  /* A host port in use is told in docker's words alone ("Bind for … port is already allocated"). */
  if (err->code != EADDRINUSE)
    kiln_err_wrap (err, "starting the container");
  record_failure (&r, err, exit_code);
out:
  log_writer_finish (&r.log);
  monitor_tty_close (&r, *exit_code);
  json_decref (config);
  container_state_clear (&r.state);
  kiln_err_clear (&r.start_err);
  return ret;
}

int
container_run_attached (const char *root, const char *id, int stdin_fd, int *exit_code, struct kiln_err *err)
{
  *exit_code = 125;
  int lock = containers_lock (root, err);
  if (lock < 0)
    return -1;
  return monitor_run (root, id, true, false, stdin_fd, -1, lock, exit_code, err);
}

int
container_start (struct kiln_store *st, const char *id, int *exit_code, struct kiln_err *err)
{
  return container_start_ex (st, id, false, exit_code, err);
}

int
container_start_ex (struct kiln_store *st, const char *id, bool wait_attach, int *exit_code, struct kiln_err *err)
{
  *exit_code = 125;
  int lock = containers_lock (store_root (st), err);
  if (lock < 0)
    return -1;
  struct container_state s;
  if (container_state_get_locked (store_root (st), id, &s, err) < 0)
    {
      containers_unlock (lock);
      return -1;
    }
  bool live = container_state_live (&s);
  container_state_clear (&s);
  if (live)
    {
      containers_unlock (lock);
      return 1;
    }
  int p[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
    {
      containers_unlock (lock);
      return kiln_err_set (err, errno, "socketpair: %s", strerror (errno));
    }
  /* The monitor works from "/": it gets the store's absolute path. */
  _cleanup_free_ char *root = realpath (store_root (st), NULL);
  char *argv[] = {"kiln", "--root", root ? root : (char *) store_root (st), "container-monitor", "--notify-fd", "3",
                  wait_attach ? "--wait-attach" : (char *) id, (char *) id, NULL};
  if (!wait_attach)
    argv[7] = NULL;
  fflush (NULL);
  pid_t pid = fork ();
  if (pid == 0)
    {
      /* Only the notify socket goes with it, as descriptor 3. */
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0)
        _exit (125);
      if (p[1] == 3 ? fcntl (3, F_SETFD, 0) < 0 : dup2 (p[1], 3) < 0)
        _exit (125);
      close_range (4, ~0U, 0);
      execv ("/proc/self/exe", argv);
      _exit (125);
    }
  int e = errno;
  close (p[1]);
  if (pid < 0)
    {
      close (p[0]);
      containers_unlock (lock);
      return kiln_err_set (err, e, "fork: %s", strerror (e));
    }
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  _cleanup_buf_ struct buf msg = BUF_INIT;
  struct kiln_err rerr = {0};
  read_all (p[0], 64 * 1024, &msg, "the monitor's socket", &rerr);
  kiln_err_clear (&rerr);
  close (p[0]);
  containers_unlock (lock);
  if (strcmp (buf_str (&msg), "ok") == 0)
    {
      *exit_code = 0;
      return 0;
    }
  char *end;
  long code = strtol (buf_str (&msg), &end, 10);
  if (end == buf_str (&msg) || *end != ' ')
    return kiln_err_set (err, EIO, "starting the container: its monitor ended before the container started");
  *exit_code = (int) code;
  return kiln_err_set (err, EIO, "%s", end + 1);
}

int
container_monitor_main (const char *root, const char *id, int notify_fd, bool wait_attach)
{
  /* Whatever the starter ignored or blocked is not the container's business. */
  sigset_t all;
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  pid_t p = fork ();
  if (p != 0)
    return p > 0 ? 0 : 125; /* the starter waits for this process: it goes now */
  setsid ();
  p = fork ();
  if (p != 0)
    _exit (p > 0 ? 0 : 125);
  /* A session of its own, no terminal, not the starter's child: it outlives the
   * command that started it and holds none of its descriptors or its directory. */
  if (chdir ("/") < 0)
    _exit (125);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0)
    {
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (null, 2);
    }
  if (notify_fd >= 0 && notify_fd != 3)
    {
      if (dup2 (notify_fd, 3) < 0)
        _exit (125);
      notify_fd = 3;
    }
  if (notify_fd >= 0)
    fcntl (notify_fd, F_SETFD, FD_CLOEXEC); /* the sandbox's processes never get it */
  close_range (notify_fd >= 0 ? 4 : 3, ~0U, 0);
  struct kiln_err err = {0};
  int code;
  monitor_run (root, id, false, wait_attach, -1, notify_fd, -1, &code, &err);
  kiln_err_clear (&err);
  _exit (0);
}

static int
pidfd_of (pid_t pid, uint64_t start)
{
  if (pid <= 0)
    return -1;
  int fd = pidfd_open (pid, 0);
  if (fd < 0)
    return -1;
  /* The descriptor holds this process whatever happens next; it is the one
   * recorded only if it started when the record says. */
  if (!proc_is (pid, start))
    {
      close (fd);
      return -1;
    }
  return fd;
}

int
container_stop_restarting (const struct container_state *s)
{
  int fd = s->status == CONTAINER_RUNNING && s->restarting ? pidfd_of (s->monitor_pid, s->monitor_start) : -1;
  if (fd < 0)
    return 0;
  pidfd_send_signal (fd, SIGTERM, NULL, 0);
  close (fd);
  return 1;
}

int
container_signal (const struct container_state *s, int sig, struct kiln_err *err)
{
  if (s->status != CONTAINER_RUNNING)
    return 0;
  int fd = pidfd_of (s->pid, s->pid_start);
  if (fd < 0)
    return 0;
  int r = pidfd_send_signal (fd, sig, NULL, 0);
  int e = errno;
  close (fd);
  if (r < 0 && e != ESRCH)
    return kiln_err_set (err, e, "signalling the container: %s", strerror (e));
  return 0;
}

static int
wait_fd (int fd, int timeout_ms)
{
  if (fd < 0)
    return 1;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r;
  while ((r = poll (&p, 1, timeout_ms)) < 0 && errno == EINTR)
    ;
  close (fd);
  return r != 0;
}

int
container_monitor_fd (const struct container_state *s)
{
  return s->status == CONTAINER_RUNNING ? pidfd_of (s->monitor_pid, s->monitor_start) : -1;
}

int
container_wait_monitor (const struct container_state *s, int timeout_ms)
{
  return wait_fd (container_monitor_fd (s), timeout_ms);
}

int
container_wait_init (const struct container_state *s, int timeout_ms)
{
  return wait_fd (s->status == CONTAINER_RUNNING ? pidfd_of (s->pid, s->pid_start) : -1, timeout_ms);
}

int
container_start_failure_code (const char *msg)
{
  return start_failure_code (msg, false);
}
