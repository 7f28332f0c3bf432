/* store/snapshots.c — making, finding and locking snapshots. */
#include "store/snapshots.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"

void
snapshot_id_for (const struct digest *diff_id, char out[static 17])
{
  memcpy (out, digest_hex (diff_id), 16);
  out[16] = '\0';
}

int
snapshot_begin (struct kiln_store *st, struct snapshot_new *sn, struct kiln_err *err)
{
  memset (sn, 0, sizeof *sn);
  sn->st = st;
  sn->fs_fd = -1;
  sn->tmp = store_tmp_dir (st, "snap", err);
  if (sn->tmp == NULL)
    return -1;
  _cleanup_buf_ struct buf fs = BUF_INIT;
  buf_printf (&fs, "%s/fs", sn->tmp);
  if (mkdirat (st->root_fd, buf_str (&fs), 0755) < 0
      || (sn->fs_fd = openat (st->root_fd, buf_str (&fs), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&fs), strerror (errno));
      snapshot_abort (sn);
      return -1;
    }
  return 0;
}

void
snapshot_abort (struct snapshot_new *sn)
{
  if (sn->fs_fd >= 0)
    close (sn->fs_fd);
  sn->fs_fd = -1;
  if (sn->tmp)
    {
      struct kiln_err ignored = {0};
      store_remove_tree (sn->st->root_fd, sn->tmp, &ignored);
      kiln_err_clear (&ignored);
    }
  free (sn->tmp);
  sn->tmp = NULL;
}

int
snapshot_lookup (struct kiln_store *st, const struct digest *diff_id, char **id, uint64_t *size,
                 struct kiln_err *err)
{
  sqlite3_stmt *s = store_prepare (st, "SELECT snapshot, size FROM layers WHERE diff_id = ?", err);
  if (s == NULL)
    return -1;
  sqlite3_bind_text (s, 1, diff_id->str, -1, SQLITE_STATIC);
  int rc = sqlite3_step (s);
  int ret = 0;
  if (rc == SQLITE_ROW)
    {
      if (id)
        *id = xstrdup ((const char *) sqlite3_column_text (s, 0));
      if (size)
        *size = (uint64_t) sqlite3_column_int64 (s, 1);
      ret = 1;
    }
  else if (rc != SQLITE_DONE)
    ret = store_db_error (st, err, "reading layers");
  sqlite3_finalize (s);
  return ret;
}

int
snapshot_commit (struct snapshot_new *sn, const struct digest *diff_id, uint64_t size, struct kiln_err *err)
{
  struct kiln_store *st = sn->st;
  char id[17];
  snapshot_id_for (diff_id, id);
  _cleanup_buf_ struct buf final = BUF_INIT;
  buf_printf (&final, "snapshots/%s", id);
  if (store_begin (st, err) < 0)
    {
      snapshot_abort (sn);
      return -1;
    }
  int found = snapshot_lookup (st, diff_id, NULL, NULL, err);
  if (found != 0)
    {
      store_rollback (st);
      snapshot_abort (sn);
      return found < 0 ? -1 : 0; /* someone else made it: ours is not needed */
    }
  /* A directory left by a crash before its record was written is garbage. */
  struct kiln_err ignored = {0};
  store_remove_tree (st->root_fd, buf_str (&final), &ignored);
  kiln_err_clear (&ignored);
  if (renameat (st->root_fd, sn->tmp, st->root_fd, buf_str (&final)) < 0)
    {
      kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&final), strerror (errno));
      store_rollback (st);
      snapshot_abort (sn);
      return -1;
    }
  free (sn->tmp);
  sn->tmp = NULL;
  /* One syncfs puts every file of the tree and its new name on disk before the
   * record that makes it a snapshot: a crash before it leaves an unrecorded
   * directory, which is garbage (removed above by the next commit of it). */
  int synced = syncfs (sn->fs_fd);
  close (sn->fs_fd);
  sn->fs_fd = -1;
  if (synced < 0)
    {
      kiln_err_set (err, errno, "%s: syncfs: %s", st->root, strerror (errno));
      store_rollback (st);
      return -1;
    }
  char sz[32], now[32];
  snprintf (sz, sizeof sz, "%llu", (unsigned long long) size);
  snprintf (now, sizeof now, "%lld", (long long) store_now ());
  if (store_exec (st, err, "INSERT INTO layers (diff_id, snapshot, size, created) VALUES (?, ?, ?, ?)", 4,
                     diff_id->str, id, sz, now)
             < 0
      || store_commit (st, err) < 0)
    {
      store_rollback (st);
      return -1;
    }
  return 0;
}

int
snapshot_open (struct kiln_store *st, const char *id, struct kiln_err *err)
{
  _cleanup_buf_ struct buf p = BUF_INIT;
  buf_printf (&p, "snapshots/%s/fs", id);
  int fd = openat (st->root_fd, buf_str (&p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&p), strerror (errno));
  return fd;
}

int
snapshot_lock (struct kiln_store *st, const struct digest *diff_id, struct kiln_err *err)
{
  if (mkdirat (st->root_fd, "tmp/locks", 0700) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s/tmp/locks: %s", st->root, strerror (errno));
  _cleanup_buf_ struct buf p = BUF_INIT;
  buf_printf (&p, "tmp/locks/%s", digest_hex (diff_id));
  int fd = openat (st->root_fd, buf_str (&p), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&p), strerror (errno));
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return kiln_err_set (err, e, "%s/%s: %s", st->root, buf_str (&p), strerror (e));
      }
  return fd;
}

static void *
writeback_main (void *arg)
{
  syncfs (((struct snapshot_writeback *) arg)->fd);
  return NULL;
}

void
snapshot_writeback_init (struct snapshot_writeback *w, struct snapshot_new *sn, uint64_t threshold)
{
  memset (w, 0, sizeof *w);
  w->fd = sn->fs_fd;
  w->threshold = threshold;
}

void
snapshot_writeback_saw (struct snapshot_writeback *w, size_t bytes)
{
  w->seen += bytes;
  if (!w->started && w->seen >= w->threshold)
    w->started = pthread_create (&w->thread, NULL, writeback_main, w) == 0;
}

void
snapshot_writeback_finish (struct snapshot_writeback *w)
{
  if (w->started)
    pthread_join (w->thread, NULL);
  w->started = false;
}
