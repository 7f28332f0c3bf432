/* store/blobs.c — blobs under ROOT/blobs/sha256, written through tmp/. */
#include "store/blobs.h"
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

struct blob_writer
{
  struct kiln_store *st;
  int fd;
  char tmp[128];
  struct hasher *h;
  uint64_t size;
};

void
blob_path (const struct digest *d, char out[static 80])
{
  snprintf (out, 80, "blobs/sha256/%s", digest_hex (d));
}

struct blob_writer *
blob_begin (struct kiln_store *st, struct kiln_err *err)
{
  struct blob_writer *w = xcalloc (1, sizeof *w);
  w->st = st;
  static unsigned counter;
  snprintf (w->tmp, sizeof w->tmp, "tmp/blob-%d-%u-%lx", (int) getpid (), __atomic_fetch_add (&counter, 1, __ATOMIC_RELAXED), (unsigned long) (uintptr_t) w);
  w->fd = openat (st->root_fd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w->fd < 0)
    {
      kiln_err_set (err, errno, "%s/%s: %s", st->root, w->tmp, strerror (errno));
      free (w);
      return NULL;
    }
  w->h = hasher_new ();
  return w;
}

int
blob_write (struct blob_writer *w, const void *buf, size_t len, struct kiln_err *err)
{
  if (write_all (w->fd, buf, len, w->tmp, err) < 0)
    return -1;
  hasher_update (w->h, buf, len);
  w->size += len;
  return 0;
}

uint64_t
blob_written (const struct blob_writer *w)
{
  return w->size;
}

void
blob_abort (struct blob_writer *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close (w->fd);
  unlinkat (w->st->root_fd, w->tmp, 0);
  hasher_free (w->h);
  free (w);
}

int
blob_commit (struct blob_writer *w, const struct digest *expect, struct digest *out, struct kiln_err *err)
{
  struct digest got;
  hasher_final (w->h, &got);
  if (expect && strcmp (expect->str, got.str) != 0)
    {
      kiln_err_set (err, EIO, "digest mismatch: expected %s, got %s (%llu bytes); nothing was stored", expect->str,
                    got.str, (unsigned long long) w->size);
      blob_abort (w);
      return -1;
    }
  if (fsync (w->fd) < 0)
    {
      kiln_err_set (err, errno, "%s/%s: fsync: %s", w->st->root, w->tmp, strerror (errno));
      blob_abort (w);
      return -1;
    }
  close (w->fd);
  w->fd = -1;
  char final[80];
  blob_path (&got, final);
  if (renameat (w->st->root_fd, w->tmp, w->st->root_fd, final) < 0)
    {
      kiln_err_set (err, errno, "%s/%s: %s", w->st->root, final, strerror (errno));
      blob_abort (w);
      return -1;
    }
  int r = store_sync_dir (w->st, "blobs/sha256", err);
  hasher_free (w->h);
  free (w);
  if (r < 0)
    return -1;
  if (out)
    *out = got;
  return 0;
}

int
blob_put (struct kiln_store *st, const void *data, size_t len, struct digest *out, struct kiln_err *err)
{
  struct digest d;
  digest_bytes (data, len, &d);
  if (out)
    *out = d;
  if (blob_exists (st, &d))
    return 0;
  struct blob_writer *w = blob_begin (st, err);
  if (w == NULL)
    return -1;
  if (blob_write (w, data, len, err) < 0)
    {
      blob_abort (w);
      return -1;
    }
  return blob_commit (w, &d, NULL, err);
}

bool
blob_exists (struct kiln_store *st, const struct digest *d)
{
  char p[80];
  blob_path (d, p);
  return faccessat (st->root_fd, p, F_OK, 0) == 0;
}

int
blob_open (struct kiln_store *st, const struct digest *d, struct kiln_err *err)
{
  char p[80];
  blob_path (d, p);
  int fd = openat (st->root_fd, p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kiln_err_set (err, errno, "blob %s: %s", d->str, errno == ENOENT ? "not in the store" : strerror (errno));
  return fd;
}

char *
blob_read (struct kiln_store *st, const struct digest *d, size_t max, size_t *len, struct kiln_err *err)
{
  _cleanup_close_ int fd = blob_open (st, d, err);
  if (fd < 0)
    return NULL;
  struct buf b = BUF_INIT;
  char what[DIGEST_STR_LEN + 8];
  snprintf (what, sizeof what, "blob %s", d->str);
  if (read_all (fd, max, &b, what, err) < 0)
    {
      buf_free (&b);
      return NULL;
    }
  struct digest got;
  digest_bytes (buf_str (&b), b.len, &got);
  if (strcmp (got.str, d->str) != 0)
    {
      kiln_err_set (err, EIO, "blob %s is corrupt (its content hashes to %s)", d->str, got.str);
      buf_free (&b);
      return NULL;
    }
  if (len)
    *len = b.len;
  return buf_steal (&b);
}

int
blob_verify (struct kiln_store *st, const struct digest *d, uint64_t *size, struct kiln_err *err)
{
  _cleanup_close_ int fd = blob_open (st, d, err);
  if (fd < 0)
    return -1;
  struct hasher *h = hasher_new ();
  char *chunk = xmalloc (1 << 20);
  uint64_t total = 0;
  int ret = 0;
  for (;;)
    {
      ssize_t n = read (fd, chunk, 1 << 20);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          ret = kiln_err_set (err, errno, "blob %s: %s", d->str, strerror (errno));
          break;
        }
      if (n == 0)
        break;
      hasher_update (h, chunk, (size_t) n);
      total += (uint64_t) n;
    }
  free (chunk);
  struct digest got;
  hasher_final (h, &got);
  hasher_free (h);
  if (ret == 0 && strcmp (got.str, d->str) != 0)
    ret = kiln_err_set (err, EIO, "blob %s is corrupt (its content hashes to %s)", d->str, got.str);
  if (size)
    *size = total;
  return ret;
}

int
blob_remove (struct kiln_store *st, const struct digest *d, struct kiln_err *err)
{
  char p[80];
  blob_path (d, p);
  if (unlinkat (st->root_fd, p, 0) < 0 && errno != ENOENT)
    return kiln_err_set (err, errno, "%s/%s: %s", st->root, p, strerror (errno));
  return 0;
}
