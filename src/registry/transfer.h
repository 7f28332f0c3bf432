/* registry/transfer.h — images to and from registries: pull and push.
 *
 * Pull resolves a tag or digest, picks the platform out of an index, downloads
 * the config and the missing layers in parallel (each verified before it enters
 * the store), unpacks them in order while later ones still download, then
 * records the image with its tag and its RepoDigest.  Push uploads what the
 * registry lacks (HEAD first, cross-repository mount when kiln knows another
 * repository of the registry has the image), then the manifest, then the tag. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "registry/client.h"
#include "store/store.h"
#include "image/platform.h"
#include "util/buf.h"
#include "util/compress.h"
#include "util/digest.h"
#include "util/err.h"

/* A descriptor a manifest points at. */
struct pull_desc
{
  struct digest digest;
  int64_t size; /* -1 when the descriptor says none */
};

/* What a registry's manifest reply (body, Content-Type) asks of a pull.  An index: 1,
 * and `next` is the manifest of `want`.  An image manifest: 0, and `next` is its config
 * (at most IMAGE_MAX_JSON).  -1 when it is neither, or no image for `want`. */
int pull_manifest_parse (const char *body, size_t len, const char *content_type, const struct platform *want,
                         struct pull_desc *next, struct kiln_err *err);

/* One layer a pull fetches: the manifest's blob, the config's diff_id for it. */
struct pull_layer
{
  struct digest blob;
  struct digest diff_id;
  int64_t size; /* -1 when the manifest says none */
};

/* The layers of an image manifest and its config, checked: a known layer media type
 * each, valid digests, as many diff_ids as layers (at most 1000).  `*out` is the caller's. */
int pull_layers_parse (const char *manifest, size_t mlen, const char *config, size_t clen, struct pull_layer **out,
                       size_t *n, struct kiln_err *err);

struct pull_opts
{
  const char *platform;
  struct registry_opts reg;
  FILE *out;     /* progress lines; NULL for none */
};

/* Pulls `ref` and tags it; `id` gets the image id. */
int image_pull (struct kiln_store *st, const char *ref, const struct pull_opts *o, struct digest *id,
                struct kiln_err *err);

struct xfer_view;
/* Uploads a blob of the store unless the registry has it (mounting from
 * `mount_from` when given); shows its progress as item `index` of `view` (may be NULL). */
int registry_push_stored_blob (struct kiln_store *st, struct registry *reg, const char *repo, const struct digest *d,
                               const char *mount_from, struct xfer_view *view, size_t index, struct kiln_err *err);

struct push_opts
{
  enum compression compression;
  struct registry_opts reg;
  FILE *out;
};

/* Pushes local image `image` (name or id) as `dest` (a full reference; NULL: the
 * image's own name).  `manifest` gets the pushed manifest's digest. */
int image_push (struct kiln_store *st, const char *image, const char *dest, const struct push_opts *o,
                struct digest *manifest, struct kiln_err *err);
