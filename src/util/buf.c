/* util/buf.c — growable buffers and string vectors. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__ ((noreturn))
out_of_memory (void)
{
  fputs ("kiln: out of memory\n", stderr);
  abort ();
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    out_of_memory ();
  return p;
}

void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    out_of_memory ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    out_of_memory ();
  return p;
}

void *
xgrow (void *p, size_t *cap, size_t need, size_t size)
{
  if (need <= *cap)
    return p;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need)
    {
      if (ncap > SIZE_MAX / 2)
        out_of_memory ();
      ncap *= 2;
    }
  if (size && ncap > SIZE_MAX / size)
    out_of_memory ();
  p = xrealloc (p, ncap * size);
  *cap = ncap;
  return p;
}

char *
xstrdup (const char *s)
{
  return xstrndup (s, strlen (s));
}

char *
xstrndup (const char *s, size_t n)
{
  char *p = xmalloc (n + 1);
  memcpy (p, s, n);
  p[n] = '\0';
  return p;
}

void
buf_append (struct buf *b, const void *data, size_t len)
{
  if (len > SIZE_MAX - b->len - 1)
    out_of_memory ();
  b->data = xgrow (b->data, &b->cap, b->len + len + 1, 1);
  if (len)
    memcpy (b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void
buf_puts (struct buf *b, const char *s)
{
  buf_append (b, s, strlen (s));
}

void
buf_putc (struct buf *b, char c)
{
  buf_append (b, &c, 1);
}

void
buf_printf (struct buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *s = NULL;
  int n = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (n < 0)
    out_of_memory ();
  buf_append (b, s, (size_t) n);
  free (s);
}

void
buf_put_rune (struct buf *b, uint32_t r)
{
  char out[4];
  size_t n;
  if (r < 0x80)
    {
      out[0] = (char) r;
      n = 1;
    }
  else if (r < 0x800)
    {
      out[0] = (char) (0xC0 | (r >> 6));
      out[1] = (char) (0x80 | (r & 0x3F));
      n = 2;
    }
  else if (r < 0x10000)
    {
      out[0] = (char) (0xE0 | (r >> 12));
      out[1] = (char) (0x80 | ((r >> 6) & 0x3F));
      out[2] = (char) (0x80 | (r & 0x3F));
      n = 3;
    }
  else
    {
      out[0] = (char) (0xF0 | (r >> 18));
      out[1] = (char) (0x80 | ((r >> 12) & 0x3F));
      out[2] = (char) (0x80 | ((r >> 6) & 0x3F));
      out[3] = (char) (0x80 | (r & 0x3F));
      n = 4;
    }
  buf_append (b, out, n);
}

void
buf_reset (struct buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void
buf_free (struct buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *
buf_steal (struct buf *b)
{
  char *s = b->data ? b->data : xstrdup ("");
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}

const char *
buf_str (const struct buf *b)
{
  return b->data ? b->data : "";
}

static void
strv_push_len (struct strv *sv, char *s, size_t len)
{
  size_t cap = sv->cap;
  sv->v = xgrow (sv->v, &sv->cap, sv->n + 2, sizeof (char *));
  sv->lens = xgrow (sv->lens, &cap, sv->n + 2, sizeof (size_t));
  sv->lens[sv->n] = len;
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
}

void
strv_push_owned (struct strv *sv, char *s)
{
  strv_push_len (sv, s, strlen (s));
}

void
strv_push (struct strv *sv, const char *s)
{
  strv_push_owned (sv, xstrdup (s));
}

void
strv_pushn (struct strv *sv, const char *s, size_t len)
{
  char *p = xmalloc (len + 1);
  memcpy (p, s, len);
  p[len] = '\0';
  strv_push_len (sv, p, len);
}

static int
cmp_strp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

void
strv_sort (struct strv *sv)
{
  if (sv->n < 2)
    return;
  qsort (sv->v, sv->n, sizeof (char *), cmp_strp);
  for (size_t i = 0; i < sv->n; i++)
    sv->lens[i] = strlen (sv->v[i]);
}

void
strv_truncate (struct strv *sv, size_t n)
{
  while (sv->n > n)
    free (sv->v[--sv->n]);
  if (sv->v)
    sv->v[sv->n] = NULL;
}

void
strv_free (struct strv *sv)
{
  for (size_t i = 0; i < sv->n; i++)
    free (sv->v[i]);
  free (sv->v);
  free (sv->lens);
  sv->v = NULL;
  sv->lens = NULL;
  sv->n = sv->cap = 0;
}
