/* util/gotemplate_parse.c — Go's text/template parser (parse.go): the tokens of
 * gotemplate_lex.c into a tree of nodes, with Go's error messages. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/gotemplate_int.h"
#include "util/gotemplate_lex.h"
#include "util/utf8.h"

/* ------------------------------------------------------------------ parser */

struct parser
{
  struct gotemplate *t;
  struct token *toks;
  size_t ntoks, i;
  char **vars; /* names of the variables in scope (borrowed from the tokens' nodes) */
  size_t nvars, vcap;
  int depth, range_depth;
  jmp_buf jb;
  struct kiln_err *err;
};

static const struct token *
tok_at (struct parser *p, size_t i)
{
  return &p->toks[i < p->ntoks ? i : p->ntoks - 1];
}

static const struct token *
next_tok (struct parser *p)
{
  return tok_at (p, p->i++);
}

static const struct token *
peek_tok (struct parser *p)
{
  return tok_at (p, p->i);
}

static const struct token *
next_nonspace (struct parser *p)
{
  const struct token *t;
  do
    t = next_tok (p);
  while (t->typ == T_SPACE);
  return t;
}

static const struct token *
peek_nonspace (struct parser *p)
{
  const struct token *t = next_nonspace (p);
  p->i--;
  return t;
}

static int
line_of (const struct gotemplate *t, size_t pos)
{
  int line = 1;
  for (size_t i = 0; i < pos && i < t->len; i++)
    line += t->text[i] == '\n';
  return line;
}

static void parse_errorf (struct parser *p, const char *fmt, ...) __attribute__ ((format (printf, 2, 3), noreturn));
static void
parse_errorf (struct parser *p, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  /* Go names the line of the token last read. */
  size_t last = p->i ? p->i - 1 : 0;
  kiln_err_set (p->err, KILN_EPARSE, "template: :%d: %s", line_of (p->t, tok_at (p, last)->pos), msg);
  longjmp (p->jb, 1);
}

/* Go's item.String(): "EOF", the error text, <keyword>, or the quoted value. */
static void
tok_string (struct parser *p, const struct token *t, char *out, size_t cap)
{
  if (t->typ == T_EOF)
    snprintf (out, cap, "EOF");
  else if (t->typ == T_ERROR)
    snprintf (out, cap, "%s", t->msg);
  else if (t->typ > T_KEYWORD)
    snprintf (out, cap, "<%.*s>", (int) t->len, p->t->text + t->pos);
  else
    {
      struct buf b = BUF_INIT;
      size_t n = t->len;
      /* %.10q quotes the first ten runes */
      size_t runes = 0, k = 0;
      while (k < n && runes < 10)
        {
          size_t w;
          utf8_decode (p->t->text + t->pos + k, n - k, &w);
          k += w ? w : 1;
          runes++;
        }
      utf8_go_quote (&b, p->t->text + t->pos, k);
      if (k < n)
        buf_puts (&b, "...");
      snprintf (out, cap, "%s", buf_str (&b));
      buf_free (&b);
    }
}

static void parse_unexpected (struct parser *p, const struct token *t, const char *context)
    __attribute__ ((noreturn));
static void
parse_unexpected (struct parser *p, const struct token *t, const char *context)
{
  if (t->typ == T_ERROR)
    parse_errorf (p, "%s", t->msg);
  char s[64];
  tok_string (p, t, s, sizeof s);
  parse_errorf (p, "unexpected %s in %s", s, context);
}

static struct node *
new_node (struct parser *p, enum nkind kind, size_t pos)
{
  struct node *n = xcalloc (1, sizeof *n);
  n->kind = kind;
  n->pos = pos;
  struct gotemplate *t = p->t;
  t->arena = xgrow (t->arena, &t->acap, t->narena + 1, sizeof *t->arena);
  t->arena[t->narena++] = n;
  return n;
}

static void
enter (struct parser *p)
{
  if (++p->depth > MAX_DEPTH)
    parse_errorf (p, "max expression depth exceeded");
}

static void
push_var (struct parser *p, char *name)
{
  p->vars = xgrow (p->vars, &p->vcap, p->nvars + 1, sizeof *p->vars);
  p->vars[p->nvars++] = name;
}

/* Go's strconv.Unquote for "..." and `...`; false on bad syntax. */
static bool
unquote (const char *s, size_t n, struct buf *out)
{
  if (n < 2 || s[n - 1] != s[0])
    return false;
  if (s[0] == '`')
    {
      for (size_t i = 1; i + 1 < n; i++)
        if (s[i] != '\r')
          buf_putc (out, s[i]);
      return true;
    }
  char q = s[0];
  for (size_t i = 1; i + 1 < n;)
    {
      unsigned char c = (unsigned char) s[i];
      if (c == (unsigned char) q || c == '\n')
        return false;
      if (c != '\\')
        {
          buf_putc (out, (char) c);
          i++;
          continue;
        }
      if (i + 2 >= n)
        return false;
      char e = s[i + 1];
      i += 2;
      switch (e)
        {
        case 'a': buf_putc (out, '\a'); break;
        case 'b': buf_putc (out, '\b'); break;
        case 'f': buf_putc (out, '\f'); break;
        case 'n': buf_putc (out, '\n'); break;
        case 'r': buf_putc (out, '\r'); break;
        case 't': buf_putc (out, '\t'); break;
        case 'v': buf_putc (out, '\v'); break;
        case '\\': buf_putc (out, '\\'); break;
        case '\'':
        case '"':
          if (e != q)
            return false;
          buf_putc (out, e);
          break;
        case 'x':
        case 'u':
        case 'U':
          {
            size_t k = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (i + k > n - 1)
              return false;
            uint32_t v = 0;
            for (size_t j = 0; j < k; j++)
              {
                char h = s[i + j];
                if (!isxdigit ((unsigned char) h))
                  return false;
                v = v * 16 + (uint32_t) (isdigit ((unsigned char) h) ? h - '0' : (tolower ((unsigned char) h) - 'a' + 10));
              }
            i += k;
            if (e == 'x')
              buf_putc (out, (char) v);
            else
              {
                if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                  return false;
                buf_put_rune (out, v);
              }
            break;
          }
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
          {
            if (i + 2 > n - 1)
              return false;
            uint32_t v = (uint32_t) (e - '0');
            for (size_t j = 0; j < 2; j++)
              {
                char o = s[i + j];
                if (o < '0' || o > '7')
                  return false;
                v = v * 8 + (uint32_t) (o - '0');
              }
            if (v > 255)
              return false;
            i += 2;
            buf_putc (out, (char) v);
            break;
          }
        default: return false;
        }
    }
  return true;
}

/* Go's strconv.ParseInt/ParseUint with base 0; false on syntax or range errors. */
static bool
parse_go_uint (const char *s, size_t n, uint64_t *out)
{
  unsigned base = 10;
  size_t i = 0;
  bool prefixed = false;
  if (n >= 2 && s[0] == '0')
    {
      char c = (char) tolower ((unsigned char) s[1]);
      if (c == 'x')
        base = 16, i = 2, prefixed = true;
      else if (c == 'o')
        base = 8, i = 2, prefixed = true;
      else if (c == 'b')
        base = 2, i = 2, prefixed = true;
      else
        base = 8, i = 1, prefixed = true;
    }
  if (i >= n && !(n == 1 || (prefixed && base == 8 && i == 1)))
    return false;
  uint64_t v = 0;
  bool any = i > 0 && base == 8 && i == 1, last_us = false;
  for (; i < n; i++)
    {
      char c = s[i];
      if (c == '_')
        {
          if (last_us)
            return false;
          last_us = true;
          continue;
        }
      last_us = false;
      unsigned d;
      if (c >= '0' && c <= '9')
        d = (unsigned) (c - '0');
      else if (isalpha ((unsigned char) c))
        d = (unsigned) (tolower ((unsigned char) c) - 'a' + 10);
      else
        return false;
      if (d >= base)
        return false;
      if (v > (UINT64_MAX - d) / base)
        return false;
      v = v * base + d;
      any = true;
    }
  if (!any || last_us)
    return false;
  *out = v;
  return true;
}

static void
parse_number (struct parser *p, struct node *n, const struct token *t)
{
  const char *s = p->t->text + t->pos;
  size_t len = t->len;
  n->src = s;
  n->srclen = len;
  if (t->typ == T_CHARCONST)
    {
      struct buf b = BUF_INIT;
      /* a character constant is a quoted rune: reuse the string unquoting */
      bool ok = unquote (s, len, &b) && b.len > 0;
      size_t w = 0;
      uint32_t r = ok ? utf8_decode (b.data, b.len, &w) : 0;
      ok = ok && w == b.len;
      buf_free (&b);
      if (!ok)
        parse_errorf (p, "malformed character constant: %.*s", (int) len, s);
      n->is_int = n->is_uint = n->is_float = true;
      n->i = r;
      n->u = r;
      n->f = r;
      return;
    }
  if (t->typ == T_COMPLEX || (len > 0 && s[len - 1] == 'i'))
    parse_errorf (p, "complex constants are not supported: %.*s", (int) len, s);
  bool neg = len > 0 && s[0] == '-';
  size_t off = len > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  uint64_t u;
  if (parse_go_uint (s + off, len - off, &u))
    {
      if (!neg)
        {
          n->is_uint = true;
          n->u = u;
        }
      if (neg ? u <= (uint64_t) INT64_MAX + 1 : u <= (uint64_t) INT64_MAX)
        {
          n->is_int = true;
          n->i = neg ? (int64_t) (0 - u) : (int64_t) u;
          if (n->i == 0)
            n->is_uint = true, n->u = 0;
        }
    }
  if (n->is_int)
    n->is_float = true, n->f = (double) n->i;
  else if (n->is_uint)
    n->is_float = true, n->f = (double) n->u;
  else
    {
      char tmp[128];
      size_t k = 0;
      for (size_t i = 0; i < len && k + 1 < sizeof tmp; i++)
        if (s[i] != '_')
          tmp[k++] = s[i];
      tmp[k] = 0;
      char *end;
      double f = strtod (tmp, &end);
      bool hex = k > 2 && (tmp[off + 1] == 'x' || tmp[off + 1] == 'X');
      if (k > 0 && *end == 0 && !(hex && !memchr (tmp, 'p', k) && !memchr (tmp, 'P', k)) && !isinf (f))
        {
          if (!memchr (s, '.', len) && !memchr (s, 'e', len) && !memchr (s, 'E', len) && !memchr (s, 'p', len)
              && !memchr (s, 'P', len))
            parse_errorf (p, "integer overflow: \"%.*s\"", (int) len, s);
          n->is_float = true;
          n->f = f;
          if (f >= -9.2e18 && f <= 9.2e18 && (double) (int64_t) f == f)
            n->is_int = true, n->i = (int64_t) f;
          if (f >= 0 && f <= 1.8e19 && (double) (uint64_t) f == f)
            n->is_uint = true, n->u = (uint64_t) f;
        }
    }
  if (!n->is_int && !n->is_uint && !n->is_float)
    parse_errorf (p, "illegal number syntax: \"%.*s\"", (int) len, s);
}

static struct node *parse_pipeline (struct parser *p, const char *context, enum tok end);

static struct node *
parse_term (struct parser *p)
{
  const struct token *t = next_nonspace (p);
  const char *s = p->t->text + t->pos;
  struct node *n;
  switch (t->typ)
    {
    case T_ERROR: parse_errorf (p, "%s", t->msg);
    case T_IDENT:
      if (!gt_function_known (s, t->len))
        parse_errorf (p, "function \"%.*s\" not defined", (int) t->len, s);
      n = new_node (p, N_IDENT, t->pos);
      gt_ident_add (n, s, t->len);
      return n;
    case T_DOT: return new_node (p, N_DOT, t->pos);
    case T_NIL: return new_node (p, N_NIL, t->pos);
    case T_VAR:
      {
        n = new_node (p, N_VAR, t->pos);
        gt_ident_add (n, s, t->len);
        for (size_t i = p->nvars; i-- > 0;)
          if (strcmp (p->vars[i], n->ident[0]) == 0)
            return n;
        parse_errorf (p, "undefined variable \"%s\"", n->ident[0]);
      }
    case T_FIELD:
      n = new_node (p, N_FIELD, t->pos);
      gt_ident_add (n, s + 1, t->len - 1);
      return n;
    case T_BOOL:
      n = new_node (p, N_BOOL, t->pos);
      n->b = t->len == 4;
      return n;
    case T_CHARCONST:
    case T_COMPLEX:
    case T_NUMBER:
      n = new_node (p, N_NUMBER, t->pos);
      parse_number (p, n, t);
      return n;
    case T_LPAREN:
      enter (p);
      n = parse_pipeline (p, "parenthesized pipeline", T_RPAREN);
      p->depth--;
      return n;
    case T_STRING:
    case T_RAWSTRING:
      {
        struct buf b = BUF_INIT;
        if (!unquote (s, t->len, &b))
          {
            buf_free (&b);
            parse_errorf (p, "invalid syntax");
          }
        n = new_node (p, N_STRING, t->pos);
        n->len = b.len;
        n->text = b.len ? buf_steal (&b) : xstrdup ("");
        n->src = s;
        n->srclen = t->len;
        return n;
      }
    default: p->i--; return NULL;
    }
}

static struct node *
parse_operand (struct parser *p)
{
  struct node *n = parse_term (p);
  if (n == NULL || peek_tok (p)->typ != T_FIELD)
    return n;
  if (n->kind == N_BOOL || n->kind == N_STRING || n->kind == N_NUMBER || n->kind == N_NIL || n->kind == N_DOT)
    {
      char str[512], quoted[1100];
      gt_node_cstr (n, str);
      struct buf q = BUF_INIT;
      utf8_go_quote (&q, str, strlen (str));
      snprintf (quoted, sizeof quoted, "%s", buf_str (&q));
      buf_free (&q);
      parse_errorf (p, "unexpected . after term %s", quoted);
    }
  struct node *target = n;
  if (n->kind != N_FIELD && n->kind != N_VAR)
    {
      target = new_node (p, N_CHAIN, n->pos);
      target->pipe = n;
    }
  while (peek_tok (p)->typ == T_FIELD)
    {
      const struct token *f = next_tok (p);
      gt_ident_add (target, p->t->text + f->pos + 1, f->len - 1);
    }
  return target;
}

static struct node *
parse_command (struct parser *p)
{
  struct node *cmd = new_node (p, N_CMD, peek_nonspace (p)->pos);
  for (;;)
    {
      peek_nonspace (p);
      struct node *o = parse_operand (p);
      if (o)
        gt_node_add (cmd, o);
      const struct token *t = next_tok (p);
      if (t->typ == T_SPACE)
        continue;
      if (t->typ == T_RDELIM || t->typ == T_RPAREN)
        p->i--;
      else if (t->typ != T_PIPE)
        parse_unexpected (p, t, "operand");
      break;
    }
  if (cmd->nkids == 0)
    parse_errorf (p, "empty command");
  return cmd;
}

/* A variable the pipeline declares ($x := …, or range's $i, $e), in scope from here on. */
static void
declare_var (struct parser *p, struct node *pipe, const struct token *v)
{
  struct node *var = new_node (p, N_VAR, v->pos);
  gt_ident_add (var, p->t->text + v->pos, v->len);
  pipe->decl = xgrow (pipe->decl, &pipe->dcap, pipe->ndecl + 1, sizeof *pipe->decl);
  pipe->decl[pipe->ndecl++] = var;
  push_var (p, var->ident[0]);
}

static struct node *
parse_pipeline (struct parser *p, const char *context, enum tok end)
{
  struct node *pipe = new_node (p, N_PIPE, peek_nonspace (p)->pos);
decls:
  if (peek_nonspace (p)->typ == T_VAR)
    {
      size_t save = p->i;
      const struct token *v = next_nonspace (p);
      const struct token *after = peek_tok (p);
      const struct token *nx = peek_nonspace (p);
      if (nx->typ == T_ASSIGN || nx->typ == T_DECLARE)
        {
          pipe->is_assign = nx->typ == T_ASSIGN;
          next_nonspace (p);
          declare_var (p, pipe, v);
        }
      else if (nx->typ == T_CHAR && p->t->text[nx->pos] == ',')
        {
          next_nonspace (p);
          declare_var (p, pipe, v);
          if (strcmp (context, "range") == 0 && pipe->ndecl < 2)
            {
              enum tok k = peek_nonspace (p)->typ;
              if (k == T_VAR || k == T_RDELIM || k == T_RPAREN)
                goto decls;
              parse_errorf (p, "range can only initialize variables");
            }
          parse_errorf (p, "too many declarations in %s", context);
        }
      else
        {
          (void) after;
          p->i = save;
        }
    }
  for (;;)
    {
      const struct token *t = next_nonspace (p);
      if (t->typ == end)
        {
          if (pipe->nkids == 0)
            parse_errorf (p, "missing value for %s", context);
          for (size_t i = 1; i < pipe->nkids; i++)
            switch (pipe->kids[i]->kids[0]->kind)
              {
              case N_BOOL: case N_DOT: case N_NIL: case N_NUMBER: case N_STRING:
                parse_errorf (p, "non executable command in pipeline stage %zu", i + 1);
              default: break;
              }
          return pipe;
        }
      switch (t->typ)
        {
        case T_BOOL: case T_CHARCONST: case T_COMPLEX: case T_DOT: case T_FIELD: case T_IDENT: case T_NUMBER:
        case T_NIL: case T_RAWSTRING: case T_STRING: case T_VAR: case T_LPAREN:
          p->i--;
          gt_node_add (pipe, parse_command (p));
          break;
        default: parse_unexpected (p, t, context);
        }
    }
}

static struct node *parse_action (struct parser *p);

static struct node *
parse_text_or_action (struct parser *p)
{
  const struct token *t = next_nonspace (p);
  if (t->typ == T_TEXT)
    {
      struct node *n = new_node (p, N_TEXT, t->pos);
      n->text = xstrndup (p->t->text + t->pos, t->len);
      n->len = t->len;
      return n;
    }
  if (t->typ == T_LDELIM)
    return parse_action (p);
  parse_unexpected (p, t, "input");
}

/* Parses nodes up to {{end}} or {{else}}, which is returned in *stop. */
static struct node *
parse_item_list (struct parser *p, struct node **stop)
{
  struct node *list = new_node (p, N_LIST, peek_nonspace (p)->pos);
  while (peek_nonspace (p)->typ != T_EOF)
    {
      struct node *n = parse_text_or_action (p);
      if (n->kind == N_END || n->kind == N_ELSE)
        {
          *stop = n;
          return list;
        }
      gt_node_add (list, n);
    }
  parse_errorf (p, "unexpected EOF");
}

static struct node *parse_control (struct parser *p, enum nkind kind, const char *context);

static struct node *
parse_control (struct parser *p, enum nkind kind, const char *context)
{
  enter (p);
  size_t mark = p->nvars;
  struct node *n = new_node (p, kind, 0);
  n->pipe = parse_pipeline (p, context, T_RDELIM);
  n->pos = n->pipe->pos;
  if (kind == N_RANGE)
    p->range_depth++;
  struct node *stop;
  n->list = parse_item_list (p, &stop);
  if (kind == N_RANGE)
    p->range_depth--;
  if (stop->kind == N_ELSE)
    {
      enum tok k = peek_tok (p)->typ;
      if ((kind == N_IF && k == T_IF) || (kind == N_WITH && k == T_WITH))
        {
          next_tok (p);
          n->elselist = new_node (p, N_LIST, stop->pos);
          gt_node_add (n->elselist, parse_control (p, kind, context));
        }
      else
        {
          n->elselist = parse_item_list (p, &stop);
          if (stop->kind != N_END)
            {
              char str[512];
              parse_errorf (p, "expected end; found %s", gt_node_cstr (stop, str));
            }
        }
    }
  p->nvars = mark;
  p->depth--;
  return n;
}

static void
expect (struct parser *p, enum tok typ, const char *context)
{
  const struct token *t = next_nonspace (p);
  if (t->typ != typ)
    parse_unexpected (p, t, context);
}

/* The quoted name of a define/template/block; the string belongs to a node of the arena,
 * so an error after it leaks nothing. */
static const char *
parse_template_name (struct parser *p, const struct token *t, const char *context, size_t *len)
{
  if (t->typ != T_STRING && t->typ != T_RAWSTRING)
    parse_unexpected (p, t, context);
  struct buf b = BUF_INIT;
  if (!unquote (p->t->text + t->pos, t->len, &b))
    {
      buf_free (&b);
      parse_errorf (p, "invalid syntax");
    }
  struct node *holder = new_node (p, N_STRING, t->pos);
  holder->len = *len = b.len;
  holder->text = b.len ? buf_steal (&b) : xstrdup ("");
  return holder->text;
}

/* Records a definition (a copy of its name); a later one replaces it, as Go lets a
 * definition replace an empty one. */
static void
add_definition (struct parser *p, const char *name, struct node *root)
{
  struct gotemplate *t = p->t;
  for (size_t i = 0; i < t->ndefs; i++)
    if (strcmp (t->defs[i].name, name) == 0)
      {
        t->defs[i].root = root;
        return;
      }
  t->defs = xgrow (t->defs, &t->dcap, t->ndefs + 1, sizeof *t->defs);
  t->defs[t->ndefs++] = (struct def){xstrdup (name), root};
}

/* {{define "name"}} ... {{end}}; "define" is past.  Go would refuse outer variables in
 * the body; here they fail when the definition runs instead. */
/* The body of a define or block clause up to its {{end}}, kept as template `name`;
 * its variables end with it. */
static void
parse_definition_body (struct parser *p, const char *name, const char *context)
{
  size_t mark = p->nvars;
  struct node *stop;
  struct node *list = parse_item_list (p, &stop);
  if (stop->kind != N_END)
    parse_errorf (p, "unexpected {{else}} in %s", context);
  p->nvars = mark;
  add_definition (p, name, list);
}

static void
parse_definition (struct parser *p)
{
  enter (p);
  size_t len;
  const char *name = parse_template_name (p, next_nonspace (p), "define clause", &len);
  expect (p, T_RDELIM, "define clause");
  parse_definition_body (p, name, "define clause");
  p->depth--;
}

static struct node *
parse_action (struct parser *p)
{
  const struct token *t = next_nonspace (p);
  struct node *n;
  switch (t->typ)
    {
    case T_BLOCK:
      {
        enter (p);
        const struct token *nt = next_nonspace (p);
        size_t len;
        const char *name = parse_template_name (p, nt, "block clause", &len);
        n = new_node (p, N_TEMPLATE, nt->pos);
        n->text = xstrndup (name, len);
        n->len = len;
        n->pipe = parse_pipeline (p, "block clause", T_RDELIM);
        parse_definition_body (p, name, "block clause");
        p->depth--;
        return n;
      }
    case T_BREAK:
    case T_CONTINUE:
      {
        bool brk = t->typ == T_BREAK;
        n = new_node (p, brk ? N_BREAK : N_CONTINUE, t->pos);
        const struct token *r = next_nonspace (p);
        if (r->typ != T_RDELIM)
          parse_unexpected (p, r, brk ? "{{break}}" : "{{continue}}");
        if (p->range_depth == 0)
          parse_errorf (p, brk ? "{{break}} outside {{range}}" : "{{continue}} outside {{range}}");
        return n;
      }
    case T_ELSE:
      {
        const struct token *pk = peek_nonspace (p);
        if (pk->typ == T_IF || pk->typ == T_WITH)
          {
            next_nonspace (p);
            p->i--; /* leave the keyword for parse_control's peek */
            return new_node (p, N_ELSE, pk->pos);
          }
        expect (p, T_RDELIM, "else");
        return new_node (p, N_ELSE, t->pos);
      }
    case T_END:
      expect (p, T_RDELIM, "end");
      return new_node (p, N_END, t->pos);
    case T_IF: return parse_control (p, N_IF, "if");
    case T_RANGE: return parse_control (p, N_RANGE, "range");
    case T_WITH: return parse_control (p, N_WITH, "with");
    case T_TEMPLATE:
      {
        const struct token *nt = next_nonspace (p);
        size_t len;
        const char *name = parse_template_name (p, nt, "template clause", &len);
        n = new_node (p, N_TEMPLATE, nt->pos);
        n->text = xstrndup (name, len);
        n->len = len;
        if (next_nonspace (p)->typ != T_RDELIM)
          {
            p->i--;
            n->pipe = parse_pipeline (p, "template clause", T_RDELIM);
          }
        return n;
      }
    default: break;
    }
  p->i--;
  const struct token *pk = peek_tok (p);
  n = new_node (p, N_ACTION, pk->pos);
  n->pipe = parse_pipeline (p, "command", T_RDELIM);
  return n;
}

static void
parse_top (struct parser *p)
{
  p->t->root = new_node (p, N_LIST, peek_tok (p)->pos);
  while (peek_tok (p)->typ != T_EOF)
    {
      if (peek_tok (p)->typ == T_LDELIM)
        {
          size_t save = p->i;
          next_tok (p);
          if (next_nonspace (p)->typ == T_DEFINE)
            {
              parse_definition (p);
              continue;
            }
          p->i = save;
        }
      struct node *n = parse_text_or_action (p);
      if (n->kind == N_END || n->kind == N_ELSE)
        {
          char str[512];
          parse_errorf (p, "unexpected %s", gt_node_cstr (n, str));
        }
      gt_node_add (p->t->root, n);
    }
}

struct gotemplate *
gotemplate_parse (const char *text, size_t len, struct kiln_err *err)
{
  struct gotemplate *t = xcalloc (1, sizeof *t);
  t->text = xmalloc (len + 1);
  memcpy (t->text, text, len);
  t->text[len] = 0;
  t->len = len;
  struct lexer l = {.s = t->text, .n = len};
  gt_lex_all (&l);
  struct parser p = {.t = t, .toks = l.toks, .ntoks = l.ntoks, .err = err};
  static char dollar[] = "$";
  push_var (&p, dollar);
  bool ok = false;
  if (setjmp (p.jb) == 0)
    {
      parse_top (&p);
      ok = true;
    }
  for (size_t i = 0; i < l.ntoks; i++)
    free (l.toks[i].msg);
  free (l.toks);
  free (p.vars);
  if (!ok)
    {
      gotemplate_free (t);
      return NULL;
    }
  return t;
}
