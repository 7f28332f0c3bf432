/* util/err.h — error objects passed down, filled once, printed by the CLI.
 *
 * A function that can fail takes a `struct kiln_err *` last, returns -1 (or NULL)
 * and fills it with what went wrong and where.  A caller that adds context wraps.
 * Dockerfile errors also carry a position and the offending line, so the CLI can
 * print `FILE:LINE:COL: message`, the line, and a caret. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

struct kiln_err
{
  int code;          /* errno-style, or one of the KILN_E* below */
  char *msg;         /* what went wrong, one sentence, no trailing newline */
  char *file;        /* optional: file the position refers to */
  int line;          /* 1-based, 0 when there is no position */
  int col;           /* 1-based, 0 when unknown */
  char *source_line; /* optional: the text of `line`, for the caret display */
};

/* Codes for failures that are not system errors. */
enum
{
  KILN_EUSAGE = 1000, /* bad usage: the CLI exits 2 */
  KILN_EPARSE,        /* malformed input (Dockerfile, pattern file, ...) */
  KILN_EINVAL,        /* a well-formed input with a bad value */
};

/* Sets the error (replacing any earlier one) and returns -1. */
int kiln_err_set (struct kiln_err *err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int kiln_err_setv (struct kiln_err *err, int code, const char *fmt, va_list ap);

/* Prefixes the message with "context: " and returns -1. */
int kiln_err_wrap (struct kiln_err *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Attaches a position to the error already set; `source_line` may be NULL. */
void kiln_err_locate (struct kiln_err *err, const char *file, int line, int col,
                      const char *source_line, size_t source_len);

bool kiln_err_is_set (const struct kiln_err *err);
void kiln_err_clear (struct kiln_err *err);

/* Prints the error as the CLI shows it: "kiln: msg" or the located form with a caret. */
void kiln_err_print (const struct kiln_err *err, FILE *out);
