/* store/layer_write.c — a tree → a deterministic layer tar, streamed.
 *
 * The bytes this writes are part of the store's format: a layer built here is
 * kept only as a snapshot plus its diff_id, and regenerated from the snapshot
 * when it leaves the machine.  Any change to what is written (options, order,
 * headers) would make every stored layer unexportable; tests/unit/test_layer.c
 * pins the output.  Change it only with a store migration.
 *
 * libarchive writes the tar; we feed it entries in sorted order and file data in
 * 1 MiB chunks.  Its output goes through sha256 (the diff_id) to the sink. */
#include "store/layer.h"
#include "store/store_private.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

#define CHUNK (1u << 20)
#define MAX_DEPTH 1024u

struct hardlink
{
  dev_t dev;
  ino_t ino;
  char *path;
};

struct writer
{
  struct archive *a;
  const struct layer_write_opts *o;
  const struct layer_sink *sink;
  struct hasher *h;
  uint64_t size;
  struct kiln_err *err;
  bool sink_failed;
  struct hardlink *links;
  size_t n_links, links_cap;
  char *chunk;
  /* Directories a pick keeps only as parents, entered and not yet written: they
   * are written, outermost first, just before the first entry kept below them. */
  struct pending_dir *pending;
  size_t n_pending, pending_cap;
};

struct pending_dir
{
  char *path;
  struct stat st;
  int fd;
  bool written;
};

static la_ssize_t
on_write (struct archive *a, void *ud, const void *buf, size_t len)
{
  (void) a;
  struct writer *w = ud;
  hasher_update (w->h, buf, len);
  w->size += len;
  if (w->sink && w->sink->write && w->sink->write (w->sink->ud, buf, len, w->err) < 0)
    {
      w->sink_failed = true;
      return -1;
    }
  return (la_ssize_t) len;
}

static int
archive_fail (struct writer *w, const char *path)
{
  if (w->sink_failed)
    return -1;
  return kiln_err_set (w->err, EIO, "%s: writing the layer: %s", path, archive_error_string (w->a));
}

/* Overlay's own xattrs describe the overlay, not the file: never copied. */
static bool
skip_xattr (const char *name)
{
  return strncmp (name, "trusted.overlay.", 16) == 0 || strncmp (name, "user.overlay.", 13) == 0
         || strcmp (name, "security.selinux") == 0;
}

static bool
is_opaque (int fd)
{
  char v[4];
  ssize_t n = fgetxattr (fd, "trusted.overlay.opaque", v, sizeof v);
  if (n == 1 && v[0] == 'y')
    return true;
  n = fgetxattr (fd, "user.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

/* Adds the xattrs of an open file to the entry, sorted by name. */
static int
add_xattrs (struct writer *w, struct archive_entry *e, int fd, const char *path)
{
  ssize_t n = flistxattr (fd, NULL, 0);
  if (n <= 0)
    return 0;
  _cleanup_free_ char *names = xmalloc ((size_t) n);
  n = flistxattr (fd, names, (size_t) n);
  if (n < 0)
    return kiln_err_set (w->err, errno, "%s: listing xattrs: %s", path, strerror (errno));
  struct strv sorted = STRV_INIT;
  for (char *p = names; p < names + n; p += strlen (p) + 1)
    if (!skip_xattr (p))
      strv_push (&sorted, p);
  strv_sort (&sorted);
  for (size_t i = 0; i < sorted.n; i++)
    {
      ssize_t vn = fgetxattr (fd, sorted.v[i], NULL, 0);
      if (vn < 0)
        continue;
      char *v = xmalloc ((size_t) vn + 1);
      vn = fgetxattr (fd, sorted.v[i], v, (size_t) vn);
      if (vn >= 0)
        archive_entry_xattr_add_entry (e, sorted.v[i], v, (size_t) vn);
      free (v);
    }
  strv_free (&sorted);
  return 0;
}

static void
set_common (struct writer *w, struct archive_entry *e, const char *path, const struct stat *st)
{
  archive_entry_set_pathname (e, path);
  archive_entry_set_uid (e, st->st_uid);
  archive_entry_set_gid (e, st->st_gid);
  archive_entry_set_mode (e, st->st_mode);
  time_t mt = st->st_mtim.tv_sec;
  if (w->o && w->o->clamp_mtime >= 0 && mt > w->o->clamp_mtime)
    mt = (time_t) w->o->clamp_mtime;
  archive_entry_set_mtime (e, mt, 0);
}

static int
write_header (struct writer *w, struct archive_entry *e, const char *path)
{
  if (archive_write_header (w->a, e) != ARCHIVE_OK)
    return archive_fail (w, path);
  return 0;
}

static int
emit_whiteout (struct writer *w, const char *dir, const char *name, const struct stat *st)
{
  _cleanup_buf_ struct buf p = BUF_INIT;
  buf_printf (&p, "%s%s.wh.%s", dir, *dir ? "/" : "", name);
  struct archive_entry *e = archive_entry_new ();
  struct stat ws = *st;
  ws.st_mode = S_IFREG | 0;
  set_common (w, e, buf_str (&p), &ws);
  archive_entry_set_size (e, 0);
  int r = write_header (w, e, buf_str (&p));
  archive_entry_free (e);
  return r;
}

static int
copy_data (struct writer *w, int fd, const char *path, uint64_t expect)
{
  uint64_t done = 0;
  while (done < expect)
    {
      size_t want = expect - done < CHUNK ? (size_t) (expect - done) : CHUNK;
      ssize_t n = read (fd, w->chunk, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return kiln_err_set (w->err, errno, "%s: %s", path, strerror (errno));
      if (n == 0)
        return kiln_err_set (w->err, EIO, "%s: file shrank while being archived", path);
      if (archive_write_data (w->a, w->chunk, (size_t) n) != n)
        return archive_fail (w, path);
      done += (uint64_t) n;
    }
  return 0;
}

static int walk (struct writer *w, int dfd, const char *rel, unsigned depth);

static bool
skipped_empty (const char *const *skip, int dfd, const char *name, const char *path, const struct stat *st)
{
  bool listed = false;
  for (; *skip && !listed; skip++)
    listed = strcmp (*skip, path) == 0;
  if (!listed)
    return false;
  if (S_ISREG (st->st_mode))
    return st->st_size == 0;
  if (!S_ISDIR (st->st_mode))
    return false;
  int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  struct strv names = STRV_INIT;
  bool empty = dir_sorted_names (fd, &names) == 0 && names.n == 0;
  strv_free (&names);
  close (fd);
  return empty;
}

/* A directory's header, then its opaque marker when it has one. */
static int
dir_entry (struct writer *w, int fd, const char *path, const struct stat *st)
{
  struct archive_entry *e = archive_entry_new ();
  set_common (w, e, path, st);
  archive_entry_set_size (e, 0);
  int ret = add_xattrs (w, e, fd, path);
  if (ret == 0)
    ret = write_header (w, e, path);
  archive_entry_free (e);
  if (ret == 0 && is_opaque (fd))
    {
      struct stat os = *st;
      _cleanup_buf_ struct buf op = BUF_INIT;
      buf_printf (&op, "%s/.wh..wh..opq", path);
      struct archive_entry *oe = archive_entry_new ();
      os.st_mode = S_IFREG | 0;
      set_common (w, oe, buf_str (&op), &os);
      archive_entry_set_size (oe, 0);
      ret = write_header (w, oe, buf_str (&op));
      archive_entry_free (oe);
    }
  return ret;
}

/* Writes the parents-only directories an entry about to be written sits in. */
static int
flush_pending (struct writer *w)
{
  for (size_t i = 0; i < w->n_pending; i++)
    if (!w->pending[i].written)
      {
        if (dir_entry (w, w->pending[i].fd, w->pending[i].path, &w->pending[i].st) < 0)
          return -1;
        w->pending[i].written = true;
      }
  return 0;
}

static int
emit (struct writer *w, int dfd, const char *dir, const char *name, unsigned depth)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return kiln_err_set (w->err, errno, "%s/%s: %s", dir, name, strerror (errno));
  _cleanup_buf_ struct buf path = BUF_INIT;
  buf_printf (&path, "%s%s%s", dir, *dir ? "/" : "", name);

  enum layer_pick pick = w->o && w->o->pick ? w->o->pick (w->o->pick_arg, buf_str (&path), &st) : LAYER_KEEP;
  if (pick == LAYER_SKIP || (pick == LAYER_PARENT_ONLY && !S_ISDIR (st.st_mode)))
    return 0;
  if (pick == LAYER_PARENT_ONLY)
    {
      int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return kiln_err_set (w->err, errno, "%s: %s", buf_str (&path), strerror (errno));
      w->pending = xgrow (w->pending, &w->pending_cap, w->n_pending + 1, sizeof *w->pending);
      w->pending[w->n_pending++] = (struct pending_dir){xstrdup (buf_str (&path)), st, fd, false};
      int ret = walk (w, fd, buf_str (&path), depth + 1);
      struct pending_dir *top = &w->pending[--w->n_pending];
      free (top->path);
      close (top->fd);
      return ret;
    }
  bool whiteout = S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0);
  if (!whiteout && w->o && w->o->skip_empty && skipped_empty (w->o->skip_empty, dfd, name, buf_str (&path), &st))
    return 0;
  /* Sockets cannot be in a tar; device nodes are never part of kiln's layers (a
   * container gets its devices from the runtime), so snapshots hold none either. */
  if (!whiteout && (S_ISSOCK (st.st_mode) || S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode)))
    return 0;
  /* Something is written: the parents-only directories above it first. */
  if (w->n_pending && flush_pending (w) < 0)
    return -1;
  if (whiteout)
    return emit_whiteout (w, dir, name, &st);

  if (S_ISDIR (st.st_mode))
    {
      _cleanup_close_ int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY);
      if (fd < 0)
        return kiln_err_set (w->err, errno, "%s: %s", buf_str (&path), strerror (errno));
      if (dir_entry (w, fd, buf_str (&path), &st) < 0)
        return -1;
      return walk (w, fd, buf_str (&path), depth + 1);
    }

  struct archive_entry *e = archive_entry_new ();
  set_common (w, e, buf_str (&path), &st);
  int ret = 0;
  _cleanup_close_ int fd = -1;

  if (S_ISREG (st.st_mode))
    {
      fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        {
          ret = kiln_err_set (w->err, errno, "%s: %s", buf_str (&path), strerror (errno));
          goto out;
        }
      if (add_xattrs (w, e, fd, buf_str (&path)) < 0)
        {
          ret = -1;
          goto out;
        }
    }

  if (S_ISREG (st.st_mode) && st.st_nlink > 1)
    {
      for (size_t i = 0; i < w->n_links; i++)
        if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino)
          {
            archive_entry_set_hardlink (e, w->links[i].path);
            archive_entry_set_size (e, 0);
            ret = write_header (w, e, buf_str (&path));
            goto out;
          }
      w->links = xgrow (w->links, &w->links_cap, w->n_links + 1, sizeof *w->links);
      w->links[w->n_links++] = (struct hardlink){st.st_dev, st.st_ino, xstrdup (buf_str (&path))};
    }

  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (dfd, name, target, sizeof target - 1);
      if (n < 0)
        {
          ret = kiln_err_set (w->err, errno, "%s: %s", buf_str (&path), strerror (errno));
          goto out;
        }
      target[n] = '\0';
      archive_entry_set_symlink (e, target);
      archive_entry_set_size (e, 0);
    }
  else if (S_ISREG (st.st_mode))
    archive_entry_set_size (e, st.st_size);
  else
    archive_entry_set_size (e, 0);

  if ((ret = write_header (w, e, buf_str (&path))) < 0)
    goto out;
  if (S_ISREG (st.st_mode) && st.st_size > 0)
    ret = copy_data (w, fd, buf_str (&path), (uint64_t) st.st_size);
out:
  archive_entry_free (e);
  return ret;
}

static int
walk (struct writer *w, int dfd, const char *rel, unsigned depth)
{
  if (depth > MAX_DEPTH)
    return kiln_err_set (w->err, ELOOP, "%s: directories nested deeper than %u levels", rel, MAX_DEPTH);
  struct strv names = STRV_INIT;
  if (dir_sorted_names (dfd, &names) < 0)
    {
      int e = errno;
      strv_free (&names);
      return kiln_err_set (w->err, e, "%s: %s", rel, strerror (e));
    }
  int ret = 0;
  for (size_t i = 0; i < names.n && ret == 0; i++)
    ret = emit (w, dfd, rel, names.v[i], depth);
  strv_free (&names);
  return ret;
}

int
layer_write_tar (int dirfd, const struct layer_write_opts *o, const struct layer_sink *sink, struct digest *diff_id,
                 uint64_t *size, struct kiln_err *err)
{
  struct writer w = {.o = o, .sink = sink, .err = err};
  w.h = hasher_new ();
  w.chunk = xmalloc (CHUNK);
  w.a = archive_write_new ();
  int ret = -1;
  if (archive_write_set_format_pax_restricted (w.a) != ARCHIVE_OK
      || archive_write_set_bytes_per_block (w.a, 65536) != ARCHIVE_OK
      || archive_write_set_bytes_in_last_block (w.a, 1) != ARCHIVE_OK
      || archive_write_open2 (w.a, &w, NULL, on_write, NULL, NULL) != ARCHIVE_OK)
    {
      kiln_err_set (err, EIO, "starting a layer: %s", archive_error_string (w.a));
      goto out;
    }
  if (walk (&w, dirfd, "", 0) < 0)
    goto out;
  if (archive_write_close (w.a) != ARCHIVE_OK)
    {
      archive_fail (&w, "end of layer");
      goto out;
    }
  hasher_final (w.h, diff_id);
  if (size)
    *size = w.size;
  ret = 0;
out:
  archive_write_free (w.a);
  hasher_free (w.h);
  free (w.chunk);
  for (size_t i = 0; i < w.n_links; i++)
    free (w.links[i].path);
  free (w.links);
  for (size_t i = 0; i < w.n_pending; i++)
    {
      free (w.pending[i].path);
      close (w.pending[i].fd);
    }
  free (w.pending);
  return ret;
}
