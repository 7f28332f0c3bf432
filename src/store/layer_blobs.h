/* store/layer_blobs.h — which blobs hold a layer: the layer_blobs table (the blob a
 * layer came in, and the compressed variants made to export it) and the layer
 * records (the layers table: a snapshot per unpacked or built layer, written by
 * store/snapshots.c).  Callers get plain structs; the SQL stays here. */
#pragma once
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

#define LAYER_BLOB_MEDIA_TYPE_MAX 96

struct layer_blob
{
  struct digest digest;  /* the blob */
  struct digest diff_id; /* the layer it holds */
  char media_type[LAYER_BLOB_MEDIA_TYPE_MAX];
  uint64_t size;         /* the blob's size */
};

/* Records that blob `b->digest` holds layer `b->diff_id` (kept if already known).
 * Joins the caller's transaction, if one is open. */
int layer_blobs_add (struct kiln_store *st, const struct layer_blob *b, struct kiln_err *err);
/* The blobs recorded for layer `diff_id`, or for every layer when it is NULL; rows
 * whose digests do not parse are left out.  `*out` is the caller's (free). */
int layer_blobs_find (struct kiln_store *st, const struct digest *diff_id, struct layer_blob **out, size_t *n,
                      struct kiln_err *err);

/* A layer record: which snapshot holds the layer (strings as stored: gc reports
 * what it finds, parsed or not). */
struct layer_rec
{
  char *diff_id;
  char *snapshot;
};
void layer_recs_free (struct layer_rec *v, size_t n);
/* Every layer record. */
int layer_recs_list (struct kiln_store *st, struct layer_rec **out, size_t *n, struct kiln_err *err);
/* Forgets layer `diff_id`: its record, then its blob rows (two statements; the
 * caller holds the exclusive GC lock). */
int layer_recs_forget (struct kiln_store *st, const char *diff_id, struct kiln_err *err);
