/* util/jsonutil.c — see jsonutil.h. */
#include "util/jsonutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

void
json_object_set_new_after (json_t *obj, const char *after, const char *key, json_t *value)
{
  if (json_object_get (obj, key) || after == NULL || json_object_get (obj, after) == NULL)
    {
      json_object_set_new (obj, key, value);
      return;
    }
  /* Take the keys after `after` out, add the new one, put them back in order. */
  json_t *tail = json_object ();
  bool seen = false;
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe (obj, tmp, k, v)
  {
    if (seen)
      {
        json_object_set (tail, k, v);
        json_object_del (obj, k);
      }
    else if (strcmp (k, after) == 0)
      seen = true;
  }
  json_object_set_new (obj, key, value);
  json_object_update (obj, tail);
  json_decref (tail);
}

json_t *
json_strings (const struct strv *v, size_t from)
{
  json_t *a = json_array ();
  for (size_t i = from; i < v->n; i++)
    json_array_append_new (a, json_string (v->v[i]));
  return a;
}

static int
cmp_key (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

const char **
json_sorted_keys (const json_t *o, size_t *n)
{
  *n = json_object_size (o);
  const char **keys = xcalloc (*n ? *n : 1, sizeof *keys);
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) o, k, v)
  keys[i++] = k;
  qsort (keys, *n, sizeof *keys, cmp_key);
  return keys;
}
