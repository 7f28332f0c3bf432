/* store/stepinfo.c — cache keys' material and steps' last keys (store/stepinfo.h). */
#include "store/stepinfo.h"
#include "store/store_private.h"

#include <errno.h>
#include <sqlite3.h>

#include "util/buf.h"

static int
put_pairs (struct kiln_store *st, const char *sql, const struct envmap *m, struct kiln_err *err)
{
  for (size_t i = 0; i < m->n; i++)
    if (store_exec (st, err, sql, 2, m->keys[i], m->values[i]) < 0)
      return -1;
  return 0;
}

int
stepinfo_put (struct kiln_store *st, const struct envmap *infos, struct kiln_err *err)
{
  return put_pairs (st, "INSERT OR REPLACE INTO step_info (key, info) VALUES (?, ?)", infos, err);
}

static char *
get_one (struct kiln_store *st, const char *sql, const char *arg, struct kiln_err *err)
{
  sqlite3_stmt *q = store_prepare (st, sql, err);
  if (q == NULL)
    return NULL;
  sqlite3_bind_text (q, 1, arg, -1, SQLITE_STATIC);
  char *r = NULL;
  int rc = sqlite3_step (q);
  if (rc == SQLITE_ROW)
    r = xstrdup ((const char *) sqlite3_column_text (q, 0));
  else if (rc != SQLITE_DONE)
    store_db_error (st, err, "reading the build's step records");
  sqlite3_finalize (q);
  return r;
}

char *
stepinfo_get (struct kiln_store *st, const char *key, struct kiln_err *err)
{
  return get_one (st, "SELECT info FROM step_info WHERE key = ?", key, err);
}

int
stepfiles_put (struct kiln_store *st, const struct envmap *files, struct kiln_err *err)
{
  return put_pairs (st, "INSERT OR REPLACE INTO step_files (key, files) VALUES (?, ?)", files, err);
}

char *
stepfiles_get (struct kiln_store *st, const char *key, struct kiln_err *err)
{
  return get_one (st, "SELECT files FROM step_files WHERE key = ?", key, err);
}

int
stepslots_put (struct kiln_store *st, const struct envmap *slots, struct kiln_err *err)
{
  if (slots->n == 0)
    return 0;
  if (store_begin (st, err) < 0)
    return -1;
  /* A cached rebuild changes no row: nothing reaches the WAL. */
  if (put_pairs (st,
                 "INSERT INTO step_slots (slot, key) VALUES (?, ?) "
                 "ON CONFLICT (slot) DO UPDATE SET key = excluded.key WHERE key != excluded.key",
                 slots, err)
          < 0
      || store_exec (st, err, "DELETE FROM step_files WHERE key NOT IN (SELECT key FROM step_slots)", 0) < 0)
    {
      store_rollback (st);
      return -1;
    }
  return store_commit (st, err);
}

char *
stepslot_get (struct kiln_store *st, const char *slot, struct kiln_err *err)
{
  return get_one (st, "SELECT key FROM step_slots WHERE slot = ?", slot, err);
}
