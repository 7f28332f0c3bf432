/* store/images.c — the images, tags and repo_digests tables (see the header). */
#include "store/images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_private.h"
#include "util/cleanup.h"

int
images_find (struct kiln_store *st, enum image_key by, const char *key, struct digest *id, struct kiln_err *err)
{
  static const char *const sql[] = {
    [IMAGE_BY_MANIFEST] = "SELECT id FROM images WHERE manifest = ?",
    [IMAGE_BY_REPO_DIGEST] = "SELECT image FROM repo_digests WHERE name = ?",
    [IMAGE_BY_TAG] = "SELECT image FROM tags WHERE name = ?",
    [IMAGE_BY_ID_PREFIX] = "SELECT id FROM images WHERE id LIKE ?",
  };
  _cleanup_buf_ struct buf pat = BUF_INIT;
  if (by == IMAGE_BY_ID_PREFIX)
    {
      buf_printf (&pat, "sha256:%s%%", key);
      key = buf_str (&pat);
    }
  sqlite3_stmt *s = store_prepare (st, sql[by], err);
  if (s == NULL)
    return -1;
  sqlite3_bind_text (s, 1, key, -1, SQLITE_TRANSIENT);
  int found = 0;
  int rc;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW)
    {
      const char *v = (const char *) sqlite3_column_text (s, 0);
      if (found && strcmp (v, id->str) != 0)
        {
          found = 2;
          break;
        }
      snprintf (id->str, sizeof id->str, "%s", v);
      found = found ? found : 1;
    }
  sqlite3_finalize (s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return store_db_error (st, err, "looking up an image");
  return found;
}

int
images_get (struct kiln_store *st, const struct digest *id, struct digest *manifest, int64_t *created,
            struct kiln_err *err)
{
  sqlite3_stmt *s = store_prepare (st, "SELECT manifest, created FROM images WHERE id = ?", err);
  if (s == NULL)
    return -1;
  sqlite3_bind_text (s, 1, id->str, -1, SQLITE_STATIC);
  if (sqlite3_step (s) != SQLITE_ROW)
    {
      sqlite3_finalize (s);
      return 0;
    }
  int r = digest_parse ((const char *) sqlite3_column_text (s, 0), manifest, err);
  *created = sqlite3_column_int64 (s, 1);
  sqlite3_finalize (s);
  return r < 0 ? -1 : 1;
}

static int
insert_tags (struct kiln_store *st, const struct digest *id, const struct strv *tags, struct kiln_err *err)
{
  for (size_t i = 0; tags && i < tags->n; i++)
    if (images_tag (st, id, tags->v[i], err) < 0)
      return -1;
  return 0;
}

int
images_add (struct kiln_store *st, const struct digest *id, const struct digest *manifest, int64_t created,
            const struct layer_blob *blobs, size_t n_blobs, const struct strv *tags, struct kiln_err *err)
{
  if (store_begin (st, err) < 0)
    return -1;
  char when[32];
  snprintf (when, sizeof when, "%lld", (long long) created);
  if (store_exec (st, err, "INSERT OR REPLACE INTO images (id, manifest, created) VALUES (?, ?, ?)", 3, id->str,
                  manifest->str, when)
      < 0)
    goto fail;
  for (size_t i = 0; i < n_blobs; i++)
    if (layer_blobs_add (st, &blobs[i], err) < 0)
      goto fail;
  if (insert_tags (st, id, tags, err) < 0)
    goto fail;
  return store_commit (st, err);
fail:
  store_rollback (st);
  return -1;
}

int
images_delete (struct kiln_store *st, const struct digest *id, struct kiln_err *err)
{
  if (store_begin (st, err) < 0)
    return -1;
  if (store_exec (st, err, "DELETE FROM tags WHERE image = ?", 1, id->str) < 0
      || store_exec (st, err, "DELETE FROM repo_digests WHERE image = ?", 1, id->str) < 0
      || store_exec (st, err, "DELETE FROM images WHERE id = ?", 1, id->str) < 0)
    {
      store_rollback (st);
      return -1;
    }
  return store_commit (st, err);
}

int
images_ids (struct kiln_store *st, struct strv *ids, struct kiln_err *err)
{
  return store_collect_text (st, "SELECT id FROM images ORDER BY created DESC, id", NULL, ids, err);
}

void
image_rows_free (struct image_row *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (v[i].id);
      free (v[i].manifest);
    }
  free (v);
}

int
images_rows (struct kiln_store *st, struct image_row **out, size_t *n, struct kiln_err *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *s = store_prepare (st, "SELECT id, manifest FROM images", err);
  if (s == NULL)
    return -1;
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (s, 0), *m = (const char *) sqlite3_column_text (s, 1);
      *out = xgrow (*out, &cap, *n + 1, sizeof **out);
      (*out)[(*n)++] = (struct image_row){xstrdup (id ? id : ""), xstrdup (m ? m : "")};
    }
  sqlite3_finalize (s);
  if (rc != SQLITE_DONE)
    {
      image_rows_free (*out, *n);
      *out = NULL;
      *n = 0;
      return store_db_error (st, err, "reading");
    }
  return 0;
}

int
images_tags (struct kiln_store *st, const struct digest *id, struct strv *out, struct kiln_err *err)
{
  return store_collect_text (st, "SELECT name FROM tags WHERE image = ? ORDER BY name", id->str, out, err);
}

int
images_tag (struct kiln_store *st, const struct digest *id, const char *tag, struct kiln_err *err)
{
  return store_exec (st, err, "INSERT OR REPLACE INTO tags (name, image) VALUES (?, ?)", 2, tag, id->str);
}

int
images_untag (struct kiln_store *st, const char *tag, struct kiln_err *err)
{
  if (store_exec (st, err, "DELETE FROM tags WHERE name = ?", 1, tag) < 0)
    return -1;
  return sqlite3_changes (st->db) > 0 ? 1 : 0;
}

int
images_repo_digests (struct kiln_store *st, const struct digest *id, struct strv *out, struct kiln_err *err)
{
  return store_collect_text (st, "SELECT name FROM repo_digests WHERE image = ? ORDER BY name", id->str, out, err);
}

int
images_set_repo_digest (struct kiln_store *st, const struct digest *id, const char *repo_at, const char *name,
                        struct kiln_err *err)
{
  if (store_begin (st, err) < 0)
    return -1;
  if (store_exec (st, err, "DELETE FROM repo_digests WHERE image = ? AND substr(name, 1, length(?)) = ?", 3, id->str,
                  repo_at, repo_at)
          < 0
      || store_exec (st, err, "INSERT OR REPLACE INTO repo_digests (name, image) VALUES (?, ?)", 2, name, id->str) < 0)
    {
      store_rollback (st);
      return -1;
    }
  return store_commit (st, err);
}

bool
images_need_blob (struct kiln_store *st, const struct digest *d)
{
  struct kiln_err ignored = {0};
  sqlite3_stmt *q = store_prepare (st,
                                   "SELECT 1 FROM images WHERE id = ?1 OR manifest = ?1 UNION "
                                   "SELECT 1 FROM layer_blobs WHERE digest = ?1",
                                   &ignored);
  kiln_err_clear (&ignored);
  if (q == NULL)
    return false;
  sqlite3_bind_text (q, 1, d->str, -1, SQLITE_STATIC);
  bool needed = sqlite3_step (q) == SQLITE_ROW;
  sqlite3_finalize (q);
  return needed;
}
