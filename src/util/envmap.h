/* util/envmap.h — an ordered NAME → value map with a hash index: environments,
 * build args, labels.  Setting an existing name replaces its value in place, so
 * the order is that of first definition (as docker keeps an image's Env). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

struct envmap
{
  char **keys;
  char **values;
  size_t n;
  size_t cap;
  size_t *index; /* open addressing: slot → entry + 1, 0 = empty */
  size_t n_slots;
};

#define ENVMAP_INIT {NULL, NULL, 0, 0, NULL, 0}

void envmap_set (struct envmap *m, const char *key, const char *value);
void envmap_setn (struct envmap *m, const char *key, size_t key_len, const char *value);
/* NULL when absent. */
const char *envmap_get (const struct envmap *m, const char *key, size_t key_len);
void envmap_free (struct envmap *m);
void envmap_copy (struct envmap *dst, const struct envmap *src);
/* Appends "KEY=value" entries, in order. */
void envmap_to_strv (const struct envmap *m, struct strv *out);
/* Adds "KEY=value" (or "KEY" with an empty value) entries. */
void envmap_from_strv (struct envmap *m, const struct strv *in);
