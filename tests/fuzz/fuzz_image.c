/* libFuzzer: the image documents that come from outside — docker-archive manifest.json,
 * OCI index.json, manifests and indexes (from archives and registries), image configs.
 * Every document parser gets the input; "MANIFEST\0CONFIG" also goes to the parsers
 * that read a manifest and its config together. */
/* fuzz-floor: 180: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 328; a harness that sees only itself stays in single digits. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/archive.h"
#include "image/image.h"
#include "registry/transfer.h"

static void
documents (const char *s, size_t len)
{
  struct kiln_err err = {0};
  struct archive_image *v;
  size_t n;
  if (archive_parse_docker_manifest (s, len, &v, &n, &err) == 0)
    archive_images_free (v, n);
  kiln_err_clear (&err);
  if (archive_parse_index (s, len, &v, &n, &err) == 0)
    archive_images_free (v, n);
  kiln_err_clear (&err);
  struct archive_image im;
  archive_parse_oci_manifest (s, len, &im, &err);
  archive_image_clear (&im);
  kiln_err_clear (&err);

  /* As a registry's reply: with and without a Content-Type, for two platforms. */
  const char *types[] = {NULL, MT_OCI_INDEX, MT_DOCKER_MANIFEST};
  const char *platforms[] = {"linux/amd64", "linux/arm64/v8"};
  for (size_t t = 0; t < 3; t++)
    for (size_t p = 0; p < 2; p++)
      {
        struct platform want;
        struct pull_desc next;
        platform_parse (platforms[p], &want, &err);
        pull_manifest_parse (s, len, types[t], &want, &next, &err);
        kiln_err_clear (&err);
      }
}

static void
manifest_and_config (const char *m, size_t mlen, const char *c, size_t clen)
{
  struct kiln_err err = {0};
  struct pull_layer *pl;
  size_t n;
  if (pull_layers_parse (m, mlen, c, clen, &pl, &n, &err) == 0)
    free (pl);
  kiln_err_clear (&err);
  json_t *mj = json_loadb (m, mlen, 0, NULL);
  json_t *cj = json_loadb (c, clen, 0, NULL);
  struct image_layer *ls;
  if (image_layers_parse (mj, cj, &ls, &n, &err) == 0)
    free (ls);
  kiln_err_clear (&err);
  json_decref (mj);
  json_decref (cj);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *s = (const char *) data;
  const char *nul = memchr (s, '\0', size);
  if (nul == NULL)
    documents (s, size);
  else
    manifest_and_config (s, (size_t) (nul - s), nul + 1, size - (size_t) (nul - s) - 1);
  return 0;
}
