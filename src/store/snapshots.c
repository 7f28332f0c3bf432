/* store/snapshots.c — making, finding and locking snapshots. */
#include "store/snapshots.h"
#include "store/store_private.h"

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
  struct snapshot_batch one = {.st = sn->st};
  snapshot_batch_add (&one, sn, diff_id, size);
  return snapshot_batch_commit (&one, NULL, NULL, err);
}

const char *
snapshot_batch_add (struct snapshot_batch *bt, struct snapshot_new *sn, const struct digest *diff_id, uint64_t size)
{
  bt->st = sn->st;
  for (size_t i = 0; i < bt->n; i++)
    if (strcmp (bt->v[i].diff_id.str, diff_id->str) == 0)
      {
        /* The same layer twice in a batch (two steps that wrote the same): one tree will do. */
        snapshot_abort (sn);
        return bt->v[i].lower;
      }
  bt->v = xgrow (bt->v, &bt->cap, bt->n + 1, sizeof *bt->v);
  struct snapshot_pending *p = &bt->v[bt->n++];
  p->diff_id = *diff_id;
  p->size = size;
  p->tmp = sn->tmp;
  struct buf lower = BUF_INIT;
  buf_printf (&lower, "../%s/fs", sn->tmp);
  p->lower = buf_steal (&lower);
  sn->tmp = NULL;
  close (sn->fs_fd);
  sn->fs_fd = -1;
  return p->lower;
}

#define WRITEBACK_AFTER (16u << 20)

static void *
early_sync (void *arg)
{
  struct snapshot_batch *bt = arg;
  syncfs (bt->st->root_fd);
  bt->sync_done = true;
  return NULL;
}

static void
early_sync_join (struct snapshot_batch *bt)
{
  if (bt->syncing)
    pthread_join (bt->sync_thread, NULL);
  bt->syncing = false;
}

void
snapshot_batch_saw (struct snapshot_batch *bt, struct kiln_store *st, size_t bytes)
{
  bt->st = st;
  bt->unsynced += bytes;
  if (bt->unsynced < WRITEBACK_AFTER)
    return;
  if (bt->syncing && bt->sync_done)
    early_sync_join (bt);
  if (bt->syncing)
    return; /* the running one, or the commit's, takes these bytes too */
  bt->sync_done = false;
  bt->syncing = pthread_create (&bt->sync_thread, NULL, early_sync, bt) == 0;
  bt->unsynced = 0;
}

static void
batch_clear (struct snapshot_batch *bt)
{
  early_sync_join (bt);
  bt->unsynced = 0;
  for (size_t i = 0; i < bt->n; i++)
    {
      if (bt->v[i].tmp)
        {
          struct kiln_err ignored = {0};
          store_remove_tree (bt->st->root_fd, bt->v[i].tmp, &ignored);
          kiln_err_clear (&ignored);
        }
      free (bt->v[i].tmp);
      free (bt->v[i].lower);
    }
  free (bt->v);
  bt->v = NULL;
  bt->n = bt->cap = 0;
}

void
snapshot_batch_abort (struct snapshot_batch *bt)
{
  batch_clear (bt);
}

int
snapshot_batch_commit (struct snapshot_batch *bt, int (*also) (void *ud, struct kiln_err *err), void *ud,
                       struct kiln_err *err)
{
  struct kiln_store *st = bt->st;
  if (bt->n == 0 && also == NULL)
    return 0;
  if (store_begin (st, err) < 0)
    {
      batch_clear (bt);
      return -1;
    }
  _cleanup_free_ bool *record = xcalloc (bt->n ? bt->n : 1, sizeof *record);
  size_t n_record = 0;
  for (size_t i = 0; i < bt->n; i++)
    {
      struct snapshot_pending *p = &bt->v[i];
      int found = snapshot_lookup (st, &p->diff_id, NULL, NULL, err);
      if (found < 0)
        goto fail;
      if (found)
        continue; /* someone else recorded it meanwhile: ours is not needed (cleared below) */
      char id[17];
      snapshot_id_for (&p->diff_id, id);
      _cleanup_buf_ struct buf final = BUF_INIT;
      buf_printf (&final, "snapshots/%s", id);
      /* A directory left by a crash before its record was written is garbage. */
      struct kiln_err ignored = {0};
      store_remove_tree (st->root_fd, buf_str (&final), &ignored);
      kiln_err_clear (&ignored);
      if (renameat (st->root_fd, p->tmp, st->root_fd, buf_str (&final)) < 0)
        {
          kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&final), strerror (errno));
          goto fail;
        }
      free (p->tmp);
      p->tmp = NULL;
      record[i] = true;
      n_record++;
    }
  early_sync_join (bt);
  /* One syncfs puts every file of the trees and their new names on disk before the
   * records that make them snapshots: a crash before it leaves unrecorded
   * directories, which are garbage (removed above by the next commit of them). */
  if (n_record > 0 && syncfs (st->root_fd) < 0)
    {
      kiln_err_set (err, errno, "%s: syncfs: %s", st->root, strerror (errno));
      goto fail;
    }
  char now[32];
  snprintf (now, sizeof now, "%lld", (long long) store_now ());
  for (size_t i = 0; i < bt->n; i++)
    if (record[i])
      {
        char id[17], sz[32];
        snapshot_id_for (&bt->v[i].diff_id, id);
        snprintf (sz, sizeof sz, "%llu", (unsigned long long) bt->v[i].size);
        if (store_exec (st, err, "INSERT INTO layers (diff_id, snapshot, size, created) VALUES (?, ?, ?, ?)", 4,
                        bt->v[i].diff_id.str, id, sz, now)
            < 0)
          goto fail;
      }
  if ((also && also (ud, err) < 0) || store_commit (st, err) < 0)
    goto fail;
  batch_clear (bt);
  return 0;
fail:
  store_rollback (st);
  batch_clear (bt);
  return -1;
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
