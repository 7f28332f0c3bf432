/* store/store.h — the store: a root directory of content-addressed blobs and
 * snapshots, plus SQLite metadata (DESIGN.md, "Store on disk").
 *
 *   ROOT/blobs/sha256/<hex>   configs, manifests, layers as pulled/loaded/exported
 *   ROOT/snapshots/<id>/fs    one layer's tree in overlay form
 *   ROOT/tmp/                 in-flight writes, renamed into place when complete
 *   ROOT/kiln.db              SQLite (WAL): images, tags, layers, cache
 *
 * Concurrency: SQLite serialises metadata writers; file writes are atomic renames
 * of content-addressed names, so two writers of the same content agree.  Garbage
 * collection (prune, check --repair) takes ROOT/gc.lock exclusively, everything
 * that writes takes it shared, so nothing is collected while it is being made. */
#pragma once
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/err.h"

#define STORE_SCHEMA_VERSION 1

struct kiln_store
{
  char *root;
  int root_fd;
  int gc_lock_fd;
  int gc_lock_mode; /* 0, LOCK_SH or LOCK_EX */
  sqlite3 *db;
};

/* Opens (creating if needed) the store at `root`. */
struct kiln_store *store_open (const char *root, struct kiln_err *err);
void store_close (struct kiln_store *st);

/* Takes the GC lock shared (writers) or exclusive (collectors). Idempotent.
 * A process's first shared lock also removes the tmp/ entries of processes that
 * are gone (every tmp/ name is PREFIX-PID-...; see store_tmp_dir). */
int store_lock_shared (struct kiln_store *st, struct kiln_err *err);
int store_lock_exclusive (struct kiln_store *st, struct kiln_err *err);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int store_begin (struct kiln_store *st, struct kiln_err *err);
int store_commit (struct kiln_store *st, struct kiln_err *err);
void store_rollback (struct kiln_store *st);

/* Runs one SQL statement with text parameters (NULL binds NULL). */
int store_exec (struct kiln_store *st, struct kiln_err *err, const char *sql, int n, ...);
/* Prepares a statement; on error fills err. */
sqlite3_stmt *store_prepare (struct kiln_store *st, const char *sql, struct kiln_err *err);
int store_db_error (struct kiln_store *st, struct kiln_err *err, const char *what);

/* A new private directory under tmp/ (the caller renames or removes it). */
char *store_tmp_dir (struct kiln_store *st, const char *prefix, struct kiln_err *err);

/* Removes a tree below the store root (openat-based, never follows symlinks). */
int store_remove_tree (int dirfd, const char *name, struct kiln_err *err);
/* The same, adding to *freed the bytes on disk it gave back (st_blocks of every
 * inode whose last link it removed). */
int store_remove_tree_counted (int dirfd, const char *name, uint64_t *freed, struct kiln_err *err);

/* fsyncs the directory holding `path` (relative to the root). */
int store_sync_dir (struct kiln_store *st, const char *rel_dir, struct kiln_err *err);

/* Seconds since the epoch, or SOURCE_DATE_EPOCH when set (for reproducible images). */
int64_t store_now (void);
