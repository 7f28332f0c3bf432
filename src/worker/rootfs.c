/* worker/rootfs.c — the sandbox's mounts: kernel filesystems with docker's
 * masked and read-only paths, /dev with docker's nodes, and the spec's mounts
 * resolved inside their own roots. */
#include "worker/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "worker/overlay.h"

void
sandbox_die (int status_fd, const char *fmt, ...)
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

int
rootfs_open_in_root (int root_fd, const char *path, int flags, mode_t mode)
{
  return open_resolved (root_fd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int
rootfs_mkdir_in_root (int root_fd, const char *path, mode_t mode)
{
  return rootfs_mkdirs_in_root (root_fd, path, mode, NULL);
}

int
rootfs_mkdirs_in_root (int root_fd, const char *path, mode_t mode, const struct rootfs_owner *own)
{
  /* Each prefix is resolved from the root, inside it: a link made by an earlier
   * step (absolute, relative, through `..`) stays inside, and a link to a
   * directory that is missing gets it made, as docker makes mount targets. */
  char buf[8192], next[8192], pre[8192], name[4096];
  if (strlen (path) >= 4096)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  snprintf (buf, sizeof buf, "/%s", path);
  int links = 0;
  size_t i = 0;
  for (;;)
    {
      while (buf[i] == '/')
        i++;
      size_t start = i;
      while (buf[i] && buf[i] != '/')
        i++;
      if (i == start)
        break;
      snprintf (pre, sizeof pre, "%.*s", (int) i, buf);
      int fd = rootfs_open_in_root (root_fd, pre, O_PATH | O_DIRECTORY, 0);
      if (fd >= 0)
        {
          close (fd);
          continue;
        }
      if (errno != ENOENT)
        return -1;
      /* The parent resolved (the loop got here through it): make the entry. */
      snprintf (pre, sizeof pre, "%.*s", (int) start, buf);
      snprintf (name, sizeof name, "%.*s", (int) (i - start), buf + start);
      int pfd = rootfs_open_in_root (root_fd, pre, O_PATH | O_DIRECTORY, 0);
      if (pfd < 0)
        return -1;
      int made = mkdirat (pfd, name, own ? 0700 : mode) == 0 ? 0 : errno;
      if (made == 0 && own)
        {
          /* Exactly `mode` (no umask) and the owner, before anything can use it. */
          int nd = openat (pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (nd < 0 || fchmod (nd, mode) < 0 || (own->chown && fchown (nd, own->uid, own->gid) < 0))
            made = errno ? errno : EIO;
          if (nd >= 0)
            close (nd);
          if (made)
            {
              close (pfd);
              errno = made;
              return -1;
            }
        }
      if (made != EEXIST)
        {
          close (pfd);
          snprintf (pre, sizeof pre, "%.*s", (int) i, buf);
          fd = rootfs_open_in_root (root_fd, pre, O_PATH | O_DIRECTORY, 0);
          if (fd < 0)
            {
              errno = made ? made : errno;
              return -1;
            }
          close (fd);
          continue;
        }
      /* It exists and does not resolve: a dangling link. Follow it inside the
       * root: its target, then the rest of the path. */
      struct stat st;
      char target[4096];
      ssize_t n;
      if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK (st.st_mode)
          || (n = readlinkat (pfd, name, target, sizeof target - 1)) <= 0)
        {
          close (pfd);
          errno = ENOTDIR;
          return -1;
        }
      close (pfd);
      target[n] = '\0';
      if (++links > 40)
        {
          errno = ELOOP;
          return -1;
        }
      int w = target[0] == '/' ? snprintf (next, sizeof next, "%s%s", target, buf + i)
                               : snprintf (next, sizeof next, "%s/%s%s", pre, target, buf + i);
      if (w < 0 || (size_t) w >= 4096)
        {
          errno = ENAMETOOLONG;
          return -1;
        }
      buf[0] = '/';
      memcpy (buf + (next[0] != '/'), next, (size_t) w + 1);
      i = 0;
    }
  return rootfs_open_in_root (root_fd, buf, O_PATH | O_DIRECTORY, 0);
}

int
rootfs_mount_target (int root_fd, const char *path, bool dir, char *out, size_t outlen)
{
  /* Most targets exist in the image (/proc, /dev, /etc/hosts): found as they are,
   * nothing is created, and a file of a lower layer is not copied up into the
   * step's layer by an open for writing. */
  int have = rootfs_open_in_root (root_fd, path, O_PATH, 0);
  struct stat st;
  if (have >= 0 && fstat (have, &st) == 0 && (S_ISDIR (st.st_mode) == dir))
    {
      snprintf (out, outlen, "/proc/self/fd/%d", have);
      return have;
    }
  if (have >= 0)
    close (have);
  int fd;
  if (dir)
    fd = rootfs_mkdir_in_root (root_fd, path, 0755);
  else
    {
      const char *slash = strrchr (path, '/');
      char parent[4096];
      snprintf (parent, sizeof parent, "%.*s", slash ? (int) (slash - path) : 0, path);
      int pfd = rootfs_mkdir_in_root (root_fd, parent[0] ? parent : "/", 0755);
      if (pfd < 0)
        return -1;
      const char *base = slash ? slash + 1 : path;
      int f = openat (pfd, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
      if (f >= 0)
        close (f);
      close (pfd);
      fd = rootfs_open_in_root (root_fd, path, O_PATH, 0);
    }
  if (fd < 0)
    return -1;
  snprintf (out, outlen, "/proc/self/fd/%d", fd);
  return fd;
}

int
rootfs_bind (int src_fd, int target_fd, bool readonly, bool recursive)
{
  /* A detached copy of the source, made read-only before it is attached: the
   * target is never looked up again by path (a path could lead elsewhere once
   * the mount is there). */
  unsigned rec = recursive ? AT_RECURSIVE : 0;
  int t = (int) syscall (SYS_open_tree, src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
  if (t < 0)
    return -1;
  if (readonly)
    {
      struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
      if (syscall (SYS_mount_setattr, t, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) < 0)
        {
          int e = errno;
          close (t);
          errno = e;
          return -1;
        }
    }
  int r = (int) syscall (SYS_move_mount, t, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int e = errno;
  close (t);
  errno = e;
  return r;
}

/* A directory the kernel's filesystems go on (/proc, /dev, /sys): an ordinary
 * directory of the image, reached through no symlink (an image could otherwise
 * put /proc elsewhere, where docker's masks would not find it), made if missing. */
static int
kernel_target (int root_fd, const char *path, char *out, size_t outlen, int status_fd)
{
  const unsigned long long resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = open_resolved (root_fd, path, O_PATH | O_DIRECTORY, 0, resolve);
  if (fd < 0 && errno == ENOENT && strchr (path + 1, '/') == NULL)
    {
      mkdirat (root_fd, path + 1, 0755);
      fd = open_resolved (root_fd, path, O_PATH | O_DIRECTORY, 0, resolve);
    }
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR || errno == EXDEV))
    sandbox_die (status_fd, "%s must be mounted on an ordinary directory (the image has a symlink or a file there)",
                 path);
  if (fd < 0)
    sandbox_die (status_fd, "%s: %s", path, strerror (errno));
  snprintf (out, outlen, "/proc/self/fd/%d", fd);
  return fd;
}

/* ---------- /dev ---------- */

static void
setup_dev (const struct sandbox_spec *s, int root_fd, int status_fd)
{
  char target[64];
  int dfd = kernel_target (root_fd, "/dev", target, sizeof target, status_fd);
  if (mount ("tmpfs", target, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
    sandbox_die (status_fd, "mounting /dev: %s", strerror (errno));
  close (dfd);
  int dev = rootfs_open_in_root (root_fd, "/dev", O_PATH | O_DIRECTORY, 0);
  if (dev < 0)
    sandbox_die (status_fd, "opening /dev: %s", strerror (errno));
  /* The runtime-spec's default devices, as runc makes them. */
  static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  static const unsigned minors[][2] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++)
    {
      /* As root the nodes are made (a node costs less than a bind mount, here and
       * at teardown); where mknod is refused, the host's node is bound instead. */
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
        sandbox_die (status_fd, "binding %s: %s", src, strerror (errno));
      close (t);
    }
  mkdirat (dev, "pts", 0755);
  mkdirat (dev, "shm", 01777);
  mkdirat (dev, "mqueue", 0755);
  char p[64];
  int pts = openat (dev, "pts", O_PATH | O_CLOEXEC);
  snprintf (p, sizeof p, "/proc/self/fd/%d", pts);
  if (pts < 0
      || mount ("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
    sandbox_die (status_fd, "mounting /dev/pts: %s", strerror (errno));
  close (pts);
  int shm = openat (dev, "shm", O_PATH | O_CLOEXEC);
  snprintf (p, sizeof p, "/proc/self/fd/%d", shm);
  char shm_opts[64];
  snprintf (shm_opts, sizeof shm_opts, "mode=1777,size=%lluk",
            (unsigned long long) ((s->shm_size ? s->shm_size : SANDBOX_SHM_DEFAULT) + 1023) / 1024);
  if (shm < 0 || mount ("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm_opts) < 0)
    sandbox_die (status_fd, "mounting /dev/shm: %s", strerror (errno));
  close (shm);
  if (s->init)
    {
      /* A container's POSIX message queues, private to its IPC namespace. */
      int mq = openat (dev, "mqueue", O_PATH | O_CLOEXEC);
      snprintf (p, sizeof p, "/proc/self/fd/%d", mq);
      if (mq >= 0)
        {
          mount ("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
          close (mq);
        }
    }
  symlinkat ("pts/ptmx", dev, "ptmx");
  symlinkat ("/proc/self/fd", dev, "fd");
  symlinkat ("/proc/self/fd/0", dev, "stdin");
  symlinkat ("/proc/self/fd/1", dev, "stdout");
  symlinkat ("/proc/self/fd/2", dev, "stderr");
  if (access ("/proc/kcore", F_OK) == 0)
    symlinkat ("/proc/kcore", dev, "core");
  close (dev);
}

/* ---------- masked and read-only paths ---------- */

/* docker's (moby daemon/pkg/oci/defaults.go); the sandbox tests compare them
 * with ../shared/conformance/docker-defaults. */
const char *const rootfs_masked_paths[] = {
  "/proc/acpi",        "/proc/asound",      "/proc/interrupts", "/proc/kcore",
  "/proc/keys",        "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
  "/proc/timer_list",  "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
};
const char *const rootfs_readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
const size_t rootfs_n_masked_paths = sizeof rootfs_masked_paths / sizeof *rootfs_masked_paths;
const size_t rootfs_n_readonly_paths = sizeof rootfs_readonly_paths / sizeof *rootfs_readonly_paths;

/* As runc: a directory gets an empty read-only tmpfs, a file /dev/null. */
/* A kernel path to mask or make read-only: reached through no symlink; -1 only
 * when this kernel has no such path, anything else fails the sandbox. */
static int
kernel_path (int root_fd, const char *path, int status_fd)
{
  int fd = open_resolved (root_fd, path, O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0 && errno != ENOENT)
    sandbox_die (status_fd, "%s: %s", path, strerror (errno));
  return fd;
}

static void
mask_path (int root_fd, const char *path, int status_fd)
{
  int fd = kernel_path (root_fd, path, status_fd);
  if (fd < 0)
    return; /* not on this kernel */
  struct stat st;
  char target[64];
  snprintf (target, sizeof target, "/proc/self/fd/%d", fd);
  int r;
  if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
    r = mount ("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0k");
  else
    {
      /* The sandbox's own /dev/null, made above: never a host path. */
      int null = rootfs_open_in_root (root_fd, "/dev/null", O_PATH, 0);
      char src[64];
      snprintf (src, sizeof src, "/proc/self/fd/%d", null);
      r = null < 0 ? -1 : mount (src, target, NULL, MS_BIND, NULL);
      if (null >= 0)
        close (null);
    }
  if (r < 0)
    sandbox_die (status_fd, "masking %s: %s", path, strerror (errno));
  close (fd);
}

static void
readonly_path (int root_fd, const char *path, int status_fd)
{
  int fd = kernel_path (root_fd, path, status_fd);
  if (fd < 0)
    return;
  if (rootfs_bind (fd, fd, true, true) < 0)
    sandbox_die (status_fd, "making %s read-only: %s", path, strerror (errno));
  close (fd);
}

/* docker also masks each possible CPU's thermal_throttle directory where the host has one. */
static void
mask_thermal_throttle (int root_fd, int status_fd)
{
  char buf[64] = "";
  int f = open ("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
  if (f < 0)
    return;
  ssize_t n = read (f, buf, sizeof buf - 1);
  close (f);
  if (n <= 0)
    return;
  buf[n] = '\0';
  for (char *p = buf; *p && *p != '\n';)
    {
      char *end;
      long a = strtol (p, &end, 10), b = a;
      if (end == p)
        break;
      if (*end == '-')
        b = strtol (end + 1, &end, 10);
      for (long c = a; c <= b && c - a < 4096; c++)
        {
          char path[96];
          snprintf (path, sizeof path, "/sys/devices/system/cpu/cpu%ld/thermal_throttle", c);
          mask_path (root_fd, path, status_fd);
        }
      p = *end == ',' ? end + 1 : end;
      if (*p != '\0' && *p != '\n' && (*p < '0' || *p > '9'))
        break;
    }
}

void
rootfs_kernel_mounts (const struct sandbox_spec *s, int root_fd, int status_fd)
{
  char target[64];
  int fd;
  /* /proc of the new PID namespace. */
  fd = kernel_target (root_fd, "/proc", target, sizeof target, status_fd);
  if (mount ("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    sandbox_die (status_fd, "mounting /proc: %s", strerror (errno));
  close (fd);
  setup_dev (s, root_fd, status_fd);
  /* /sys read-only (read-write only for a privileged sandbox, as docker). */
  unsigned long ro = s->privileged ? 0 : MS_RDONLY;
  fd = kernel_target (root_fd, "/sys", target, sizeof target, status_fd);
  if (mount ("sysfs", target, "sysfs", ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    {
      /* Where a new sysfs is refused (the host's network namespace), the host's,
       * read-only all the way down. */
      int host = open ("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (host < 0 || rootfs_bind (host, fd, ro != 0, true) < 0)
        sandbox_die (status_fd, "mounting /sys: %s", strerror (errno));
      close (host);
    }
  close (fd);
  if (s->privileged)
    return;
  for (size_t i = 0; i < rootfs_n_masked_paths; i++)
    mask_path (root_fd, rootfs_masked_paths[i], status_fd);
  mask_thermal_throttle (root_fd, status_fd);
  for (size_t i = 0; i < rootfs_n_readonly_paths; i++)
    readonly_path (root_fd, rootfs_readonly_paths[i], status_fd);
}

/* ---------- the spec's mounts ---------- */

/* A tmpfs in kiln's scratch dir, seen only in this mount namespace, for the
 * uppers of `rw` binds: their writes vanish with the step, as in BuildKit. */
struct scratch
{
  const char *dir;
  bool mounted;
  int status_fd;
};

static void
scratch_path (struct scratch *sc, char *out, size_t len, const char *what, size_t i)
{
  if (!sc->mounted)
    {
      char t[4200];
      snprintf (t, sizeof t, "%s/rw", sc->dir);
      mkdir (sc->dir, 0700);
      mkdir (t, 0700);
      if (mount ("tmpfs", t, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
        sandbox_die (sc->status_fd, "a scratch tmpfs for rw mounts: %s", strerror (errno));
      sc->mounted = true;
    }
  snprintf (out, len, "%s/rw/%s%zu", sc->dir, what, i);
}

static void
mount_error (const struct sandbox_mount *m, int e, int status_fd)
{
  const char *src = m->display ? m->display : m->subpath ? m->subpath : m->source;
  if (e == ENOENT || e == ENOTDIR || e == ELOOP)
    sandbox_die (status_fd, "--mount source \"%s\": not found in %s", src, m->what ? m->what : "its root");
  sandbox_die (status_fd, "--mount source \"%s\" in %s: %s", src, m->what ? m->what : "its root", strerror (e));
}

/* The mount's source, resolved inside `base` (a directory of kiln's or the
 * user's): an O_PATH descriptor. */
static int
resolve_source (const struct sandbox_mount *m, int base, int status_fd)
{
  if (m->subpath == NULL || *m->subpath == '\0')
    return fcntl (base, F_DUPFD_CLOEXEC, 3);
  int fd = rootfs_open_in_root (base, m->subpath, O_PATH, 0);
  if (fd < 0)
    mount_error (m, errno, status_fd);
  return fd;
}

/* Copies a file for a `rw` bind of a single file into the scratch tmpfs. */
static void
copy_to_scratch (int src_path_fd, const char *dst, int status_fd)
{
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", src_path_fd);
  int in = open (p, O_RDONLY | O_CLOEXEC);
  struct stat st;
  int out = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (in < 0 || out < 0 || fstat (in, &st) < 0)
    sandbox_die (status_fd, "copying a rw bind source: %s", strerror (errno));
  for (off_t left = st.st_size; left > 0;)
    {
      ssize_t n = sendfile (out, in, NULL, (size_t) (left > (1 << 30) ? (1 << 30) : left));
      if (n <= 0)
        sandbox_die (status_fd, "copying a rw bind source: %s", strerror (n < 0 ? errno : EIO));
      left -= n;
    }
  fchmod (out, st.st_mode & 07777);
  fchown (out, st.st_uid, st.st_gid);
  close (in);
  close (out);
}

/* Mounts the resolved source `src` (O_PATH) at `target`: bound as it is, or, for
 * a `scratch` mount that may be written, as the lower of an overlay whose upper is
 * in the scratch tmpfs. */
static void
mount_resolved (const struct sandbox_mount *m, size_t i, int src, int target_fd, const char *target,
                struct scratch *sc, int status_fd)
{
  char from[64];
  snprintf (from, sizeof from, "/proc/self/fd/%d", src);
  struct stat st;
  if (fstat (src, &st) < 0)
    sandbox_die (status_fd, "%s: %s", m->target, strerror (errno));
  /* A stage's layers were mounted writable already (mount_layers). */
  bool own_layer = m->scratch && !m->readonly && m->type == SMOUNT_BIND;
  if (own_layer && S_ISDIR (st.st_mode))
    {
      char up[4300], wk[4300];
      scratch_path (sc, up, sizeof up, "u", i);
      scratch_path (sc, wk, sizeof wk, "w", i);
      if (mkdir (up, 0755) < 0 || mkdir (wk, 0700) < 0)
        sandbox_die (status_fd, "scratch for %s: %s", m->target, strerror (errno));
      struct buf o = BUF_INIT;
      buf_printf (&o, "lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=off,metacopy=off", from, up, wk);
      if (mount ("overlay", target, "overlay", MS_NOSUID | MS_NODEV, buf_str (&o)) < 0)
        sandbox_die (status_fd, "a writable layer over %s: %s", m->target, strerror (errno));
      buf_free (&o);
      return;
    }
  if (own_layer && S_ISREG (st.st_mode))
    {
      char copy[4300];
      scratch_path (sc, copy, sizeof copy, "f", i);
      copy_to_scratch (src, copy, status_fd);
      if (mount (copy, target, NULL, MS_BIND, NULL) < 0)
        sandbox_die (status_fd, "bind on %s: %s", m->target, strerror (errno));
      return;
    }
  /* Anything else a rw bind names (a FIFO, a socket, a device) is bound
   * read-only: opening it to copy could block the step forever, and writes must
   * not reach the host. */
  if (rootfs_bind (src, target_fd, m->readonly || own_layer, true) < 0)
    sandbox_die (status_fd, "bind on %s: %s", m->target, strerror (errno));
}

/* A stage's or image's layers as an overlay at a scratch point, read-only or
 * writable into the scratch tmpfs; returns its root.  A stage with no layers
 * (scratch) is the empty directory itself. */
static int
mount_layers (const struct sandbox_mount *m, size_t i, struct scratch *sc, char *point, size_t plen, int status_fd)
{
  char empty[4300];
  scratch_path (sc, point, plen, "m", i);
  scratch_path (sc, empty, sizeof empty, "e", i);
  if (mkdir (point, 0755) < 0 || mkdir (empty, 0755) < 0)
    sandbox_die (status_fd, "overlay for %s: %s", m->target, strerror (errno));
  bool writable = m->scratch && !m->readonly;
  struct strv lowers = STRV_INIT;
  for (const char *p = m->source; *p;)
    {
      size_t n = strcspn (p, ":");
      strv_pushn (&lowers, p, n);
      p += n + (p[n] == ':');
    }
  int fd;
  if (lowers.n == 0 && !writable)
    {
      fd = open (empty, O_PATH | O_DIRECTORY | O_CLOEXEC);
      *point = '\0'; /* nothing mounted there */
    }
  else
    {
      char up[4300] = "", wk[4300] = "";
      if (writable)
        {
          scratch_path (sc, up, sizeof up, "u", i);
          scratch_path (sc, wk, sizeof wk, "w", i);
          if (mkdir (up, 0755) < 0 || mkdir (wk, 0700) < 0)
            sandbox_die (status_fd, "overlay for %s: %s", m->target, strerror (errno));
        }
      struct buf o = BUF_INIT;
      overlay_options (&o, &lowers, empty, writable ? up : NULL, writable ? wk : NULL);
      if (mount ("overlay", point, "overlay", writable ? 0 : MS_RDONLY, buf_str (&o)) < 0)
        sandbox_die (status_fd, "overlay for %s: %s", m->target, strerror (errno));
      buf_free (&o);
      fd = open (point, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  strv_free (&lowers);
  if (fd < 0)
    sandbox_die (status_fd, "overlay for %s: %s", m->target, strerror (errno));
  return fd;
}

/* One entry of a copy-up: `name` in `sfd` (the image's) made in `dfd` (the
 * volume's) as what it is, with its owner, mode and times; a directory's
 * entries follow.  Nothing is followed: a link is copied as a link. */
static void copy_up_dir (int sfd, int dfd, unsigned depth, int status_fd);

static void
copy_up_entry (int sfd, int dfd, const char *name, unsigned depth, int status_fd)
{
  struct stat st;
  if (fstatat (sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    sandbox_die (status_fd, "copying the image's %s into a volume: %s", name, strerror (errno));
  int made = 0;
  if (S_ISDIR (st.st_mode))
    {
      if (mkdirat (dfd, name, 0700) < 0)
        made = -1;
      else
        {
          int s = openat (sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          int d = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (s < 0 || d < 0)
            made = -1;
          else
            copy_up_dir (s, d, depth + 1, status_fd);
          if (s >= 0)
            close (s);
          if (d >= 0)
            close (d);
        }
    }
  else if (S_ISREG (st.st_mode))
    {
      int in = openat (sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int out = openat (dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      made = in < 0 || out < 0 ? -1 : 0;
      for (off_t left = st.st_size; made == 0 && left > 0;)
        {
          ssize_t n = sendfile (out, in, NULL, (size_t) (left > (1 << 30) ? (1 << 30) : left));
          if (n <= 0)
            made = -1, errno = n < 0 ? errno : EIO;
          left -= n;
        }
      if (in >= 0)
        close (in);
      if (out >= 0)
        close (out);
    }
  else if (S_ISLNK (st.st_mode))
    {
      char link[PATH_MAX];
      ssize_t n = readlinkat (sfd, name, link, sizeof link - 1);
      if (n < 0)
        made = -1;
      else
        {
          link[n] = '\0';
          made = symlinkat (link, dfd, name);
        }
    }
  else if (S_ISFIFO (st.st_mode) || S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
    made = mknodat (dfd, name, st.st_mode & S_IFMT, st.st_rdev);
  else
    return; /* a socket is not copied, as docker's copy skips it */
  if (made < 0 || fchownat (dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0
      || (!S_ISLNK (st.st_mode) && fchmodat (dfd, name, st.st_mode & 07777, 0) < 0))
    sandbox_die (status_fd, "copying the image's %s into a volume: %s", name, strerror (errno));
  struct timespec t[2] = {st.st_atim, st.st_mtim};
  utimensat (dfd, name, t, AT_SYMLINK_NOFOLLOW);
}

static void
copy_up_dir (int sfd, int dfd, unsigned depth, int status_fd)
{
  if (depth > 512)
    sandbox_die (status_fd, "copying the image's files into a volume: the tree is too deep");
  struct strv names = STRV_INIT;
  if (dir_sorted_names (sfd, &names) < 0)
    sandbox_die (status_fd, "copying the image's files into a volume: %s", strerror (errno));
  for (size_t i = 0; i < names.n; i++)
    copy_up_entry (sfd, dfd, names.v[i], depth, status_fd);
  strv_free (&names);
}

/* docker's copy-up: a volume bound over a directory of the image gets what the
 * image has there, the first time (the mark) and only when it is empty; its root
 * takes the directory's owner and mode.  `src` is the volume (O_PATH). */
static void
copy_up (const struct sandbox_mount *m, int root_fd, int src, int status_fd)
{
  if (access (m->copy_up_mark, F_OK) == 0)
    return;
  int img = rootfs_open_in_root (root_fd, m->target, O_RDONLY | O_DIRECTORY, 0);
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", src);
  int vol = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (vol < 0)
    sandbox_die (status_fd, "volume for %s: %s", m->target, strerror (errno));
  struct strv have = STRV_INIT;
  if (img >= 0 && dir_sorted_names (vol, &have) == 0 && have.n == 0)
    {
      struct stat st;
      struct strv names = STRV_INIT;
      if (dir_sorted_names (img, &names) < 0 || fstat (img, &st) < 0)
        sandbox_die (status_fd, "copying the image's %s into a volume: %s", m->target, strerror (errno));
      if (names.n)
        {
          copy_up_dir (img, vol, 0, status_fd);
          if (fchown (vol, st.st_uid, st.st_gid) < 0 || fchmod (vol, st.st_mode & 07777) < 0)
            sandbox_die (status_fd, "volume for %s: %s", m->target, strerror (errno));
        }
      strv_free (&names);
    }
  strv_free (&have);
  if (img >= 0)
    close (img);
  close (vol);
  int mark = open (m->copy_up_mark, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (mark >= 0)
    close (mark);
}

void
rootfs_user_mounts (const struct sandbox_spec *s, int root_fd, const char *scratch_dir, int status_fd)
{
  struct scratch sc = {.dir = scratch_dir, .status_fd = status_fd};
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      const struct sandbox_mount *m = &s->mounts[i];
      char target[64];
      int fd;
      if (m->type == SMOUNT_TMPFS)
        {
          if ((fd = rootfs_mount_target (root_fd, m->target, true, target, sizeof target)) < 0)
            sandbox_die (status_fd, "mount target %s: %s", m->target, strerror (errno));
          char o[64] = "";
          if (m->size)
            snprintf (o, sizeof o, "size=%llu", (unsigned long long) m->size);
          if (mount ("tmpfs", target, "tmpfs", m->tmpfs_data ? m->tmpfs_flags : MS_NOSUID | MS_NODEV,
                     m->tmpfs_data ? m->tmpfs_data : o)
              < 0)
            sandbox_die (status_fd, "tmpfs on %s: %s", m->target, strerror (errno));
          close (fd);
          continue;
        }
      if (m->type == SMOUNT_FILE)
        {
          char path[4300];
          scratch_path (&sc, path, sizeof path, "s", i);
          int f = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
          if (f < 0 || write (f, m->content, m->content_len) != (ssize_t) m->content_len
              || fchown (f, m->uid, m->gid) < 0 || fchmod (f, (mode_t) (m->mode >= 0 ? m->mode : 0400)) < 0)
            sandbox_die (status_fd, "a file for %s: %s", m->target, strerror (errno));
          close (f);
          int from = open (path, O_PATH | O_CLOEXEC);
          if (from < 0 || (fd = rootfs_mount_target (root_fd, m->target, false, target, sizeof target)) < 0
              || rootfs_bind (from, fd, true, false) < 0)
            sandbox_die (status_fd, "mount target %s: %s", m->target, strerror (errno));
          close (from);
          close (fd);
          continue;
        }
      /* The root the source is resolved in: a directory of kiln's or the user's
       * (the build context, a cache, a -v host path), or a stage's layers. */
      char point[4300] = "";
      int base = m->type != SMOUNT_BIND ? mount_layers (m, i, &sc, point, sizeof point, status_fd)
                                        : open (m->source, O_PATH | O_CLOEXEC);
      if (base >= 0 && m->type == SMOUNT_BIND && m->source_is_fd)
        {
          /* A mount is made from this namespace's own view of the path; it must
           * still be the directory kiln opened at the start (whoever owns its
           * parent could have put a link to elsewhere in its place). */
          struct stat now, then;
          if (fstat (base, &now) < 0 || fstat (m->source_fd, &then) < 0 || now.st_dev != then.st_dev
              || now.st_ino != then.st_ino)
            sandbox_die (status_fd, "%s changed during the build: it is no longer the directory kiln started with",
                         m->source);
        }
      if (base < 0)
        sandbox_die (status_fd, "%s: %s", m->type == SMOUNT_BIND ? m->source : m->target, strerror (errno));
      int src = resolve_source (m, base, status_fd);
      struct stat st;
      if (src < 0 || fstat (src, &st) < 0)
        sandbox_die (status_fd, "%s: %s", m->target, strerror (errno));
      if (m->copy_up_mark && S_ISDIR (st.st_mode))
        copy_up (m, root_fd, src, status_fd);
      if ((fd = rootfs_mount_target (root_fd, m->target, S_ISDIR (st.st_mode), target, sizeof target)) < 0)
        sandbox_die (status_fd, "mount target %s: %s", m->target, strerror (errno));
      mount_resolved (m, i, src, fd, target, &sc, status_fd);
      close (fd);
      close (src);
      close (base);
      if (*point)
        umount2 (point, MNT_DETACH); /* the bind keeps what it needs of it */
    }
}
