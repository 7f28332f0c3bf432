/* util/gotemplate.h — Go's text/template, as docker's --format uses it, over JSON values.
 *
 * A template is parsed once and executed against a jansson value per object.  The syntax
 * and the messages are Go's: fields ({{.A.B}}), variables ({{$x := .A}}, $), pipelines
 * ({{.A | json}}), parenthesised commands, if/else if/else, range (with $i, $e, else,
 * break, continue), with, comments, {{- -}} trimming and literals; the builtins (and or not
 * len index slice print printf println eq ne lt le gt ge html js urlquery) and docker's
 * functions (json split join title lower upper pad truncate).
 *
 * How a JSON value behaves, taking the place of Go's typed values:
 *   object  a map: {{.k}} reads a key (case-sensitive); a missing key prints "<no value>",
 *           or is an error with missingkey=error, or, for the root of a command's context
 *           (opts.root_type), "can't evaluate field k in type T" as for docker's structs.
 *   array   a slice;  string, integer, real, true/false as Go's string, int, float64, bool;
 *   null    a nil pointer: prints "<nil>", is false, ranges over nothing.
 * Printing is fmt.Print's: integers without ".0", floats as %v, maps as map[k:v] in key
 * order, slices as [a b].
 *
 * Errors read as Go's, which docker prints after "template parsing error: ":
 *   template: :1: function "x" not defined                          (parse: line)
 *   template: :1:2: executing "" at <.Foo>: map has no entry ...    (execution: line:column)
 *
 * The template comes from a user's flag: parsing and execution are bounded (nesting depth,
 * steps, output bytes) and fail with an error instead of running away. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

struct gotemplate;

/* Parses `text` (len bytes, NULs allowed).  Function names are checked against the builtins
 * and docker's functions, as Go does at parse time.  NULL and `err` (KILN_EPARSE) on error. */
struct gotemplate *gotemplate_parse (const char *text, size_t len, struct kiln_err *err);
void gotemplate_free (struct gotemplate *t);

static inline void
gotemplate_freep (struct gotemplate **t)
{
  gotemplate_free (*t);
}
#define _cleanup_gotemplate_ __attribute__ ((cleanup (gotemplate_freep)))

enum gotemplate_missingkey
{
  GT_MISSING_DEFAULT, /* Go's default: a missing map key is "no value" */
  GT_MISSING_ZERO,    /* missingkey=zero: nil */
  GT_MISSING_ERROR,   /* missingkey=error: "map has no entry for key" (docker inspect) */
};

/* A method of the root context that takes arguments, like docker's {{.Label "x"}}.  Called
 * with the root value and the evaluated arguments; returns a new reference or NULL with
 * `msg` set (becomes "error calling NAME: msg"). */
struct gotemplate_method
{
  const char *name;
  size_t nargs;
  json_t *(*call) (json_t *root, json_t *const *args, char **msg);
};

struct gotemplate_opts
{
  enum gotemplate_missingkey missingkey;
  /* docker's HeaderFunctions: json split join title lower upper truncate return their first
   * argument (the column title), as for the header row of a table. */
  bool header_funcs;
  /* The Go type name of the root when it stands for a struct (docker's per-command
   * contexts, e.g. "*formatter.ContainerContext"); NULL: the root is a map. */
  const char *root_type;
  const struct gotemplate_method *methods; /* of the root; NULL-name terminated, or NULL */
  /* Fields of the root that docker's struct has but its JSON omits when empty
   * (omitempty, e.g. an image's Variant): a missing one reads as the value here, as Go
   * reads the struct's zero field, instead of failing.  NULL: none. */
  const json_t *root_zero;
  /* The data's objects are Go structs in declaration order (inspect documents):
   * {{json}} keeps each object's order instead of sorting it, so the maps in the
   * data must already be sorted (formatter_sort_maps). */
  bool json_in_order;
  size_t max_output;                       /* bytes; 0: 16 MiB */
  size_t max_steps;                        /* nodes evaluated; 0: 1,000,000 */
};

/* Executes against `data` (borrowed; NULL is Go's nil data) and appends the output to `out`.
 * On error, returns -1 with `err` set (KILN_EINVAL) and what was written before it left
 * in `out`, as Go leaves it in the writer. */
int gotemplate_exec (const struct gotemplate *t, json_t *data, const struct gotemplate_opts *opts,
                     struct buf *out, struct kiln_err *err);

/* Go's encoding/json of a value as docker's {{json}} writes it: compact, keys sorted, no
 * HTML escaping, floats as Go formats them. */
void gotemplate_json (struct buf *out, const json_t *v);
/* The same, each object's keys in the data's order (gotemplate_opts.json_in_order). */
void gotemplate_json_in_order (struct buf *out, const json_t *v);
/* fmt.Print of a value ("<no value>" for NULL). */
void gotemplate_print (struct buf *out, const json_t *v);
