/* store/file_digests.c — the file_digests table (see the header). */
#include "store/file_digests.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_private.h"

struct file_digests
{
  struct kiln_store *st;
  sqlite3_stmt *get;
  sqlite3_stmt *put;
};

struct file_digests *
file_digests_new (struct kiln_store *st)
{
  struct file_digests *fd = xcalloc (1, sizeof *fd);
  fd->st = st;
  return fd;
}

void
file_digests_free (struct file_digests *fd)
{
  if (fd == NULL)
    return;
  sqlite3_finalize (fd->get);
  sqlite3_finalize (fd->put);
  free (fd);
}

int
file_digests_get (struct file_digests *fd, const void *key, size_t len, struct digest *out, struct kiln_err *err)
{
  if (fd->get == NULL
      && (fd->get = store_prepare (fd->st, "SELECT digest FROM file_digests WHERE stat_key = ?", err)) == NULL)
    return -1;
  sqlite3_stmt *s = fd->get;
  sqlite3_bind_blob (s, 1, key, (int) len, SQLITE_STATIC);
  int hit = 0;
  if (sqlite3_step (s) == SQLITE_ROW && sqlite3_column_bytes (s, 0) == DIGEST_STR_LEN)
    {
      /* Written by kiln from a digest it computed: the length check is enough. */
      memcpy (out->str, sqlite3_column_text (s, 0), DIGEST_STR_LEN);
      out->str[DIGEST_STR_LEN] = '\0';
      hit = 1;
    }
  sqlite3_reset (s);
  return hit;
}

int
file_digests_put (struct file_digests *fd, const void *key, size_t len, const struct digest *d, struct kiln_err *err)
{
  if (fd->put == NULL
      && (fd->put = store_prepare (fd->st, "INSERT OR REPLACE INTO file_digests (stat_key, digest) VALUES (?, ?)", err))
             == NULL)
    return -1;
  sqlite3_stmt *put = fd->put;
  sqlite3_bind_blob (put, 1, key, (int) len, SQLITE_STATIC);
  sqlite3_bind_text (put, 2, d->str, -1, SQLITE_STATIC);
  int rc = sqlite3_step (put);
  sqlite3_reset (put);
  if (rc != SQLITE_DONE)
    return kiln_err_set (err, EIO, "store: recording a file digest: %s", sqlite3_errstr (rc));
  return 0;
}
