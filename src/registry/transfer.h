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
#include "util/buf.h"
#include "util/compress.h"
#include "util/digest.h"
#include "util/err.h"

struct platform
{
  char os[32];
  char arch[32];
  char variant[32];
};

/* "linux/amd64", "linux/arm64/v8", "linux/arm/v7"; NULL or "" gives the host's. */
int platform_parse (const char *s, struct platform *out, struct kiln_err *err);

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
