/* util/formatter.h — docker's --format around the template engine (cli/command/formatter).
 *
 * A command builds one JSON object per row (its "context": the fields a user can name,
 * already computed, e.g. {"Repository":"busybox","ID":"b95a83497c91",...}) and a header
 * map from field name to column title, then hands both to formatter_write():
 *
 *   table {{.A}}\t{{.B}}   a header row (the same template over the titles, with docker's
 *                          HeaderFunctions) and the rows, aligned as docker's tabwriter does
 *   json                   {{json .}}: one JSON object a line
 *   anything else          the template, executed for each row, each followed by "\n"
 *
 * Errors read as docker's: "template parsing error: template: :1:2: executing ...". */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/gotemplate.h"

struct formatter
{
  bool table;               /* "table ...": a header row and aligned columns */
  bool json;                /* "json": {{json .}} */
  char *text;               /* what text/template parses */
  struct gotemplate *tmpl;
};

/* docker's Format.templateString(): "json" becomes {{json .}}; "table" is cut; spaces are
 * trimmed at both ends; the two characters \t and \n become TAB and LF.  Caller frees. */
char *formatter_template_string (const char *format, bool *is_table, bool *is_json);

/* Prepares a --format.  On error `err` says "template parsing error: ..." (KILN_EINVAL). */
int formatter_init (struct formatter *f, const char *format, struct kiln_err *err);
void formatter_clear (struct formatter *f);

/* docker's Context.Write: executes the template for each element of the array `rows` and
 * ends each with "\n"; for a table, first the header row (the template over `header`, a map
 * of field name to title; NULL: none), then everything through the tabwriter.  Nothing is
 * appended to `out` when a row fails. */
int formatter_write (const struct formatter *f, json_t *rows, json_t *header, const struct gotemplate_opts *opts,
                     struct buf *out, struct kiln_err *err);

/* docker's inspect --format over `elements` (an array; the fields that are Go maps in
 * docker's types are sorted in place first): "" prints them as indented JSON
 * (4 spaces, kiln inspect's own output), "json" as one compact JSON array, anything else is
 * a template executed for each element and followed by "\n" ("\n" alone for none).  A
 * missing field is an error ("map has no entry for key"), as docker's inspect over raw
 * JSON.  Nothing is appended to `out` on error. */
int formatter_inspect (const char *format, json_t *elements, struct buf *out, struct kiln_err *err);
/* The same, with `zeros[i]` (an object, or null) the fields element i's struct has but
 * its JSON omits when empty (gotemplate_opts.root_zero). */
int formatter_inspect_typed (const char *format, json_t *elements, json_t *zeros, struct buf *out,
                             struct kiln_err *err);

/* Go's text/tabwriter as docker configures it: minimum width 10, padding 3, spaces; the
 * last cell of a line is not padded; widths count runes. */
void formatter_tabwrite (struct buf *out, const char *text, size_t len);

/* docker's TruncateID: drops up to the first ':' ("sha256:"), keeps 12 characters. */
char *formatter_truncate_id (const char *id);

/* docker's Ellipsis: at most `width` display columns (East Asian wide characters count
 * two), the last one "…" when the text was cut. */
char *formatter_ellipsis (const char *s, int width);
