/* store/cache_records.h — the build cache's records: the cache table, a step's cache
 * key → its result (a layer's diff_id, or another value the solver stores) and when
 * the step first ran.  Written by the solver (put), imported from registries (add),
 * read by the solver, `--cache-to` exports and gc.  The SQL stays here. */
#pragma once
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* 1 with the result (the caller's, free) and the creation time (seconds) of the
 * record for `key`, 0 if there is none, -1 on error. */
int cache_records_get (struct kiln_store *st, const char *key, char **result, int64_t *created, struct kiln_err *err);
/* Records key → result, replacing an earlier record (a build that ran the step). */
int cache_records_put (struct kiln_store *st, const char *key, const char *result, int64_t created,
                       struct kiln_err *err);
/* Records key → result unless the key has one (records imported from a registry);
 * joins the caller's transaction. */
int cache_records_add (struct kiln_store *st, const char *key, const char *result, int64_t created,
                       struct kiln_err *err);
/* Deletes every record, and their step_info, step_files and step_slots (system prune). */
int cache_records_clear (struct kiln_store *st, struct kiln_err *err);
/* The results of every record, in the table's order (duplicates kept). */
int cache_records_results (struct kiln_store *st, struct strv *out, struct kiln_err *err);
