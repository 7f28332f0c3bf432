/* util/jsonutil.h — jansson helpers for documents whose key order is docker's. */
#pragma once
#include <jansson.h>

/* Sets `key` to `value` (a new reference, stolen) in `obj`: where it is when `obj`
 * has it, else right after `after` (at the end when `after` is NULL or missing).
 * jansson appends new keys; docker's structs have their fields in declaration
 * order, which inspect documents keep (util/formatter.h). */
void json_object_set_new_after (json_t *obj, const char *after, const char *key, json_t *value);

struct strv;
/* A JSON array of the strings v[from..]. */
json_t *json_strings (const struct strv *v, size_t from);

/* The keys of an object sorted bytewise (Go's map order); the caller frees the
 * array, not the keys (they are the object's, valid while it is unchanged). */
const char **json_sorted_keys (const json_t *o, size_t *n);
