/* store/cache_records.c — the cache table (see the header). */
#include "store/cache_records.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/store_private.h"

int
cache_records_get (struct kiln_store *st, const char *key, char **result, int64_t *created, struct kiln_err *err)
{
  *result = NULL;
  sqlite3_stmt *s = store_prepare (st, "SELECT result, created FROM cache WHERE key = ?", err);
  if (s == NULL)
    return -1;
  sqlite3_bind_text (s, 1, key, -1, SQLITE_STATIC);
  int found = 0;
  if (sqlite3_step (s) == SQLITE_ROW)
    {
      const char *r = (const char *) sqlite3_column_text (s, 0);
      *result = xstrdup (r ? r : "");
      *created = sqlite3_column_int64 (s, 1);
      found = 1;
    }
  sqlite3_finalize (s);
  return found;
}

int
cache_records_put (struct kiln_store *st, const char *key, const char *result, int64_t created, struct kiln_err *err)
{
  char when[32];
  snprintf (when, sizeof when, "%lld", (long long) created);
  return store_exec (st, err, "INSERT OR REPLACE INTO cache (key, result, created) VALUES (?, ?, ?)", 3, key, result,
                     when);
}

int
cache_records_add (struct kiln_store *st, const char *key, const char *result, int64_t created, struct kiln_err *err)
{
  char when[32];
  snprintf (when, sizeof when, "%lld", (long long) created);
  sqlite3_stmt *q = store_prepare (st, "INSERT OR IGNORE INTO cache (key, result, created) VALUES (?, ?, ?)", err);
  if (q == NULL)
    return -1;
  sqlite3_bind_text (q, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 2, result, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 3, when, -1, SQLITE_STATIC);
  int rc = sqlite3_step (q);
  sqlite3_finalize (q);
  if (rc != SQLITE_DONE)
    return store_db_error (st, err, "adding a cache record");
  return 0;
}

int
cache_records_results (struct kiln_store *st, struct strv *out, struct kiln_err *err)
{
  return store_collect_text (st, "SELECT result FROM cache", NULL, out, err);
}

int
cache_records_clear (struct kiln_store *st, struct kiln_err *err)
{
  /* The records' key material and the steps' last keys (store/stepinfo.h) go with
   * them: a file list per context COPY that ran is the bulk of it. */
  if (store_exec (st, err, "DELETE FROM step_info", 0) < 0 || store_exec (st, err, "DELETE FROM step_files", 0) < 0
      || store_exec (st, err, "DELETE FROM step_slots", 0) < 0)
    return -1;
  return store_exec (st, err, "DELETE FROM cache", 0);
}
