/* image/layers.h — a layer's bytes on their way out: the uncompressed stream
 * (from a stored blob, or regenerated from its snapshot and checked against the
 * diff_id), and compressed variants made once and cached by (diff_id, compression). */
#pragma once
#include "image/image.h"
#include "store/layer.h"
#include "store/store.h"
#include "util/compress.h"
#include "util/err.h"

/* Streams the layer's uncompressed tar into `sink`; fails if it does not hash to
 * the diff_id (the sink may then have received bytes: callers write to tmp/). */
int layer_stream (struct kiln_store *st, const struct digest *diff_id, const struct layer_sink *sink,
                  struct kiln_err *err);

/* The uncompressed size of a layer, from its record. */
int layer_size (struct kiln_store *st, const struct digest *diff_id, uint64_t *size, struct kiln_err *err);

/* Finds or makes the blob of `diff_id` in compression `c` (not NONE) and fills
 * `out` (diff_id, blob digest, size, media type; docker or OCI media types). */
int layer_blob_for (struct kiln_store *st, const struct digest *diff_id, enum compression c, bool docker_types,
                    struct image_layer *out, struct kiln_err *err);

/* The media type of a layer blob, guessed from its first bytes. */
const char *layer_media_type_sniff (const unsigned char *head, size_t n, bool docker_types);

/* Makes sure the layer has a snapshot, unpacking `blob_fd` (any compression)
 * if needed; fails if the blob's uncompressed stream does not hash to `diff_id`.
 * Safe against another process unpacking the same layer at the same time. */
int layer_ensure_snapshot (struct kiln_store *st, const struct digest *diff_id, int blob_fd, struct kiln_err *err);
