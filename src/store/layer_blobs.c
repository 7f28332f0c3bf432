/* store/layer_blobs.c — the layer_blobs and layers tables (see the header). */
#include "store/layer_blobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_private.h"

int
layer_blobs_add (struct kiln_store *st, const struct layer_blob *b, struct kiln_err *err)
{
  char sz[32];
  snprintf (sz, sizeof sz, "%llu", (unsigned long long) b->size);
  return store_exec (st, err, "INSERT OR IGNORE INTO layer_blobs (digest, diff_id, media_type, size) VALUES (?, ?, ?, ?)",
                     4, b->digest.str, b->diff_id.str, b->media_type, sz);
}

int
layer_blobs_find (struct kiln_store *st, const struct digest *diff_id, struct layer_blob **out, size_t *n,
                  struct kiln_err *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *s
      = store_prepare (st,
                       diff_id ? "SELECT digest, media_type, size, diff_id FROM layer_blobs WHERE diff_id = ?"
                               : "SELECT digest, media_type, size, diff_id FROM layer_blobs",
                       err);
  if (s == NULL)
    return -1;
  if (diff_id)
    sqlite3_bind_text (s, 1, diff_id->str, -1, SQLITE_STATIC);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW)
    {
      struct layer_blob b = {0};
      struct kiln_err ignored = {0};
      const char *mt = (const char *) sqlite3_column_text (s, 1);
      if (digest_parse ((const char *) sqlite3_column_text (s, 0), &b.digest, &ignored) < 0
          || digest_parse ((const char *) sqlite3_column_text (s, 3), &b.diff_id, &ignored) < 0)
        {
          kiln_err_clear (&ignored);
          continue;
        }
      snprintf (b.media_type, sizeof b.media_type, "%s", mt ? mt : "");
      b.size = (uint64_t) sqlite3_column_int64 (s, 2);
      *out = xgrow (*out, &cap, *n + 1, sizeof **out);
      (*out)[(*n)++] = b;
    }
  sqlite3_finalize (s);
  if (rc != SQLITE_DONE)
    {
      free (*out);
      *out = NULL;
      *n = 0;
      return store_db_error (st, err, "reading layer blobs");
    }
  return 0;
}

void
layer_recs_free (struct layer_rec *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (v[i].diff_id);
      free (v[i].snapshot);
    }
  free (v);
}

int
layer_recs_list (struct kiln_store *st, struct layer_rec **out, size_t *n, struct kiln_err *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *s = store_prepare (st, "SELECT diff_id, snapshot FROM layers", err);
  if (s == NULL)
    return -1;
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW)
    {
      const char *d = (const char *) sqlite3_column_text (s, 0), *sn = (const char *) sqlite3_column_text (s, 1);
      *out = xgrow (*out, &cap, *n + 1, sizeof **out);
      (*out)[(*n)++] = (struct layer_rec){xstrdup (d ? d : ""), xstrdup (sn ? sn : "")};
    }
  sqlite3_finalize (s);
  if (rc != SQLITE_DONE)
    {
      layer_recs_free (*out, *n);
      *out = NULL;
      *n = 0;
      return store_db_error (st, err, "reading");
    }
  return 0;
}

int
layer_recs_forget (struct kiln_store *st, const char *diff_id, struct kiln_err *err)
{
  if (store_exec (st, err, "DELETE FROM layers WHERE diff_id = ?", 1, diff_id) < 0
      || store_exec (st, err, "DELETE FROM layer_blobs WHERE diff_id = ?", 1, diff_id) < 0)
    return -1;
  return 0;
}
