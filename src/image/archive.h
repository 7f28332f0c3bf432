/* image/archive.h — images in and out of files: `kiln save` and `kiln load`.
 *
 * Formats: docker-archive (what `docker save` writes since 25: manifest.json plus
 * an OCI layout inside the tar, read by docker and podman), oci-archive (a tar of
 * an OCI image layout) and oci-dir (the layout as a directory).  A tar goes out
 * through util/outfile (a file appears whole or not at all, a named pipe is written
 * in place, a device is refused); a directory is made under a temporary name and
 * renamed when complete.  Input blobs are verified against their digests and layers
 * against their diff_ids before anything is recorded. */
#pragma once
#include "image/image.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/compress.h"
#include "util/err.h"

enum archive_format
{
  FORMAT_DOCKER_ARCHIVE,
  FORMAT_OCI_ARCHIVE,
  FORMAT_OCI_DIR,
};

int archive_format_parse (const char *s);

struct save_opts
{
  enum archive_format format;
  enum compression compression; /* layer compression */
  const char *output;           /* file, directory (oci-dir), or "-" */
};

/* An image as it leaves the machine: its layers as blobs in one compression (made
 * once and cached), and the manifest that describes them (the stored one when it
 * already does, so pulled and loaded images keep their digests). */
struct export_plan
{
  struct digest id;
  char *manifest;       /* the manifest bytes */
  size_t manifest_len;
  struct digest manifest_digest;
  struct image_layer *layers;
  size_t n_layers;
  uint64_t config_size;
  struct strv tags;     /* full references: the one named, or all of an id's */
};

int export_plan_make (struct kiln_store *st, enum compression compression, const char *name, struct export_plan *p,
                      struct kiln_err *err);
void export_plan_clear (struct export_plan *p);

/* `images` are names or ids as given on the command line. */
int image_save (struct kiln_store *st, const struct save_opts *o, const struct strv *images, struct kiln_err *err);

/* What an archive's metadata says of one image, as member names: paths inside the
 * archive, "blobs/sha256/HEX" for an OCI blob; "" (or "blobs/sha256/") where the
 * metadata names nothing usable, which no member matches.  Parsed from outside
 * input and not trusted further: the loader finds each member and checks its digest. */
struct archive_image
{
  char *manifest;     /* index.json and indexes: the member holding its manifest (or an index) */
  char *config;       /* manifest.json and OCI manifests: the member holding its config */
  struct strv layers; /* manifest.json and OCI manifests: the members holding its layers, in order */
  struct strv tags;   /* normalised references ("docker.io/library/x:1") */
};
void archive_image_clear (struct archive_image *im);
void archive_images_free (struct archive_image *v, size_t n);

/* The parsers read every image's names before the loader stores anything: a name that
 * is no valid tag (or holds a digest) fails the parse, and so refuses the archive. */

/* docker-archive's manifest.json: one image per entry ("Config", "Layers", "RepoTags"). */
int archive_parse_docker_manifest (const char *s, size_t len, struct archive_image **out, size_t *n,
                                   struct kiln_err *err);
/* An OCI layout's index.json: one image per descriptor in "manifests" (`manifest` set),
 * tagged with its annotated name when that is a full reference.  KILN_EPARSE when the
 * document is no JSON object. */
int archive_parse_index (const char *s, size_t len, struct archive_image **out, size_t *n, struct kiln_err *err);
/* An OCI manifest blob: 0, `config` and `layers` set.  An index: 1, `manifest` set to the
 * member of this machine's platform.  `out` is cleared first and always needs clearing. */
int archive_parse_oci_manifest (const char *s, size_t len, struct archive_image *out, struct kiln_err *err);

/* Loads every image in the archive (file, "-" or an OCI layout directory);
 * appends "Loaded image: NAME" / "Loaded image ID: ID" lines to `report`. */
int image_load_archive (struct kiln_store *st, const char *input, struct strv *report, struct kiln_err *err);
