/* util/err.c — error objects. */
#include "util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
kiln_err_setv (struct kiln_err *err, int code, const char *fmt, va_list ap)
{
  if (err == NULL)
    return -1;
  char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  kiln_err_clear (err);
  err->code = code;
  err->msg = msg;
  return -1;
}

int
kiln_err_set (struct kiln_err *err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  kiln_err_setv (err, code, fmt, ap);
  va_end (ap);
  return -1;
}

int
kiln_err_wrap (struct kiln_err *err, const char *fmt, ...)
{
  if (err == NULL)
    return -1;
  char *prefix = NULL;
  va_list ap;
  va_start (ap, fmt);
  int r = vasprintf (&prefix, fmt, ap);
  va_end (ap);
  if (r < 0)
    return -1;
  char *joined = NULL;
  if (asprintf (&joined, "%s: %s", prefix, err->msg ? err->msg : "unknown error") < 0)
    joined = NULL;
  free (prefix);
  if (joined)
    {
      free (err->msg);
      err->msg = joined;
    }
  return -1;
}

void
kiln_err_locate (struct kiln_err *err, const char *file, int line, int col, const char *source_line,
                 size_t source_len)
{
  if (err == NULL)
    return;
  free (err->file);
  free (err->source_line);
  err->file = file ? strdup (file) : NULL;
  err->line = line;
  err->col = col;
  err->source_line = source_line ? strndup (source_line, source_len) : NULL;
}

bool
kiln_err_is_set (const struct kiln_err *err)
{
  return err != NULL && (err->code != 0 || err->msg != NULL);
}

void
kiln_err_clear (struct kiln_err *err)
{
  if (err == NULL)
    return;
  free (err->msg);
  free (err->file);
  free (err->source_line);
  memset (err, 0, sizeof *err);
}

/* The part of a long source line shown under an error: at most this many bytes,
 * around the column, with "..." where it was cut. */
#define SHOWN_MAX 240

static bool
utf8_cont (const char *s, size_t i)
{
  return ((unsigned char) s[i] & 0xC0) == 0x80;
}

void
kiln_err_print (const struct kiln_err *err, FILE *out)
{
  const char *msg = err && err->msg ? err->msg : "unknown error";
  if (err && err->file && err->line > 0)
    {
      fprintf (out, "%s:%d:%d: %s\n", err->file, err->line, err->col > 0 ? err->col : 1, msg);
      if (err->source_line)
        {
          const char *src = err->source_line;
          size_t len = strlen (src);
          size_t at = err->col > 1 ? (size_t) err->col - 1 : 0; /* the caret's byte */
          if (at > len)
            at = len;
          size_t start = 0, end = len;
          if (len > SHOWN_MAX)
            {
              /* The head of the line when the column is in it, else a window
               * around the column; never cut inside a UTF-8 sequence. */
              if (at >= SHOWN_MAX - SHOWN_MAX / 4)
                start = at - SHOWN_MAX / 2;
              if (start + SHOWN_MAX > len)
                start = len - SHOWN_MAX;
              end = start + SHOWN_MAX;
              while (start < at && utf8_cont (src, start))
                start++;
              while (end > at && end < len && utf8_cont (src, end))
                end--;
            }
          const char *pre = start > 0 ? "..." : "";
          fprintf (out, "    %s%.*s%s\n    %s", pre, (int) (end - start), src + start, end < len ? "..." : "",
                   start > 0 ? "   " : "");
          /* Tabs stay tabs in the caret line so the caret lands under the column. */
          for (size_t i = start; i < at; i++)
            fputc (src[i] == '\t' ? '\t' : ' ', out);
          fputs ("^\n", out);
        }
    }
  else
    fprintf (out, "kiln: %s\n", msg);
}
