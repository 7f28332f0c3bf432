/* frontend/parser.h — the Dockerfile grammar: text → AST, as BuildKit's parser.
 *
 * The AST is the same one BuildKit builds (see conformance/buildkit-parser): each
 * instruction node has its keyword as written, its `--flags`, its arguments split
 * by the per-instruction rule, heredocs, and the span of physical lines it took.
 * Nothing here expands variables or checks values: that is frontend/instructions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* Hard limits on outside input; beyond them parsing fails with a clear error. */
#define DF_MAX_LINE 65535u              /* bytes in one physical line, as BuildKit */
#define DF_MAX_FILE (64u * 1024 * 1024) /* a Dockerfile larger than this is refused */

struct df_heredoc
{
  char *name;    /* delimiter after quote removal */
  char *content; /* body as read, newlines included; tabs not yet chomped */
  bool expand;   /* false when any part of the delimiter was quoted */
  bool chomp;    /* <<- : strip leading tabs */
  unsigned fd;   /* digits before <<, 0 if none */
};

struct df_node
{
  char *keyword;       /* as written, e.g. "RUN" or "run" */
  struct strv flags;   /* "--from=build", in order */
  struct strv args;    /* arguments, by the keyword's rule */
  struct df_node *sub; /* ONBUILD: the wrapped instruction (args is then empty) */
  bool json;           /* arguments came from a JSON array (exec form) */
  char *original;      /* the logical line, continuations joined */
  int start_line;      /* 1-based physical lines */
  int end_line;
  struct df_heredoc *heredocs;
  size_t n_heredocs;
};

struct df_ast
{
  char *file; /* name used in messages */
  struct df_node *nodes;
  size_t n_nodes;
  int start_line, end_line;
  char escape;  /* '\\' or '`' */
  char *syntax; /* `# syntax=` value or NULL */
  int syntax_line;
  char *check; /* `# check=` value or NULL */
  struct strv warnings;
  /* The source, kept to show the offending line of later errors. */
  char *text;
  size_t text_len;
  size_t *line_off; /* start offset of each physical line (index 0 = line 1) */
  size_t n_lines;
};

/* Parses `data[0..len)`. `file` names the source in errors (FILE:LINE:COL). */
struct df_ast *df_parse (const char *file, const char *data, size_t len, struct kiln_err *err);
/* Reads and parses a file ("-" is standard input). */
struct df_ast *df_parse_file (const char *path, struct kiln_err *err);
void df_ast_free (struct df_ast *ast);

/* The text of physical line `line` (1-based) without its newline; NULL if out of range. */
const char *df_ast_line (const struct df_ast *ast, int line, size_t *len);

/* Fills `err`'s position with `line`/`col` of this AST's file and returns -1. */
int df_ast_locate (const struct df_ast *ast, struct kiln_err *err, int line, int col);

/* BuildKit's Node.Dump() of the whole AST, plus a final newline (the `result` files). */
void df_dump (const struct df_ast *ast, struct buf *out);

/* Removes leading tabs from every line of a heredoc body (for <<-). */
char *df_heredoc_chomp (const char *content);

/* The first column (1-based) of `needle` in physical line `line`, or 1. */
int df_ast_find_col (const struct df_ast *ast, int line, const char *needle);
