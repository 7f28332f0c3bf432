/* util/buf.h — a growable byte buffer, always NUL-terminated, and string vectors.
 *
 * Allocation failure aborts: kiln cannot do anything useful without memory, and
 * checking every append would hide the real error paths. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf
{
  char *data; /* NUL-terminated; NULL until the first append */
  size_t len;
  size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_append (struct buf *b, const void *data, size_t len);
void buf_puts (struct buf *b, const char *s);
void buf_putc (struct buf *b, char c);
void buf_printf (struct buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Appends the UTF-8 encoding of code point `r`. */
void buf_put_rune (struct buf *b, uint32_t r);
void buf_reset (struct buf *b);
void buf_free (struct buf *b);
/* Returns the contents (never NULL) and leaves the buffer empty; the caller frees. */
char *buf_steal (struct buf *b);
/* The contents as a C string ("" when empty). */
const char *buf_str (const struct buf *b);

static inline void
buf_freep (struct buf *b)
{
  buf_free (b);
}
#define _cleanup_buf_ __attribute__ ((cleanup (buf_freep)))

/* A NULL-terminated vector of owned strings.  `lens` holds each string's length,
 * which differs from strlen() only for strings with embedded NUL bytes (JSON "\u0000"). */
struct strv
{
  char **v;
  size_t *lens;
  size_t n;
  size_t cap;
};

#define STRV_INIT {NULL, NULL, 0, 0}

/* Takes ownership of `s`. */
void strv_push_owned (struct strv *sv, char *s);
void strv_push (struct strv *sv, const char *s);
void strv_pushn (struct strv *sv, const char *s, size_t len);
void strv_free (struct strv *sv);
/* Frees the strings from index `n` on (none when there are at most `n`). */
void strv_truncate (struct strv *sv, size_t n);
/* Sorts bytewise (strcmp order); `lens` follows. */
void strv_sort (struct strv *sv);
static inline void
strv_freep (struct strv *sv)
{
  strv_free (sv);
}
#define _cleanup_strv_ __attribute__ ((cleanup (strv_freep)))

void *xmalloc (size_t n);
void *xcalloc (size_t n, size_t size);
void *xrealloc (void *p, size_t n);
/* Grows an array of `*cap` elements of `size` bytes so that index `need-1` fits. */
void *xgrow (void *p, size_t *cap, size_t need, size_t size);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
