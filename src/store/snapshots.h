/* store/snapshots.h — snapshots: one layer's tree each, used as overlay lowerdirs.
 *
 * A snapshot is made under tmp/, filled, synced, then renamed to
 * snapshots/<id>/fs and recorded with its layer's diff_id in one step; until then
 * nobody sees it.  The id is short (16 hex digits of the diff_id) so that long
 * lowerdir chains fit in the mount options. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/digest.h"
#include "util/err.h"

struct snapshot_new
{
  struct kiln_store *st;
  char *tmp;   /* "tmp/snap-..." */
  int fs_fd;   /* the tree to fill */
};

int snapshot_begin (struct kiln_store *st, struct snapshot_new *sn, struct kiln_err *err);
/* Renames into place, syncs and records (diff_id → snapshot). If another
 * process recorded the same layer meanwhile, this one is discarded. */
int snapshot_commit (struct snapshot_new *sn, const struct digest *diff_id, uint64_t size, struct kiln_err *err);
void snapshot_abort (struct snapshot_new *sn);

/* Snapshots made one after the other (a build's steps), recorded together: one
 * syncfs and one transaction for the lot, where a syncfs per step cost a RUN step
 * as much as its command.  Until the commit the trees stay in their tmp/ dirs,
 * where nobody else looks and from where the maker mounts them; a crash loses them
 * as it loses any tmp/ dir, and a record never names a tree not on disk. */
struct snapshot_pending
{
  struct digest diff_id;
  uint64_t size;
  char *tmp;   /* "tmp/snap-...", until renamed */
  char *lower; /* the tree, relative to snapshots/ (as overlay lowers are) */
};
struct snapshot_batch
{
  struct kiln_store *st;
  struct snapshot_pending *v;
  size_t n, cap;
  uint64_t unsynced;       /* bytes counted since the last early sync started */
  bool syncing;            /* sync_thread runs (or ran) syncfs; joined by the commit */
  _Atomic bool sync_done;
  pthread_t sync_thread;
};
/* Counts bytes of a tree as the caller reads it (to hash it) before adding it: once
 * 16 MiB are counted, a thread runs syncfs, so that the data goes to disk while
 * the caller goes on and the commit's own syncfs has little left.  Small trees
 * never start one.  One thread at a time; the commit waits for it. */
void snapshot_batch_saw (struct snapshot_batch *bt, struct kiln_store *st, size_t bytes);
/* Takes a filled snapshot (sn is consumed) and returns where its tree is until
 * the commit, relative to snapshots/; valid until the batch is committed. */
const char *snapshot_batch_add (struct snapshot_batch *bt, struct snapshot_new *sn, const struct digest *diff_id,
                                uint64_t size);
/* In one transaction: each tree renamed into place (or dropped when another
 * process recorded its layer meanwhile), one syncfs, the layer records, then
 * whatever `also` writes (the build's cache records).  Empty after, either way. */
int snapshot_batch_commit (struct snapshot_batch *bt, int (*also) (void *ud, struct kiln_err *err), void *ud,
                           struct kiln_err *err);
void snapshot_batch_abort (struct snapshot_batch *bt);

/* 1 and the id/size if the layer has a snapshot, 0 if not, -1 on error. */
int snapshot_lookup (struct kiln_store *st, const struct digest *diff_id, char **id, uint64_t *size,
                     struct kiln_err *err);
/* Opens snapshots/<id>/fs. */
int snapshot_open (struct kiln_store *st, const char *id, struct kiln_err *err);

/* Serialises work on one layer across processes (so a layer is unpacked once).
 * Returns a lock fd to close when done. */
int snapshot_lock (struct kiln_store *st, const struct digest *diff_id, struct kiln_err *err);

/* The id a layer's snapshot gets. */
void snapshot_id_for (const struct digest *diff_id, char out[static 17]);
