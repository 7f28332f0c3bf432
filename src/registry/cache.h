/* registry/cache.h — a build cache that travels: --cache-to and --cache-from.
 *
 * What travels is the cache records a build used (step key → resulting layer or
 * "none", and when the step first ran) and the layers they name (gzip blobs).
 * Packed as an OCI image manifest whose config (media type
 * application/vnd.kiln.cache.config.v1+json) holds the records and whose layers
 * are the blobs: a registry stores it like any image (type=registry,ref=R), a
 * directory holds it as an OCI layout (type=local,dest=DIR / src=DIR).
 *
 * Importing verifies every blob against its digest and every layer against its
 * diff_id, unpacks the layers, and adds records the store lacks.  A record is
 * trusted as much as the place it came from: import only caches you trust, as
 * with BuildKit. */
#pragma once
#include <stdbool.h>

#include "registry/client.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#define MT_KILN_CACHE_CONFIG "application/vnd.kiln.cache.config.v1+json"

enum cache_mode
{
  CACHE_MODE_MIN, /* the records of the image's own chain */
  CACHE_MODE_MAX, /* every record the build used, all stages */
};

struct cache_spec
{
  bool registry;       /* type=registry (else type=local) */
  char *ref;           /* registry reference */
  char *dir;           /* local directory (dest= or src=) */
  enum cache_mode mode;
};

/* Parses "type=registry,ref=R[,mode=min|max]", "type=local,dest=DIR|src=DIR", or a
 * bare reference (type=registry).  `export` says which of dest/src is expected. */
int cache_spec_parse (const char *s, bool export, struct cache_spec *out, struct kiln_err *err);
void cache_spec_clear (struct cache_spec *s);

/* Exports the records with these keys (and their layers). */
int cache_export (struct kiln_store *st, const struct cache_spec *spec, const struct strv *keys,
                  const struct registry_opts *ro, FILE *out, struct kiln_err *err);

/* Imports a cache; a cache that does not exist yet is not an error (the first build
 * of a branch): it says so on `out` and returns 0. */
int cache_import (struct kiln_store *st, const struct cache_spec *spec, const struct registry_opts *ro, FILE *out,
                  struct kiln_err *err);
