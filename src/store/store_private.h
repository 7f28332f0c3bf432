/* store/store_private.h — the store's own fields and SQL helpers, for the .c files of src/store/
 * only: the rest of kiln calls the record functions of the headers in store/, which own the
 * schema (tables, SQL text, transactions).  tests/conformance/boundaries.py checks
 * that nothing outside src/store/ includes this or speaks SQL. */
#pragma once
#include <sqlite3.h>

#include "store/store.h"
#include "util/buf.h"

struct kiln_store
{
  char *root;
  int root_fd;
  int gc_lock_fd;
  int gc_lock_mode; /* 0, LOCK_SH or LOCK_EX */
  sqlite3 *db;
};

/* Runs one SQL statement with text parameters (NULL binds NULL). */
int store_exec (struct kiln_store *st, struct kiln_err *err, const char *sql, int n, ...);
/* Prepares a statement; on error fills err. */
sqlite3_stmt *store_prepare (struct kiln_store *st, const char *sql, struct kiln_err *err);
int store_db_error (struct kiln_store *st, struct kiln_err *err, const char *what);
/* Appends the first column of every row of `sql` (one optional text parameter
 * `arg`) to `out`; a NULL value is appended as "". */
int store_collect_text (struct kiln_store *st, const char *sql, const char *arg, struct strv *out,
                        struct kiln_err *err);
