/* container/ctrfs.c — a container's filesystem from outside (see the header). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/config.h"
#include "container/mounts.h"
#include "container/ctrfs.h"
#include "container/state.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/proc.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "worker/overlay.h"
#include "worker/rootfs.h"
#include "worker/sandbox.h"

#define MAX_DEPTH 512

/* ---------- the root */

/* Removes the overlay work dirs (cp-work.PID) of cp or export runs that were killed:
 * called under containers.lock, so none of them is in use by a live run of this store. */
static void
sweep_work_dirs (const char *dir)
{
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return;
  _cleanup_strv_ struct strv names = STRV_INIT;
  if (dir_sorted_names (dfd, &names) == 0)
    for (size_t i = 0; i < names.n; i++)
      {
        char *end;
        if (strncmp (names.v[i], "cp-work.", 8) != 0)
          continue;
        long pid = strtol (names.v[i] + 8, &end, 10);
        if (*end || pid <= 0 || (kill ((pid_t) pid, 0) < 0 && errno == ESRCH))
          {
            struct kiln_err ignored = {0};
            store_remove_tree (dfd, names.v[i], &ignored);
            kiln_err_clear (&ignored);
          }
      }
  close (dfd);
}

/* A stopped container's volumes and binds where a start puts them (a tmpfs is not
 * there while it is stopped, as in docker): the sandbox's own code mounts them, in a
 * child of this mount namespace, since it exits on a failure. */
static int
mount_points (const json_t *config, const char *root, const char *id, const char *merged, const char *work,
              struct kiln_err *err)
{
  struct sandbox_spec sb;
  memset (&sb, 0, sizeof sb);
  if (mounts_into_spec (config, root, id, &sb, err) < 0)
    {
      sandbox_spec_clear (&sb);
      return -1;
    }
  struct sandbox_spec view;
  memset (&view, 0, sizeof view);
  view.mounts = xcalloc (sb.n_mounts + 1, sizeof *view.mounts);
  for (size_t i = 0; i < sb.n_mounts; i++)
    if (sb.mounts[i].type == SMOUNT_BIND)
      view.mounts[view.n_mounts++] = sb.mounts[i]; /* shallow: sb owns the strings */
  int ret = 0;
  if (view.n_mounts > 0)
    {
      _cleanup_buf_ struct buf scratch = BUF_INIT;
      buf_printf (&scratch, "%s/scratch", work);
      int p[2] = {-1, -1};
      pid_t pid = -1;
      if (mkdir (buf_str (&scratch), 0700) < 0 || pipe2 (p, O_CLOEXEC) < 0 || (pid = fork ()) < 0)
        ret = kiln_err_set (err, errno, "mounting the container's volumes: %s", strerror (errno));
      else if (pid == 0)
        {
          close (p[0]);
          int rfd = open (merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (rfd < 0)
            sandbox_die (p[1], "%s: %s", merged, strerror (errno));
          rootfs_user_mounts (&view, rfd, buf_str (&scratch), p[1]);
          _exit (0);
        }
      if (pid > 0)
        {
          close (p[1]);
          p[1] = -1;
          char msg[1024];
          ssize_t n = read (p[0], msg, sizeof msg - 1);
          int status = 0;
          while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
            ;
          if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
            ret = kiln_err_set (err, EIO, "mounting the container's volumes: %.*s", n > 0 ? (int) n : 6,
                                n > 0 ? msg : "failed");
        }
      if (p[0] >= 0)
        close (p[0]);
      if (p[1] >= 0)
        close (p[1]);
    }
  free (view.mounts);
  sandbox_spec_clear (&sb);
  return ret;
}

/* A stopped container's overlay, in a mount namespace of this process's own. */
static int
mount_stopped (struct kiln_store *st, const char *id, struct ctr_root *r, struct kiln_err *err)
{
  _cleanup_strv_ struct strv lowers = STRV_INIT;
  _cleanup_free_ char *cfgp = container_path (store_root (st), id, "config.json");
  _cleanup_json_ json_t *cfg = json_load_file (cfgp, 0, NULL);
  const char *image = json_string_value (json_object_get (cfg, "Image"));
  if (image == NULL)
    {
      kiln_err_set (err, EINVAL, "container %s: its config.json names no image", id);
      return -1;
    }
  if (container_image_lowers (st, image, &lowers, err) < 0 || overlay_check (&lowers, "u", "w", err) < 0)
    return -1;
  _cleanup_free_ char *upper = container_path (store_root (st), id, "upper");
  _cleanup_free_ char *merged = container_path (store_root (st), id, "merged");
  {
    _cleanup_free_ char *cdir = container_path (store_root (st), id, NULL);
    sweep_work_dirs (cdir);
  }
  struct buf w = BUF_INIT;
  buf_printf (&w, "%s/containers/%s/cp-work.%d", store_root (st), id, (int) getpid ());
  r->work = buf_steal (&w);
  if ((mkdir (upper, 0755) < 0 && errno != EEXIST) || (mkdir (merged, 0755) < 0 && errno != EEXIST)
      || mkdir (r->work, 0700) < 0)
    {
      kiln_err_set (err, errno, "container %s: making its overlay's directories: %s", id, strerror (errno));
      return -1;
    }
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      kiln_err_set (err, errno, "a mount namespace for the container's overlay: %s", strerror (errno));
      return -1;
    }
  _cleanup_free_ char *snapdir = NULL;
  {
    struct buf b = BUF_INIT;
    buf_printf (&b, "%s/snapshots", store_root (st));
    snapdir = buf_steal (&b);
  }
  _cleanup_buf_ struct buf opts = BUF_INIT, empty = BUF_INIT;
  buf_printf (&empty, "%s.empty", merged);
  if (lowers.n == 0)
    mkdir (buf_str (&empty), 0755);
  overlay_options (&opts, &lowers, buf_str (&empty), upper, r->work);
  /* lowers are relative to snapshots/ (long chains fit a page) */
  int cwd = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int m = chdir (snapdir) == 0 ? mount ("overlay", merged, "overlay", 0, buf_str (&opts)) : -1;
  int e = errno;
  if (cwd >= 0)
    {
      if (fchdir (cwd) < 0)
        e = m < 0 ? e : errno;
      close (cwd);
    }
  if (m < 0)
    {
      kiln_err_set (err, e, "mounting container %s's overlay: %s", id, strerror (e));
      return -1;
    }
  if (mount_points (cfg, store_root (st), id, merged, r->work, err) < 0)
    return -1;
  r->fd = open (merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (r->fd < 0)
    {
      kiln_err_set (err, errno, "%s: %s", merged, strerror (errno));
      return -1;
    }
  return 0;
}

int
ctr_root_open (struct kiln_store *st, const char *id, struct ctr_root *r, struct kiln_err *err)
{
  *r = (struct ctr_root){.fd = -1, .lock = -1};
  struct container_state s;
  if (container_state_get (store_root (st), id, &s, err) < 0)
    return -1;
  if (container_state_live (&s) && s.pid > 0)
    {
      char p[64];
      snprintf (p, sizeof p, "/proc/%d/root", (int) s.pid);
      pid_t pid = s.pid;
      uint64_t start = s.pid_start;
      container_state_clear (&s);
      r->fd = open (p, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (r->fd < 0)
        return kiln_err_set (err, errno, "the container's root (%s): %s", p, strerror (errno));
      /* The root opened is the container's only if its pid was not reused meanwhile. */
      if (!proc_is (pid, start))
        {
          close (r->fd);
          r->fd = -1;
          return kiln_err_set (err, ESRCH, "the container's first process (pid %d) is gone", (int) pid);
        }
      r->running = true;
      return 0;
    }
  container_state_clear (&s);
  /* Stopped: under the lock no start runs, so the upper is ours while it is mounted. */
  if ((r->lock = containers_lock (store_root (st), err)) < 0)
    return -1;
  if (container_state_get_locked (store_root (st), id, &s, err) < 0)
    goto fail;
  bool live = container_state_live (&s);
  container_state_clear (&s);
  if (live)
    {
      /* started meanwhile: its own root, then */
      containers_unlock (r->lock);
      r->lock = -1;
      return ctr_root_open (st, id, r, err);
    }
  if (mount_stopped (st, id, r, err) == 0)
    return 0;
fail:
  ctr_root_close (r);
  return -1;
}

void
ctr_root_close (struct ctr_root *r)
{
  if (r->fd >= 0)
    close (r->fd);
  r->fd = -1;
  if (r->work)
    {
      /* the overlay lives in this process's namespace: gone when it is; unmounted first
       * so that its work dir can be removed */
      char *merged = xstrdup (r->work);
      char *slash = strrchr (merged, '/');
      if (slash)
        {
          strcpy (slash + 1, "merged");
          umount2 (merged, MNT_DETACH);
        }
      free (merged);
      struct kiln_err ignored = {0};
      char *parent = xstrdup (r->work);
      char *base = strrchr (parent, '/');
      if (base)
        {
          *base++ = 0;
          int pfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (pfd >= 0)
            {
              store_remove_tree (pfd, base, &ignored);
              close (pfd);
            }
        }
      kiln_err_clear (&ignored);
      free (parent);
      free (r->work);
      r->work = NULL;
    }
  if (r->lock >= 0)
    containers_unlock (r->lock);
  r->lock = -1;
}

/* ---------- trees as tar */

struct tarw
{
  struct archive *a;
  const struct ctr_tar_opts *o;
  struct
  {
    dev_t dev;
    ino_t ino;
    char *name;
  } *links;
  size_t nlinks, caplinks;
  struct kiln_err *err;
};

static int
tar_fail (struct tarw *t, const char *name)
{
  return kiln_err_set (t->err, EIO, "writing %s to the tar: %s", name, archive_error_string (t->a));
}

static bool
is_mount_root (int dirfd, const char *name)
{
  struct statx sx;
  if (statx (dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
    return false;
  return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* One entry (and, for a directory, what is under it).  `fd` is an O_PATH descriptor of
 * it, `path` its name in the tar ("" for a top whose contents go at the top). */
static int
put (struct tarw *t, int fd, const struct stat *st, const char *path, int depth, bool descend)
{
  if (depth > MAX_DEPTH)
    return kiln_err_set (t->err, ELOOP, "%s: too deep", path);
  if (*path)
    {
      const char *base = strrchr (path, '/');
      base = base ? base + 1 : path;
      if (t->o->no_whiteouts && strncmp (base, ".wh.", 4) == 0)
        return kiln_err_set (t->err, EINVAL, "%s: a name overlayfs keeps for itself (.wh.*) cannot be copied", path);
      struct archive_entry *e = archive_entry_new ();
      archive_entry_copy_stat (e, st);
      if (S_ISDIR (st->st_mode))
        {
          struct buf n = BUF_INIT;
          buf_printf (&n, "%s/", path);
          archive_entry_copy_pathname (e, buf_str (&n));
          buf_free (&n);
        }
      else
        archive_entry_copy_pathname (e, path);
      if (t->o->as_root)
        {
          archive_entry_set_uid (e, 0);
          archive_entry_set_gid (e, 0);
        }
      archive_entry_set_uname (e, "");
      archive_entry_set_gname (e, "");
      if (S_ISLNK (st->st_mode))
        {
          char target[4097];
          ssize_t n = readlinkat (fd, "", target, sizeof target - 1);
          if (n < 0)
            {
              archive_entry_free (e);
              return kiln_err_set (t->err, errno, "%s: %s", path, strerror (errno));
            }
          target[n] = 0;
          archive_entry_copy_symlink (e, target);
        }
      if (S_ISREG (st->st_mode) && st->st_nlink > 1)
        {
          for (size_t i = 0; i < t->nlinks; i++)
            if (t->links[i].dev == st->st_dev && t->links[i].ino == st->st_ino)
              {
                archive_entry_copy_hardlink (e, t->links[i].name);
                archive_entry_set_size (e, 0);
                int r = archive_write_header (t->a, e);
                archive_entry_free (e);
                return r < ARCHIVE_WARN ? tar_fail (t, path) : 0;
              }
          t->links = xgrow (t->links, &t->caplinks, t->nlinks + 1, sizeof *t->links);
          t->links[t->nlinks].dev = st->st_dev;
          t->links[t->nlinks].ino = st->st_ino;
          t->links[t->nlinks++].name = xstrdup (path);
        }
      if (!S_ISREG (st->st_mode))
        archive_entry_set_size (e, 0);
      int r = archive_write_header (t->a, e);
      archive_entry_free (e);
      if (r < ARCHIVE_WARN)
        return tar_fail (t, path);
      if (S_ISREG (st->st_mode) && st->st_size > 0)
        {
          char p[64];
          snprintf (p, sizeof p, "/proc/self/fd/%d", fd);
          /* reopened from the O_PATH descriptor: the same file, never a path again */
          _cleanup_close_ int rfd = open (p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
          if (rfd < 0)
            return kiln_err_set (t->err, errno, "%s: %s", path, strerror (errno));
          char buf[65536];
          off_t left = st->st_size;
          while (left > 0)
            {
              ssize_t n = read (rfd, buf, sizeof buf < (size_t) left ? sizeof buf : (size_t) left);
              if (n < 0 && errno == EINTR)
                continue;
              if (n < 0)
                return kiln_err_set (t->err, errno, "reading %s: %s", path, strerror (errno));
              if (n == 0)
                {
                  /* shrank while read: the tar still needs the size it announced */
                  memset (buf, 0, sizeof buf);
                  n = (ssize_t) (sizeof buf < (size_t) left ? sizeof buf : (size_t) left);
                }
              if (archive_write_data (t->a, buf, (size_t) n) < 0)
                return tar_fail (t, path);
              left -= n;
            }
        }
    }
  if (!S_ISDIR (st->st_mode) || !descend)
    return 0;
  _cleanup_close_ int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return kiln_err_set (t->err, errno, "%s: %s", *path ? path : ".", strerror (errno));
  _cleanup_strv_ struct strv names = STRV_INIT;
  if (dir_sorted_names (dfd, &names) < 0)
    return kiln_err_set (t->err, errno, "reading %s: %s", *path ? path : ".", strerror (errno));
  for (size_t i = 0; i < names.n; i++)
    {
      _cleanup_close_ int cfd = openat (dfd, names.v[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
      struct stat cst;
      if (cfd < 0 || fstat (cfd, &cst) < 0)
        continue; /* gone meanwhile: a running container changes its files */
      struct buf child = BUF_INIT;
      buf_printf (&child, "%s%s%s", path, *path ? "/" : "", names.v[i]);
      bool sub = !(t->o->no_mounts && is_mount_root (dfd, names.v[i]));
      if (!sub && !S_ISDIR (cst.st_mode))
        cst.st_size = 0, cst.st_mode = S_IFREG | (cst.st_mode & 07777); /* a file mounted over: as its mount point */
      int r = put (t, cfd, &cst, buf_str (&child), depth + 1, sub);
      buf_free (&child);
      if (r < 0)
        return -1;
    }
  return 0;
}

int
ctr_tar_tree (struct archive *a, int dirfd, const char *name, const struct ctr_tar_opts *o, struct kiln_err *err)
{
  struct tarw t = {.a = a, .o = o, .err = err};
  int flags = O_PATH | O_CLOEXEC | (o->follow ? 0 : O_NOFOLLOW);
  _cleanup_close_ int fd = name == NULL ? dup (dirfd) : openat (dirfd, name, flags);
  name = name ? name : ".";
  struct stat st;
  int r;
  if (fd < 0 || fstat (fd, &st) < 0)
    r = kiln_err_set (err, errno, "%s: %s", name, strerror (errno));
  else
    r = put (&t, fd, &st, o->as, 0, true);
  for (size_t i = 0; i < t.nlinks; i++)
    free (t.links[i].name);
  free (t.links);
  return r;
}

int
ctr_tar_copy (int in, struct archive *a, bool as_root, struct kiln_err *err)
{
  struct archive *r = archive_read_new ();
  archive_read_support_format_tar (r);
  archive_read_support_filter_all (r);
  if (archive_read_open_fd (r, in, 1 << 16) != ARCHIVE_OK)
    {
      kiln_err_set (err, EINVAL, "reading the tar: %s", archive_error_string (r));
      archive_read_free (r);
      return -1;
    }
  struct archive_entry *e;
  int ret = 0, h;
  while (ret == 0 && (h = archive_read_next_header (r, &e)) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (e);
      const char *base = name ? strrchr (name, '/') : NULL;
      base = base ? base + 1 : name;
      if (base && strncmp (base, ".wh.", 4) == 0)
        {
          ret = kiln_err_set (err, EINVAL, "%s: a name overlayfs keeps for itself (.wh.*) cannot be copied", name);
          break;
        }
      if (as_root)
        {
          archive_entry_set_uid (e, 0);
          archive_entry_set_gid (e, 0);
          archive_entry_set_uname (e, "");
          archive_entry_set_gname (e, "");
        }
      if (archive_write_header (a, e) < ARCHIVE_WARN)
        {
          ret = kiln_err_set (err, EIO, "writing %s: %s", name ? name : "?", archive_error_string (a));
          break;
        }
      const void *buf;
      size_t len;
      la_int64_t off;
      int d;
      la_int64_t at = 0;
      static const char zeros[4096];
      while ((d = archive_read_data_block (r, &buf, &len, &off)) == ARCHIVE_OK && ret == 0)
        {
          /* a sparse entry's holes come back as zeros: the writer's data is sequential */
          while (at < off && ret == 0)
            {
              size_t z = (size_t) (off - at) < sizeof zeros ? (size_t) (off - at) : sizeof zeros;
              if (archive_write_data (a, zeros, z) < 0)
                ret = -1;
              at += (la_int64_t) z;
            }
          if (ret == 0 && archive_write_data (a, buf, len) < 0)
            ret = -1;
          at += (la_int64_t) len;
          if (ret < 0)
            ret = kiln_err_set (err, EIO, "writing %s: %s", name ? name : "?", archive_error_string (a));
        }
      if (ret == 0 && d != ARCHIVE_EOF)
        ret = kiln_err_set (err, EINVAL, "reading the tar: %s", archive_error_string (r));
    }
  if (ret == 0 && h != ARCHIVE_EOF)
    ret = kiln_err_set (err, EINVAL, "reading the tar: %s", archive_error_string (r));
  archive_read_free (r);
  return ret;
}

struct archive *
ctr_tar_writer (int fd, struct kiln_err *err)
{
  struct archive *a = archive_write_new ();
  if (a == NULL || archive_write_set_format_pax_restricted (a) != ARCHIVE_OK
      || archive_write_set_bytes_in_last_block (a, 1) != ARCHIVE_OK || archive_write_open_fd (a, fd) != ARCHIVE_OK)
    {
      kiln_err_set (err, EIO, "a tar writer: %s", a ? archive_error_string (a) : "out of memory");
      if (a)
        archive_write_free (a);
      return NULL;
    }
  return a;
}

int
ctr_tar_close (struct archive *a, struct kiln_err *err)
{
  int r = archive_write_close (a);
  if (r != ARCHIVE_OK)
    kiln_err_set (err, EIO, "finishing the tar: %s", archive_error_string (a));
  archive_write_free (a);
  return r == ARCHIVE_OK ? 0 : -1;
}

/* ---------- docker cp's rule */

/* The last name of a path, without trailing slashes ("" for "/"). */
static char *
last_name (const char *p)
{
  size_t n = strlen (p);
  while (n > 1 && p[n - 1] == '/')
    n--;
  size_t s = n;
  while (s > 0 && p[s - 1] != '/')
    s--;
  if (n == 1 && p[0] == '/')
    return xstrdup ("");
  return xstrndup (p + s, n - s);
}

static char *
parent_of (const char *p)
{
  size_t n = strlen (p);
  while (n > 1 && p[n - 1] == '/')
    n--;
  while (n > 0 && p[n - 1] != '/')
    n--;
  while (n > 1 && p[n - 1] == '/')
    n--;
  return n == 0 ? xstrdup (".") : xstrndup (p, n);
}

static bool
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

int
ctr_cp_plan (const char *src, bool src_dir, const char *dst, bool dst_exists, bool dst_dir, char **dir, char **name,
             struct kiln_err *err)
{
  *dir = *name = NULL;
  bool contents = ends_with (src, "/.") || strcmp (src, ".") == 0 || strcmp (src, "/") == 0;
  if (!src_dir && (ends_with (src, "/") || contents))
    return kiln_err_set (err, ENOTDIR, "not a directory");
  if (src_dir && dst_exists && !dst_dir)
    return kiln_err_set (err, EISDIR, "cannot copy directory");
  if (dst_exists && dst_dir)
    {
      *dir = xstrdup (dst);
      *name = contents ? xstrdup ("") : last_name (src);
      return 0;
    }
  if (!dst_exists && ends_with (dst, "/") && !src_dir)
    return kiln_err_set (err, ENOENT, "no such directory");
  *dir = parent_of (dst);
  *name = last_name (dst);
  if (**name == 0)
    {
      free (*dir);
      free (*name);
      *dir = *name = NULL;
      return kiln_err_set (err, EINVAL, "cannot copy to \"%s\"", dst);
    }
  return 0;
}
