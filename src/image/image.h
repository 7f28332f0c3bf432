/* image/image.h — images in the store: config and manifest blobs, tags, layers.
 *
 * An image's id is the digest of its config, as docker's.  kiln keeps one
 * manifest per image; for images it made, layers are described uncompressed
 * (OCI tar media type, digest = diff_id) and exist only as snapshots until they
 * leave the machine.  Loaded and pulled images keep their manifest and layer
 * blobs as they came, so their digests never change. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "image/ref.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define IMAGE_MAX_JSON (16u * 1024 * 1024) /* configs and manifests larger than this are refused */

/* One layer of an image, in manifest order. */
struct image_layer
{
  struct digest diff_id;
  struct digest blob;     /* the manifest's layer digest */
  uint64_t blob_size;
  char media_type[96];
};

struct image_info
{
  struct digest id;       /* config digest */
  struct digest manifest; /* manifest digest */
  json_t *config;
  json_t *manifest_json;
  struct image_layer *layers;
  size_t n_layers;
  uint64_t size;          /* sum of uncompressed layer sizes */
  int64_t created;        /* when kiln recorded it */
};

void image_info_clear (struct image_info *ii);

/* Serialises JSON the one way kiln writes it: compact, keys sorted. */
char *json_canonical (const json_t *j, size_t *len);

/* Records a new image: writes the config and a manifest (built from `layers`,
 * whose snapshots or blobs must already be in the store), then tags it, all in
 * one transaction.  `tags` are normalised references ("docker.io/library/x:1"). */
int image_commit (struct kiln_store *st, const json_t *config, const struct image_layer *layers, size_t n_layers,
                  const struct strv *tags, struct digest *id, struct kiln_err *err);

/* An image's layers as its manifest and config (parsed, from outside) describe them:
 * blob digest, media type and size from the manifest's "layers", diff_id from the
 * config's rootfs.diff_ids.  Fails unless both list the same number of layers with
 * valid digests.  `*out` is the caller's (free); NULL on failure. */
int image_layers_parse (const json_t *manifest, const json_t *config, struct image_layer **out, size_t *n,
                        struct kiln_err *err);

/* Records an image from existing config and manifest blobs (load, pull). */
int image_record (struct kiln_store *st, const struct digest *config, const struct digest *manifest,
                  const struct strv *tags, struct kiln_err *err);

/* Finds an image by name[:tag], name@digest, full or short id. */
int image_resolve (struct kiln_store *st, const char *name, struct digest *id, struct kiln_err *err);
/* Loads config, manifest and layer list. */
int image_load (struct kiln_store *st, const struct digest *id, struct image_info *out, struct kiln_err *err);

/* Tags of an image ("docker.io/library/x:1"), sorted. */
int image_tags (struct kiln_store *st, const struct digest *id, struct strv *out, struct kiln_err *err);
int image_repo_digests (struct kiln_store *st, const struct digest *id, struct strv *out, struct kiln_err *err);
/* Records "REPO@sha256:…" (the manifest a registry has) for an image. */
int image_add_repo_digest (struct kiln_store *st, const struct digest *id, const char *name, struct kiln_err *err);
int image_tag (struct kiln_store *st, const struct digest *id, const char *tag, struct kiln_err *err);
/* Removes a tag; 1 if it existed. */
int image_untag (struct kiln_store *st, const char *tag, struct kiln_err *err);
/* Deletes an image record (its tags too); blobs and snapshots are collected later. */
int image_delete (struct kiln_store *st, const struct digest *id, struct kiln_err *err);

/* All image ids, newest first. */
int image_list (struct kiln_store *st, struct strv *ids, struct kiln_err *err);

/* "2026-11-23T18:30:00Z" */
void format_rfc3339 (int64_t t, char out[static 32]);
/* Parses RFC 3339 (fractional seconds and offsets allowed); -1 if invalid. */
int64_t parse_rfc3339 (const char *s);
/* docker's sizes: "4.26MB", "512B" (go-units HumanSizeWithPrecision, 3 digits). */
void format_size (uint64_t bytes, char out[static 32]);
/* The same with `precision` significant digits (HumanSize is 4). */
void format_size_prec (double bytes, int precision, char out[static 32]);
/* Go's time.Time.String() in the local zone: "2026-11-30 13:05:31 +0000 UTC". */
void format_go_time (int64_t t, char out[static 64]);
/* docker's "About a minute ago", "3 days ago". */
void format_ago (int64_t then, int64_t now, char out[static 48]);
/* go-units' HumanDuration of `secs`: "Less than a second", "About a minute",
 * "2 hours" (hours rounded), "3 days", … (ps's "Up 5 seconds"). */
void human_duration (int64_t secs, char out[static 48]);
/* Go's RFC3339Nano of ns since the epoch, in UTC ("2026-12-01T13:04:00.8484Z");
 * 0 is Go's zero time, "0001-01-01T00:00:00Z". */
void format_rfc3339_nano (int64_t ns, char out[static 40]);
/* The reverse (any RFC 3339 time), in ns; Go's zero time is 0; -1 if invalid. */
int64_t parse_rfc3339_nano (const char *s);
