/* worker/sandbox_init.c — PID 1 of a sandbox, in its new namespaces: the cgroups and
 * sysctls, the overlay root, devices, the generated /etc files, pivot_root, then the
 * command itself or an init that reaps. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "worker/overlay.h"
#include "worker/rootfs.h"
#include "worker/sandbox_private.h"

static void
write_file (int dirfd, const char *name, const char *content, int status_fd)
{
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, content, strlen (content)) < 0)
    sandbox_die (status_fd, "writing %s: %s", name, strerror (errno));
  close (fd);
}

void
sandbox_loopback_up (void)
{
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return;
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) == 0)
    {
      ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
      ioctl (s, SIOCSIFFLAGS, &ifr);
    }
  close (s);
}

/* The init is kiln's own process, and /proc/1/cmdline would show the container
 * kiln's command line (host paths, -e values): it is blanked to "kiln-init". */
static void
hide_command_line (void)
{
  int fd = open ("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  char buf[4096];
  size_t total = 0;
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    total += (size_t) n;
  close (fd);
  if (program_invocation_name == NULL || total < sizeof "kiln-init")
    return;
  memset (program_invocation_name, 0, total);
  memcpy (program_invocation_name, "kiln-init", sizeof "kiln-init");
}

/* docker's device allow-list holds kiln and what it starts (devices_join); a
 * privileged sandbox leaves it (leave_devices). Then the container's own cgroups. */
static void
enter_cgroups (const struct sandbox_spec *s, const char *leave_devices, int status_fd)
{
  if (leave_devices)
    {
      int cg = open (leave_devices, O_WRONLY | O_CLOEXEC);
      if (cg < 0 || write (cg, "0", 1) != 1)
        sandbox_die (status_fd, "leaving the device cgroup for %s: %s", leave_devices, strerror (errno));
      close (cg);
    }
  for (const char *const *f = s->cgroup_procs; f && *f; f++)
    {
      int cg = open (*f, O_WRONLY | O_CLOEXEC);
      if (cg < 0 || write (cg, "0", 1) != 1)
        sandbox_die (status_fd, "joining the container's cgroup %s: %s", *f, strerror (errno));
      close (cg);
    }
}

static void
write_sysctls (const struct sandbox_spec *s, int status_fd)
{
  /* Namespaced sysctls: /proc/sys shows the namespaces of whoever reads it, so
   * the host's /proc, still mounted here, writes the sandbox's own. */
  for (const char *const *kv = s->sysctls; kv && *kv; kv++)
    {
      const char *eq = strchr (*kv, '=');
      char path[512];
      int k = snprintf (path, sizeof path, "/proc/sys/%.*s", eq ? (int) (eq - *kv) : 0, *kv);
      for (char *c = path + 10; c < path + k; c++)
        if (*c == '.')
          *c = '/';
      int fd = eq ? open (path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
      if (fd < 0 || write (fd, eq + 1, strlen (eq + 1)) < 0)
        sandbox_die (status_fd, "sysctl %s: %s", *kv, strerror (errno));
      close (fd);
    }
}

/* The overlay root, mounted on s->merged; returns a descriptor of it. */
static int
mount_root (const struct sandbox_spec *s, int status_fd)
{
  /* The overlay root; lowerdirs are relative to snapshots/ so long chains fit. */
  char snapdir[4096];
  snprintf (snapdir, sizeof snapdir, "%s/snapshots", s->store_root);
  if (chdir (snapdir) < 0)
    sandbox_die (status_fd, "%s: %s", snapdir, strerror (errno));
  char empty[4200];
  snprintf (empty, sizeof empty, "%s.empty", s->merged);
  if (s->lowers.n == 0 || (s->upper == NULL && s->lowers.n < 2))
    mkdir (empty, 0755);
  struct buf opts = BUF_INIT;
  overlay_options (&opts, &s->lowers, empty, s->upper, s->work);
  if (mount ("overlay", s->merged, "overlay", s->upper ? 0 : MS_RDONLY, buf_str (&opts)) < 0)
    sandbox_die (status_fd, "mounting the root overlay: %s", strerror (errno));
  buf_free (&opts);
  int root_fd = open (s->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    sandbox_die (status_fd, "%s: %s", s->merged, strerror (errno));
  return root_fd;
}

static void
make_devices (const struct sandbox_spec *s, int root_fd, int status_fd)
{
  for (size_t i = 0; i < s->n_devices; i++)
    {
      const struct sandbox_device *d = &s->devices[i];
      char dir[4096]; /* no allocation in the sandbox's first process */
      snprintf (dir, sizeof dir, "%s", d->path);
      char *slash = strrchr (dir, '/');
      const char *base = slash ? slash + 1 : dir;
      if (slash)
        *slash = '\0';
      int dfd = rootfs_mkdir_in_root (root_fd, *dir ? dir : "/", 0755);
      if (dfd < 0 || !*base)
        sandbox_die (status_fd, "device %s: %s", d->path, strerror (errno));
      unlinkat (dfd, base, 0);
      if (mknodat (dfd, base, d->mode, d->rdev) < 0 || fchmodat (dfd, base, d->mode & 07777, 0) < 0
          || fchownat (dfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
        sandbox_die (status_fd, "device %s: %s", d->path, strerror (errno));
      close (dfd);
    }
}

/* The generated /etc files, in kiln's directory `etc` beside the root. */
static void
write_etc_files (const struct sandbox_spec *s, const char *etc, int status_fd)
{
  /* /etc/hosts and /etc/resolv.conf: generated files bound over the image's. */
  int etc_fd = open (etc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct buf hosts = BUF_INIT;
  buf_puts (&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  if (s->hosts_extra)
    buf_puts (&hosts, s->hosts_extra);
  else if (s->hostname)
    buf_printf (&hosts, "127.0.1.1\t%s\n", s->hostname);
  if (s->hosts_more)
    buf_puts (&hosts, s->hosts_more);
  write_file (etc_fd, "hosts", buf_str (&hosts), status_fd);
  buf_free (&hosts);
  if (s->resolv_conf)
    write_file (etc_fd, "resolv.conf", s->resolv_conf, status_fd);
  else if (s->network == SANDBOX_NET_DEFAULT)
    write_file (etc_fd, "resolv.conf", "nameserver 10.0.2.3\n", status_fd);
  else
    {
      _cleanup_free_ char *host_resolv = NULL;
      int hf = open ("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
      if (hf >= 0)
        {
          struct buf b = BUF_INIT;
          char chunk[4096];
          ssize_t n;
          while ((n = read (hf, chunk, sizeof chunk)) > 0 && b.len < 65536)
            buf_append (&b, chunk, (size_t) n);
          close (hf);
          host_resolv = buf_steal (&b);
        }
      write_file (etc_fd, "resolv.conf", host_resolv ? host_resolv : "", status_fd);
    }
  /* /etc/hostname too, as docker binds it, when there is a network of kiln's. */
  if (s->hosts_extra && s->hostname)
    {
      char hn[300];
      snprintf (hn, sizeof hn, "%s\n", s->hostname);
      write_file (etc_fd, "hostname", hn, status_fd);
    }
  close (etc_fd);
}

/* /etc/hosts and /etc/resolv.conf (and /etc/hostname): bound over the image's. */
static void
bind_etc_files (const struct sandbox_spec *s, int root_fd, const char *etc, int status_fd)
{
  static const char *const etc_files[] = {"hosts", "resolv.conf", "hostname"};
  for (size_t i = 0; i < (s->hosts_extra && s->hostname ? 3 : 2); i++)
    {
      char target[64], src[4400], path[64];
      snprintf (path, sizeof path, "/etc/%s", etc_files[i]);
      snprintf (src, sizeof src, "%s/%s", etc, etc_files[i]);
      int t = rootfs_mount_target (root_fd, path, false, target, sizeof target);
      int from = open (src, O_PATH | O_CLOEXEC);
      if (t < 0 || from < 0 || rootfs_bind (from, t, s->readonly_root, false) < 0)
        sandbox_die (status_fd, "binding %s: %s", path, strerror (errno));
      close (from);
      close (t);
    }
}

/* Reaps everything; leaves when the command exits (the kernel then kills the rest). */
static void __attribute__ ((noreturn))
reap_until (pid_t cmd)
{
  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, 0);
      if (p < 0 && errno == EINTR)
        continue;
      if (p == cmd || p < 0)
        {
          if (p < 0)
            _exit (125);
          _exit (WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st));
        }
    }
}

/* PID 1 of the sandbox: builds the root, then becomes the command (or, with
 * an init, starts it, passes signals on and reaps). */
void __attribute__ ((noreturn))
sandbox_init (struct child_args *a)
{
  const struct sandbox_spec *s = a->s;
  int status_fd = a->status_fd;
  enter_cgroups (s, a->leave_devices, status_fd);
  write_sysctls (s, status_fd);
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    sandbox_die (status_fd, "making mounts private: %s", strerror (errno));
  if (s->hostname)
    sethostname (s->hostname, strlen (s->hostname));
  if (s->network != SANDBOX_NET_HOST)
    sandbox_loopback_up ();

  int root_fd = mount_root (s, status_fd);

  struct user_ids ids;
  char why[512] = "";
  if (users_resolve (root_fd, s->user, false, &ids, why, sizeof why) < 0
      || users_add_groups (root_fd, s->group_add, &ids, why, sizeof why) < 0)
    sandbox_die (status_fd, "%s", why);

  /* kiln's own directory beside the root: the generated /etc files, and mount
   * points and a tmpfs for the spec's mounts (seen only in this namespace). */
  char etc[4300], scratch[4400];
  snprintf (etc, sizeof etc, "%s.etc", s->merged);
  snprintf (scratch, sizeof scratch, "%s/mnt", etc);
  mkdir (etc, 0755);
  if (s->runtime == NULL)
    rootfs_kernel_mounts (s, root_fd, status_fd);
  rootfs_user_mounts (s, root_fd, scratch, status_fd);
  make_devices (s, root_fd, status_fd);

  write_etc_files (s, etc, status_fd);
  if (s->runtime == NULL)
    bind_etc_files (s, root_fd, etc, status_fd);

  /* The working directory exists before the command runs, as docker makes it. */
  if (s->cwd && *s->cwd)
    {
      int w = rootfs_mkdir_in_root (root_fd, s->cwd, 0755);
      if (w < 0)
        sandbox_die (status_fd, "working directory %s: %s", s->cwd, strerror (errno));
      close (w);
    }

  if (s->runtime)
    {
      /* The mount points the runtime binds over must exist in the image. */
      char t[64];
      static const char *const points[] = {"/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf"};
      for (size_t i = 0; i < sizeof points / sizeof *points; i++)
        {
          int fd = rootfs_mount_target (root_fd, points[i], i < 3, t, sizeof t);
          if (fd >= 0)
            close (fd);
        }
      close (root_fd);
      sandbox_exec_runtime (a, &ids, etc); /* status_fd closes on exec */
    }

  if (s->readonly_root && mount (NULL, s->merged, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    {
      /* The overlay is not a bind mount: remount it read-only directly. */
      mount (NULL, s->merged, NULL, MS_REMOUNT | MS_RDONLY, NULL);
    }

  /* pivot_root into the overlay without a directory for the old root. */
  if (fchdir (root_fd) < 0 || syscall (SYS_pivot_root, ".", ".") < 0 || umount2 (".", MNT_DETACH) < 0
      || chdir ("/") < 0)
    sandbox_die (status_fd, "pivot_root: %s", strerror (errno));
  close (root_fd);
  if (s->cwd && *s->cwd && chdir (s->cwd) < 0)
    sandbox_die (status_fd, "chdir %s: %s", s->cwd, strerror (errno));

  /* The command starts with default dispositions, whatever kiln had. */
  if (!s->init)
    {
      /* The command is PID 1 itself, as in BuildKit's steps: no init process to
       * fork from kiln's image, which cost ~1 ms a step. The namespace ends with
       * it (the kernel kills what it left running). */
      sandbox_default_signals ();
      sandbox_run_command (a, &ids);
    }
  pid_t cmd = fork ();
  if (cmd < 0)
    sandbox_die (status_fd, "fork: %s", strerror (errno));
  if (cmd == 0)
    {
      sandbox_default_signals ();
      sandbox_run_command (a, &ids);
    }
  /* The init keeps nothing of kiln's open, and the command cannot look into it
   * (/proc/1/fd, /proc/1/mem) even as the same user. */
  close_range (3, ~0U, 0);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  hide_command_line ();
  /* PID 1 ignores signals it has no handler for: pass them to the command, which
   * then stops on TERM or INT even without a handler of its own. */
  if (s->forward_signals)
    sandbox_forward_signals_to (cmd, NULL);
  reap_until (cmd);
}

/* Runs in the new namespaces, as their PID 1. */
int
sandbox_child (void *arg)
{
  struct child_args *a = arg;
  close (a->status_close);
  close (a->go_close);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  const struct sandbox_spec *s = a->s;
  if (s->network == SANDBOX_NET_DEFAULT && s->netns_fd >= 0 && setns (s->netns_fd, CLONE_NEWNET) < 0)
    sandbox_die (a->status_fd, "joining the build's network: %s", strerror (errno));
  if (a->go_fd >= 0)
    {
      char c;
      if (read (a->go_fd, &c, 1) != 1)
        _exit (125);
      close (a->go_fd);
    }
  sandbox_init (a);
}
