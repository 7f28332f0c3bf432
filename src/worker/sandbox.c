/* worker/sandbox.c — namespaces, overlay root, pivot_root, and the rest. */
#include "worker/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/envmap.h"
#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include "worker/users.h"

/* ---------- small helpers used in the child (no allocation after fork where avoidable) ---------- */

static void __attribute__ ((noreturn)) die (int status_fd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Writes the reason to the status pipe (the parent turns it into the error) and exits. */
static void
die (int status_fd, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (n > 0 && status_fd >= 0)
    {
      ssize_t w = write (status_fd, msg, (size_t) n < sizeof msg ? (size_t) n : sizeof msg - 1);
      (void) w;
    }
  _exit (125);
}

static int
openat2_in_root (int root_fd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {.flags = (uint64_t) (flags | O_CLOEXEC), .mode = mode,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int) syscall (SYS_openat2, root_fd, path, &how, sizeof how);
}

/* mkdir -p inside the root (resolving symlinks inside it), returns an O_PATH fd. */
static int
mkdir_in_root (int root_fd, const char *path, mode_t mode)
{
  char buf[4096];
  snprintf (buf, sizeof buf, "%s", path);
  int cur = dup (root_fd);
  char *p = buf;
  while (*p == '/')
    p++;
  while (cur >= 0 && *p)
    {
      char *e = strchr (p, '/');
      if (e)
        *e = '\0';
      if (*p)
        {
          if (mkdirat (cur, p, mode) < 0 && errno != EEXIST)
            {
              close (cur);
              return -1;
            }
          int next = openat2_in_root (cur, p, O_PATH | O_DIRECTORY, 0);
          close (cur);
          cur = next;
        }
      if (!e)
        break;
      p = e + 1;
      while (*p == '/')
        p++;
    }
  return cur;
}

/* Makes sure `path` exists in the root as a file or directory to mount over;
 * writes the absolute host path of it into out (through /proc/self/fd). */
static int
mount_target (int root_fd, const char *path, bool dir, char *out, size_t outlen)
{
  /* Most targets exist in the image (/proc, /dev, /etc/hosts): found as they are,
   * nothing is created, and a file of a lower layer is not copied up into the
   * step's layer by an open for writing. */
  int have = openat2_in_root (root_fd, path, O_PATH, 0);
  struct stat st;
  if (have >= 0 && fstat (have, &st) == 0 && (S_ISDIR (st.st_mode) == dir))
    {
      snprintf (out, outlen, "/proc/self/fd/%d", have);
      return have;
    }
  if (have >= 0)
    close (have);
  const char *slash = strrchr (path, '/');
  char parent[4096];
  snprintf (parent, sizeof parent, "%.*s", slash ? (int) (slash - path) : 0, path);
  int pfd = mkdir_in_root (root_fd, parent[0] ? parent : "/", 0755);
  if (pfd < 0)
    return -1;
  const char *base = slash ? slash + 1 : path;
  if (*base)
    {
      if (dir)
        mkdirat (pfd, base, 0755);
      else
        {
          int f = openat (pfd, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (f >= 0)
            close (f);
        }
      int t = openat2_in_root (pfd, base, O_PATH, 0);
      close (pfd);
      if (t < 0)
        return -1;
      pfd = t;
    }
  snprintf (out, outlen, "/proc/self/fd/%d", pfd);
  return pfd;
}

/* Remounts the mount at `path` (inside the root) read-only. The path is resolved
 * again so that the new mount, not the directory under it, is what is changed. */
static int
remount_readonly (int root_fd, const char *path)
{
  char target[64];
  int fd = mount_target (root_fd, path, true, target, sizeof target);
  if (fd < 0)
    return -1;
  int r = mount (NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
  close (fd);
  return r;
}

static void
write_file (int dirfd, const char *name, const char *content, int status_fd)
{
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, content, strlen (content)) < 0)
    die (status_fd, "writing %s: %s", name, strerror (errno));
  close (fd);
}

/* ---------- confinement ---------- */

static const cap_value_t default_caps[] = {
  CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,         CAP_FOWNER,     CAP_MKNOD,
  CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,         CAP_SETFCAP,    CAP_SETPCAP,
  CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,   CAP_AUDIT_WRITE,
};

/* Must run while still privileged (before setuid): dropping from the bounding
 * set needs CAP_SETPCAP. */
static int
drop_bounding_set (void)
{
  int last = CAP_LAST_CAP;
  for (int c = 0; c <= last; c++)
    {
      bool keep = false;
      for (size_t i = 0; i < sizeof default_caps / sizeof *default_caps; i++)
        keep |= default_caps[i] == c;
      if (!keep && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        return -1;
    }
  return 0;
}

/* After setuid: root keeps docker's default set; any other user has none
 * (setuid without KEEPCAPS already cleared them). */
static int
drop_capabilities (bool root)
{
  if (!root)
    return 0;
  cap_t caps = cap_init ();
  if (root)
    {
      size_t n = sizeof default_caps / sizeof *default_caps;
      cap_set_flag (caps, CAP_EFFECTIVE, (int) n, default_caps, CAP_SET);
      cap_set_flag (caps, CAP_PERMITTED, (int) n, default_caps, CAP_SET);
      cap_set_flag (caps, CAP_INHERITABLE, (int) n, default_caps, CAP_SET);
    }
  int r = cap_set_proc (caps);
  cap_free (caps);
  return r;
}

/* Syscalls a container must not make, refused with EPERM (docker's profile
 * refuses the same ones; kiln's is a deny list so unknown new syscalls still run). */
static const char *const denied_syscalls[] = {
  "acct",          "add_key",      "bpf",           "clock_adjtime", "clock_settime", "create_module",
  "delete_module", "finit_module", "fsconfig",      "fsmount",       "fsopen",        "fspick",
  "get_kernel_syms", "init_module", "ioperm",       "iopl",          "kcmp",          "kexec_file_load",
  "kexec_load",    "keyctl",       "lookup_dcookie", "mount",        "mount_setattr", "move_mount",
  "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root",
  "query_module",  "quotactl",     "quotactl_fd",   "reboot",        "request_key",   "setns",
  "settimeofday",  "stime",        "swapoff",       "swapon",        "sysfs",         "umount",
  "umount2",       "unshare",      "uselib",        "userfaultfd",   "ustat",         "vm86",
  "vm86old",       "adjtimex",     "syslog",
};

/* The filter is compiled once per process, before any sandbox is cloned, and
 * each step's command only loads the program: compiling it with libseccomp in
 * every step cost ~0.4 ms, loading it costs microseconds. */
static struct sock_fprog seccomp_prog;
static pthread_once_t seccomp_once = PTHREAD_ONCE_INIT;

static void
compile_seccomp (void)
{
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return;
  for (size_t i = 0; i < sizeof denied_syscalls / sizeof *denied_syscalls; i++)
    {
      int nr = seccomp_syscall_resolve_name (denied_syscalls[i]);
      if (nr != __NR_SCMP_ERROR)
        seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0);
    }
  /* No cgroup keeps a step from opening a block device it makes (docker's device
   * cgroup does that), so making one is refused: a RUN cannot read the host's disks. */
  seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (mknod), 1, SCMP_A1 (SCMP_CMP_MASKED_EQ, S_IFMT, S_IFBLK));
  seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (mknodat), 1,
                    SCMP_A2 (SCMP_CMP_MASKED_EQ, S_IFMT, S_IFBLK));
  int fd = memfd_create ("kiln-seccomp", MFD_CLOEXEC);
  struct stat sb;
  if (fd >= 0 && seccomp_export_bpf (ctx, fd) == 0 && fstat (fd, &sb) == 0 && sb.st_size > 0
      && sb.st_size % (off_t) sizeof (struct sock_filter) == 0 && sb.st_size < (1 << 20))
    {
      struct sock_filter *f = xmalloc ((size_t) sb.st_size);
      if (pread (fd, f, (size_t) sb.st_size, 0) == sb.st_size)
        {
          seccomp_prog.filter = f;
          seccomp_prog.len = (unsigned short) (sb.st_size / (off_t) sizeof (struct sock_filter));
        }
      else
        free (f);
    }
  if (fd >= 0)
    close (fd);
  seccomp_release (ctx);
}

/* In the child, after no_new_privs: a filter that failed to compile fails the step. */
static int
load_seccomp (void)
{
  if (seccomp_prog.filter == NULL)
    {
      errno = EINVAL;
      return -1;
    }
  return prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &seccomp_prog, 0, 0);
}

static void
loopback_up (void)
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

/* ---------- the root filesystem ---------- */

static void
overlay_options (const struct sandbox_spec *s, const struct strv *lowers, const char *upper, const char *work,
                 char *opts, size_t len, const char *empty_lower)
{
  size_t off = 0;
  off += (size_t) snprintf (opts + off, len - off, "lowerdir=");
  if (lowers->n == 0)
    off += (size_t) snprintf (opts + off, len - off, "%s", empty_lower);
  for (size_t i = 0; i < lowers->n && off < len; i++)
    off += (size_t) snprintf (opts + off, len - off, "%s%s", i ? ":" : "", lowers->v[i]);
  if (upper && off < len)
    off += (size_t) snprintf (opts + off, len - off, ",upperdir=%s,workdir=%s,redirect_dir=off,metacopy=off,volatile",
                              upper, work);
  (void) s;
}

static void
setup_dev (int root_fd, int status_fd)
{
  char target[64];
  int dfd = mount_target (root_fd, "/dev", true, target, sizeof target);
  if (dfd < 0 || mount ("tmpfs", target, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k") < 0)
    die (status_fd, "mounting /dev: %s", strerror (errno));
  close (dfd);
  int dev = openat2_in_root (root_fd, "/dev", O_PATH | O_DIRECTORY, 0);
  if (dev < 0)
    die (status_fd, "opening /dev: %s", strerror (errno));
  static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  static const unsigned minors[][2] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++)
    {
      /* As root the nodes are made, as runc makes them (a node costs less than a
       * bind mount, here and at teardown); where mknod is refused, the host's
       * node is bound instead. */
      if (mknodat (dev, nodes[i], S_IFCHR | 0666, makedev (minors[i][0], minors[i][1])) == 0)
        {
          fchmodat (dev, nodes[i], 0666, 0);
          continue;
        }
      int f = openat (dev, nodes[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
      if (f >= 0)
        close (f);
      char src[64], dst[128];
      snprintf (src, sizeof src, "/dev/%s", nodes[i]);
      int t = openat (dev, nodes[i], O_PATH | O_CLOEXEC);
      snprintf (dst, sizeof dst, "/proc/self/fd/%d", t);
      if (t < 0 || mount (src, dst, NULL, MS_BIND, NULL) < 0)
        die (status_fd, "binding %s: %s", src, strerror (errno));
      close (t);
    }
  mkdirat (dev, "pts", 0755);
  mkdirat (dev, "shm", 01777);
  mkdirat (dev, "mqueue", 0755);
  int pts = openat (dev, "pts", O_PATH | O_CLOEXEC);
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", pts);
  if (pts < 0 || mount ("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
    die (status_fd, "mounting /dev/pts: %s", strerror (errno));
  close (pts);
  int shm = openat (dev, "shm", O_PATH | O_CLOEXEC);
  snprintf (p, sizeof p, "/proc/self/fd/%d", shm);
  if (shm < 0 || mount ("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
    die (status_fd, "mounting /dev/shm: %s", strerror (errno));
  close (shm);
  symlinkat ("pts/ptmx", dev, "ptmx");
  symlinkat ("/proc/self/fd", dev, "fd");
  symlinkat ("/proc/self/fd/0", dev, "stdin");
  symlinkat ("/proc/self/fd/1", dev, "stdout");
  symlinkat ("/proc/self/fd/2", dev, "stderr");
  close (dev);
}

static void
setup_mounts (const struct sandbox_spec *s, int root_fd, int status_fd)
{
  char target[64];
  int fd;
  /* /proc of the new PID namespace. */
  if ((fd = mount_target (root_fd, "/proc", true, target, sizeof target)) < 0
      || mount ("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    die (status_fd, "mounting /proc: %s", strerror (errno));
  close (fd);
  setup_dev (root_fd, status_fd);
  /* /sys read-only. */
  if ((fd = mount_target (root_fd, "/sys", true, target, sizeof target)) < 0)
    die (status_fd, "/sys: %s", strerror (errno));
  if (mount ("sysfs", target, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0
      && (mount ("/sys", target, NULL, MS_BIND | MS_REC, NULL) < 0
          || mount (NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0))
    die (status_fd, "mounting /sys: %s", strerror (errno));
  close (fd);

  for (size_t i = 0; i < s->n_mounts; i++)
    {
      const struct sandbox_mount *m = &s->mounts[i];
      struct stat sb;
      bool dir = true;
      if (m->type == SMOUNT_BIND && stat (m->source, &sb) == 0)
        dir = S_ISDIR (sb.st_mode);
      if ((fd = mount_target (root_fd, m->target, dir, target, sizeof target)) < 0)
        die (status_fd, "mount target %s: %s", m->target, strerror (errno));
      if (m->type == SMOUNT_TMPFS)
        {
          char o[64] = "";
          if (m->size)
            snprintf (o, sizeof o, "size=%llu", (unsigned long long) m->size);
          if (mount ("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, o) < 0)
            die (status_fd, "tmpfs on %s: %s", m->target, strerror (errno));
        }
      else if (m->type == SMOUNT_BIND)
        {
          if (mount (m->source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
            die (status_fd, "bind %s on %s: %s", m->source, m->target, strerror (errno));
          if (m->readonly && remount_readonly (root_fd, m->target) < 0)
            die (status_fd, "read-only %s: %s", m->target, strerror (errno));
        }
      else
        {
          /* A read-only overlay of another image or stage, mounted on a scratch
           * point first so that a sub-path of it can be bound. */
          char opts[8192];
          char tmpl[] = "/tmp/kiln-ovl-XXXXXX";
          char empty[] = "/tmp/kiln-ovl-empty-XXXXXX";
          if (mkdtemp (empty) == NULL)
            die (status_fd, "overlay for %s: %s", m->target, strerror (errno));
          /* A read-only overlay needs at least two lowers. */
          snprintf (opts, sizeof opts, "lowerdir=%s%s%s", m->source, *m->source ? ":" : "", empty);
          if (strchr (opts, ':') == NULL || *m->source == '\0')
            snprintf (opts, sizeof opts, "lowerdir=%s:%s", empty, empty);
          if (mkdtemp (tmpl) == NULL || mount ("overlay", tmpl, "overlay", MS_RDONLY, opts) < 0)
            die (status_fd, "overlay for %s: %s", m->target, strerror (errno));
          char src[4200];
          snprintf (src, sizeof src, "%s/%s", tmpl, m->subpath ? m->subpath : "");
          if (mount (src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
            die (status_fd, "bind %s on %s: %s", m->subpath ? m->subpath : "/", m->target, strerror (errno));
          if (m->readonly)
            remount_readonly (root_fd, m->target);
          umount2 (tmpl, MNT_DETACH);
          rmdir (tmpl);
          rmdir (empty);
        }
      close (fd);
    }
}

/* ---------- the process tree ---------- */

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
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The spec's environment as execve wants it (a later K=V replaces an earlier K in
 * place, as docker keeps an image's Env), then PATH and HOSTNAME defaults, and
 * HOME: "HOME=/root" when the image sets none, which the child cuts to "HOME=/"
 * for a user other than root (*home points at it, NULL if the image sets HOME). */
static void
command_env (const struct sandbox_spec *s, struct strv *out, char **home)
{
  struct envmap m = ENVMAP_INIT;
  envmap_from_strv (&m, &s->env);
  if (envmap_get (&m, "PATH", 4) == NULL)
    envmap_set (&m, "PATH", DEFAULT_PATH);
  if (envmap_get (&m, "HOSTNAME", 8) == NULL && s->hostname)
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
static void
attach_stdio (const struct sandbox_spec *s)
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

static void __attribute__ ((noreturn))
run_command (const struct child_args *a, const struct user_ids *ids)
{
  const struct sandbox_spec *s = a->s;
  int status_fd = a->status_fd;
  attach_stdio (s);
  if (s->tty)
    {
      setsid ();
      ioctl (0, TIOCSCTTY, 0);
    }
  bool root = ids->uid == 0;
  if (drop_bounding_set () < 0)
    die (status_fd, "dropping capabilities: %s", strerror (errno));
  if (setgroups (ids->n_groups, ids->groups) < 0 || setgid (ids->gid) < 0)
    die (status_fd, "setting groups: %s", strerror (errno));
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || setuid (ids->uid) < 0)
    die (status_fd, "setting user %u: %s", (unsigned) ids->uid, strerror (errno));
  if (drop_capabilities (root) < 0)
    die (status_fd, "dropping capabilities: %s", strerror (errno));
  /* setuid cleared the parent-death signal: a kiln killed outright must still
   * take the command (PID 1 of its namespace) with it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || load_seccomp () < 0)
    die (status_fd, "seccomp: %s", strerror (errno));
  if (a->home && ids->uid != 0)
    a->home[sizeof "HOME=/" - 1] = '\0';
  exec_in_path (s->argv.v[0], s->argv.v, a->envp);
  die (status_fd, "exec %s: %s", s->argv.v[0], strerror (errno));
}

/* ---------- an OCI runtime instead of kiln's own confinement ---------- */

static json_t *
mount_json (const char *dest, const char *type, const char *source, const char *const *opts)
{
  json_t *o = json_pack ("{s:s, s:s, s:s, s:[]}", "destination", dest, "type", type, "source", source, "options");
  for (; opts && *opts; opts++)
    json_array_append_new (json_object_get (o, "options"), json_string (*opts));
  return o;
}

/* Writes BUNDLE/config.json for the spec (the root is already mounted) and
 * execs the runtime; runs as PID 1 of kiln's namespaces, so the container shares
 * kiln's network namespace (none, the build's, or the host's). */
static void __attribute__ ((noreturn))
exec_runtime (const struct sandbox_spec *s, const struct user_ids *ids, const char *etc, int status_fd)
{
  char bundle[4300], cfgpath[4400];
  snprintf (bundle, sizeof bundle, "%s.bundle", s->merged);
  mkdir (bundle, 0700);
  snprintf (cfgpath, sizeof cfgpath, "%s/config.json", bundle);
  bool root = ids->uid == 0;
  json_t *caps = json_array ();
  static const char *const cap_names[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",       "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",       "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  for (size_t i = 0; i < sizeof cap_names / sizeof *cap_names; i++)
    json_array_append_new (caps, json_string (cap_names[i]));
  json_t *gids = json_array ();
  for (size_t i = 0; i < ids->n_groups; i++)
    json_array_append_new (gids, json_integer (ids->groups[i]));
  json_t *env = json_array ();
  bool has_path = false;
  for (size_t i = 0; i < s->env.n; i++)
    {
      json_array_append_new (env, json_string (s->env.v[i]));
      has_path |= strncmp (s->env.v[i], "PATH=", 5) == 0;
    }
  if (!has_path)
    json_array_append_new (env, json_string ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  json_t *args = json_array ();
  for (size_t i = 0; i < s->argv.n; i++)
    json_array_append_new (args, json_string (s->argv.v[i]));
  json_t *process = json_pack (
      "{s:b, s:{s:i, s:i, s:o}, s:o, s:o, s:s, s:{s:o, s:o, s:o, s:o}, s:b}", "terminal", 0, "user", "uid",
      (int) ids->uid, "gid", (int) ids->gid, "additionalGids", gids, "args", args, "env", env, "cwd",
      s->cwd && *s->cwd ? s->cwd : "/", "capabilities", "bounding", json_deep_copy (caps), "effective",
      root ? json_deep_copy (caps) : json_array (), "permitted", root ? json_deep_copy (caps) : json_array (),
      "inheritable", root ? json_deep_copy (caps) : json_array (), "noNewPrivileges", 1);
  json_decref (caps);
  json_t *mounts = json_array ();
  static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
  static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
  static const char *const pts_o[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL};
  static const char *const shm_o[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL};
  static const char *const sys_o[] = {"nosuid", "noexec", "nodev", "ro", NULL};
  static const char *const bind_ro[] = {"rbind", "ro", NULL};
  static const char *const bind_rw[] = {"rbind", "rw", NULL};
  json_array_append_new (mounts, mount_json ("/proc", "proc", "proc", proc_o));
  json_array_append_new (mounts, mount_json ("/dev", "tmpfs", "tmpfs", dev_o));
  json_array_append_new (mounts, mount_json ("/dev/pts", "devpts", "devpts", pts_o));
  json_array_append_new (mounts, mount_json ("/dev/shm", "tmpfs", "shm", shm_o));
  json_array_append_new (mounts, mount_json ("/sys", "sysfs", "sysfs", sys_o));
  char src[4500];
  snprintf (src, sizeof src, "%s/hosts", etc);
  json_array_append_new (mounts, mount_json ("/etc/hosts", "bind", src, s->readonly_root ? bind_ro : bind_rw));
  snprintf (src, sizeof src, "%s/resolv.conf", etc);
  json_array_append_new (mounts, mount_json ("/etc/resolv.conf", "bind", src, s->readonly_root ? bind_ro : bind_rw));
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      const struct sandbox_mount *m = &s->mounts[i];
      if (m->type == SMOUNT_TMPFS)
        {
          static const char *const t_o[] = {"nosuid", "nodev", NULL};
          json_array_append_new (mounts, mount_json (m->target, "tmpfs", "tmpfs", t_o));
        }
      else if (m->type == SMOUNT_BIND)
        json_array_append_new (mounts, mount_json (m->target, "bind", m->source, m->readonly ? bind_ro : bind_rw));
      else
        {
          /* Mount the read-only overlay here; the runtime binds it. */
          char tmpl[] = "/tmp/kiln-ovl-XXXXXX", empty[] = "/tmp/kiln-ovl-empty-XXXXXX", opts[8192];
          if (mkdtemp (tmpl) == NULL || mkdtemp (empty) == NULL)
            die (status_fd, "overlay for %s: %s", m->target, strerror (errno));
          snprintf (opts, sizeof opts, "lowerdir=%s%s%s", m->source, *m->source ? ":" : "", empty);
          if (mount ("overlay", tmpl, "overlay", MS_RDONLY, opts) < 0)
            die (status_fd, "overlay for %s: %s", m->target, strerror (errno));
          snprintf (src, sizeof src, "%s/%s", tmpl, m->subpath ? m->subpath : "");
          json_array_append_new (mounts, mount_json (m->target, "bind", src, bind_ro));
        }
    }
  json_t *cfg = json_pack ("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:{s:[{s:s}, {s:s}, {s:s}, {s:s}], s:[s, s, s, s, s, s, s, s], s:[s, s, s, s, s, s]}}",
                           "ociVersion", "1.0.2", "process", process, "root", "path", s->merged, "readonly",
                           s->readonly_root, "hostname", s->hostname ? s->hostname : "kiln", "mounts", mounts,
                           "linux", "namespaces", "type", "pid", "type", "ipc", "type", "uts", "type", "mount",
                           "maskedPaths", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                           "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                           "readonlyPaths", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                           "/proc/sysrq-trigger");
  if (cfg == NULL || json_dump_file (cfg, cfgpath, JSON_INDENT (2)) < 0)
    die (status_fd, "writing %s", cfgpath);
  json_decref (cfg);
  attach_stdio (s);
  /* The runtime looks at /proc of its own PID namespace (ours): mount it. */
  if (mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    die (status_fd, "mounting /proc for %s: %s", s->runtime, strerror (errno));
  unsigned char rnd[8] = {0};
  int ur = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (ur >= 0)
    {
      if (read (ur, rnd, sizeof rnd) < 0)
        rnd[0] = 0;
      close (ur);
    }
  char id[64];
  snprintf (id, sizeof id, "kiln-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
            rnd[6], rnd[7]);
  execlp (s->runtime, s->runtime, "run", "--bundle", bundle, id, (char *) NULL);
  die (status_fd, "exec %s: %s", s->runtime, strerror (errno));
}

/* ---------- passing signals on ---------- */

static volatile pid_t forward_to = -1;
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define N_FORWARDED (sizeof forwarded / sizeof *forwarded)

static volatile sig_atomic_t forward_as_kill;

static void
forward_signal (int sig)
{
  if (forward_to > 0)
    kill (forward_to, forward_as_kill ? SIGKILL : sig);
}

static void
forward_signals_to (pid_t pid, struct sigaction *saved)
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

static void
restore_signals (struct sigaction *saved)
{
  forward_to = -1;
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded[i], &saved[i], NULL);
}

/* PID 1 of the sandbox: builds the root, then becomes the command (or, with
 * an init, starts it, passes signals on and reaps). */
static void __attribute__ ((noreturn))
sandbox_init (struct child_args *a)
{
  const struct sandbox_spec *s = a->s;
  int status_fd = a->status_fd;
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    die (status_fd, "making mounts private: %s", strerror (errno));
  if (s->hostname)
    sethostname (s->hostname, strlen (s->hostname));
  if (s->network != SANDBOX_NET_HOST)
    loopback_up ();

  /* The overlay root; lowerdirs are relative to snapshots/ so long chains fit. */
  char snapdir[4096];
  snprintf (snapdir, sizeof snapdir, "%s/snapshots", s->store_root);
  if (chdir (snapdir) < 0)
    die (status_fd, "%s: %s", snapdir, strerror (errno));
  char empty[4200];
  snprintf (empty, sizeof empty, "%s.empty", s->merged);
  if (s->lowers.n == 0)
    mkdir (empty, 0755);
  size_t optlen = 256 + s->lowers.n * 32 + 2 * strlen (s->merged) + (s->upper ? strlen (s->upper) + strlen (s->work) : 0);
  char *opts = xmalloc (optlen + 8192);
  overlay_options (s, &s->lowers, s->upper, s->work, opts, optlen + 8192, empty);
  if (mount ("overlay", s->merged, "overlay", s->upper ? 0 : MS_RDONLY, opts) < 0)
    die (status_fd, "mounting the root overlay: %s", strerror (errno));
  free (opts);
  int root_fd = open (s->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    die (status_fd, "%s: %s", s->merged, strerror (errno));

  struct user_ids ids;
  char why[512] = "";
  if (users_resolve (root_fd, s->user, false, &ids, why, sizeof why) < 0)
    die (status_fd, "%s", why);

  if (s->runtime == NULL)
    setup_mounts (s, root_fd, status_fd);

  /* /etc/hosts and /etc/resolv.conf: generated files bound over the image's. */
  char etc[4300];
  snprintf (etc, sizeof etc, "%s.etc", s->merged);
  mkdir (etc, 0755);
  int etc_fd = open (etc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char hosts[512];
  snprintf (hosts, sizeof hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s%s%s",
            s->hostname ? "127.0.1.1\t" : "", s->hostname ? s->hostname : "", s->hostname ? "\n" : "");
  write_file (etc_fd, "hosts", hosts, status_fd);
  if (s->network == SANDBOX_NET_DEFAULT)
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
  close (etc_fd);
  static const char *const etc_files[] = {"hosts", "resolv.conf"};
  for (size_t i = 0; i < 2 && s->runtime == NULL; i++)
    {
      char target[64], src[4400], path[64];
      snprintf (path, sizeof path, "/etc/%s", etc_files[i]);
      snprintf (src, sizeof src, "%s/%s", etc, etc_files[i]);
      int t = mount_target (root_fd, path, false, target, sizeof target);
      if (t < 0 || mount (src, target, NULL, MS_BIND, NULL) < 0)
        die (status_fd, "binding %s: %s", path, strerror (errno));
      close (t);
      if (s->readonly_root)
        remount_readonly (root_fd, path);
    }

  /* The working directory exists before the command runs, as docker makes it. */
  if (s->cwd && *s->cwd)
    {
      int w = mkdir_in_root (root_fd, s->cwd, 0755);
      if (w < 0)
        die (status_fd, "working directory %s: %s", s->cwd, strerror (errno));
      close (w);
    }

  if (s->runtime)
    {
      /* The mount points the runtime binds over must exist in the image. */
      char t[64];
      static const char *const points[] = {"/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf"};
      for (size_t i = 0; i < sizeof points / sizeof *points; i++)
        {
          int fd = mount_target (root_fd, points[i], i < 3, t, sizeof t);
          if (fd >= 0)
            close (fd);
        }
      for (size_t i = 0; i < s->n_mounts; i++)
        {
          struct stat sb;
          bool dir = !(s->mounts[i].type == SMOUNT_BIND && stat (s->mounts[i].source, &sb) == 0 && !S_ISDIR (sb.st_mode));
          int fd = mount_target (root_fd, s->mounts[i].target, dir, t, sizeof t);
          if (fd >= 0)
            close (fd);
        }
      close (root_fd);
      exec_runtime (s, &ids, etc, status_fd); /* status_fd closes on exec */
    }

  if (s->readonly_root && mount (NULL, s->merged, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    {
      /* The overlay is not a bind mount: remount it read-only directly. */
      mount (NULL, s->merged, NULL, MS_REMOUNT | MS_RDONLY, NULL);
    }

  /* pivot_root into the overlay without a directory for the old root. */
  if (fchdir (root_fd) < 0 || syscall (SYS_pivot_root, ".", ".") < 0 || umount2 (".", MNT_DETACH) < 0
      || chdir ("/") < 0)
    die (status_fd, "pivot_root: %s", strerror (errno));
  close (root_fd);
  if (s->cwd && *s->cwd && chdir (s->cwd) < 0)
    die (status_fd, "chdir %s: %s", s->cwd, strerror (errno));

  /* The command starts with default dispositions, whatever kiln had. */
  struct sigaction dfl;
  memset (&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  if (!s->init)
    {
      /* The command is PID 1 itself, as in BuildKit's steps: no init process to
       * fork from kiln's image, which cost ~1 ms a step. The namespace ends with
       * it (the kernel kills what it left running). */
      for (size_t i = 0; i < N_FORWARDED; i++)
        sigaction (forwarded[i], &dfl, NULL);
      run_command (a, &ids);
    }
  pid_t cmd = fork ();
  if (cmd < 0)
    die (status_fd, "fork: %s", strerror (errno));
  if (cmd == 0)
    {
      for (size_t i = 0; i < N_FORWARDED; i++)
        sigaction (forwarded[i], &dfl, NULL);
      run_command (a, &ids);
    }
  close (status_fd);
  /* PID 1 ignores signals it has no handler for: pass them to the command, which
   * then stops on TERM or INT even without a handler of its own. */
  if (s->forward_signals)
    forward_signals_to (cmd, NULL);
  /* Reap everything; leave when the command exits (the kernel then kills the rest). */
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

/* Runs in the new namespaces, as their PID 1. */
static int
sandbox_child (void *arg)
{
  struct child_args *a = arg;
  close (a->status_close);
  close (a->go_close);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  const struct sandbox_spec *s = a->s;
  if (s->network == SANDBOX_NET_DEFAULT && s->netns_fd >= 0 && setns (s->netns_fd, CLONE_NEWNET) < 0)
    die (a->status_fd, "joining the build's network: %s", strerror (errno));
  if (a->go_fd >= 0)
    {
      char c;
      if (read (a->go_fd, &c, 1) != 1)
        _exit (125);
      close (a->go_fd);
    }
  sandbox_init (a);
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
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  bool shared_net = s->network == SANDBOX_NET_DEFAULT && s->netns_fd >= 0;
  if (s->network != SANDBOX_NET_HOST && !shared_net)
    flags |= CLONE_NEWNET;
  /* A private network namespace is connected by the parent before the command
   * starts: the child waits for it on `go`. */
  bool needs_go = s->network == SANDBOX_NET_DEFAULT && s->netns_fd < 0 && sandbox_have_slirp ();
  pthread_once (&seccomp_once, compile_seccomp);
  _cleanup_strv_ struct strv env = STRV_INIT;
  char *home;
  command_env (s, &env, &home);
  struct child_args args = {.s = s,
                            .status_fd = status[1],
                            .status_close = status[0],
                            .go_fd = needs_go ? go[0] : -1,
                            .go_close = go[1],
                            .envp = env.v,
                            .home = home};
  fflush (NULL);
  pid_t child = spawn_sandbox (flags, &args, !needs_go && s->runtime == NULL && !s->init);
  if (child < 0)
    {
      int e = errno;
      close (status[0]);
      close (status[1]);
      close (go[0]);
      close (go[1]);
      if (outp[0] >= 0)
        close (outp[0]), close (outp[1]);
      return kiln_err_set (err, e, "creating the sandbox's namespaces: %s", strerror (e));
    }
  close (status[1]);
  close (go[0]);
  if (outp[1] >= 0)
    close (outp[1]);
  struct sigaction saved[N_FORWARDED];
  forward_as_kill = s->cancel_on_signal && s->runtime == NULL; /* runc passes signals on itself */
  if (s->forward_signals || s->cancel_on_signal)
    forward_signals_to (child, saved);
  pid_t slirp = -1;
  int ret = 0;
  if (s->network == SANDBOX_NET_DEFAULT && s->netns_fd < 0 && sandbox_have_slirp ())
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
      slirp = start_slirp (child, err);
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
  if (outp[0] >= 0)
    {
      /* The command's output, line by line, until every writer has gone. */
      struct buf line = BUF_INIT;
      char chunk[8192];
      ssize_t got2;
      while ((got2 = read (outp[0], chunk, sizeof chunk)) != 0)
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
      close (outp[0]);
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
    restore_signals (saved);
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
      if (unshare (CLONE_NEWNET) < 0)
        _exit (1);
      loopback_up ();
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
sandbox_spec_clear (struct sandbox_spec *s)
{
  strv_free (&s->lowers);
  strv_free (&s->argv);
  strv_free (&s->env);
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      free (s->mounts[i].source);
      free (s->mounts[i].subpath);
      free (s->mounts[i].target);
    }
  free (s->mounts);
  s->mounts = NULL;
  s->n_mounts = 0;
}
