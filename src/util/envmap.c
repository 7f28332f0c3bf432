/* util/envmap.c — ordered map with FNV-1a hashing and linear probing. */
#include "util/envmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
hash (const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++)
    {
      h ^= (unsigned char) s[i];
      h *= 1099511628211ULL;
    }
  return h;
}

static size_t
find_slot (const struct envmap *m, const char *key, size_t len)
{
  size_t mask = m->n_slots - 1;
  for (size_t s = hash (key, len) & mask;; s = (s + 1) & mask)
    {
      size_t e = m->index[s];
      if (e == 0)
        return s;
      const char *k = m->keys[e - 1];
      if (strlen (k) == len && memcmp (k, key, len) == 0)
        return s;
    }
}

static void
rehash (struct envmap *m)
{
  size_t slots = m->n_slots ? m->n_slots * 2 : 16;
  free (m->index);
  m->index = xcalloc (slots, sizeof *m->index);
  m->n_slots = slots;
  for (size_t i = 0; i < m->n; i++)
    m->index[find_slot (m, m->keys[i], strlen (m->keys[i]))] = i + 1;
}

const char *
envmap_get (const struct envmap *m, const char *key, size_t len)
{
  if (m == NULL || m->n == 0)
    return NULL;
  size_t e = m->index[find_slot (m, key, len)];
  return e ? m->values[e - 1] : NULL;
}

void
envmap_setn (struct envmap *m, const char *key, size_t len, const char *value)
{
  if ((m->n + 1) * 2 > m->n_slots)
    rehash (m);
  size_t s = find_slot (m, key, len);
  if (m->index[s])
    {
      free (m->values[m->index[s] - 1]);
      m->values[m->index[s] - 1] = xstrdup (value);
      return;
    }
  size_t cap = m->cap;
  m->keys = xgrow (m->keys, &m->cap, m->n + 1, sizeof *m->keys);
  m->values = xgrow (m->values, &cap, m->n + 1, sizeof *m->values);
  m->keys[m->n] = xstrndup (key, len);
  m->values[m->n] = xstrdup (value);
  m->index[s] = ++m->n;
}

void
envmap_set (struct envmap *m, const char *key, const char *value)
{
  envmap_setn (m, key, strlen (key), value);
}

void
envmap_free (struct envmap *m)
{
  for (size_t i = 0; i < m->n; i++)
    {
      free (m->keys[i]);
      free (m->values[i]);
    }
  free (m->keys);
  free (m->values);
  free (m->index);
  memset (m, 0, sizeof *m);
}

void
envmap_copy (struct envmap *dst, const struct envmap *src)
{
  for (size_t i = 0; i < src->n; i++)
    envmap_set (dst, src->keys[i], src->values[i]);
}

void
envmap_to_strv (const struct envmap *m, struct strv *out)
{
  for (size_t i = 0; i < m->n; i++)
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "%s=%s", m->keys[i], m->values[i]);
      strv_push_owned (out, buf_steal (&b));
    }
}

void
envmap_from_strv (struct envmap *m, const struct strv *in)
{
  for (size_t i = 0; i < in->n; i++)
    {
      const char *eq = strchr (in->v[i], '=');
      if (eq)
        envmap_setn (m, in->v[i], (size_t) (eq - in->v[i]), eq + 1);
      else
        envmap_set (m, in->v[i], "");
    }
}
