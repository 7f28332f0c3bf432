/* store/containers.c — container records and their directories (see the header
 * for the invariants every function here keeps). */
#include "store/containers.h"
#include "store/store_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/volumes.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

void
container_rec_clear (struct container_rec *r)
{
  free (r->id);
  free (r->name);
  free (r->image);
  memset (r, 0, sizeof *r);
}

void
container_recs_free (struct container_rec *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    container_rec_clear (&r[i]);
  free (r);
}

char *
container_path (const char *root, const char *id, const char *file)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s/containers/%s%s%s", root, id, file ? "/" : "", file ? file : "");
  return buf_steal (&b);
}

static int
ensure_containers_dir (struct kiln_store *st, struct kiln_err *err)
{
  if (mkdirat (st->root_fd, "containers", 0700) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s/containers: %s", st->root, strerror (errno));
  return 0;
}

char *
containers_new_dir (struct kiln_store *st, struct kiln_err *err)
{
  if (ensure_containers_dir (st, err) < 0)
    return NULL;
  return store_tmp_dir (st, "ctr", err);
}

/* The id of the container called `name`, or NULL. */
static char *id_by_name (struct kiln_store *st, const char *name);

/* docker's message for a name another container has. */
static int
name_in_use (struct kiln_store *st, const char *name, struct kiln_err *err)
{
  _cleanup_free_ char *other = id_by_name (st, name);
  return kiln_err_set (err, CONTAINER_ENAME_IN_USE,
                       "Conflict. The container name \"/%s\" is already in use by container \"%s\". You "
                       "have to remove (or rename) that container to be able to reuse that name.",
                       name, other ? other : "");
}

static char *
id_by_name (struct kiln_store *st, const char *name)
{
  struct kiln_err ignored = {0};
  sqlite3_stmt *q = store_prepare (st, "SELECT id FROM containers WHERE name = ?", &ignored);
  kiln_err_clear (&ignored);
  if (q == NULL)
    return NULL;
  sqlite3_bind_text (q, 1, name, -1, SQLITE_STATIC);
  char *id = sqlite3_step (q) == SQLITE_ROW ? xstrdup ((const char *) sqlite3_column_text (q, 0)) : NULL;
  sqlite3_finalize (q);
  return id;
}

int
containers_add (struct kiln_store *st, const struct container_rec *rec, const char *tmpdir, struct kiln_err *err)
{
  _cleanup_buf_ struct buf dst = BUF_INIT;
  buf_printf (&dst, "containers/%s", rec->id);
  if (store_begin (st, err) < 0)
    return -1;
  sqlite3_stmt *q = store_prepare (
      st, "INSERT INTO containers (id, name, image, created) SELECT ?, ?, ?, ? WHERE EXISTS "
          "(SELECT 1 FROM images WHERE id = ?)",
      err);
  if (q == NULL)
    {
      store_rollback (st);
      return -1;
    }
  sqlite3_bind_text (q, 1, rec->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 2, rec->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 3, rec->image, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (q, 4, rec->created);
  sqlite3_bind_text (q, 5, rec->image, -1, SQLITE_STATIC);
  int rc = sqlite3_step (q);
  int ext = sqlite3_extended_errcode (st->db);
  int changes = sqlite3_changes (st->db);
  sqlite3_finalize (q);
  if (rc != SQLITE_DONE)
    {
      if (ext == SQLITE_CONSTRAINT_UNIQUE)
        {
          name_in_use (st, rec->name, err);
          store_rollback (st);
          return -1;
        }
      store_db_error (st, err, "recording the container");
      store_rollback (st);
      return -1;
    }
  if (changes != 1)
    {
      store_rollback (st);
      return kiln_err_set (err, ENOENT, "image %s is no longer in the store", rec->image);
    }
  if (volumes_attach (st, rec->id, rec->volumes, err) < 0)
    {
      store_rollback (st);
      return -1;
    }
  if (renameat (st->root_fd, tmpdir, st->root_fd, buf_str (&dst)) < 0)
    {
      int e = errno;
      store_rollback (st);
      return kiln_err_set (err, e, "%s/%s: %s", st->root, buf_str (&dst), strerror (e));
    }
  if (store_commit (st, err) < 0)
    {
      /* Not recorded: the directory goes back where it was swept from. */
      renameat (st->root_fd, buf_str (&dst), st->root_fd, tmpdir);
      store_rollback (st);
      return -1;
    }
  return 0;
}

int
containers_list (struct kiln_store *st, struct container_rec **out, size_t *n, struct kiln_err *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *q
      = store_prepare (st, "SELECT id, name, image, created FROM containers ORDER BY created DESC, id", err);
  if (q == NULL)
    return -1;
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step (q)) == SQLITE_ROW)
    {
      *out = xgrow (*out, &cap, *n + 1, sizeof **out);
      struct container_rec *r = &(*out)[(*n)++];
      r->id = xstrdup ((const char *) sqlite3_column_text (q, 0));
      r->name = xstrdup ((const char *) sqlite3_column_text (q, 1));
      r->image = xstrdup ((const char *) sqlite3_column_text (q, 2));
      r->created = sqlite3_column_int64 (q, 3);
    }
  sqlite3_finalize (q);
  if (rc != SQLITE_DONE)
    {
      container_recs_free (*out, *n);
      *out = NULL;
      *n = 0;
      return store_db_error (st, err, "listing containers");
    }
  return 0;
}

/* Moves containers/<name> to tmp/ and removes it there: a kill half-way leaves a
 * tmp/ entry of a dead process, which the next writer sweeps. */
static int
remove_dir (struct kiln_store *st, const char *name, struct kiln_err *err)
{
  _cleanup_buf_ struct buf src = BUF_INIT;
  buf_printf (&src, "containers/%s", name);
  _cleanup_free_ char *trash = store_tmp_dir (st, "trash", err);
  if (trash == NULL)
    return -1;
  _cleanup_buf_ struct buf dst = BUF_INIT;
  buf_printf (&dst, "%s/c", trash);
  if (renameat (st->root_fd, buf_str (&src), st->root_fd, buf_str (&dst)) < 0 && errno != ENOENT)
    {
      int e = errno;
      unlinkat (st->root_fd, trash, AT_REMOVEDIR);
      return kiln_err_set (err, e, "%s/%s: %s", st->root, buf_str (&src), strerror (e));
    }
  return store_remove_tree (st->root_fd, trash, err);
}

int
containers_remove (struct kiln_store *st, const char *id, struct kiln_err *err)
{
  if (store_exec (st, err, "DELETE FROM containers WHERE id = ?", 1, id) < 0)
    return -1;
  return remove_dir (st, id, err);
}

int
containers_using_image (struct kiln_store *st, const char *image_id, struct strv *ids, struct kiln_err *err)
{
  sqlite3_stmt *q = store_prepare (st, "SELECT id FROM containers WHERE image = ? ORDER BY created DESC", err);
  if (q == NULL)
    return -1;
  sqlite3_bind_text (q, 1, image_id, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step (q)) == SQLITE_ROW)
    strv_push (ids, (const char *) sqlite3_column_text (q, 0));
  sqlite3_finalize (q);
  return rc == SQLITE_DONE ? 0 : store_db_error (st, err, "listing containers");
}

int
containers_lock (const char *root, struct kiln_err *err)
{
  _cleanup_buf_ struct buf p = BUF_INIT;
  buf_printf (&p, "%s/containers.lock", root);
  int fd = open (buf_str (&p), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return kiln_err_set (err, errno, "%s: %s", buf_str (&p), strerror (errno));
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return kiln_err_set (err, e, "%s: %s", buf_str (&p), strerror (e));
      }
  return fd;
}

void
containers_unlock (int fd)
{
  if (fd < 0)
    return;
  /* Unlocked explicitly: a copy of the descriptor (a child that has not exec'd
   * yet) would otherwise keep the lock. */
  flock (fd, LOCK_UN);
  close (fd);
}

static bool
is_container_id (const char *s)
{
  size_t n = 0;
  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
      return false;
  return n == CONTAINER_ID_LEN;
}

int
containers_check (struct kiln_store *st, bool repair, struct strv *found, struct kiln_err *err)
{
  struct container_rec *recs;
  size_t n;
  if (containers_list (st, &recs, &n, err) < 0)
    return -1;
  int ret = 0;
  _cleanup_strv_ struct strv names = STRV_INIT;
  _cleanup_close_ int dfd = openat (st->root_fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 && errno != ENOENT)
    {
      ret = kiln_err_set (err, errno, "%s/containers: %s", st->root, strerror (errno));
      goto out;
    }
  if (dfd >= 0 && dir_sorted_names (dfd, &names) < 0)
    {
      ret = kiln_err_set (err, errno, "%s/containers: %s", st->root, strerror (errno));
      goto out;
    }
  for (size_t i = 0; i < names.n; i++)
    {
      bool recorded = false;
      for (size_t k = 0; k < n && !recorded; k++)
        recorded = strcmp (recs[k].id, names.v[i]) == 0;
      if (recorded)
        continue;
      struct buf b = BUF_INIT;
      buf_printf (&b, "containers/%s: %s", names.v[i],
                  is_container_id (names.v[i]) ? "a container directory without a record" : "not a container");
      strv_push_owned (found, buf_steal (&b));
      if (repair && (ret = remove_dir (st, names.v[i], err)) < 0)
        goto out;
    }
  for (size_t k = 0; k < n; k++)
    {
      _cleanup_buf_ struct buf rel = BUF_INIT;
      buf_printf (&rel, "containers/%s", recs[k].id);
      if (faccessat (st->root_fd, buf_str (&rel), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        continue;
      struct buf b = BUF_INIT;
      buf_printf (&b, "container %s (%s): a record without its directory", recs[k].id, recs[k].name);
      strv_push_owned (found, buf_steal (&b));
      if (repair && (ret = store_exec (st, err, "DELETE FROM containers WHERE id = ?", 1, recs[k].id)) < 0)
        goto out;
    }
out:
  container_recs_free (recs, n);
  return ret;
}

int
containers_rename (struct kiln_store *st, const char *id, const char *name, struct kiln_err *err)
{
  sqlite3_stmt *q = store_prepare (st, "UPDATE containers SET name = ? WHERE id = ?", err);
  if (q == NULL)
    return -1;
  sqlite3_bind_text (q, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 2, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step (q);
  int ext = sqlite3_extended_errcode (st->db);
  int changes = sqlite3_changes (st->db);
  sqlite3_finalize (q);
  if (rc != SQLITE_DONE)
    return ext == SQLITE_CONSTRAINT_UNIQUE ? name_in_use (st, name, err) : store_db_error (st, err, "renaming the container");
  if (changes != 1)
    return kiln_err_set (err, ENOENT, "No such container: %s", id);
  return 0;
}
