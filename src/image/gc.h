/* image/gc.h — what the store holds that no image needs, and whether what images
 * need is all there: garbage collection, `kiln system check`, `kiln system df`.
 *
 * All three run under the store's exclusive GC lock, so no import, load or build
 * is half-way through writing while they look. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

struct gc_stats
{
  uint64_t blobs;     /* removed (or, dry run, removable) */
  uint64_t snapshots;
  uint64_t tmp;
  uint64_t bytes;     /* on disk, given back by what was removed (0 in a dry run) */
};

/* Removes blobs, snapshots and layer records no image references, and tmp/. */
int image_gc (struct kiln_store *st, bool dry_run, struct gc_stats *stats, struct kiln_err *err);

struct check_report
{
  struct strv damage;   /* an image lacks something it needs: cannot be repaired */
  struct strv garbage;  /* leftovers of interrupted work: --repair removes them */
  struct strv unused;   /* complete blobs and layers no image needs any more: prune's */
  struct strv repaired;
};

/* Verifies every image (blobs re-hashed, snapshots present) and the database.
 * With `repair`, removes leftovers; never removes anything an image needs. */
int store_check (struct kiln_store *st, bool repair, struct check_report *rep, struct kiln_err *err);
void check_report_clear (struct check_report *rep);

struct df_row
{
  uint64_t total, active, size, reclaimable;
};

int store_df (struct kiln_store *st, struct df_row *images, struct df_row *cache, struct kiln_err *err);
