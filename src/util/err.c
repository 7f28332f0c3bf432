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

void
kiln_err_print (const struct kiln_err *err, FILE *out)
{
  const char *msg = err && err->msg ? err->msg : "unknown error";
  if (err && err->file && err->line > 0)
    {
      fprintf (out, "%s:%d:%d: %s\n", err->file, err->line, err->col > 0 ? err->col : 1, msg);
      if (err->source_line)
        {
          /* Tabs stay tabs in the caret line so the caret lands under the column. */
          fprintf (out, "    %s\n    ", err->source_line);
          size_t len = strlen (err->source_line);
          for (int i = 1; i < err->col && (size_t) (i - 1) < len; i++)
            fputc (err->source_line[i - 1] == '\t' ? '\t' : ' ', out);
          fputs ("^\n", out);
        }
    }
  else
    fprintf (out, "kiln: %s\n", msg);
}
