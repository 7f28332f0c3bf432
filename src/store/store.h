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
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

#define STORE_SCHEMA_VERSION 1

/* Opaque: its fields are the store's own (store/store_private.h). */
struct kiln_store;

/* Opens (creating if needed) the store at `root`. */
struct kiln_store *store_open (const char *root, struct kiln_err *err);
void store_close (struct kiln_store *st);
/* This connection leaves the write-ahead log as it is when it closes, for the
 * next connection's checkpoint: closing the last connection otherwise syncs
 * and checkpoints the log and removes it, and the next open makes it again and
 * syncs the directory (5–15 ms under load), which a short connection on a hot
 * path (a container's network attach and release, the resolver's lookups) need
 * not pay.  What it wrote is committed all the same (WAL, synchronous=NORMAL). */
void store_keep_wal_on_close (struct kiln_store *st);

/* The root directory as given to store_open, and a descriptor of it (O_PATH-like:
 * for openat and friends; the store keeps it open until store_close). */
const char *store_root (const struct kiln_store *st);
int store_root_fd (const struct kiln_store *st);

/* Takes the GC lock shared (writers) or exclusive (collectors). Idempotent.
 * A process's first shared lock also removes the tmp/ entries of processes that
 * are gone (every tmp/ name is PREFIX-PID-...; see store_tmp_dir). */
int store_lock_shared (struct kiln_store *st, struct kiln_err *err);
int store_lock_exclusive (struct kiln_store *st, struct kiln_err *err);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK, around several of the store's
 * record functions (images.h, layer_blobs.h, cache_records.h, file_digests.h ...). */
int store_begin (struct kiln_store *st, struct kiln_err *err);
int store_commit (struct kiln_store *st, struct kiln_err *err);
void store_rollback (struct kiln_store *st);

/* SQLite's integrity check of kiln.db: "ok" alone, or one line per problem. */
int store_integrity_check (struct kiln_store *st, struct strv *out, struct kiln_err *err);

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
