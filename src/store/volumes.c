/* store/volumes.c — volume records and their directories (see the header for the
 * invariants every function here keeps). */
#include "store/volumes.h"
#include "store/store_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"

void
volume_rec_clear (struct volume_rec *v)
{
  free (v->name);
  free (v->driver);
  json_decref (v->labels);
  json_decref (v->options);
  memset (v, 0, sizeof *v);
}

void
volume_recs_free (struct volume_rec *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    volume_rec_clear (&v[i]);
  free (v);
}

char *
volume_data_path (const char *root, const char *name)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s/volumes/%s/_data", root, name);
  return buf_steal (&b);
}

static json_t *
json_column (sqlite3_stmt *q, int col)
{
  const char *t = (const char *) sqlite3_column_text (q, col);
  json_t *j = t ? json_loads (t, JSON_DECODE_ANY, NULL) : NULL;
  return json_is_object (j) ? j : (json_decref (j), json_null ());
}

static void
rec_from_row (sqlite3_stmt *q, struct volume_rec *v)
{
  v->name = xstrdup ((const char *) sqlite3_column_text (q, 0));
  v->driver = xstrdup ((const char *) sqlite3_column_text (q, 1));
  v->labels = json_column (q, 2);
  v->options = json_column (q, 3);
  v->anonymous = sqlite3_column_int (q, 4) != 0;
  v->created = sqlite3_column_int64 (q, 5);
}

#define VOLUME_COLUMNS "name, driver, labels, options, anonymous, created"

int
volumes_get (struct kiln_store *st, const char *name, struct volume_rec *out, struct kiln_err *err)
{
  sqlite3_stmt *q = store_prepare (st, "SELECT " VOLUME_COLUMNS " FROM volumes WHERE name = ?", err);
  if (q == NULL)
    return -1;
  sqlite3_bind_text (q, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step (q);
  if (rc == SQLITE_ROW && out)
    rec_from_row (q, out);
  sqlite3_finalize (q);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return store_db_error (st, err, "reading a volume");
  return rc == SQLITE_ROW;
}

int
volumes_list (struct kiln_store *st, struct volume_rec **out, size_t *n, struct kiln_err *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *q = store_prepare (st, "SELECT " VOLUME_COLUMNS " FROM volumes ORDER BY name", err);
  if (q == NULL)
    return -1;
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step (q)) == SQLITE_ROW)
    {
      *out = xgrow (*out, &cap, *n + 1, sizeof **out);
      rec_from_row (q, &(*out)[(*n)++]);
    }
  sqlite3_finalize (q);
  if (rc != SQLITE_DONE)
    {
      volume_recs_free (*out, *n);
      *out = NULL;
      *n = 0;
      return store_db_error (st, err, "listing volumes");
    }
  return 0;
}

static int
strings_query (struct kiln_store *st, const char *sql, const char *arg, struct strv *out, struct kiln_err *err)
{
  sqlite3_stmt *q = store_prepare (st, sql, err);
  if (q == NULL)
    return -1;
  sqlite3_bind_text (q, 1, arg, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step (q)) == SQLITE_ROW)
    strv_push (out, (const char *) sqlite3_column_text (q, 0));
  sqlite3_finalize (q);
  return rc == SQLITE_DONE ? 0 : store_db_error (st, err, "reading volume users");
}

int
volumes_users (struct kiln_store *st, const char *name, struct strv *ids, struct kiln_err *err)
{
  return strings_query (st,
                        "SELECT cv.container FROM container_volumes cv JOIN containers c ON c.id = cv.container "
                        "WHERE cv.volume = ? ORDER BY c.created, c.id",
                        name, ids, err);
}

int
volumes_anonymous_of (struct kiln_store *st, const char *id, struct strv *names, struct kiln_err *err)
{
  return strings_query (st,
                        "SELECT v.name FROM container_volumes cv JOIN volumes v ON v.name = cv.volume "
                        "WHERE cv.container = ? AND v.anonymous ORDER BY v.name",
                        id, names, err);
}

int
volumes_attach (struct kiln_store *st, const char *id, const struct strv *names, struct kiln_err *err)
{
  for (size_t i = 0; names && i < names->n; i++)
    if (store_exec (st, err, "INSERT OR IGNORE INTO container_volumes (container, volume) VALUES (?, ?)", 2, id,
                    names->v[i])
        < 0)
      return kiln_err_wrap (err, "volume %s", names->v[i]);
  return 0;
}

static int
ensure_volumes_dir (struct kiln_store *st, struct kiln_err *err)
{
  if (mkdirat (st->root_fd, "volumes", 0701) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s/volumes: %s", st->root, strerror (errno));
  return 0;
}

int
volumes_create (struct kiln_store *st, const char *name, const json_t *labels, const json_t *options,
                struct volume_rec *out, bool *made, struct kiln_err *err)
{
  char anon[65];
  if (name == NULL)
    {
      unsigned char r[32];
      for (size_t got = 0; got < sizeof r;)
        {
          ssize_t n = getrandom (r + got, sizeof r - got, 0);
          if (n < 0 && errno != EINTR)
            return kiln_err_set (err, errno, "getrandom: %s", strerror (errno));
          got += n > 0 ? (size_t) n : 0;
        }
      for (size_t i = 0; i < sizeof r; i++)
        snprintf (anon + 2 * i, 3, "%02x", r[i]);
      name = anon;
    }
  if (made)
    *made = false;
  int found = volumes_get (st, name, out, err);
  if (found != 0)
    return found < 0 ? -1 : 0;
  if (ensure_volumes_dir (st, err) < 0)
    return -1;
  _cleanup_free_ char *tmp = store_tmp_dir (st, "vol", err);
  if (tmp == NULL)
    return -1;
  _cleanup_buf_ struct buf data = BUF_INIT, dst = BUF_INIT;
  buf_printf (&data, "%s/_data", tmp);
  buf_printf (&dst, "volumes/%s", name);
  if (mkdirat (st->root_fd, buf_str (&data), 0755) < 0 || fchmodat (st->root_fd, buf_str (&data), 0755, 0) < 0)
    {
      int e = errno;
      unlinkat (st->root_fd, tmp, AT_REMOVEDIR);
      return kiln_err_set (err, e, "%s/%s: %s", st->root, buf_str (&data), strerror (e));
    }
  /* docker (23 and later) marks anonymous volumes with a label; `volume prune` without
   * -a removes only those. */
  _cleanup_json_ json_t *anon_labels = name == anon ? json_pack ("{s:s}", VOLUME_ANONYMOUS_LABEL, "") : NULL;
  if (anon_labels)
    labels = anon_labels;
  _cleanup_json_ json_t *none = json_null ();
  _cleanup_free_ char *lj = json_dumps (labels ? labels : none, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  _cleanup_free_ char *oj = json_dumps (options ? options : none, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  int ret = -1;
  if (store_begin (st, err) == 0)
    {
      sqlite3_stmt *q = store_prepare (st,
                                       "INSERT OR IGNORE INTO volumes (" VOLUME_COLUMNS ") VALUES (?, 'local', ?, ?, ?, ?)",
                                       err);
      if (q)
        {
          sqlite3_bind_text (q, 1, name, -1, SQLITE_STATIC);
          sqlite3_bind_text (q, 2, lj, -1, SQLITE_STATIC);
          sqlite3_bind_text (q, 3, oj, -1, SQLITE_STATIC);
          sqlite3_bind_int (q, 4, name == anon);
          sqlite3_bind_int64 (q, 5, (sqlite3_int64) time (NULL));
          int rc = sqlite3_step (q);
          int changes = sqlite3_changes (st->db);
          sqlite3_finalize (q);
          if (rc != SQLITE_DONE)
            store_db_error (st, err, "recording the volume");
          else if (changes == 0)
            ret = 0; /* made meanwhile by another kiln: it is there */
          else if (renameat (st->root_fd, tmp, st->root_fd, buf_str (&dst)) < 0)
            kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&dst), strerror (errno));
          else if (store_commit (st, err) < 0)
            renameat (st->root_fd, buf_str (&dst), st->root_fd, tmp);
          else
            {
              ret = 0;
              if (made)
                *made = true;
              free (tmp);
              tmp = NULL;
            }
        }
      if (ret < 0 || tmp)
        store_rollback (st);
    }
  if (tmp)
    {
      struct kiln_err ignored = {0};
      store_remove_tree (st->root_fd, tmp, &ignored);
      kiln_err_clear (&ignored);
    }
  if (ret == 0 && out && volumes_get (st, name, out, err) != 1)
    return kiln_err_is_set (err) ? -1 : kiln_err_set (err, ENOENT, "volume %s went while it was made", name);
  return ret;
}

int
volumes_remove (struct kiln_store *st, const char *name, struct kiln_err *err)
{
  if (store_begin (st, err) < 0)
    return -1;
  _cleanup_strv_ struct strv users = STRV_INIT;
  int found = volumes_get (st, name, NULL, err);
  if (found <= 0 || volumes_users (st, name, &users, err) < 0)
    {
      store_rollback (st);
      if (found == 0)
        return kiln_err_set (err, ENOENT, "get %s: no such volume", name);
      return -1;
    }
  if (users.n)
    {
      store_rollback (st);
      _cleanup_buf_ struct buf ids = BUF_INIT;
      for (size_t i = 0; i < users.n; i++)
        buf_printf (&ids, "%s%s", i ? " " : "", users.v[i]);
      return kiln_err_set (err, EBUSY, "remove %s: volume is in use - [%s]", name, buf_str (&ids));
    }
  if (store_exec (st, err, "DELETE FROM volumes WHERE name = ?", 1, name) < 0)
    {
      store_rollback (st);
      return -1;
    }
  /* Moved out of volumes/ before the commit: a kill after it leaves a tmp/ entry
   * of a dead process (swept), never a record without its directory. */
  _cleanup_free_ char *trash = store_tmp_dir (st, "trash", err);
  _cleanup_buf_ struct buf src = BUF_INIT, dst = BUF_INIT;
  buf_printf (&src, "volumes/%s", name);
  if (trash)
    buf_printf (&dst, "%s/v", trash);
  if (trash == NULL
      || (renameat (st->root_fd, buf_str (&src), st->root_fd, buf_str (&dst)) < 0 && errno != ENOENT
          && kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&src), strerror (errno)) < 0)
      || store_commit (st, err) < 0)
    {
      if (trash)
        renameat (st->root_fd, buf_str (&dst), st->root_fd, buf_str (&src));
      store_rollback (st);
      return -1;
    }
  return store_remove_tree (st->root_fd, trash, err);
}

/* The bytes of the tree under `fd`, as docker counts a volume's size: the sizes of
 * everything but directories (no link followed). */
static uint64_t
tree_bytes (int fd, unsigned depth)
{
  if (depth > 256)
    return 0;
  DIR *d = dir_reopen (fd);
  if (d == NULL)
    return 0;
  uint64_t sum = 0;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      struct stat s;
      if (fstatat (dirfd (d), e->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (!S_ISDIR (s.st_mode))
        sum += (uint64_t) s.st_size;
      else
        {
          int c = openat (dirfd (d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (c >= 0)
            {
              sum += tree_bytes (c, depth + 1);
              close (c);
            }
        }
    }
  closedir (d);
  return sum;
}

int
volumes_size (struct kiln_store *st, const char *name, uint64_t *bytes)
{
  _cleanup_buf_ struct buf p = BUF_INIT;
  buf_printf (&p, "volumes/%s/_data", name);
  _cleanup_close_ int fd = openat (st->root_fd, buf_str (&p), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  *bytes = fd >= 0 ? tree_bytes (fd, 0) : 0;
  return fd >= 0 ? 0 : -1;
}

int
volumes_disk_usage (struct kiln_store *st, uint64_t *total, uint64_t *reclaimable, size_t *count, size_t *active,
                    struct kiln_err *err)
{
  *total = *reclaimable = 0;
  *count = *active = 0;
  struct volume_rec *v;
  size_t n;
  if (volumes_list (st, &v, &n, err) < 0)
    return -1;
  int ret = 0;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      _cleanup_strv_ struct strv users = STRV_INIT;
      if ((ret = volumes_users (st, v[i].name, &users, err)) < 0)
        break;
      uint64_t b;
      volumes_size (st, v[i].name, &b);
      *total += b;
      (*count)++;
      if (users.n)
        (*active)++;
      else
        *reclaimable += b;
    }
  volume_recs_free (v, n);
  return ret;
}

int
volumes_check (struct kiln_store *st, bool repair, struct strv *found, struct kiln_err *err)
{
  struct volume_rec *v;
  size_t n;
  if (volumes_list (st, &v, &n, err) < 0)
    return -1;
  int ret = 0;
  _cleanup_strv_ struct strv names = STRV_INIT;
  _cleanup_close_ int dfd = openat (st->root_fd, "volumes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if ((dfd < 0 && errno != ENOENT) || (dfd >= 0 && dir_sorted_names (dfd, &names) < 0))
    {
      ret = kiln_err_set (err, errno, "%s/volumes: %s", st->root, strerror (errno));
      goto out;
    }
  for (size_t i = 0; i < names.n; i++)
    {
      bool recorded = false;
      for (size_t k = 0; k < n && !recorded; k++)
        recorded = strcmp (v[k].name, names.v[i]) == 0;
      if (recorded)
        continue;
      struct buf b = BUF_INIT;
      buf_printf (&b, "volumes/%s: a volume directory without a record", names.v[i]);
      strv_push_owned (found, buf_steal (&b));
      if (!repair)
        continue;
      /* Moved to tmp/ and removed there, as volumes_remove does. */
      _cleanup_free_ char *trash = store_tmp_dir (st, "trash", err);
      _cleanup_buf_ struct buf src = BUF_INIT, dst = BUF_INIT;
      buf_printf (&src, "volumes/%s", names.v[i]);
      if (trash)
        buf_printf (&dst, "%s/v", trash);
      if (trash == NULL || renameat (st->root_fd, buf_str (&src), st->root_fd, buf_str (&dst)) < 0
          || store_remove_tree (st->root_fd, trash, err) < 0)
        {
          ret = kiln_err_is_set (err) ? -1 : kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&src), strerror (errno));
          goto out;
        }
    }
  for (size_t k = 0; k < n; k++)
    {
      _cleanup_buf_ struct buf rel = BUF_INIT;
      buf_printf (&rel, "volumes/%s/_data", v[k].name);
      if (faccessat (st->root_fd, buf_str (&rel), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        continue;
      struct buf b = BUF_INIT;
      buf_printf (&b, "volume %s: a record without its directory%s", v[k].name, repair ? " (made again, empty)" : "");
      strv_push_owned (found, buf_steal (&b));
      /* Containers may name it: the directory is made again rather than the record dropped. */
      _cleanup_buf_ struct buf top = BUF_INIT;
      buf_printf (&top, "volumes/%s", v[k].name);
      if (repair && (ensure_volumes_dir (st, err) < 0
                     || ((mkdirat (st->root_fd, buf_str (&top), 0700) < 0 && errno != EEXIST)
                         || mkdirat (st->root_fd, buf_str (&rel), 0755) < 0)))
        {
          ret = kiln_err_is_set (err) ? -1 : kiln_err_set (err, errno, "%s/%s: %s", st->root, buf_str (&rel), strerror (errno));
          goto out;
        }
    }
out:
  volume_recs_free (v, n);
  return ret;
}
