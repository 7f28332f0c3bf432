/* store/layer_apply.c — a layer tar → a snapshot tree, contained.
 *
 * The tar is outside input.  Every parent directory is opened with openat2()
 * and RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, so absolute names, "..", and
 * symlinks in the tree all resolve inside the snapshot; the last component is
 * created with O_EXCL | O_NOFOLLOW (or *at() calls that never follow it).  Names
 * with ".." are refused outright rather than clamped, so a hostile layer is an
 * error the user sees, not a silently different tree.
 *
 * The compressed stream is decoded once: a "raw" libarchive reader decompresses
 * and hashes (the diff_id), and the tar reader pulls from it. */
#include "store/layer.h"
#include "store/store_private.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "store/store.h"
#include "util/fsutil.h"
#include "util/buf.h"
#include "util/cleanup.h"

#define CHUNK (1u << 20)
#define MAX_NAME 4096u

static int
openat2_in_root (int root_fd, const char *path, int flags)
{
  return open_resolved (root_fd, path, flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
}

/* ---------- decompressing and hashing on the way ---------- */

struct raw_stream
{
  struct archive *raw;
  struct hasher *h;
  uint64_t size;
  int fd;
  char *buf;
  bool eof;
};

static la_ssize_t
raw_read (struct archive *a, void *ud, const void **out)
{
  struct raw_stream *rs = ud;
  if (rs->eof)
    return 0;
  la_ssize_t n = archive_read_data (rs->raw, rs->buf, CHUNK);
  if (n < 0)
    {
      archive_set_error (a, EIO, "%s", archive_error_string (rs->raw));
      return -1;
    }
  if (n == 0)
    rs->eof = true;
  hasher_update (rs->h, rs->buf, (size_t) n);
  rs->size += (uint64_t) n;
  *out = rs->buf;
  return n;
}

/* ---------- names ---------- */

/* Cleans a tar entry name: drops "/" and "./" prefixes and empty or "." parts.
 * Returns NULL (refused) for ".." parts or an empty result. */
static char *
clean_name (const char *name)
{
  if (strlen (name) > MAX_NAME)
    return NULL;
  struct buf out = BUF_INIT;
  const char *p = name;
  while (*p)
    {
      while (*p == '/')
        p++;
      const char *s = p;
      while (*p && *p != '/')
        p++;
      size_t n = (size_t) (p - s);
      if (n == 0 || (n == 1 && s[0] == '.'))
        continue;
      if (n == 2 && s[0] == '.' && s[1] == '.')
        {
          buf_free (&out);
          return NULL;
        }
      if (out.len)
        buf_putc (&out, '/');
      buf_append (&out, s, n);
    }
  if (out.len == 0)
    {
      buf_free (&out);
      return xstrdup (".");
    }
  return buf_steal (&out);
}

/* ---------- applying ---------- */

struct applier
{
  int root_fd;
  struct archive *tar;
  struct kiln_err *err;
  struct layer_apply_stats stats;
  char *chunk;
  /* Directories whose times (and mode) are set at the end, after their children. */
  struct strv dirs;
  struct timespec *dir_times;
  mode_t *dir_modes;
  size_t dirs_cap;
};

/* Opens the parent directory of `path` inside the root, creating missing
 * directories (mode 0755, as docker does for implied parents). */
static int
open_parent (struct applier *ap, const char *path, const char **base)
{
  const char *slash = strrchr (path, '/');
  *base = slash ? slash + 1 : path;
  if (slash == NULL)
    return dup (ap->root_fd);
  _cleanup_free_ char *dir = xstrndup (path, (size_t) (slash - path));
  int fd = openat2_in_root (ap->root_fd, dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  /* Create it component by component, each step resolved inside the root. */
  int cur = dup (ap->root_fd);
  char *p = dir;
  while (cur >= 0 && *p)
    {
      char *e = strchr (p, '/');
      if (e)
        *e = '\0';
      if (mkdirat (cur, p, 0755) < 0 && errno != EEXIST)
        {
          int saved = errno;
          close (cur);
          errno = saved;
          return -1;
        }
      int next = openat2_in_root (cur, p, O_RDONLY | O_DIRECTORY);
      int saved = errno;
      close (cur);
      errno = saved;
      cur = next;
      if (!e)
        break;
      p = e + 1;
    }
  return cur;
}

/* Removes whatever is at base (for an entry that replaces it); keeps directories
 * when the new entry is a directory too. */
static int
clear_slot (struct applier *ap, int pfd, const char *base, const char *path, bool new_is_dir)
{
  struct stat st;
  if (fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
  if (S_ISDIR (st.st_mode))
    {
      if (new_is_dir)
        return 0;
      /* Replacing a directory by a file removes the directory and its contents. */
      return store_remove_tree (pfd, base, ap->err);
    }
  if (unlinkat (pfd, base, 0) < 0 && errno != ENOENT)
    return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
  return 0;
}

static int
set_xattrs (struct applier *ap, int fd, struct archive_entry *e, const char *path)
{
  archive_entry_xattr_reset (e);
  const char *name;
  const void *value;
  size_t size;
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      if (strncmp (name, "trusted.overlay.", 16) == 0 || strncmp (name, "user.overlay.", 13) == 0)
        continue; /* a layer does not get to fake overlay metadata */
      if (fsetxattr (fd, name, value, size, 0) < 0 && errno != ENOTSUP && errno != EOPNOTSUPP)
        return kiln_err_set (ap->err, errno, "%s: xattr %s: %s", path, name, strerror (errno));
    }
  return 0;
}

static void
remember_dir (struct applier *ap, const char *path, struct archive_entry *e)
{
  size_t cap = ap->dirs_cap;
  strv_push (&ap->dirs, path);
  ap->dir_times = xgrow (ap->dir_times, &cap, ap->dirs.n, sizeof *ap->dir_times);
  cap = ap->dirs_cap;
  ap->dir_modes = xgrow (ap->dir_modes, &cap, ap->dirs.n, sizeof *ap->dir_modes);
  ap->dirs_cap = cap;
  ap->dir_times[ap->dirs.n - 1] = (struct timespec){archive_entry_mtime (e), 0};
  ap->dir_modes[ap->dirs.n - 1] = archive_entry_perm (e);
}

static int
write_file_data (struct applier *ap, int fd, const char *path)
{
  for (;;)
    {
      la_ssize_t n = archive_read_data (ap->tar, ap->chunk, CHUNK);
      if (n < 0)
        return kiln_err_set (ap->err, EIO, "%s: reading the layer: %s", path, archive_error_string (ap->tar));
      if (n == 0)
        return 0;
      const char *p = ap->chunk;
      size_t left = (size_t) n;
      while (left)
        {
          ssize_t w = write (fd, p, left);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
          p += w;
          left -= (size_t) w;
        }
    }
}

static int
apply_entry (struct applier *ap, struct archive_entry *e)
{
  const char *raw = archive_entry_pathname (e);
  if (raw == NULL)
    return kiln_err_set (ap->err, EINVAL, "layer entry without a name");
  _cleanup_free_ char *path = clean_name (raw);
  if (path == NULL)
    return kiln_err_set (ap->err, EINVAL, "layer entry \"%.200s\" points outside the layer (\"..\")", raw);
  if (strcmp (path, ".") == 0)
    return 0; /* the root itself keeps the snapshot's metadata */
  ap->stats.entries++;

  const char *base;
  _cleanup_close_ int pfd = open_parent (ap, path, &base);
  if (pfd < 0 && (errno == ENOENT || errno == ENOTDIR))
    return kiln_err_set (ap->err, errno,
                         "layer entry \"%.200s\": its directory leads through a symlink to nowhere inside the "
                         "layer",
                         raw);
  if (pfd < 0)
    return kiln_err_set (ap->err, errno, "%.200s: cannot open its directory: %s", path, strerror (errno));

  /* Whiteouts become their overlay form. */
  if (strncmp (base, ".wh.", 4) == 0)
    {
      if (strcmp (base, ".wh..wh..opq") == 0)
        {
          if (fsetxattr (pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            return kiln_err_set (ap->err, errno, "%s: marking opaque: %s", path, strerror (errno));
          return 0;
        }
      if (strncmp (base, ".wh..wh.", 8) == 0)
        return 0; /* aufs bookkeeping, meaningless here */
      const char *victim = base + 4;
      if (*victim == '\0' || strcmp (victim, ".") == 0 || strcmp (victim, "..") == 0 || strchr (victim, '/'))
        return kiln_err_set (ap->err, EINVAL, "layer entry \"%.200s\" is not a valid whiteout", raw);
      if (clear_slot (ap, pfd, victim, path, false) < 0)
        return -1;
      if (mknodat (pfd, victim, S_IFCHR | 0, makedev (0, 0)) < 0)
        return kiln_err_set (ap->err, errno, "%s: whiteout: %s", path, strerror (errno));
      /* the entry's owner and time on the whiteout: the layer written back from the
       * snapshot is then the same bytes (its .wh. entry carries them) */
      struct timespec wt[2] = {{archive_entry_mtime (e), 0}, {archive_entry_mtime (e), 0}};
      if (fchownat (pfd, victim, (uid_t) archive_entry_uid (e), (gid_t) archive_entry_gid (e), AT_SYMLINK_NOFOLLOW) < 0
          || utimensat (pfd, victim, wt, AT_SYMLINK_NOFOLLOW) < 0)
        return kiln_err_set (ap->err, errno, "%s: whiteout: %s", path, strerror (errno));
      return 0;
    }

  mode_t type = archive_entry_filetype (e);
  const char *hardlink = archive_entry_hardlink (e);
  mode_t perm = archive_entry_perm (e);
  uid_t uid = (uid_t) archive_entry_uid (e);
  gid_t gid = (gid_t) archive_entry_gid (e);
  struct timespec times[2] = {{archive_entry_mtime (e), 0}, {archive_entry_mtime (e), 0}};

  if (hardlink)
    {
      _cleanup_free_ char *target = clean_name (hardlink);
      if (target == NULL || strcmp (target, ".") == 0)
        return kiln_err_set (ap->err, EINVAL, "layer entry \"%.200s\" links outside the layer (\"%.200s\")", raw,
                             hardlink);
      const char *tbase;
      _cleanup_close_ int tfd = open_parent (ap, target, &tbase);
      if (tfd < 0)
        return kiln_err_set (ap->err, errno, "%s: link target %s: %s", path, target, strerror (errno));
      if (clear_slot (ap, pfd, base, path, false) < 0)
        return -1;
      /* Flags 0: a symlink target is linked itself, never followed. */
      if (linkat (tfd, tbase, pfd, base, 0) < 0)
        return kiln_err_set (ap->err, errno, "%s: link to %s: %s", path, target, strerror (errno));
      return 0;
    }

  switch (type)
    {
    case AE_IFDIR:
      {
        if (clear_slot (ap, pfd, base, path, true) < 0)
          return -1;
        if (mkdirat (pfd, base, 0700) < 0 && errno != EEXIST)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        _cleanup_close_ int fd = openat (pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        if (fchown (fd, uid, gid) < 0 || set_xattrs (ap, fd, e, path) < 0)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        remember_dir (ap, path, e);
        return 0;
      }
    case AE_IFREG:
      {
        if (clear_slot (ap, pfd, base, path, false) < 0)
          return -1;
        _cleanup_close_ int fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        if (write_file_data (ap, fd, path) < 0)
          return -1;
        /* chown first: it clears setuid bits and file capabilities, set after. */
        if (fchown (fd, uid, gid) < 0 || fchmod (fd, perm) < 0)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        if (set_xattrs (ap, fd, e, path) < 0)
          return -1;
        if (futimens (fd, times) < 0)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        return 0;
      }
    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        if (target == NULL)
          target = "";
        if (clear_slot (ap, pfd, base, path, false) < 0)
          return -1;
        if (symlinkat (target, pfd, base) < 0)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        if (fchownat (pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0
            || utimensat (pfd, base, times, AT_SYMLINK_NOFOLLOW) < 0)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        return 0;
      }
    case AE_IFIFO:
      {
        if (clear_slot (ap, pfd, base, path, false) < 0)
          return -1;
        if (mkfifoat (pfd, base, perm) < 0 || fchownat (pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0
            || utimensat (pfd, base, times, AT_SYMLINK_NOFOLLOW) < 0)
          return kiln_err_set (ap->err, errno, "%s: %s", path, strerror (errno));
        return 0;
      }
    case AE_IFCHR:
    case AE_IFBLK:
      /* Device nodes are not created: a container gets its devices from the
       * runtime, and a node in an image is a way around that. */
      ap->stats.skipped_devices++;
      return 0;
    default:
      return 0; /* sockets and unknown types are ignored, as docker does */
    }
}

static int
finish_dirs (struct applier *ap)
{
  /* Deepest first, so setting a parent's time is not undone by its children. */
  for (size_t i = ap->dirs.n; i-- > 0;)
    {
      _cleanup_close_ int fd = openat2_in_root (ap->root_fd, ap->dirs.v[i], O_RDONLY | O_DIRECTORY);
      if (fd < 0)
        continue; /* replaced by a later entry */
      struct timespec t[2] = {ap->dir_times[i], ap->dir_times[i]};
      if (fchmod (fd, ap->dir_modes[i]) < 0 || futimens (fd, t) < 0)
        return kiln_err_set (ap->err, errno, "%s: %s", ap->dirs.v[i], strerror (errno));
    }
  return 0;
}

int
layer_apply_tar (int root_fd, int fd, struct digest *diff_id, uint64_t *size, struct layer_apply_stats *stats,
                 struct kiln_err *err)
{
  struct raw_stream rs = {.fd = fd};
  rs.h = hasher_new ();
  rs.buf = xmalloc (CHUNK);
  rs.raw = archive_read_new ();
  struct applier ap = {.root_fd = root_fd, .err = err};
  ap.chunk = xmalloc (CHUNK);
  ap.tar = archive_read_new ();
  int ret = -1;

  archive_read_support_filter_all (rs.raw);
  archive_read_support_format_raw (rs.raw);
  if (archive_read_open_fd (rs.raw, fd, CHUNK) != ARCHIVE_OK)
    {
      kiln_err_set (err, EIO, "reading the layer: %s", archive_error_string (rs.raw));
      goto out;
    }
  struct archive_entry *re;
  if (archive_read_next_header (rs.raw, &re) != ARCHIVE_OK)
    {
      kiln_err_set (err, EIO, "reading the layer: %s", archive_error_string (rs.raw));
      goto out;
    }
  archive_read_support_format_tar (ap.tar);
  archive_read_support_format_empty (ap.tar);
  if (archive_read_open (ap.tar, &rs, NULL, raw_read, NULL) != ARCHIVE_OK)
    {
      kiln_err_set (err, EIO, "the layer is not a tar archive: %s", archive_error_string (ap.tar));
      goto out;
    }
  for (;;)
    {
      struct archive_entry *e;
      int r = archive_read_next_header (ap.tar, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        {
          kiln_err_set (err, EIO, "reading the layer: %s", archive_error_string (ap.tar));
          goto out;
        }
      if (apply_entry (&ap, e) < 0)
        goto out;
    }
  if (finish_dirs (&ap) < 0)
    goto out;
  /* Hash whatever follows the end-of-archive blocks, too: it is part of the diff_id. */
  const void *tail;
  while (raw_read (ap.tar, &rs, &tail) > 0)
    ;
  hasher_final (rs.h, diff_id ? diff_id : &(struct digest){{0}});
  if (size)
    *size = rs.size;
  if (stats)
    *stats = ap.stats;
  ret = 0;
out:
  archive_read_free (ap.tar);
  archive_read_free (rs.raw);
  hasher_free (rs.h);
  free (rs.buf);
  free (ap.chunk);
  strv_free (&ap.dirs);
  free (ap.dir_times);
  free (ap.dir_modes);
  return ret;
}
