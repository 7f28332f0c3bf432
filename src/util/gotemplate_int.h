/* util/gotemplate_int.h — what the parts of util/gotemplate share; no other module
 * includes it.
 *   gotemplate_lex.c     lexer: the text becomes tokens (gotemplate_lex.h)
 *   gotemplate_parse.c   parser: the tokens become a tree of nodes
 *   gotemplate_tree.c    the nodes: adding, freeing, printing back
 *   gotemplate_value.c   how a value prints (fmt.Print) and encodes (encoding/json)
 *   gotemplate_funcs.c   the builtins and docker's functions
 *   gotemplate_fmt.c     print, println and printf: Go's fmt verbs
 *   gotemplate.c         execution: the tree walked against a value */
#pragma once
#include <jansson.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/gotemplate.h"

/* nesting of parens, controls and definitions; of named templates at run time */
#define MAX_DEPTH 100

/* ---- the tree (gotemplate_parse.c) */

enum nkind
{
  N_TEXT,
  N_LIST,
  N_ACTION,
  N_IF,
  N_RANGE,
  N_WITH,
  N_TEMPLATE,
  N_BREAK,
  N_CONTINUE,
  N_END,
  N_ELSE,
  N_PIPE,
  N_CMD,
  N_FIELD,
  N_VAR,
  N_CHAIN,
  N_DOT,
  N_NIL,
  N_BOOL,
  N_NUMBER,
  N_STRING,
  N_IDENT,
};

struct node
{
  enum nkind kind;
  size_t pos;
  struct node **kids; /* LIST: nodes; PIPE: commands; CMD: arguments */
  size_t nkids, kcap;
  struct node **decl; /* PIPE: the declared or assigned variables (N_VAR) */
  size_t ndecl, dcap;
  bool is_assign;
  struct node *pipe, *list, *elselist; /* IF RANGE WITH; TEMPLATE: pipe; CHAIN: pipe = the term */
  char **ident;                        /* FIELD (without dots), VAR ("$x", fields), CHAIN fields, IDENT */
  size_t nident, icap;
  char *text; /* TEXT: the bytes; STRING: the value; TEMPLATE: the name */
  size_t len;
  const char *src; /* NUMBER, STRING: as written (in the template's text) */
  size_t srclen;
  bool b;
  bool is_int, is_uint, is_float, is_complex;
  int64_t i;
  uint64_t u;
  double f;
};

struct def
{
  char *name;
  struct node *root;
};

struct gotemplate
{
  char *text;
  size_t len;
  struct node *root;
  struct def *defs;
  size_t ndefs, dcap;
  struct node **arena; /* every node, freed flat */
  size_t narena, acap;
};

/* Go's Node.String(), for the "at <...>" of execution errors and parse messages. */
void gt_node_string (struct buf *b, const struct node *n);
/* The same into a fixed array: error paths leave by longjmp, where no heap buffer may be
 * live. */
const char *gt_node_cstr (const struct node *n, char out[512]);
/* A child at the end of parent's list; a name at the end of a field or chain node's. */
void gt_node_add (struct node *parent, struct node *kid);
void gt_ident_add (struct node *n, const char *s, size_t len);

/* ---- execution state (gotemplate.c) */

enum ctl
{
  CTL_NONE,
  CTL_BREAK,
  CTL_CONTINUE,
};

struct var
{
  const char *name;
  json_t *val;
};

struct state
{
  const struct gotemplate *t;
  const struct gotemplate_opts *o;
  const char *tmpl_name; /* of the template being executed: "" or a {{define}} */
  json_t *root;
  struct buf *out;
  size_t out_start, max_output, max_steps, steps;
  const struct node *node; /* where we are, for errors */
  struct var *vars;
  size_t nvars, vcap;
  json_t **pool; /* values made during the execution */
  size_t npool, pcap;
  int depth;
  enum ctl ctl;
  jmp_buf jb;
  struct kiln_err *err;
};

/* The "not given" final argument of a command, distinct from every value including NULL. */
extern char gt_missing_tag;
#define MISSING ((json_t *) (void *) &gt_missing_tag)

/* Values made during an execution live in its pool until it ends. */
json_t *gt_keep (struct state *st, json_t *v);
json_t *gt_mkstr (struct state *st, const char *s, size_t n);
json_t *gt_mkbuf (struct state *st, struct buf *b);
json_t *gt_mkint (struct state *st, json_int_t i);
/* A plain allocation freed when the execution ends. */
void *gt_pool_alloc (struct state *st, void *p);
/* Go's name for the type of a value, for messages. */
const char *gt_type_name (const struct state *st, const json_t *v);
/* Go's truth: false, 0, "", empty, nil and no value are false. */
bool gt_truth (const json_t *v);

/* ---- values (gotemplate_value.c) */

void gt_print_value (struct buf *b, const json_t *v);
void gt_put_float_v (struct buf *b, double f);

/* ---- functions (gotemplate_funcs.c) */

#define MSG_MAX 512
typedef json_t *(*func_fn) (struct state *st, json_t **argv, size_t argc, char *msg);

struct func
{
  const char *name;
  const char *params; /* one letter a parameter: a(ny) s(tring) i(nt) b(ool) */
  bool variadic;      /* the last parameter repeats */
  func_fn fn;
  bool docker; /* one of docker's, replaced by a stub for a table's header row */
};


const struct func *gt_find_func (const char *name, size_t len, bool header);
/* Whether a name is a function at parse time (builtins and docker's). */
bool gt_function_known (const char *name, size_t len);

/* ---- fmt (gotemplate_fmt.c) */

/* fmt.Sprint (ln: fmt.Sprintln) of the arguments into b. */
void gt_sprint (struct buf *b, json_t **argv, size_t argc, bool ln);
json_t *gt_fn_print (struct state *st, json_t **argv, size_t argc, char *msg);
json_t *gt_fn_println (struct state *st, json_t **argv, size_t argc, char *msg);
json_t *gt_fn_printf (struct state *st, json_t **argv, size_t argc, char *msg);
