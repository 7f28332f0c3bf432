/* store/images.h — image records: the images, tags and repo_digests tables.  An
 * image is its config's digest (the id) and the manifest kiln keeps for it, both
 * blobs (store/blobs.h); tags and repo digests name it.  image/image.h builds on
 * these (resolving references, reading configs); the SQL stays here. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "store/layer_blobs.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

/* What images_find looks an image up by. */
enum image_key
{
  IMAGE_BY_MANIFEST,    /* "sha256:…" of the manifest kiln keeps */
  IMAGE_BY_REPO_DIGEST, /* "docker.io/library/x@sha256:…" */
  IMAGE_BY_TAG,         /* "docker.io/library/x:1" */
  IMAGE_BY_ID_PREFIX,   /* lowercase hex, the start of the id after "sha256:" */
};
/* 1 and `*id` when the key names one image, 2 when it names several (`*id` one
 * of them), 0 when none, -1 on error. */
int images_find (struct kiln_store *st, enum image_key by, const char *key, struct digest *id, struct kiln_err *err);

/* 1 and the manifest and creation time (seconds) of image `id`, 0 if there is no such record. */
int images_get (struct kiln_store *st, const struct digest *id, struct digest *manifest, int64_t *created,
                struct kiln_err *err);

/* In one transaction: the image (replacing a record of the same id), the blobs of
 * its layers (layer_blobs_add), its `tags` (moved from any other image). */
int images_add (struct kiln_store *st, const struct digest *id, const struct digest *manifest, int64_t created,
                const struct layer_blob *blobs, size_t n_blobs, const struct strv *tags, struct kiln_err *err);
/* Deletes the record, its tags and repo digests, in one transaction. */
int images_delete (struct kiln_store *st, const struct digest *id, struct kiln_err *err);

/* The ids of every image, newest first (then by id). */
int images_ids (struct kiln_store *st, struct strv *ids, struct kiln_err *err);
/* Every record as stored, id and manifest (strings: gc reports damaged rows). */
struct image_row
{
  char *id;
  char *manifest;
};
void image_rows_free (struct image_row *v, size_t n);
int images_rows (struct kiln_store *st, struct image_row **out, size_t *n, struct kiln_err *err);

/* Tags: names of image `id`, sorted; tag (moving it from any other image); untag
 * (1 if the tag existed, 0 if not). */
int images_tags (struct kiln_store *st, const struct digest *id, struct strv *out, struct kiln_err *err);
int images_tag (struct kiln_store *st, const struct digest *id, const char *tag, struct kiln_err *err);
int images_untag (struct kiln_store *st, const char *tag, struct kiln_err *err);

/* Repo digests ("REPO@sha256:…") of image `id`, sorted. */
int images_repo_digests (struct kiln_store *st, const struct digest *id, struct strv *out, struct kiln_err *err);
/* Records `name` ("REPO@sha256:…") for image `id`, replacing the image's other
 * digests of the same repository (`repo_at`, "REPO@"), in one transaction. */
int images_set_repo_digest (struct kiln_store *st, const struct digest *id, const char *repo_at, const char *name,
                            struct kiln_err *err);

/* True if a record needs blob `d`: an image's config or manifest, or a layer blob. */
bool images_need_blob (struct kiln_store *st, const struct digest *d);
