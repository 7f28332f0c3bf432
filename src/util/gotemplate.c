/* util/gotemplate.c — Go's text/template over jansson values: execution (exec.go).
 *
 * Three stages, each Go's own read in C:
 *   lex    the whole text into tokens first (Go lexes in a goroutine, one token ahead of
 *          the parser; lexing up front yields the same tokens and the same first error,
 *          since the parser stops at the error token in order)    gotemplate_parse.c
 *   parse  the tokens into a tree with Go's grammar, checks and messages (parse.go)
 *   exec   walk the tree against a value (exec.go), calling the functions of
 *          gotemplate_funcs.c and printing as gotemplate_value.c does    this file
 *
 * Parse and exec errors leave through longjmp, as Go's panics do.  That is safe because
 * nothing they own lives on the C stack: every node is registered in the template's node
 * arena, and every value and scratch allocation of an execution in the state's pools, so
 * both are freed whole whichever way the work ends.  Values read from the data are
 * borrowed; values made during execution live until the execution ends.
 *
 * Bounds for hostile templates: parse nesting (parens, controls, definitions) is capped at
 * MAX_DEPTH; execution counts nodes and range iterations against max_steps, nests named
 * templates at most MAX_DEPTH deep, and stops when the output passes max_output. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonutil.h"
#include "util/cleanup.h"
#include "util/gotemplate_int.h"
#include "util/utf8.h"

#define DEFAULT_MAX_OUTPUT (16u << 20)
#define DEFAULT_MAX_STEPS 1000000u

char gt_missing_tag;

static void exec_errorf (struct state *st, const char *fmt, ...) __attribute__ ((format (printf, 2, 3), noreturn));
static void
exec_errorf (struct state *st, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  char name[600];
  struct buf q = BUF_INIT;
  utf8_go_quote (&q, st->tmpl_name, strlen (st->tmpl_name));
  snprintf (name, sizeof name, "%s", buf_str (&q));
  buf_free (&q);
  if (st->node == NULL)
    kiln_err_set (st->err, KILN_EINVAL, "template: %s: %s", name, msg);
  else
    {
      size_t pos = st->node->pos;
      int line = 1;
      size_t col = pos;
      for (size_t i = 0; i < pos && i < st->t->len; i++)
        if (st->t->text[i] == '\n')
          line++, col = pos - i - 1;
      char ctx[512];
      kiln_err_set (st->err, KILN_EINVAL, "template: :%d:%zu: executing %s at <%s>: %s", line, col, name,
                    gt_node_cstr (st->node, ctx), msg);
    }
  longjmp (st->jb, 1);
}

/* Takes a value made during the execution.  Each counts as a step, so max_steps bounds
 * the memory an execution holds as well as its time; the check waits for the next node
 * (functions call this with buffers of their own still live, which a longjmp would leak). */
json_t *
gt_keep (struct state *st, json_t *v)
{
  st->pool = xgrow (st->pool, &st->pcap, st->npool + 1, sizeof *st->pool);
  st->pool[st->npool++] = v;
  st->steps++;
  return v;
}

/* Registers a plain allocation, freed when the execution ends (the pool marks it by a
 * MISSING after it). */
void *
gt_pool_alloc (struct state *st, void *p)
{
  st->pool = xgrow (st->pool, &st->pcap, st->npool + 2, sizeof *st->pool);
  st->pool[st->npool++] = p;
  st->pool[st->npool++] = MISSING;
  return p;
}

json_t *
gt_mkstr (struct state *st, const char *s, size_t n)
{
  return gt_keep (st, json_stringn_nocheck (s ? s : "", n));
}

json_t *
gt_mkbuf (struct state *st, struct buf *b)
{
  return gt_mkstr (st, b->data, b->len);
}

json_t *
gt_mkint (struct state *st, json_int_t i)
{
  return gt_keep (st, json_integer (i));
}

static void
emit (struct state *st, const char *s, size_t n)
{
  if (st->out->len - st->out_start + n > st->max_output)
    exec_errorf (st, "output exceeds %zu bytes", st->max_output);
  buf_append (st->out, s, n);
}

static void
step (struct state *st)
{
  if (++st->steps > st->max_steps)
    exec_errorf (st, "template runs too long (more than %zu steps)", st->max_steps);
}

/* Go's name for the type of a value, for messages. */
const char *
gt_type_name (const struct state *st, const json_t *v)
{
  if (st && v == st->root && st->o->root_type)
    return st->o->root_type;
  if (v == NULL || json_is_null (v))
    return "interface {}";
  switch (json_typeof (v))
    {
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float64";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "[]interface {}";
    default: return "map[string]interface {}";
    }
}

bool
gt_truth (const json_t *v)
{
  if (v == NULL)
    return false;
  switch (json_typeof (v))
    {
    case JSON_NULL: return false;
    case JSON_TRUE: return true;
    case JSON_FALSE: return false;
    case JSON_INTEGER: return json_integer_value (v) != 0;
    case JSON_REAL: return json_real_value (v) != 0;
    case JSON_STRING: return json_string_length (v) > 0;
    case JSON_ARRAY: return json_array_size (v) > 0;
    case JSON_OBJECT: return json_object_size (v) > 0;
    }
  return false;
}

static const char *
param_type_name (char typ)
{
  switch (typ)
    {
    case 's': return "string";
    case 'i': return "int";
    case 'b': return "bool";
    default: return "interface {}";
    }
}

/* Go's validateType: checks a value against a parameter's type. */
static json_t *
validate (struct state *st, json_t *v, char typ)
{
  if (typ == 0)
    return v;
  if (v == NULL)
    {
      if (typ == 'a')
        return json_null ();
      exec_errorf (st, "invalid value; expected %s", param_type_name (typ));
    }
  bool ok = typ == 'a' || (typ == 's' && json_is_string (v)) || (typ == 'i' && json_is_integer (v))
            || (typ == 'b' && json_is_boolean (v));
  if (!ok)
    exec_errorf (st, "wrong type for value; expected %s; got %s", param_type_name (typ), gt_type_name (st, v));
  return v;
}

/* ---- variables */

static void
var_push (struct state *st, const char *name, json_t *v)
{
  st->vars = xgrow (st->vars, &st->vcap, st->nvars + 1, sizeof *st->vars);
  st->vars[st->nvars++] = (struct var){name, v};
}

static struct var *
var_find (struct state *st, const char *name)
{
  for (size_t i = st->nvars; i-- > 0;)
    if (strcmp (st->vars[i].name, name) == 0)
      return &st->vars[i];
  exec_errorf (st, "undefined variable: %s", name);
}

/* ---- evaluation (exec.go) */

static json_t *eval_pipeline (struct state *st, json_t *dot, const struct node *pipe);
static json_t *eval_arg (struct state *st, json_t *dot, char typ, const struct node *n);
static json_t *eval_field_chain (struct state *st, json_t *dot, json_t *recv, const struct node *node, char **ident,
                                 size_t nident, const struct node *const *args, size_t nargs, json_t *final);

static void
not_a_function (struct state *st, const struct node *const *args, size_t nargs, json_t *final)
{
  if (nargs > 1 || final != MISSING)
    {
      char str[512];
      exec_errorf (st, "can't give argument to non-function %s", gt_node_cstr (args[0], str));
    }
}

static json_t *
ideal_constant (struct state *st, const struct node *n)
{
  st->node = n;
  bool hex_int = n->srclen > 2 && n->src[0] == '0' && (n->src[1] == 'x' || n->src[1] == 'X')
                 && !memchr (n->src, 'p', n->srclen) && !memchr (n->src, 'P', n->srclen);
  bool rune = n->srclen > 0 && n->src[0] == '\'';
  bool floaty = false;
  for (size_t i = 0; i < n->srclen; i++)
    floaty |= strchr (".eEpP", n->src[i]) != NULL && n->src[i];
  if (n->is_float && !hex_int && !rune && floaty)
    return gt_keep (st, json_real (n->f));
  if (n->is_int)
    return gt_mkint (st, n->i);
  exec_errorf (st, "%.*s overflows int", (int) n->srclen, n->src);
}

/* Calls a function with the command's arguments (args[0] is the function's own node) and
 * the previous command's value as the last one, as Go's evalCall. */
static json_t *
eval_call (struct state *st, json_t *dot, const struct func *fn, const struct node *node, const char *name,
           const struct node *const *args, size_t nargs, json_t *final)
{
  if (nargs > 0)
    args++, nargs--;
  size_t nparams = strlen (fn->params);
  size_t num_in = nargs + (final != MISSING);
  if (fn->variadic)
    {
      if (num_in < nparams - 1)
        exec_errorf (st, "wrong number of args for %s: want at least %zu got %zu", name, nparams - 1, nargs);
    }
  else if (num_in != nparams)
    exec_errorf (st, "wrong number of args for %s: want %zu got %zu", name, nparams, num_in);

  /* and/or stop at the first argument that decides */
  if (fn->fn == NULL)
    {
      bool is_or = strcmp (name, "or") == 0;
      json_t *v = NULL;
      for (size_t i = 0; i < nargs; i++)
        {
          v = eval_arg (st, dot, 'a', args[i]);
          if (gt_truth (v) == is_or)
            return v;
        }
      if (final != MISSING)
        v = validate (st, final, 'a');
      return v;
    }

  json_t **argv = gt_pool_alloc (st, xcalloc (num_in ? num_in : 1, sizeof *argv));
  for (size_t i = 0; i < nargs; i++)
    {
      char typ = i < nparams ? fn->params[i] : fn->params[nparams - 1];
      argv[i] = eval_arg (st, dot, typ, args[i]);
    }
  if (final != MISSING)
    {
      size_t i = nargs;
      char typ = i < nparams ? fn->params[i] : fn->params[nparams - 1];
      argv[i] = validate (st, final, typ);
    }
  char msg[MSG_MAX] = "";
  json_t *v = fn->fn (st, argv, num_in, msg);
  if (msg[0])
    {
      st->node = node;
      exec_errorf (st, "error calling %s: %s", name, msg);
    }
  return v;
}

static json_t *
eval_function (struct state *st, json_t *dot, const struct node *ident, const struct node *cmd,
               const struct node *const *args, size_t nargs, json_t *final)
{
  st->node = ident;
  const char *name = ident->ident[0];
  const struct func *fn = gt_find_func (name, strlen (name), st->o->header_funcs);
  if (fn == NULL)
    exec_errorf (st, "\"%s\" is not a defined function", name);
  return eval_call (st, dot, fn, cmd, name, args, nargs, final);
}

/* A method of the root context (docker's {{.Label "x"}}): string arguments, one result. */
static json_t *
eval_method (struct state *st, json_t *dot, const struct gotemplate_method *m, const struct node *node,
             const struct node *const *args, size_t nargs, json_t *final)
{
  if (nargs > 0)
    args++, nargs--;
  size_t num_in = nargs + (final != MISSING);
  if (num_in != m->nargs)
    exec_errorf (st, "wrong number of args for %s: want %zu got %zu", m->name, m->nargs, num_in);
  json_t *argv[8];
  if (num_in > 8)
    exec_errorf (st, "wrong number of args for %s", m->name);
  for (size_t i = 0; i < nargs; i++)
    argv[i] = eval_arg (st, dot, 's', args[i]);
  if (final != MISSING)
    argv[nargs] = validate (st, final, 's');
  char *msg = NULL;
  json_t *v = m->call (st->root, argv, &msg);
  if (v == NULL)
    {
      st->node = node;
      char tmp[512];
      snprintf (tmp, sizeof tmp, "%s", msg ? msg : "failed");
      free (msg);
      exec_errorf (st, "error calling %s: %s", m->name, tmp);
    }
  return gt_keep (st, v);
}

/* .name of a value, as Go's evalField over maps (and, for the root, docker's structs). */
static json_t *
eval_field (struct state *st, json_t *dot, const char *name, const struct node *node, const struct node *const *args,
            size_t nargs, json_t *final, json_t *recv)
{
  step (st);
  if (recv == NULL)
    {
      if (st->o->missingkey == GT_MISSING_ERROR)
        exec_errorf (st, "nil data; no entry for key \"%s\"", name);
      return NULL;
    }
  bool has_args = nargs > 1 || final != MISSING;
  if (recv == st->root && st->o->root_type)
    {
      for (const struct gotemplate_method *m = st->o->methods; m && m->name; m++)
        if (strcmp (m->name, name) == 0)
          return eval_method (st, dot, m, node, args, nargs, final);
      json_t *v = json_is_object (recv) ? json_object_get (recv, name) : NULL;
      if (v == NULL)
        exec_errorf (st, "can't evaluate field %s in type %s", name, st->o->root_type);
      if (has_args)
        exec_errorf (st, "%s has arguments but cannot be invoked as function", name);
      return v;
    }
  if (json_is_null (recv))
    exec_errorf (st, "nil pointer evaluating interface {}.%s", name);
  if (json_is_object (recv))
    {
      if (has_args)
        exec_errorf (st, "%s is not a method but has arguments", name);
      json_t *v = json_object_get (recv, name);
      if (v == NULL && recv == st->root && st->o->root_zero)
        v = json_object_get (st->o->root_zero, name);
      if (v == NULL && st->o->missingkey == GT_MISSING_ERROR)
        exec_errorf (st, "map has no entry for key \"%s\"", name);
      return v;
    }
  exec_errorf (st, "can't evaluate field %s in type %s", name, gt_type_name (st, recv));
}

static json_t *
eval_field_chain (struct state *st, json_t *dot, json_t *recv, const struct node *node, char **ident, size_t nident,
                  const struct node *const *args, size_t nargs, json_t *final)
{
  for (size_t i = 0; i + 1 < nident; i++)
    recv = eval_field (st, dot, ident[i], node, NULL, 0, MISSING, recv);
  return eval_field (st, dot, ident[nident - 1], node, args, nargs, final, recv);
}

static json_t *
eval_field_node (struct state *st, json_t *dot, const struct node *field, const struct node *const *args,
                 size_t nargs, json_t *final)
{
  st->node = field;
  return eval_field_chain (st, dot, dot, field, field->ident, field->nident, args, nargs, final);
}

static json_t *
eval_chain_node (struct state *st, json_t *dot, const struct node *chain, const struct node *const *args,
                 size_t nargs, json_t *final)
{
  st->node = chain;
  if (chain->pipe->kind == N_NIL)
    {
      char str[512];
      exec_errorf (st, "indirection through explicit nil in %s", gt_node_cstr (chain, str));
    }
  json_t *recv = eval_arg (st, dot, 0, chain->pipe);
  return eval_field_chain (st, dot, recv, chain, chain->ident, chain->nident, args, nargs, final);
}

static json_t *
eval_variable_node (struct state *st, json_t *dot, const struct node *var, const struct node *const *args,
                    size_t nargs, json_t *final)
{
  st->node = var;
  json_t *v = var_find (st, var->ident[0])->val;
  if (var->nident == 1)
    {
      not_a_function (st, args, nargs, final);
      return v;
    }
  return eval_field_chain (st, dot, v, var, var->ident + 1, var->nident - 1, args, nargs, final);
}

static json_t *
eval_command (struct state *st, json_t *dot, const struct node *cmd, json_t *final)
{
  const struct node *first = cmd->kids[0];
  const struct node *const *args = (const struct node *const *) cmd->kids;
  switch (first->kind)
    {
    case N_FIELD: return eval_field_node (st, dot, first, args, cmd->nkids, final);
    case N_CHAIN: return eval_chain_node (st, dot, first, args, cmd->nkids, final);
    case N_IDENT: return eval_function (st, dot, first, cmd, args, cmd->nkids, final);
    case N_PIPE:
      not_a_function (st, args, cmd->nkids, final);
      return eval_pipeline (st, dot, first);
    case N_VAR: return eval_variable_node (st, dot, first, args, cmd->nkids, final);
    default: break;
    }
  st->node = first;
  not_a_function (st, args, cmd->nkids, final);
  switch (first->kind)
    {
    case N_BOOL: return first->b ? json_true () : json_false ();
    case N_DOT: return dot;
    case N_NIL: exec_errorf (st, "nil is not a command");
    case N_NUMBER: return ideal_constant (st, first);
    case N_STRING: return gt_mkstr (st, first->text, first->len);
    default: break;
    }
  char str[512];
  exec_errorf (st, "can't evaluate command %s", gt_node_cstr (first, str));
}

/* An argument of a function, checked against the parameter's type (0: not checked). */
static json_t *
eval_arg (struct state *st, json_t *dot, char typ, const struct node *n)
{
  st->node = n;
  const struct node *const self[1] = {n};
  switch (n->kind)
    {
    case N_DOT: return validate (st, dot, typ);
    case N_NIL:
      if (typ == 'a' || typ == 0)
        return json_null ();
      exec_errorf (st, "cannot assign nil to %s", param_type_name (typ));
    case N_FIELD: return validate (st, eval_field_node (st, dot, n, self, 1, MISSING), typ);
    case N_VAR: return validate (st, eval_variable_node (st, dot, n, NULL, 0, MISSING), typ);
    case N_PIPE: return validate (st, eval_pipeline (st, dot, n), typ);
    case N_IDENT: return validate (st, eval_function (st, dot, n, n, NULL, 0, MISSING), typ);
    case N_CHAIN: return validate (st, eval_chain_node (st, dot, n, NULL, 0, MISSING), typ);
    default: break;
    }
  char str[512];
  gt_node_cstr (n, str);
  switch (typ)
    {
    case 'b':
      if (n->kind == N_BOOL)
        return n->b ? json_true () : json_false ();
      exec_errorf (st, "expected bool; found %s", str);
    case 'i':
      if (n->kind == N_NUMBER && n->is_int)
        return gt_mkint (st, n->i);
      exec_errorf (st, "expected integer; found %s", str);
    case 's':
      if (n->kind == N_STRING)
        return gt_mkstr (st, n->text, n->len);
      exec_errorf (st, "expected string; found %s", str);
    default:
      if (n->kind == N_BOOL)
        return n->b ? json_true () : json_false ();
      if (n->kind == N_NUMBER)
        return ideal_constant (st, n);
      if (n->kind == N_STRING)
        return gt_mkstr (st, n->text, n->len);
      exec_errorf (st, "can't handle assignment of %s to empty interface argument", str);
    }
}

static json_t *
eval_pipeline (struct state *st, json_t *dot, const struct node *pipe)
{
  if (pipe == NULL)
    return NULL;
  st->node = pipe;
  json_t *v = MISSING;
  for (size_t i = 0; i < pipe->nkids; i++)
    v = eval_command (st, dot, pipe->kids[i], v);
  for (size_t i = 0; i < pipe->ndecl; i++)
    {
      if (pipe->is_assign)
        var_find (st, pipe->decl[i]->ident[0])->val = v;
      else
        var_push (st, pipe->decl[i]->ident[0], v);
    }
  return v;
}

/* ---- walking the tree */

static void walk (struct state *st, json_t *dot, const struct node *n);

static void
range_iteration (struct state *st, const struct node *r, size_t mark, json_t *index, json_t *elem)
{
  step (st);
  if (r->pipe->ndecl > 0)
    st->vars[st->nvars - 1].val = elem;
  if (r->pipe->ndecl > 1)
    st->vars[st->nvars - 2].val = index;
  walk (st, elem, r->list);
  st->nvars = mark;
}

static void
walk_range (struct state *st, json_t *dot, const struct node *r)
{
  st->node = r;
  size_t outer = st->nvars;
  json_t *val = eval_pipeline (st, dot, r->pipe);
  size_t mark = st->nvars;
  size_t n = 0;
  const char **keys = NULL;
  if (val != NULL && json_is_array (val))
    n = json_array_size (val);
  else if (val != NULL && json_is_object (val))
    keys = gt_pool_alloc (st, json_sorted_keys (val, &n)); /* in the pool in case the body fails */
  else if (val != NULL && json_is_integer (val))
    {
      if (r->pipe->ndecl > 1)
        exec_errorf (st, "can't use %" JSON_INTEGER_FORMAT " to iterate over more than one variable",
                     json_integer_value (val));
      n = json_integer_value (val) > 0 ? (size_t) json_integer_value (val) : 0;
    }
  else if (val != NULL && !json_is_null (val))
    {
      char str[512];
      struct buf b = BUF_INIT;
      gt_print_value (&b, val);
      snprintf (str, sizeof str, "%s", buf_str (&b));
      buf_free (&b);
      st->node = r;
      exec_errorf (st, "range can't iterate over %s", str);
    }
  for (size_t i = 0; i < n && st->ctl != CTL_BREAK; i++)
    {
      st->ctl = CTL_NONE;
      json_t *index = keys ? gt_mkstr (st, keys[i], strlen (keys[i])) : gt_mkint (st, (json_int_t) i);
      json_t *elem = keys ? json_object_get (val, keys[i]) : json_is_array (val) ? json_array_get (val, i) : index;
      range_iteration (st, r, mark, index, elem);
    }
  bool any = n > 0;
  st->ctl = CTL_NONE;
  if (!any && r->elselist)
    walk (st, dot, r->elselist);
  st->nvars = outer;
}

static void
walk_template (struct state *st, json_t *dot, const struct node *n)
{
  st->node = n;
  const struct def *d = NULL;
  for (size_t i = 0; i < st->t->ndefs; i++)
    if (strcmp (st->t->defs[i].name, n->text) == 0)
      d = &st->t->defs[i];
  if (d == NULL)
    exec_errorf (st, "template \"%s\" not defined", n->text);
  if (st->depth >= MAX_DEPTH)
    exec_errorf (st, "exceeded maximum template depth (%d)", MAX_DEPTH);
  json_t *v = eval_pipeline (st, dot, n->pipe);
  /* no dynamic scoping: the template sees only $, its dot */
  struct var *saved = st->vars;
  size_t sn = st->nvars, sc = st->vcap;
  const char *sname = st->tmpl_name;
  st->vars = NULL, st->nvars = st->vcap = 0;
  var_push (st, "$", v);
  /* park the caller's variables in the pool, which frees them if the template fails */
  gt_pool_alloc (st, saved);
  size_t slot = st->npool - 2;
  st->depth++;
  st->tmpl_name = d->name;
  walk (st, v, d->root);
  st->depth--;
  st->tmpl_name = sname;
  free (st->vars);
  st->pool[slot] = NULL; /* the caller's variables are live again */
  st->pool[slot + 1] = NULL;
  st->vars = saved, st->nvars = sn, st->vcap = sc;
}

static void
walk (struct state *st, json_t *dot, const struct node *n)
{
  st->node = n;
  step (st);
  switch (n->kind)
    {
    case N_ACTION:
      {
        json_t *v = eval_pipeline (st, dot, n->pipe);
        if (n->pipe->ndecl == 0)
          {
            st->node = n;
            gt_print_value (st->out, v);
            if (st->out->len - st->out_start > st->max_output)
              exec_errorf (st, "output exceeds %zu bytes", st->max_output);
          }
        break;
      }
    case N_IF:
    case N_WITH:
      {
        size_t mark = st->nvars;
        json_t *v = eval_pipeline (st, dot, n->pipe);
        if (gt_truth (v))
          walk (st, n->kind == N_WITH ? v : dot, n->list);
        else if (n->elselist)
          walk (st, dot, n->elselist);
        st->nvars = mark;
        break;
      }
    case N_LIST:
      for (size_t i = 0; i < n->nkids && st->ctl == CTL_NONE; i++)
        walk (st, dot, n->kids[i]);
      break;
    case N_RANGE: walk_range (st, dot, n); break;
    case N_TEMPLATE: walk_template (st, dot, n); break;
    case N_TEXT: emit (st, n->text, n->len); break;
    case N_BREAK: st->ctl = CTL_BREAK; break;
    case N_CONTINUE: st->ctl = CTL_CONTINUE; break;
    default:
      {
        char str[512];
        exec_errorf (st, "unknown node: %s", gt_node_cstr (n, str));
      }
    }
}

int
gotemplate_exec (const struct gotemplate *t, json_t *data, const struct gotemplate_opts *opts, struct buf *out,
                 struct kiln_err *err)
{
  static const struct gotemplate_opts defaults = {0};
  struct state *st = xcalloc (1, sizeof *st);
  st->t = t;
  st->o = opts ? opts : &defaults;
  st->tmpl_name = "";
  /* Go's Execute(nil): the root is no value at all */
  st->root = data && json_is_null (data) ? NULL : data;
  st->out = out;
  st->out_start = out->len;
  st->max_output = st->o->max_output ? st->o->max_output : DEFAULT_MAX_OUTPUT;
  st->max_steps = st->o->max_steps ? st->o->max_steps : DEFAULT_MAX_STEPS;
  st->err = err;
  var_push (st, "$", st->root);
  int rc = 0;
  if (setjmp (st->jb) == 0)
    walk (st, st->root, t->root);
  else
    rc = -1;
  /* The pool holds values (released) and plain allocations (each followed by MISSING). */
  for (size_t i = 0; i < st->npool; i++)
    {
      if (i + 1 < st->npool && st->pool[i + 1] == MISSING)
        {
          free (st->pool[i]);
          i++;
        }
      else if (st->pool[i] && st->pool[i] != MISSING)
        json_decref (st->pool[i]);
    }
  free (st->pool);
  free (st->vars);
  free (st);
  return rc;
}
