/* frontend/inst_build.h — internal to the frontend: what instructions.c, flags.c
 * and run_mount.c share while turning one AST node into a struct inst.
 *
 * A builder carries the node being built and, for inst_expand, the environment
 * its words expand in.  Flags are declared per instruction as a table of names and
 * types, parsed once (unknown names get a "did you mean"), and read back by name. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "frontend/instructions.h"

struct builder
{
  const struct df_ast *ast;
  const struct df_node *node;
  const struct shell_env *env; /* NULL: do not expand */
  struct kiln_err *err;
};

/* Sets an error located at the node's first line, at the column where `needle`
 * appears (or the keyword). Returns -1. */
int __attribute__ ((format (printf, 3, 4))) inst_fail (struct builder *b, const char *needle, const char *fmt, ...);
bool inst_has_var (const char *s);
/* Expands one word when the builder has an environment; otherwise copies it. NULL on error. */
char *inst_expand_word (struct builder *b, const char *word);
/* Expands text into several words (EXPOSE). */
int inst_expand_words (struct builder *b, const char *text, struct strv *out);

/* "true"/"1" or "false"/"0", case-insensitive; false if neither. */
bool inst_bool_word (const char *s, bool *out);
/* A non-negative integer in `base`, the whole string; false otherwise. */
bool inst_int64 (const char *s, int64_t *out, int base);

/* ---------- flags ---------- */

enum flag_type
{
  F_STRING,
  F_BOOL,
  F_LIST,
};

struct flag_def
{
  const char *name;
  enum flag_type type;
};

#define FLAGS_MAX 8

struct flag_val
{
  const char *raw; /* the flag as written, for error positions */
  char *value;     /* F_STRING; "true"/"false" for F_BOOL */
  struct strv list;
  bool set;
};

/* The flags of one instruction as given, each read back by its name. */
struct flag_set
{
  const struct flag_def *defs; /* NULL-terminated, at most FLAGS_MAX */
  struct flag_val vals[FLAGS_MAX];
};

/* The flags `kind` accepts (an empty table for most). */
const struct flag_def *flags_for (enum inst_kind kind);
/* Parses the node's flags against `defs` into `fs` (which must start zeroed). */
int flags_parse (struct builder *b, const struct flag_def *defs, struct flag_set *fs);
void flags_free (struct flag_set *fs);
/* The value of flag `name`, which must be in the instruction's table (else abort:
 * a name missing from the table is a bug, not input). */
struct flag_val *flag_get (struct flag_set *fs, const char *name);
/* A boolean flag given and true. */
bool flag_true (struct flag_set *fs, const char *name);
/* Takes string flag `name`'s value, expanded; NULL when unset. -1 on error. */
int flag_take_string (struct builder *b, struct flag_set *fs, const char *name, char **out);
/* The first flag given, or NULL (for forms that take none). */
const struct flag_val *flags_first_set (const struct flag_set *fs);

/* ---------- RUN --mount ---------- */

/* Parses one --mount value (`raw` locates errors) into `m`; on error `m` may hold
 * parts: run_mount_clear it either way. */
int run_mount_parse (struct builder *b, const char *raw, const char *spec, struct run_mount *m);
void run_mount_clear (struct run_mount *m);
/* "bind", "cache", ... */
const char *run_mount_type_name (enum mount_type t);
