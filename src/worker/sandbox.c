/* worker/sandbox.c — the parent's side of a sandbox: the clone into new namespaces,
 * the status, go and output pipes, slirp4netns, signals passed on, the relays and
 * the wait.  The child's side is in sandbox_init.c (sandbox_private.h lists the files). */
#include "worker/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "worker/devices.h"
#include "worker/pty.h"
#include "worker/relay.h"
#include "worker/sandbox_private.h"

/* ---------- passing signals on ---------- */

static volatile pid_t forward_to = -1;
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define N_FORWARDED (sizeof forwarded / sizeof *forwarded)
_Static_assert (N_FORWARDED == SANDBOX_N_FORWARDED, "sandbox_private.h counts the forwarded signals");

static volatile sig_atomic_t forward_as_kill;
static volatile sig_atomic_t forwarded_count;

static void
forward_signal (int sig)
{
  if (forward_to > 0)
    {
      kill (forward_to, forward_as_kill ? SIGKILL : sig);
      forwarded_count++;
    }
}

unsigned long
sandbox_signals_forwarded (void)
{
  return (unsigned long) forwarded_count;
}

void
sandbox_forward_signals_to (pid_t pid, struct sigaction *saved)
{
  forward_to = pid;
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = forward_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset (&sa.sa_mask);
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded[i], &sa, saved ? &saved[i] : NULL);
}

void
sandbox_default_signals (void)
{
  struct sigaction dfl;
  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded[i], &dfl, NULL);
}

void
sandbox_restore_signals (struct sigaction *saved)
{
  forward_to = -1;
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded[i], &saved[i], NULL);
}


int
sandbox_net_parse (const char *s, enum sandbox_net *out)
{
  if (strcmp (s, "default") == 0 || strcmp (s, "bridge") == 0)
    *out = SANDBOX_NET_DEFAULT;
  else if (strcmp (s, "none") == 0)
    *out = SANDBOX_NET_NONE;
  else if (strcmp (s, "host") == 0)
    *out = SANDBOX_NET_HOST;
  else
    return -1;
  return 0;
}

static bool slirp_checked, slirp_ok;

bool
sandbox_have_slirp (void)
{
  if (!slirp_checked)
    {
      slirp_checked = true;
      slirp_ok = access ("/usr/bin/slirp4netns", X_OK) == 0;
    }
  return slirp_ok;
}

/* Starts slirp4netns for the network namespace of `pid`; returns its pid. */
static pid_t
start_slirp (pid_t pid, struct kiln_err *err)
{
  int ready[2];
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  pid_t parent = getpid ();
  pid_t sp = fork ();
  if (sp < 0)
    return kiln_err_set (err, errno, "fork: %s", strerror (errno));
  if (sp == 0)
    {
      /* It goes when kiln goes, even killed (else it outlives the build, holding
       * whatever kiln inherited: a caller's pipe never reaches its end). */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != parent)
        _exit (127);
      close_range (3, ~0U, CLOSE_RANGE_CLOEXEC);
      char p[32], fd[16];
      snprintf (p, sizeof p, "%d", (int) pid);
      int w = dup (ready[1]); /* not close-on-exec */
      snprintf (fd, sizeof fd, "%d", w);
      int null = open ("/dev/null", O_RDWR);
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (null, 2);
      execl ("/usr/bin/slirp4netns", "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
             "--ready-fd", fd, p, "tap0", (char *) NULL);
      _exit (127);
    }
  close (ready[1]);
  char c;
  ssize_t n = read (ready[0], &c, 1);
  close (ready[0]);
  if (n != 1)
    {
      kill (sp, SIGKILL);
      waitpid (sp, NULL, 0);
      return kiln_err_set (err, EIO, "slirp4netns did not start");
    }
  return sp;
}


/* Sharing the parent's memory until the exec (as posix_spawn does) spares
 * copying kiln's page tables and tearing them down again: ~1 ms a step with the
 * libraries kiln links. The child then touches nothing of the parent's but its
 * own stack and balanced allocations, and the parent's thread waits until the
 * exec. Not under AddressSanitizer, which does not follow a stack switch. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SHARE_VM 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SHARE_VM 0
#endif
#endif
#ifndef SANDBOX_SHARE_VM
#define SANDBOX_SHARE_VM 1
#endif

static pid_t
spawn_sandbox (int flags, struct child_args *a, bool share_vm)
{
  if (SANDBOX_SHARE_VM && share_vm)
    {
      const size_t size = 512 * 1024;
      void *stack = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                          -1, 0);
      if (stack != MAP_FAILED)
        {
          pid_t pid = clone (sandbox_child, (char *) stack + size, flags | CLONE_VM | CLONE_VFORK | SIGCHLD, a);
          int e = errno;
          munmap (stack, size);
          errno = e;
          return pid;
        }
    }
  /* Fork-like: the child is created in its namespaces and is their PID 1 at once,
   * on a copy of this stack. */
  pid_t pid = (pid_t) syscall (SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, 0UL);
  if (pid == 0)
    _exit (sandbox_child (a));
  return pid;
}

/* Pipes between the command's stdio and the spec's descriptors, relayed by kiln
 * (relay_run): `local` is the spec the command sees, child_ends its ends. */
int
sandbox_pipe_stdio (const struct sandbox_spec *s, struct sandbox_spec *local, struct relay *relay, int child_ends[3],
            struct kiln_err *err)
{
  int pin[2] = {-1, -1}, pout[2], perr[2];
  if ((s->stdin_fd >= 0 && pipe2 (pin, O_CLOEXEC) < 0) || pipe2 (pout, O_CLOEXEC) < 0
      || pipe2 (perr, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  *relay = (struct relay){.in_src = s->stdin_fd, .in_dst = pin[1], .out_src = pout[0], .err_src = perr[0],
                         .out_dst = s->stdout_fd >= 0 || s->on_stdio ? s->stdout_fd : 1,
                         .err_dst = s->stderr_fd >= 0 || s->on_stdio ? s->stderr_fd : 2,
                         .on_chunk = s->on_stdio, .ud = s->stdio_ud};
  child_ends[0] = pin[0];
  child_ends[1] = pout[1];
  child_ends[2] = perr[1];
  *local = *s;
  local->stdin_fd = pin[0];
  local->stdout_fd = pout[1];
  local->stderr_fd = perr[1];
  return 0;
}

/* slirp4netns for the child's new network namespace; returns its pid. */
static pid_t
connect_network (pid_t child, struct kiln_err *err)
{
  /* The child unshared before reading from `go`: its namespace exists once
   * /proc shows a different net namespace than ours. */
  char self[64], other[64], pth[64];
  for (int i = 0; i < 2000; i++)
    {
      snprintf (pth, sizeof pth, "/proc/%d/ns/net", (int) child);
      ssize_t a = readlink ("/proc/self/ns/net", self, sizeof self - 1);
      ssize_t b = readlink (pth, other, sizeof other - 1);
      if (a > 0 && b > 0 && (a != b || memcmp (self, other, (size_t) a) != 0))
        break;
      usleep (500);
    }
  return start_slirp (child, err);
}

/* The command's output, line by line to on_output, until every writer has gone. */
static void
read_output_lines (const struct sandbox_spec *s, int fd)
{
  struct buf line = BUF_INIT;
  char chunk[8192];
  ssize_t got2;
  while ((got2 = read (fd, chunk, sizeof chunk)) != 0)
    {
      if (got2 < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      for (ssize_t i = 0; i < got2; i++)
        {
          if (chunk[i] == '\n')
            {
              s->on_output (s->output_ud, buf_str (&line), line.len);
              buf_reset (&line);
            }
          else if (line.len < 65536)
            buf_putc (&line, chunk[i]);
        }
    }
  if (line.len)
    s->on_output (s->output_ud, buf_str (&line), line.len);
  buf_free (&line);
  close (fd);
}

/* The command runs (if `started`): its pty's master came before its exec. */
static void
take_pty_master (const struct sandbox_spec *s, int console, bool started)
{
  int master = started ? pty_recv_fd (console) : -1;
  close (console);
  if (master >= 0)
    {
      if (s->on_pty)
        s->on_pty (s->pty_ud, master);
      close (master);
    }
}

void
sandbox_warm_up (void)
{
  devices_join_start ();
}

int
sandbox_run (const struct sandbox_spec *s, int *exit_code, struct kiln_err *err)
{
  if (s->argv.n == 0)
    return kiln_err_set (err, EINVAL, "nothing to run");
  int status[2], go[2], outp[2] = {-1, -1};
  if (pipe2 (status, O_CLOEXEC) < 0 || pipe2 (go, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  struct sandbox_spec local;
  if (s->on_output)
    {
      if (pipe2 (outp, O_CLOEXEC) < 0)
        return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
      local = *s;
      local.stdout_fd = local.stderr_fd = outp[1];
      s = &local;
    }
  struct relay relay = {.in_src = -1, .in_dst = -1, .out_src = -1, .err_src = -1};
  int relay_child[3] = {-1, -1, -1}; /* the command's ends */
  if (s->pipe_stdio && !s->on_output)
    {
      if (sandbox_pipe_stdio (s, &local, &relay, relay_child, err) < 0)
        return -1;
      s = &local;
    }
  if (s->pty && s->runtime)
    return kiln_err_set (err, EINVAL, "a terminal (-t) with --runtime is not supported yet");
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  bool shared_net = s->network == SANDBOX_NET_DEFAULT && s->netns_fd >= 0;
  if (s->network != SANDBOX_NET_HOST && !shared_net)
    flags |= CLONE_NEWNET;
  /* A private network namespace is connected by the parent before the command
   * starts: the child waits for it on `go`. */
  bool needs_go = s->network == SANDBOX_NET_DEFAULT && s->netns_fd < 0 && sandbox_have_slirp ();
  /* docker's profile, made ready here: the child only loads and joins. */
  uint64_t caps = sandbox_bounding_caps (s);
  const struct sock_fprog *filter = NULL;
  const char *leave_devices = NULL;
  if (s->privileged)
    leave_devices = devices_outside_procs ();
  else
    {
      if (!s->seccomp_unconfined && (filter = sandbox_seccomp_for (s->store_root, s->seccomp_profile, caps, err)) == NULL)
        return -1;
      if (s->runtime == NULL && devices_join (err) < 0)
        return kiln_err_wrap (err, "kiln cannot keep the sandbox from the host's devices");
    }
  _cleanup_strv_ struct strv env = STRV_INIT;
  char *home;
  sandbox_command_env (s, &env, &home);
  int console[2] = {-1, -1};
  if (s->pty && socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, console) < 0)
    return kiln_err_set (err, errno, "socketpair: %s", strerror (errno));
  struct child_args args = {.s = s,
                            .status_fd = status[1],
                            .status_close = status[0],
                            .go_fd = needs_go ? go[0] : -1,
                            .go_close = go[1],
                            .envp = env.v,
                            .home = home,
                            .seccomp = filter,
                            .leave_devices = leave_devices,
                            .caps = caps,
                            .console_fd = console[1]};
  fflush (NULL);
  pid_t child = spawn_sandbox (flags, &args, !needs_go && s->runtime == NULL && !s->init);
  if (child < 0)
    {
      int e = errno;
      if (console[0] >= 0)
        close (console[0]), close (console[1]);
      close (status[0]);
      close (status[1]);
      close (go[0]);
      close (go[1]);
      if (outp[0] >= 0)
        close (outp[0]), close (outp[1]);
      for (int k = 0; k < 3; k++)
        if (relay_child[k] >= 0)
          close (relay_child[k]);
      relay.in_src = -1;
      relay_run (&relay); /* closes its ends: the writers are gone, it returns at once */
      return kiln_err_set (err, e, "creating the sandbox's namespaces: %s", strerror (e));
    }
  close (status[1]);
  close (go[0]);
  if (console[1] >= 0)
    close (console[1]);
  if (outp[1] >= 0)
    close (outp[1]);
  for (int k = 0; k < 3; k++)
    if (relay_child[k] >= 0)
      close (relay_child[k]);
  struct sigaction saved[N_FORWARDED];
  forward_as_kill = s->cancel_on_signal && s->runtime == NULL; /* runc passes signals on itself */
  if (s->forward_signals || s->cancel_on_signal)
    sandbox_forward_signals_to (child, saved);
  pid_t slirp = -1;
  int ret = 0;
  if (s->network == SANDBOX_NET_DEFAULT && s->netns_fd < 0 && sandbox_have_slirp ())
    {
      slirp = connect_network (child, err);
      if (slirp < 0)
        ret = -1;
    }
  if (ret == 0 && needs_go && write (go[1], "g", 1) != 1)
    ret = kiln_err_set (err, errno, "starting the sandbox: %s", strerror (errno));
  close (go[1]);
  /* The status pipe closes on exec (or carries the reason the sandbox failed). */
  char msg[1024];
  ssize_t n = 0, got;
  while ((got = read (status[0], msg + n, sizeof msg - 1 - (size_t) n)) > 0)
    n += got;
  close (status[0]);
  if (ret == 0 && n == 0 && s->on_start)
    s->on_start (s->start_ud, child);
  if (console[0] >= 0)
    take_pty_master (s, console[0], ret == 0 && n == 0);
  if (outp[0] >= 0)
    read_output_lines (s, outp[0]);
  if (relay.out_src >= 0)
    {
      /* A reader that went away (kiln run | head) is the relay's to absorb. */
      struct sigaction ign = {.sa_handler = SIG_IGN}, old;
      sigaction (SIGPIPE, &ign, &old);
      relay_run (&relay);
      sigaction (SIGPIPE, &old, NULL);
    }
  int st = 0;
  while (waitpid (child, &st, 0) < 0 && errno == EINTR)
    ;
  if (slirp > 0)
    {
      kill (slirp, SIGTERM);
      waitpid (slirp, NULL, 0);
    }
  if (s->forward_signals || s->cancel_on_signal)
    sandbox_restore_signals (saved);
  if (ret < 0)
    return -1;
  if (n > 0)
    {
      msg[n] = '\0';
      return kiln_err_set (err, EIO, "%s", msg);
    }
  *exit_code = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
  return 0;
}

int
sandbox_net_start (struct sandbox_netns *n, struct kiln_err *err)
{
  n->holder = n->slirp = -1;
  n->fd = -1;
  int ready[2];
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  pid_t h = fork ();
  if (h < 0)
    return kiln_err_set (err, errno, "fork: %s", strerror (errno));
  if (h == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      close (ready[0]);
      /* It lives as long as the build and holds nothing of it (a cache mount's
       * lock held here would block the build's next step forever). */
      if (ready[1] != 3 && dup2 (ready[1], 3) < 0)
        _exit (1);
      ready[1] = 3;
      close_range (4, ~0U, 0);
      if (unshare (CLONE_NEWNET) < 0)
        _exit (1);
      sandbox_loopback_up ();
      if (write (ready[1], "r", 1) != 1)
        _exit (1);
      close (ready[1]);
      for (;;)
        pause ();
    }
  close (ready[1]);
  char c;
  ssize_t r = read (ready[0], &c, 1);
  close (ready[0]);
  n->holder = h;
  if (r != 1)
    {
      sandbox_net_stop (n);
      return kiln_err_set (err, EIO, "could not create a network namespace");
    }
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int) h);
  n->fd = open (path, O_RDONLY | O_CLOEXEC);
  if (n->fd < 0)
    {
      sandbox_net_stop (n);
      return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
    }
  n->slirp = start_slirp (h, err);
  if (n->slirp < 0)
    {
      sandbox_net_stop (n);
      return -1;
    }
  return 0;
}

void
sandbox_net_stop (struct sandbox_netns *n)
{
  /* Neither keeps state worth a clean exit.  Their ends are not waited for: the
   * kernel tears down slirp4netns's tap device as it exits, ~20 ms that every build
   * with a RUN step paid at its end.  They are reaped here if already gone, else by
   * whoever inherits them when kiln exits (a build's process ends right after). */
  if (n->slirp > 0)
    kill (n->slirp, SIGKILL);
  if (n->holder > 0)
    kill (n->holder, SIGKILL);
  if (n->slirp > 0)
    waitpid (n->slirp, NULL, WNOHANG);
  if (n->holder > 0)
    waitpid (n->holder, NULL, WNOHANG);
  if (n->fd >= 0)
    close (n->fd);
  n->holder = n->slirp = -1;
  n->fd = -1;
}

void
sandbox_mount_clear (struct sandbox_mount *m)
{
  free (m->source);
  free (m->subpath);
  free (m->target);
  free (m->display);
  free (m->what);
  if (m->content)
    explicit_bzero (m->content, m->content_len);
  free (m->content);
  free (m->tmpfs_data);
  free (m->copy_up_mark);
  memset (m, 0, sizeof *m);
}

void
sandbox_spec_clear (struct sandbox_spec *s)
{
  strv_free (&s->lowers);
  strv_free (&s->argv);
  strv_free (&s->env);
  for (size_t i = 0; i < s->n_mounts; i++)
    sandbox_mount_clear (&s->mounts[i]);
  free (s->mounts);
  s->mounts = NULL;
  s->n_mounts = 0;
}
