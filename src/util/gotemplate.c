/* util/gotemplate.c — Go's text/template over jansson values.
 *
 * Three stages, each Go's own read in C:
 *   lex    the whole text into tokens first (Go lexes in a goroutine, one token ahead of
 *          the parser; lexing up front yields the same tokens and the same first error,
 *          since the parser stops at the error token in order);
 *   parse  the tokens into a tree with Go's grammar, checks and messages (parse.go);
 *   exec   walk the tree against a value (exec.go, funcs.go, and docker's templates.go).
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
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/gotemplate.h"
#include "util/utf8.h"

#define MAX_DEPTH 100
#define DEFAULT_MAX_OUTPUT (16u << 20)
#define DEFAULT_MAX_STEPS 1000000u

/* ------------------------------------------------------------------ lexer */

enum tok
{
  T_ERROR,
  T_BOOL,
  T_CHAR, /* printable ASCII: a grab bag for ',' and friends */
  T_CHARCONST,
  T_COMPLEX,
  T_ASSIGN,
  T_DECLARE,
  T_EOF,
  T_FIELD,
  T_IDENT,
  T_LDELIM,
  T_LPAREN,
  T_NUMBER,
  T_PIPE,
  T_RAWSTRING,
  T_RDELIM,
  T_RPAREN,
  T_SPACE,
  T_STRING,
  T_TEXT,
  T_VAR,
  T_KEYWORD, /* keywords follow */
  T_BLOCK,
  T_BREAK,
  T_CONTINUE,
  T_DOT,
  T_DEFINE,
  T_ELSE,
  T_END,
  T_IF,
  T_NIL,
  T_RANGE,
  T_TEMPLATE,
  T_WITH,
};

struct token
{
  enum tok typ;
  size_t pos, len; /* the token's bytes in the text */
  char *msg;       /* T_ERROR: the message */
};

struct lexer
{
  const char *s;
  size_t n, pos, start;
  int paren;
  struct token *toks;
  size_t ntoks, cap;
  bool done;
};

static const struct
{
  const char *word;
  enum tok typ;
} keywords[] = {
  {"block", T_BLOCK}, {"break", T_BREAK}, {"continue", T_CONTINUE}, {"define", T_DEFINE}, {"else", T_ELSE},
  {"end", T_END},     {"if", T_IF},       {"range", T_RANGE},       {"nil", T_NIL},       {"template", T_TEMPLATE},
  {"with", T_WITH},
};

static void
lex_emit (struct lexer *l, enum tok typ)
{
  l->toks = xgrow (l->toks, &l->cap, l->ntoks + 1, sizeof *l->toks);
  l->toks[l->ntoks++] = (struct token){typ, l->start, l->pos - l->start, NULL};
  l->start = l->pos;
}

static void lex_errorf (struct lexer *l, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void
lex_errorf (struct lexer *l, const char *fmt, ...)
{
  struct buf b = BUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  char tmp[512];
  vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  buf_puts (&b, tmp);
  l->toks = xgrow (l->toks, &l->cap, l->ntoks + 1, sizeof *l->toks);
  l->toks[l->ntoks++] = (struct token){T_ERROR, l->start, 0, buf_steal (&b)};
  l->done = true;
}

/* Go's %#U: U+0021 '!' (the character only when printable). */
static void
fmt_U (char out[32], uint32_t r)
{
  if (r != RUNE_ERROR && rune_is_print (r))
    {
      struct buf b = BUF_INIT;
      buf_put_rune (&b, r);
      snprintf (out, 32, "U+%04X '%s'", (unsigned) r, buf_str (&b));
      buf_free (&b);
    }
  else
    snprintf (out, 32, "U+%04X", (unsigned) r);
}

static uint32_t
lex_peek (const struct lexer *l, size_t *w)
{
  if (l->pos >= l->n)
    {
      *w = 0;
      return (uint32_t) -1;
    }
  return utf8_decode (l->s + l->pos, l->n - l->pos, w);
}

#define LEX_EOF ((uint32_t) -1)

static bool
is_space (uint32_t r)
{
  return r == ' ' || r == '\t' || r == '\r' || r == '\n';
}

static bool
is_alnum (uint32_t r)
{
  return r == '_' || rune_is_letter (r) || rune_is_digit (r);
}

static bool
has_prefix (const struct lexer *l, size_t at, const char *p)
{
  size_t k = strlen (p);
  return at <= l->n && l->n - at >= k && memcmp (l->s + at, p, k) == 0;
}

/* "{{- " : a minus and an ASCII space after the left delimiter. */
static bool
left_trim_at (const struct lexer *l, size_t at)
{
  return at + 2 <= l->n && l->s[at] == '-' && is_space ((unsigned char) l->s[at + 1]);
}

/* " -}}" */
static bool
right_trim_at (const struct lexer *l, size_t at)
{
  return at + 2 <= l->n && is_space ((unsigned char) l->s[at]) && l->s[at + 1] == '-';
}

static bool
at_right_delim (const struct lexer *l, bool *trim)
{
  if (right_trim_at (l, l->pos) && has_prefix (l, l->pos + 2, "}}"))
    return *trim = true;
  *trim = false;
  return has_prefix (l, l->pos, "}}");
}

static bool
at_terminator (const struct lexer *l)
{
  size_t w;
  uint32_t r = lex_peek (l, &w);
  if (r == LEX_EOF || is_space (r))
    return true;
  switch (r)
    {
    case '.': case ',': case '|': case ':': case ')': case '(':
      return true;
    }
  return has_prefix (l, l->pos, "}}");
}

static size_t
space_run (const struct lexer *l, size_t at)
{
  size_t k = 0;
  while (at + k < l->n && is_space ((unsigned char) l->s[at + k]))
    k++;
  return k;
}

static void lex_inside (struct lexer *l);

static void
lex_right_delim (struct lexer *l)
{
  bool trim = right_trim_at (l, l->pos);
  if (trim)
    {
      l->pos += 2;
      l->start = l->pos;
    }
  l->pos += 2;
  lex_emit (l, T_RDELIM);
  if (trim)
    {
      l->pos += space_run (l, l->pos);
      l->start = l->pos;
    }
}

static void
lex_comment (struct lexer *l)
{
  l->pos += 2;
  const char *end = memmem (l->s + l->pos, l->n - l->pos, "*/", 2);
  if (end == NULL)
    return lex_errorf (l, "unclosed comment");
  l->pos = (size_t) (end - l->s) + 2;
  bool trim;
  if (!at_right_delim (l, &trim))
    return lex_errorf (l, "comment ends before closing delimiter");
  if (trim)
    l->pos += 2;
  l->pos += 2;
  if (trim)
    l->pos += space_run (l, l->pos);
  l->start = l->pos;
}

/* Scans a number as Go's lexer does: sign, base prefix, digits, fraction, exponent, 'i'. */
static bool
scan_number (struct lexer *l)
{
  const char *digits = "0123456789_";
  if (l->pos < l->n && (l->s[l->pos] == '+' || l->s[l->pos] == '-'))
    l->pos++;
  if (l->pos < l->n && l->s[l->pos] == '0')
    {
      l->pos++;
      if (l->pos < l->n && strchr ("xX", l->s[l->pos]) && l->s[l->pos])
        l->pos++, digits = "0123456789abcdefABCDEF_";
      else if (l->pos < l->n && strchr ("oO", l->s[l->pos]) && l->s[l->pos])
        l->pos++, digits = "01234567_";
      else if (l->pos < l->n && strchr ("bB", l->s[l->pos]) && l->s[l->pos])
        l->pos++, digits = "01_";
    }
#define RUN(set)                                                                                   \
  while (l->pos < l->n && l->s[l->pos] && strchr (set, l->s[l->pos]))                             \
    l->pos++;
#define ACCEPT(set) (l->pos < l->n && l->s[l->pos] && strchr (set, l->s[l->pos]) ? (l->pos++, true) : false)
  RUN (digits);
  if (ACCEPT ("."))
    RUN (digits);
  if (strlen (digits) == 11 && ACCEPT ("eE"))
    {
      ACCEPT ("+-");
      RUN ("0123456789_");
    }
  if (strlen (digits) == 23 && ACCEPT ("pP"))
    {
      ACCEPT ("+-");
      RUN ("0123456789_");
    }
  ACCEPT ("i");
#undef RUN
#undef ACCEPT
  size_t w;
  uint32_t r = lex_peek (l, &w);
  if (r != LEX_EOF && is_alnum (r))
    {
      l->pos += w;
      return false;
    }
  return true;
}

static void
lex_number (struct lexer *l)
{
  if (!scan_number (l))
    return lex_errorf (l, "bad number syntax: \"%.*s\"", (int) (l->pos - l->start), l->s + l->start);
  if (l->pos < l->n && (l->s[l->pos] == '+' || l->s[l->pos] == '-'))
    {
      if (!scan_number (l) || l->s[l->pos - 1] != 'i')
        return lex_errorf (l, "bad number syntax: \"%.*s\"", (int) (l->pos - l->start), l->s + l->start);
      return lex_emit (l, T_COMPLEX);
    }
  lex_emit (l, T_NUMBER);
}

static void
lex_quote (struct lexer *l, char q, enum tok typ, const char *what)
{
  for (;;)
    {
      if (l->pos >= l->n)
        return lex_errorf (l, "%s", what);
      char c = l->s[l->pos++];
      if (c == '\\' && q != '`')
        {
          if (l->pos >= l->n || l->s[l->pos] == '\n')
            return lex_errorf (l, "%s", what);
          l->pos++;
        }
      else if (c == '\n' && q != '`')
        return lex_errorf (l, "%s", what);
      else if (c == q)
        break;
    }
  lex_emit (l, typ);
}

/* Absorbs letters, digits and '_'; false (the error token emitted) when what follows
 * cannot end a word. */
static bool
scan_word (struct lexer *l)
{
  uint32_t r;
  size_t w;
  for (;;)
    {
      r = lex_peek (l, &w);
      if (r == LEX_EOF || !is_alnum (r))
        break;
      l->pos += w;
    }
  if (at_terminator (l))
    return true;
  char u[32];
  fmt_U (u, r);
  lex_errorf (l, "bad character %s", u);
  return false;
}

/* .Field or $var; the '.' or '$' is consumed. */
static void
lex_field_or_var (struct lexer *l, enum tok typ)
{
  if (at_terminator (l))
    return lex_emit (l, typ == T_VAR ? T_VAR : T_DOT);
  if (scan_word (l))
    lex_emit (l, typ);
}

static void
lex_identifier (struct lexer *l)
{
  if (!scan_word (l))
    return;
  const char *word = l->s + l->start;
  size_t n = l->pos - l->start;
  for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
    if (strlen (keywords[i].word) == n && memcmp (keywords[i].word, word, n) == 0)
      return lex_emit (l, keywords[i].typ);
  if ((n == 4 && memcmp (word, "true", 4) == 0) || (n == 5 && memcmp (word, "false", 5) == 0))
    return lex_emit (l, T_BOOL);
  lex_emit (l, T_IDENT);
}

static void
lex_space (struct lexer *l)
{
  size_t k = space_run (l, l->pos);
  l->pos += k;
  /* A trim-marked right delimiter starts with a space: leave that space to it. */
  if (right_trim_at (l, l->pos - 1) && has_prefix (l, l->pos + 1, "}}"))
    {
      l->pos--;
      if (k == 1)
        return lex_right_delim (l);
    }
  lex_emit (l, T_SPACE);
}

/* One token inside an action (or the right delimiter). */
static void
lex_inside (struct lexer *l)
{
  bool trim;
  if (at_right_delim (l, &trim))
    {
      if (l->paren == 0)
        return lex_right_delim (l);
      return lex_errorf (l, "unclosed left paren");
    }
  size_t w;
  uint32_t r = lex_peek (l, &w);
  if (r == LEX_EOF)
    return lex_errorf (l, "unclosed action");
  if (is_space (r))
    return lex_space (l);
  l->pos += w;
  switch (r)
    {
    case '=': return lex_emit (l, T_ASSIGN);
    case ':':
      if (l->pos >= l->n || l->s[l->pos] != '=')
        return lex_errorf (l, "expected :=");
      l->pos++;
      return lex_emit (l, T_DECLARE);
    case '|': return lex_emit (l, T_PIPE);
    case '"': return lex_quote (l, '"', T_STRING, "unterminated quoted string");
    case '`': return lex_quote (l, '`', T_RAWSTRING, "unterminated raw quoted string");
    case '\'': return lex_quote (l, '\'', T_CHARCONST, "unterminated character constant");
    case '$': return lex_field_or_var (l, T_VAR);
    case '(':
      lex_emit (l, T_LPAREN);
      l->paren++;
      return;
    case ')':
      lex_emit (l, T_RPAREN);
      if (--l->paren < 0)
        return lex_errorf (l, "unexpected right paren U+0029 ')'");
      return;
    case '.':
      if (l->pos < l->n && !(l->s[l->pos] >= '0' && l->s[l->pos] <= '9'))
        return lex_field_or_var (l, T_FIELD);
      __attribute__ ((fallthrough)); /* '.' can start a number */
    case '+': case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
    case '8': case '9':
      l->pos -= w;
      return lex_number (l);
    }
  if (is_alnum (r))
    {
      l->pos -= w;
      return lex_identifier (l);
    }
  if (r < 0x80 && r >= 0x20 && r != 0x7f)
    return lex_emit (l, T_CHAR);
  char u[32];
  fmt_U (u, r);
  lex_errorf (l, "unrecognized character in action: %s", u);
}

static void
lex_all (struct lexer *l)
{
  bool in_action = false;
  while (!l->done)
    {
      if (in_action)
        {
          size_t before = l->ntoks;
          lex_inside (l);
          if (l->ntoks > before && l->toks[l->ntoks - 1].typ == T_RDELIM)
            in_action = false;
          continue;
        }
      /* text up to the next "{{" */
      const char *x = memmem (l->s + l->pos, l->n - l->pos, "{{", 2);
      if (x == NULL)
        {
          l->pos = l->n;
          if (l->pos > l->start)
            lex_emit (l, T_TEXT);
          lex_emit (l, T_EOF);
          l->done = true;
          break;
        }
      size_t at = (size_t) (x - l->s);
      size_t trim = 0;
      if (left_trim_at (l, at + 2))
        while (at - trim > l->start && is_space ((unsigned char) l->s[at - trim - 1]))
          trim++;
      l->pos = at - trim;
      if (l->pos > l->start)
        lex_emit (l, T_TEXT);
      l->pos = at;
      l->start = at;
      /* the left delimiter */
      l->pos += 2;
      size_t after = left_trim_at (l, l->pos) ? 2 : 0;
      if (has_prefix (l, l->pos + after, "/*"))
        {
          l->pos += after;
          l->start = l->pos;
          lex_comment (l);
          continue;
        }
      lex_emit (l, T_LDELIM);
      l->pos += after;
      l->start = l->pos;
      l->paren = 0;
      in_action = true;
    }
}

/* ------------------------------------------------------------------ tree */

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

static void
node_free (struct node *n)
{
  free (n->kids);
  free (n->decl);
  for (size_t i = 0; i < n->nident; i++)
    free (n->ident[i]);
  free (n->ident);
  free (n->text);
  free (n);
}

void
gotemplate_free (struct gotemplate *t)
{
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->narena; i++)
    node_free (t->arena[i]);
  free (t->arena);
  for (size_t i = 0; i < t->ndefs; i++)
    free (t->defs[i].name);
  free (t->defs);
  free (t->text);
  free (t);
}

static void
node_add (struct node *parent, struct node *kid)
{
  parent->kids = xgrow (parent->kids, &parent->kcap, parent->nkids + 1, sizeof *parent->kids);
  parent->kids[parent->nkids++] = kid;
}

static void
ident_add (struct node *n, const char *s, size_t len)
{
  n->ident = xgrow (n->ident, &n->icap, n->nident + 1, sizeof *n->ident);
  n->ident[n->nident++] = xstrndup (s, len);
}

/* Go's Node.String(), for the "at <...>" of execution errors and parse messages. */
static void
node_string (struct buf *b, const struct node *n)
{
  switch (n->kind)
    {
    case N_TEXT: buf_append (b, n->text, n->len); break;
    case N_LIST:
      for (size_t i = 0; i < n->nkids; i++)
        node_string (b, n->kids[i]);
      break;
    case N_ACTION:
      buf_puts (b, "{{");
      node_string (b, n->pipe);
      buf_puts (b, "}}");
      break;
    case N_IF:
    case N_RANGE:
    case N_WITH:
      buf_puts (b, n->kind == N_IF ? "{{if " : n->kind == N_RANGE ? "{{range " : "{{with ");
      node_string (b, n->pipe);
      buf_puts (b, "}}");
      node_string (b, n->list);
      if (n->elselist)
        {
          buf_puts (b, "{{else}}");
          node_string (b, n->elselist);
        }
      buf_puts (b, "{{end}}");
      break;
    case N_TEMPLATE:
      buf_puts (b, "{{template ");
      utf8_go_quote (b, n->text, n->len);
      if (n->pipe)
        {
          buf_putc (b, ' ');
          node_string (b, n->pipe);
        }
      buf_puts (b, "}}");
      break;
    case N_BREAK: buf_puts (b, "{{break}}"); break;
    case N_CONTINUE: buf_puts (b, "{{continue}}"); break;
    case N_END: buf_puts (b, "{{end}}"); break;
    case N_ELSE: buf_puts (b, "{{else}}"); break;
    case N_PIPE:
      for (size_t i = 0; i < n->ndecl; i++)
        {
          if (i)
            buf_puts (b, ", ");
          node_string (b, n->decl[i]);
        }
      if (n->ndecl)
        buf_puts (b, n->is_assign ? " = " : " := ");
      for (size_t i = 0; i < n->nkids; i++)
        {
          if (i)
            buf_puts (b, " | ");
          node_string (b, n->kids[i]);
        }
      break;
    case N_CMD:
      for (size_t i = 0; i < n->nkids; i++)
        {
          if (i)
            buf_putc (b, ' ');
          if (n->kids[i]->kind == N_PIPE)
            buf_putc (b, '(');
          node_string (b, n->kids[i]);
          if (n->kids[i]->kind == N_PIPE)
            buf_putc (b, ')');
        }
      break;
    case N_FIELD:
      for (size_t i = 0; i < n->nident; i++)
        {
          buf_putc (b, '.');
          buf_puts (b, n->ident[i]);
        }
      break;
    case N_VAR:
      for (size_t i = 0; i < n->nident; i++)
        {
          if (i)
            buf_putc (b, '.');
          buf_puts (b, n->ident[i]);
        }
      break;
    case N_CHAIN:
      if (n->pipe->kind == N_PIPE)
        buf_putc (b, '(');
      node_string (b, n->pipe);
      if (n->pipe->kind == N_PIPE)
        buf_putc (b, ')');
      for (size_t i = 0; i < n->nident; i++)
        {
          buf_putc (b, '.');
          buf_puts (b, n->ident[i]);
        }
      break;
    case N_DOT: buf_putc (b, '.'); break;
    case N_NIL: buf_puts (b, "nil"); break;
    case N_BOOL: buf_puts (b, n->b ? "true" : "false"); break;
    case N_NUMBER:
    case N_STRING: buf_append (b, n->src, n->srclen); break;
    case N_IDENT: buf_puts (b, n->ident[0]); break;
    }
}

/* node_string into a fixed array: error paths leave by longjmp, where no heap buffer may
 * be live. */
static const char *
node_cstr (const struct node *n, char out[512])
{
  struct buf b = BUF_INIT;
  node_string (&b, n);
  snprintf (out, 512, "%s", buf_str (&b));
  buf_free (&b);
  return out;
}

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

static bool
function_known (const char *name, size_t len);

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
      if (!function_known (s, t->len))
        parse_errorf (p, "function \"%.*s\" not defined", (int) t->len, s);
      n = new_node (p, N_IDENT, t->pos);
      ident_add (n, s, t->len);
      return n;
    case T_DOT: return new_node (p, N_DOT, t->pos);
    case T_NIL: return new_node (p, N_NIL, t->pos);
    case T_VAR:
      {
        n = new_node (p, N_VAR, t->pos);
        ident_add (n, s, t->len);
        for (size_t i = p->nvars; i-- > 0;)
          if (strcmp (p->vars[i], n->ident[0]) == 0)
            return n;
        parse_errorf (p, "undefined variable \"%s\"", n->ident[0]);
      }
    case T_FIELD:
      n = new_node (p, N_FIELD, t->pos);
      ident_add (n, s + 1, t->len - 1);
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
      node_cstr (n, str);
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
      ident_add (target, p->t->text + f->pos + 1, f->len - 1);
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
        node_add (cmd, o);
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
          struct node *var = new_node (p, N_VAR, v->pos);
          ident_add (var, p->t->text + v->pos, v->len);
          pipe->decl = xgrow (pipe->decl, &pipe->dcap, pipe->ndecl + 1, sizeof *pipe->decl);
          pipe->decl[pipe->ndecl++] = var;
          push_var (p, var->ident[0]);
        }
      else if (nx->typ == T_CHAR && p->t->text[nx->pos] == ',')
        {
          next_nonspace (p);
          struct node *var = new_node (p, N_VAR, v->pos);
          ident_add (var, p->t->text + v->pos, v->len);
          pipe->decl = xgrow (pipe->decl, &pipe->dcap, pipe->ndecl + 1, sizeof *pipe->decl);
          pipe->decl[pipe->ndecl++] = var;
          push_var (p, var->ident[0]);
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
          node_add (pipe, parse_command (p));
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
      node_add (list, n);
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
          node_add (n->elselist, parse_control (p, kind, context));
        }
      else
        {
          n->elselist = parse_item_list (p, &stop);
          if (stop->kind != N_END)
            {
              char str[512];
              parse_errorf (p, "expected end; found %s", node_cstr (stop, str));
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
static void
parse_definition (struct parser *p)
{
  enter (p);
  size_t len;
  const char *name = parse_template_name (p, next_nonspace (p), "define clause", &len);
  expect (p, T_RDELIM, "define clause");
  size_t mark = p->nvars;
  struct node *stop;
  struct node *list = parse_item_list (p, &stop);
  if (stop->kind != N_END)
    parse_errorf (p, "unexpected {{else}} in define clause");
  p->nvars = mark;
  add_definition (p, name, list);
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
        size_t mark = p->nvars;
        struct node *stop;
        struct node *list = parse_item_list (p, &stop);
        if (stop->kind != N_END)
          parse_errorf (p, "unexpected {{else}} in block clause");
        p->nvars = mark;
        add_definition (p, name, list);
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
          parse_errorf (p, "unexpected %s", node_cstr (n, str));
        }
      node_add (p->t->root, n);
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
  lex_all (&l);
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

/* ------------------------------------------------------------------ printing */

/* The shortest decimal digits that read back as f (finite, non-zero): f = 0.DIGS × 10^dp. */
static void
shortest_digits (double f, char digs[32], int *nd, int *dp)
{
  char tmp[48];
  for (int p = 1; p <= 17; p++)
    {
      snprintf (tmp, sizeof tmp, "%.*e", p - 1, f);
      if (strtod (tmp, NULL) == f)
        break;
    }
  const char *s = tmp;
  if (*s == '-')
    s++;
  int n = 0;
  for (; *s && *s != 'e'; s++)
    if (*s != '.')
      digs[n++] = *s;
  while (n > 1 && digs[n - 1] == '0')
    n--;
  digs[n] = 0;
  *nd = n;
  *dp = atoi (s + 1) + 1;
}

static bool
float_special (struct buf *b, double f, bool go_json)
{
  if (isnan (f))
    buf_puts (b, go_json ? "null" : "NaN");
  else if (isinf (f))
    buf_puts (b, go_json ? "null" : f > 0 ? "+Inf" : "-Inf");
  else if (f == 0)
    buf_puts (b, signbit (f) && !go_json ? "-0" : "0");
  else
    return false;
  return true;
}

static void
put_e (struct buf *b, const char *digs, int nd, int dp, bool go_json)
{
  buf_putc (b, digs[0]);
  if (nd > 1)
    {
      buf_putc (b, '.');
      buf_append (b, digs + 1, (size_t) nd - 1);
    }
  int e = dp - 1;
  /* strconv writes at least two exponent digits; encoding/json then drops a leading 0 */
  if (go_json)
    buf_printf (b, "e%c%d", e < 0 ? '-' : '+', abs (e));
  else
    buf_printf (b, "e%c%02d", e < 0 ? '-' : '+', abs (e));
}

static void
put_f (struct buf *b, const char *digs, int nd, int dp)
{
  if (dp <= 0)
    {
      buf_puts (b, "0.");
      for (int i = 0; i < -dp; i++)
        buf_putc (b, '0');
      buf_append (b, digs, (size_t) nd);
    }
  else if (dp >= nd)
    {
      buf_append (b, digs, (size_t) nd);
      for (int i = nd; i < dp; i++)
        buf_putc (b, '0');
    }
  else
    {
      buf_append (b, digs, (size_t) dp);
      buf_putc (b, '.');
      buf_append (b, digs + dp, (size_t) (nd - dp));
    }
}

/* fmt's %v of a float64: strconv's shortest %g (exponent form below 1e-4 or from 1e6 on). */
static void
put_float_v (struct buf *b, double f)
{
  if (float_special (b, f, false))
    return;
  char digs[32];
  int nd, dp;
  shortest_digits (f, digs, &nd, &dp);
  if (f < 0)
    buf_putc (b, '-');
  int exp = dp - 1;
  if (exp < -4 || exp >= 6)
    put_e (b, digs, nd, dp, false);
  else
    put_f (b, digs, nd, dp);
}

/* encoding/json's float64: fixed notation unless below 1e-6 or from 1e21 on. */
static void
put_float_json (struct buf *b, double f)
{
  if (float_special (b, f, true))
    return;
  char digs[32];
  int nd, dp;
  shortest_digits (f, digs, &nd, &dp);
  if (f < 0)
    buf_putc (b, '-');
  double a = fabs (f);
  if (a < 1e-6 || a >= 1e21)
    put_e (b, digs, nd, dp, true);
  else
    put_f (b, digs, nd, dp);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The keys of an object in Go's map order (bytewise); the caller frees the array. */
static const char **
sorted_keys (const json_t *o, size_t *n)
{
  *n = json_object_size (o);
  const char **keys = xcalloc (*n ? *n : 1, sizeof *keys);
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) o, k, v)
  keys[i++] = k;
  qsort (keys, *n, sizeof *keys, cmp_str);
  return keys;
}

static void
json_string_go (struct buf *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  buf_putc (b, '"');
  for (size_t i = 0; i < n;)
    {
      unsigned char c = (unsigned char) s[i];
      if (c < 0x80)
        {
          i++;
          if (c >= 0x20 && c != '"' && c != '\\')
            buf_putc (b, (char) c);
          else
            switch (c)
              {
              case '"': case '\\': buf_putc (b, '\\'); buf_putc (b, (char) c); break;
              case '\b': buf_puts (b, "\\b"); break;
              case '\f': buf_puts (b, "\\f"); break;
              case '\n': buf_puts (b, "\\n"); break;
              case '\r': buf_puts (b, "\\r"); break;
              case '\t': buf_puts (b, "\\t"); break;
              default:
                buf_puts (b, "\\u00");
                buf_putc (b, hex[c >> 4]);
                buf_putc (b, hex[c & 15]);
              }
          continue;
        }
      size_t w;
      uint32_t r = utf8_decode (s + i, n - i, &w);
      if (r == RUNE_ERROR && w == 1)
        buf_puts (b, "\\ufffd");
      else if (r == 0x2028 || r == 0x2029)
        buf_printf (b, "\\u%04x", (unsigned) r);
      else
        buf_append (b, s + i, w);
      i += w;
    }
  buf_putc (b, '"');
}

/* One walk for both ways a value is written: fmt.Print (`as_json` false: maps as
 * map[k:v], slices as [a b], strings bare) and encoding/json (compact, keys sorted, no HTML
 * escaping).  Both order map keys bytewise, as Go's fmt and encoding/json do. */
static void
put_value (struct buf *b, const json_t *v, bool as_json)
{
  if (v == NULL || json_is_null (v))
    {
      buf_puts (b, as_json ? "null" : v ? "<nil>" : "<no value>");
      return;
    }
  switch (json_typeof (v))
    {
    case JSON_TRUE: buf_puts (b, "true"); break;
    case JSON_FALSE: buf_puts (b, "false"); break;
    case JSON_INTEGER: buf_printf (b, "%" JSON_INTEGER_FORMAT, json_integer_value (v)); break;
    case JSON_REAL:
      if (as_json)
        put_float_json (b, json_real_value (v));
      else
        put_float_v (b, json_real_value (v));
      break;
    case JSON_STRING:
      if (as_json)
        json_string_go (b, json_string_value (v), json_string_length (v));
      else
        buf_append (b, json_string_value (v), json_string_length (v));
      break;
    case JSON_ARRAY:
      buf_putc (b, '[');
      for (size_t i = 0; i < json_array_size (v); i++)
        {
          if (i)
            buf_putc (b, as_json ? ',' : ' ');
          put_value (b, json_array_get (v, i), as_json);
        }
      buf_putc (b, ']');
      break;
    default:
      {
        size_t n;
        _cleanup_free_ const char **keys = sorted_keys (v, &n);
        buf_puts (b, as_json ? "{" : "map[");
        for (size_t i = 0; i < n; i++)
          {
            if (i)
              buf_putc (b, as_json ? ',' : ' ');
            if (as_json)
              json_string_go (b, keys[i], strlen (keys[i]));
            else
              buf_puts (b, keys[i]);
            buf_putc (b, ':');
            put_value (b, json_object_get (v, keys[i]), as_json);
          }
        buf_putc (b, as_json ? '}' : ']');
      }
    }
}

static void
print_value (struct buf *b, const json_t *v)
{
  put_value (b, v, false);
}

void
gotemplate_print (struct buf *out, const json_t *v)
{
  put_value (out, v, false);
}

void
gotemplate_json (struct buf *b, const json_t *v)
{
  put_value (b, v, true);
}

/* ------------------------------------------------------------------ execution */

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
static char missing_tag;
#define MISSING ((json_t *) (void *) &missing_tag)

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
                    node_cstr (st->node, ctx), msg);
    }
  longjmp (st->jb, 1);
}

/* Takes a value made during the execution.  Each counts as a step, so max_steps bounds
 * the memory an execution holds as well as its time; the check waits for the next node
 * (functions call this with buffers of their own still live, which a longjmp would leak). */
static json_t *
keep (struct state *st, json_t *v)
{
  st->pool = xgrow (st->pool, &st->pcap, st->npool + 1, sizeof *st->pool);
  st->pool[st->npool++] = v;
  st->steps++;
  return v;
}

/* Registers a plain allocation, freed when the execution ends (the pool marks it by a
 * MISSING after it). */
static void *
pool_alloc (struct state *st, void *p)
{
  st->pool = xgrow (st->pool, &st->pcap, st->npool + 2, sizeof *st->pool);
  st->pool[st->npool++] = p;
  st->pool[st->npool++] = MISSING;
  return p;
}

static json_t *
mkstr (struct state *st, const char *s, size_t n)
{
  return keep (st, json_stringn_nocheck (s ? s : "", n));
}

static json_t *
mkbuf (struct state *st, struct buf *b)
{
  return mkstr (st, b->data, b->len);
}

static json_t *
mkint (struct state *st, json_int_t i)
{
  return keep (st, json_integer (i));
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
static const char *
type_name (const struct state *st, const json_t *v)
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

static bool
truth (const json_t *v)
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
    exec_errorf (st, "wrong type for value; expected %s; got %s", param_type_name (typ), type_name (st, v));
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

/* ---- functions */

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

static const struct func *find_func (const char *name, size_t len, bool header);

/* Signals a function's error (its message in `msg`), as a Go function's non-nil error. */
static json_t *
fail (char *msg, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static json_t *
fail (char *msg, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, MSG_MAX, fmt, ap);
  va_end (ap);
  return NULL;
}

/* fmt.Sprint: a space between operands when neither is a string. */
static void
sprint (struct buf *b, json_t **argv, size_t argc, bool ln)
{
  for (size_t i = 0; i < argc; i++)
    {
      if (i > 0 && (ln || (!json_is_string (argv[i - 1]) && !json_is_string (argv[i]))))
        buf_putc (b, ' ');
      print_value (b, argv[i]);
    }
  if (ln)
    buf_putc (b, '\n');
}

static json_t *
fn_print (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf b = BUF_INIT;
  sprint (&b, argv, argc, false);
  return mkbuf (st, &b);
}

static json_t *
fn_println (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf b = BUF_INIT;
  sprint (&b, argv, argc, true);
  return mkbuf (st, &b);
}

/* %!v(type=value), fmt's note for an argument that does not fit its verb. */
static void
bad_verb (struct buf *b, uint32_t verb, const json_t *v)
{
  buf_puts (b, "%!");
  buf_put_rune (b, verb);
  buf_putc (b, '(');
  if (v == NULL || json_is_null (v))
    buf_puts (b, "<nil>");
  else
    {
      buf_puts (b, type_name (NULL, v));
      buf_putc (b, '=');
      print_value (b, v);
    }
  buf_putc (b, ')');
}

struct fmtspec
{
  bool minus, plus, sharp, space, zero;
  int width, prec; /* -1: not given */
};

static void
put_padded (struct buf *b, const struct fmtspec *f, const char *s, size_t n, bool numeric)
{
  size_t runes = 0;
  for (size_t i = 0; i < n;)
    {
      size_t w;
      utf8_decode (s + i, n - i, &w);
      i += w ? w : 1;
      runes++;
    }
  size_t pad = f->width > 0 && (size_t) f->width > runes ? (size_t) f->width - runes : 0;
  if (f->minus)
    {
      buf_append (b, s, n);
      for (size_t i = 0; i < pad; i++)
        buf_putc (b, ' ');
      return;
    }
  if (f->zero && numeric && n > 0 && (s[0] == '-' || s[0] == '+'))
    {
      buf_putc (b, s[0]);
      s++, n--;
    }
  for (size_t i = 0; i < pad; i++)
    buf_putc (b, f->zero && numeric ? '0' : ' ');
  buf_append (b, s, n);
}

static void
fmt_one (struct buf *b, const struct fmtspec *f, uint32_t verb, const json_t *v)
{
  _cleanup_buf_ struct buf s = BUF_INIT;
  bool numeric = false;
  bool is_int = v && json_is_integer (v), is_real = v && json_is_real (v), is_str = v && json_is_string (v);
  switch (verb)
    {
    case 'v':
      if (f->sharp && is_str)
        utf8_go_quote (&s, json_string_value (v), json_string_length (v));
      else if (v == NULL || json_is_null (v))
        buf_puts (&s, "<nil>");
      else if (is_int && f->plus)
        buf_printf (&s, "%+" JSON_INTEGER_FORMAT, json_integer_value (v));
      else
        print_value (&s, v), numeric = is_int || is_real;
      break;
    case 's':
      if (is_str)
        {
          const char *p = json_string_value (v);
          size_t n = json_string_length (v);
          if (f->prec >= 0)
            {
              size_t k = 0;
              for (int r = 0; r < f->prec && k < n; r++)
                {
                  size_t w;
                  utf8_decode (p + k, n - k, &w);
                  k += w ? w : 1;
                }
              n = k;
            }
          buf_append (&s, p, n);
        }
      else if (v && (json_is_array (v) || json_is_object (v)))
        print_value (&s, v);
      else
        bad_verb (&s, verb, v);
      break;
    case 'q':
      if (is_str)
        utf8_go_quote (&s, json_string_value (v), json_string_length (v));
      else if (is_int)
        {
          struct buf r = BUF_INIT;
          json_int_t c = json_integer_value (v);
          buf_put_rune (&r, c >= 0 && c <= 0x10FFFF ? (uint32_t) c : RUNE_ERROR);
          _cleanup_buf_ struct buf q = BUF_INIT;
          utf8_go_quote (&q, r.data, r.len);
          buf_free (&r);
          buf_putc (&s, '\'');
          buf_append (&s, q.data + 1, q.len - 2);
          buf_putc (&s, '\'');
        }
      else
        bad_verb (&s, verb, v);
      break;
    case 'd':
    case 'b':
    case 'o':
    case 'O':
    case 'x':
    case 'X':
    case 'c':
    case 'U':
      if (is_int)
        {
          json_int_t i = json_integer_value (v);
          uint64_t a = i < 0 ? 0 - (uint64_t) i : (uint64_t) i;
          numeric = verb != 'c' && verb != 'U';
          if (verb == 'c' || verb == 'U')
            {
              uint32_t r = i >= 0 && i <= 0x10FFFF ? (uint32_t) i : RUNE_ERROR;
              if (verb == 'U')
                buf_printf (&s, "U+%04X", (unsigned) r);
              else
                buf_put_rune (&s, r);
              break;
            }
          if (i < 0)
            buf_putc (&s, '-');
          else if (f->plus)
            buf_putc (&s, '+');
          if (verb == 'd')
            buf_printf (&s, "%llu", (unsigned long long) a);
          else if (verb == 'x' || verb == 'X')
            buf_printf (&s, verb == 'x' ? "%s%llx" : "%s%llX", f->sharp ? (verb == 'x' ? "0x" : "0X") : "",
                        (unsigned long long) a);
          else if (verb == 'o' || verb == 'O')
            buf_printf (&s, "%s%llo", verb == 'O' ? "0o" : f->sharp ? "0" : "", (unsigned long long) a);
          else
            {
              char bits[65];
              int k = 64;
              bits[k] = 0;
              do
                bits[--k] = (char) ('0' + (a & 1));
              while (a >>= 1);
              buf_puts (&s, bits + k);
            }
        }
      else if (is_str && (verb == 'x' || verb == 'X'))
        {
          const unsigned char *p = (const unsigned char *) json_string_value (v);
          for (size_t i = 0; i < json_string_length (v); i++)
            {
              if (i && f->space)
                buf_putc (&s, ' ');
              buf_printf (&s, verb == 'x' ? "%02x" : "%02X", p[i]);
            }
        }
      else
        bad_verb (&s, verb, v);
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      if (is_real)
        {
          double d = json_real_value (v);
          numeric = true;
          if ((verb == 'g' || verb == 'G') && f->prec < 0)
            {
              if (f->plus && d >= 0)
                buf_putc (&s, '+');
              put_float_v (&s, d);
            }
          else
            {
              char spec[16];
              snprintf (spec, sizeof spec, "%%%s.*%c", f->plus ? "+" : "", verb == 'F' ? 'f' : (char) verb);
              buf_printf (&s, spec, f->prec < 0 ? 6 : f->prec, d);
            }
        }
      else
        bad_verb (&s, verb, v);
      break;
    case 't':
      if (v && json_is_boolean (v))
        buf_puts (&s, json_is_true (v) ? "true" : "false");
      else
        bad_verb (&s, verb, v);
      break;
    default: bad_verb (&s, verb, v); break;
    }
  put_padded (b, f, s.data ? s.data : "", s.len, numeric);
}

/* fmt.Sprintf for the verbs a template can meet. */
static void
go_sprintf (struct buf *b, const char *fmt, size_t n, json_t **argv, size_t argc)
{
  size_t arg = 0;
  for (size_t i = 0; i < n;)
    {
      if (fmt[i] != '%')
        {
          buf_putc (b, fmt[i++]);
          continue;
        }
      i++;
      if (i >= n)
        {
          buf_puts (b, "%!(NOVERB)");
          break;
        }
      struct fmtspec f = {.width = -1, .prec = -1};
      for (; i < n; i++)
        {
          char c = fmt[i];
          if (c == '-')
            f.minus = true;
          else if (c == '+')
            f.plus = true;
          else if (c == '#')
            f.sharp = true;
          else if (c == ' ')
            f.space = true;
          else if (c == '0')
            f.zero = true;
          else
            break;
        }
      if (i < n && fmt[i] == '*')
        {
          i++;
          if (arg < argc && json_is_integer (argv[arg]) && llabs (json_integer_value (argv[arg])) < 1000000)
            {
              json_int_t w = json_integer_value (argv[arg++]);
              if (w < 0)
                f.minus = true, w = -w;
              f.width = (int) w;
            }
          else
            {
              buf_puts (b, "%!(BADWIDTH)");
              arg += arg < argc;
            }
        }
      else
        for (f.width = 0; i < n && isdigit ((unsigned char) fmt[i]) && f.width < 1000000; i++)
          f.width = f.width * 10 + (fmt[i] - '0');
      if (i < n && fmt[i] == '.')
        {
          i++;
          if (i < n && fmt[i] == '*')
            {
              i++;
              if (arg < argc && json_is_integer (argv[arg]) && json_integer_value (argv[arg]) >= 0
                  && json_integer_value (argv[arg]) < 1000000)
                f.prec = (int) json_integer_value (argv[arg++]);
              else
                {
                  buf_puts (b, "%!(BADPREC)");
                  arg += arg < argc;
                }
            }
          else
            for (f.prec = 0; i < n && isdigit ((unsigned char) fmt[i]) && f.prec < 1000000; i++)
              f.prec = f.prec * 10 + (fmt[i] - '0');
        }
      if (i >= n)
        {
          buf_puts (b, "%!(NOVERB)");
          break;
        }
      size_t w;
      uint32_t verb = utf8_decode (fmt + i, n - i, &w);
      i += w ? w : 1;
      if (verb == '%')
        {
          buf_putc (b, '%');
          continue;
        }
      if (arg >= argc)
        {
          buf_puts (b, "%!");
          buf_put_rune (b, verb);
          buf_puts (b, "(MISSING)");
          continue;
        }
      fmt_one (b, &f, verb, argv[arg++]);
    }
  if (arg < argc)
    {
      buf_puts (b, "%!(EXTRA ");
      for (size_t k = arg; k < argc; k++)
        {
          if (k > arg)
            buf_puts (b, ", ");
          if (json_is_null (argv[k]))
            buf_puts (b, "<nil>");
          else
            {
              buf_puts (b, type_name (NULL, argv[k]));
              buf_putc (b, '=');
              print_value (b, argv[k]);
            }
        }
      buf_putc (b, ')');
    }
}

static json_t *
fn_printf (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf b = BUF_INIT;
  go_sprintf (&b, json_string_value (argv[0]), json_string_length (argv[0]), argv + 1, argc - 1);
  return mkbuf (st, &b);
}

/* The text of html/js/urlquery's arguments: the one string, or fmt.Sprint of them all. */
static void
eval_args_text (struct buf *b, json_t **argv, size_t argc)
{
  if (argc == 1 && json_is_string (argv[0]))
    buf_append (b, json_string_value (argv[0]), json_string_length (argv[0]));
  else
    sprint (b, argv, argc, false);
}

static json_t *
fn_html (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf in = BUF_INIT, b = BUF_INIT;
  eval_args_text (&in, argv, argc);
  for (size_t i = 0; i < in.len; i++)
    switch (in.data[i])
      {
      case '"': buf_puts (&b, "&#34;"); break;
      case '\'': buf_puts (&b, "&#39;"); break;
      case '&': buf_puts (&b, "&amp;"); break;
      case '<': buf_puts (&b, "&lt;"); break;
      case '>': buf_puts (&b, "&gt;"); break;
      case '\0': buf_puts (&b, "\xEF\xBF\xBD"); break;
      default: buf_putc (&b, in.data[i]);
      }
  return mkbuf (st, &b);
}

static json_t *
fn_js (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf in = BUF_INIT, b = BUF_INIT;
  eval_args_text (&in, argv, argc);
  for (size_t i = 0; i < in.len;)
    {
      unsigned char c = (unsigned char) in.data[i];
      if (c < 0x80)
        {
          i++;
          switch (c)
            {
            case '\\': buf_puts (&b, "\\\\"); break;
            case '\'': buf_puts (&b, "\\'"); break;
            case '"': buf_puts (&b, "\\\""); break;
            case '<': buf_puts (&b, "\\u003C"); break;
            case '>': buf_puts (&b, "\\u003E"); break;
            case '&': buf_puts (&b, "\\u0026"); break;
            case '=': buf_puts (&b, "\\u003D"); break;
            default:
              if (c < ' ')
                buf_printf (&b, "\\u00%02X", c);
              else
                buf_putc (&b, (char) c);
            }
          continue;
        }
      size_t w;
      uint32_t r = utf8_decode (in.data + i, in.len - i, &w);
      if (rune_is_print (r))
        buf_append (&b, in.data + i, w);
      else
        buf_printf (&b, "\\u%04X", (unsigned) r);
      i += w;
    }
  return mkbuf (st, &b);
}

static json_t *
fn_urlquery (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf in = BUF_INIT, b = BUF_INIT;
  eval_args_text (&in, argv, argc);
  for (size_t i = 0; i < in.len; i++)
    {
      unsigned char c = (unsigned char) in.data[i];
      if (isalnum (c) || c == '-' || c == '_' || c == '.' || c == '~')
        buf_putc (&b, (char) c);
      else if (c == ' ')
        buf_putc (&b, '+');
      else
        buf_printf (&b, "%%%02X", c);
    }
  return mkbuf (st, &b);
}

static json_t *
fn_len (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *v = argv[0];
  if (json_is_null (v))
    return fail (msg, "len of nil pointer");
  if (json_is_string (v))
    return mkint (st, (json_int_t) json_string_length (v));
  if (json_is_array (v))
    return mkint (st, (json_int_t) json_array_size (v));
  if (json_is_object (v))
    return mkint (st, (json_int_t) json_object_size (v));
  return fail (msg, "len of type %s", type_name (st, v));
}

/* The zero value of a missing map key: "" when the map holds strings (docker's labels,
 * map[string]string), else nil. */
static json_t *
map_zero (const json_t *m)
{
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) m, k, v)
  if (!json_is_string (v))
    return NULL;
  return json_string ("");
}

static json_t *
fn_index (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *v = argv[0];
  for (size_t i = 1; i < argc; i++)
    {
      json_t *ix = argv[i];
      if (v == NULL)
        return fail (msg, "index of untyped nil");
      if (json_is_null (v))
        {
          /* a nil map of strings, as docker's Labels without labels */
          if (json_is_string (ix))
            {
              v = mkstr (st, "", 0);
              continue;
            }
          return fail (msg, "index of nil pointer");
        }
      if (json_is_array (v) || json_is_string (v))
        {
          if (!json_is_integer (ix))
            return fail (msg, "cannot index slice/array with type %s", type_name (NULL, ix));
          json_int_t x = json_integer_value (ix);
          size_t len = json_is_array (v) ? json_array_size (v) : json_string_length (v);
          if (x < 0 || (uint64_t) x >= len)
            return fail (msg, "index out of range: %" JSON_INTEGER_FORMAT, x);
          v = json_is_array (v) ? json_array_get (v, (size_t) x)
                                : mkint (st, (unsigned char) json_string_value (v)[x]);
        }
      else if (json_is_object (v))
        {
          if (json_is_null (ix))
            ix = mkstr (st, "", 0);
          if (!json_is_string (ix))
            return fail (msg, "%s is not index type for %s", type_name (NULL, ix), type_name (st, v));
          json_t *x = json_object_getn (v, json_string_value (ix), json_string_length (ix));
          if (x == NULL)
            {
              x = map_zero (v);
              if (x)
                keep (st, x);
            }
          v = x;
        }
      else
        return fail (msg, "can't index item of type %s", type_name (st, v));
    }
  return v;
}

static json_t *
fn_slice (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *v = argv[0];
  if (json_is_null (v))
    return fail (msg, "slice of untyped nil");
  if (argc > 4)
    return fail (msg, "too many slice indexes: %zu", argc - 1);
  size_t len;
  if (json_is_string (v))
    {
      if (argc == 4)
        return fail (msg, "cannot 3-index slice a string");
      len = json_string_length (v);
    }
  else if (json_is_array (v))
    len = json_array_size (v);
  else
    return fail (msg, "can't slice item of type %s", type_name (st, v));
  json_int_t ix[3] = {0, (json_int_t) len, (json_int_t) len};
  for (size_t i = 1; i < argc; i++)
    {
      if (!json_is_integer (argv[i]))
        return fail (msg, "cannot index slice/array with type %s", type_name (NULL, argv[i]));
      ix[i - 1] = json_integer_value (argv[i]);
      if (ix[i - 1] < 0 || (uint64_t) ix[i - 1] > len)
        return fail (msg, "index out of range: %" JSON_INTEGER_FORMAT, ix[i - 1]);
    }
  if (ix[0] > ix[1])
    return fail (msg, "invalid slice index: %" JSON_INTEGER_FORMAT " > %" JSON_INTEGER_FORMAT, ix[0], ix[1]);
  if (argc == 4 && ix[1] > ix[2])
    return fail (msg, "invalid slice index: %" JSON_INTEGER_FORMAT " > %" JSON_INTEGER_FORMAT, ix[1], ix[2]);
  if (json_is_string (v))
    return mkstr (st, json_string_value (v) + ix[0], (size_t) (ix[1] - ix[0]));
  json_t *a = keep (st, json_array ());
  for (json_int_t i = ix[0]; i < ix[1]; i++)
    json_array_append (a, json_array_get (v, (size_t) i));
  return a;
}

static json_t *
fn_not (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return truth (argv[0]) ? json_false () : json_true ();
}

enum kind
{
  K_INVALID,
  K_BOOL,
  K_INT,
  K_FLOAT,
  K_STRING,
};

static enum kind
basic_kind (const json_t *v)
{
  if (v == NULL)
    return K_INVALID;
  switch (json_typeof (v))
    {
    case JSON_TRUE:
    case JSON_FALSE: return K_BOOL;
    case JSON_INTEGER: return K_INT;
    case JSON_REAL: return K_FLOAT;
    case JSON_STRING: return K_STRING;
    default: return K_INVALID;
    }
}

static int
str_cmp (const json_t *a, const json_t *b)
{
  size_t la = json_string_length (a), lb = json_string_length (b);
  int c = memcmp (json_string_value (a), json_string_value (b), la < lb ? la : lb);
  return c ? c : la < lb ? -1 : la > lb;
}

/* eq: a == b || a == c ...; -1 with msg on incomparable values. */
static int
eq_values (json_t *a, json_t **bs, size_t nb, char *msg)
{
  if (nb == 0)
    return fail (msg, "missing argument for comparison"), -1;
  enum kind k1 = basic_kind (a);
  bool nil1 = a == NULL || json_is_null (a);
  for (size_t i = 0; i < nb; i++)
    {
      json_t *b = bs[i];
      enum kind k2 = basic_kind (b);
      bool nil2 = b == NULL || json_is_null (b);
      bool t = false;
      if (k1 != k2)
        {
          if (!nil1 && !nil2)
            return fail (msg, "incompatible types for comparison"), -1;
        }
      else
        switch (k1)
          {
          case K_BOOL: t = json_is_true (a) == json_is_true (b); break;
          case K_INT: t = json_integer_value (a) == json_integer_value (b); break;
          case K_FLOAT: t = json_real_value (a) == json_real_value (b); break;
          case K_STRING: t = str_cmp (a, b) == 0; break;
          case K_INVALID:
            if (nil1 || nil2)
              t = nil1 == nil2;
            else
              return fail (msg, "non-comparable type %s", type_name (NULL, b)), -1;
          }
      if (t)
        return 1;
    }
  return 0;
}

/* lt: a < b; -1 with msg. */
static int
lt_values (json_t *a, json_t *b, char *msg)
{
  enum kind k1 = basic_kind (a), k2 = basic_kind (b);
  if (k1 == K_INVALID || k2 == K_INVALID)
    return fail (msg, "invalid type for comparison"), -1;
  if (k1 != k2)
    return fail (msg, "incompatible types for comparison"), -1;
  switch (k1)
    {
    case K_INT: return json_integer_value (a) < json_integer_value (b);
    case K_FLOAT: return json_real_value (a) < json_real_value (b);
    case K_STRING: return str_cmp (a, b) < 0;
    default: return fail (msg, "invalid type for comparison"), -1;
    }
}

static json_t *
fn_eq (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = eq_values (argv[0], argv + 1, argc - 1, msg);
  return r < 0 ? NULL : r ? json_true () : json_false ();
}

static json_t *
fn_ne (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = eq_values (argv[0], argv + 1, 1, msg);
  return r < 0 ? NULL : r ? json_false () : json_true ();
}

static json_t *
fn_lt (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = lt_values (argv[0], argv[1], msg);
  return r < 0 ? NULL : r ? json_true () : json_false ();
}

static json_t *
fn_le (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = lt_values (argv[0], argv[1], msg);
  if (r == 0)
    r = eq_values (argv[0], argv + 1, 1, msg);
  return r < 0 ? NULL : r ? json_true () : json_false ();
}

static json_t *
fn_gt (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *r = fn_le (st, argv, argc, msg);
  return r == NULL ? NULL : json_is_true (r) ? json_false () : json_true ();
}

static json_t *
fn_ge (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = lt_values (argv[0], argv[1], msg);
  return r < 0 ? NULL : r ? json_false () : json_true ();
}

static json_t *
fn_call (struct state *st, json_t **argv, size_t argc, char *msg)
{
  if (json_is_null (argv[0]))
    return fail (msg, "call of nil");
  return fail (msg, "non-function of type %s", type_name (st, argv[0]));
}

/* ---- docker's functions (templates/templates.go) */

static json_t *
fn_json (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf b = BUF_INIT;
  gotemplate_json (&b, argv[0]);
  return mkbuf (st, &b);
}

static json_t *
fn_split (struct state *st, json_t **argv, size_t argc, char *msg)
{
  const char *s = json_string_value (argv[0]), *sep = json_string_value (argv[1]);
  size_t n = json_string_length (argv[0]), sn = json_string_length (argv[1]);
  json_t *a = keep (st, json_array ());
  if (sn == 0)
    {
      for (size_t i = 0; i < n;)
        {
          size_t w;
          utf8_decode (s + i, n - i, &w);
          w = w ? w : 1;
          json_array_append_new (a, json_stringn_nocheck (s + i, w));
          i += w;
        }
      return a;
    }
  size_t start = 0;
  for (size_t i = 0; i + sn <= n;)
    if (memcmp (s + i, sep, sn) == 0)
      {
        json_array_append_new (a, json_stringn_nocheck (s + start, i - start));
        i += sn;
        start = i;
      }
    else
      i++;
  json_array_append_new (a, json_stringn_nocheck (s + start, n - start));
  return a;
}

static void
join_texts (struct buf *b, json_t **items, size_t n, const json_t *sep)
{
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        buf_append (b, json_string_value (sep), json_string_length (sep));
      print_value (b, items[i]);
    }
}

static int
cmp_printed (const void *a, const void *b)
{
  _cleanup_buf_ struct buf x = BUF_INIT, y = BUF_INIT;
  print_value (&x, *(json_t *const *) a);
  print_value (&y, *(json_t *const *) b);
  size_t n = x.len < y.len ? x.len : y.len;
  int c = n ? memcmp (x.data, y.data, n) : 0;
  return c ? c : x.len < y.len ? -1 : x.len > y.len;
}

static json_t *
fn_join (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *v = argv[0];
  _cleanup_buf_ struct buf b = BUF_INIT;
  if (json_is_null (v))
    return mkstr (st, "", 0);
  if (json_is_array (v))
    {
      size_t n = json_array_size (v);
      _cleanup_free_ json_t **items = xcalloc (n ? n : 1, sizeof *items);
      for (size_t i = 0; i < n; i++)
        items[i] = json_array_get (v, i);
      join_texts (&b, items, n, argv[1]);
      return mkbuf (st, &b);
    }
  if (json_is_object (v))
    {
      /* the values, printed and sorted: docker ignores the keys */
      size_t n = json_object_size (v), i = 0;
      _cleanup_free_ json_t **items = xcalloc (n ? n : 1, sizeof *items);
      const char *k;
      json_t *x;
      json_object_foreach (v, k, x)
      items[i++] = x;
      qsort (items, n, sizeof *items, cmp_printed);
      join_texts (&b, items, n, argv[1]);
      return mkbuf (st, &b);
    }
  return fail (msg, "expected slice, got %s", type_name (st, v));
}

static uint32_t
rune_upper (uint32_t r)
{
  if (r >= 'a' && r <= 'z')
    return r - 32;
  if ((r >= 0xE0 && r <= 0xFE && r != 0xF7) || (r >= 0x3B1 && r <= 0x3C9 && r != 0x3C2) || (r >= 0x430 && r <= 0x44F))
    return r - 0x20;
  if (r >= 0x450 && r <= 0x45F)
    return r - 0x50;
  if (r == 0xFF)
    return 0x178;
  if (((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) && (r & 1))
    return r - 1;
  return r;
}

static uint32_t
rune_lower (uint32_t r)
{
  if (r >= 'A' && r <= 'Z')
    return r + 32;
  if ((r >= 0xC0 && r <= 0xDE && r != 0xD7) || (r >= 0x391 && r <= 0x3A9 && r != 0x3A2) || (r >= 0x410 && r <= 0x42F))
    return r + 0x20;
  if (r >= 0x400 && r <= 0x40F)
    return r + 0x50;
  if (r == 0x178)
    return 0xFF;
  if (((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) && !(r & 1))
    return r + 1;
  return r;
}

/* strings.Title's word boundary. */
static bool
title_separator (uint32_t r)
{
  if (r <= 0x7F)
    return !(isalnum ((int) r) || r == '_');
  if (rune_is_letter (r) || rune_is_digit (r))
    return false;
  return rune_is_space (r);
}

/* strings.Map with a case mapping (mode: 'u'pper, 'l'ower, 't'itle); invalid UTF-8 becomes
 * U+FFFD as Map does, except in all-ASCII strings (Go's fast path). */
static json_t *
map_case (struct state *st, const json_t *v, char mode)
{
  const char *s = json_string_value (v);
  size_t n = json_string_length (v);
  _cleanup_buf_ struct buf b = BUF_INIT;
  uint32_t prev = ' ';
  for (size_t i = 0; i < n;)
    {
      size_t w;
      uint32_t r = utf8_decode (s + i, n - i, &w);
      w = w ? w : 1;
      uint32_t m = r;
      if (mode == 'u')
        m = rune_upper (r);
      else if (mode == 'l')
        m = rune_lower (r);
      else if (title_separator (prev))
        m = rune_upper (r);
      buf_put_rune (&b, m);
      prev = r;
      i += w;
    }
  return mkbuf (st, &b);
}

static json_t *
fn_title (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return map_case (st, argv[0], 't');
}

static json_t *
fn_lower (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return map_case (st, argv[0], 'l');
}

static json_t *
fn_upper (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return map_case (st, argv[0], 'u');
}

static json_t *
fn_pad (struct state *st, json_t **argv, size_t argc, char *msg)
{
  size_t n = json_string_length (argv[0]);
  if (n == 0)
    return mkstr (st, "", 0);
  json_int_t pre = json_integer_value (argv[1]), suf = json_integer_value (argv[2]);
  if (pre < 0 || suf < 0)
    return fail (msg, "strings: negative Repeat count");
  if ((uint64_t) pre > st->max_output || (uint64_t) suf > st->max_output)
    return fail (msg, "padding of %" JSON_INTEGER_FORMAT " exceeds the output limit", pre > suf ? pre : suf);
  _cleanup_buf_ struct buf b = BUF_INIT;
  for (json_int_t i = 0; i < pre; i++)
    buf_putc (&b, ' ');
  buf_append (&b, json_string_value (argv[0]), n);
  for (json_int_t i = 0; i < suf; i++)
    buf_putc (&b, ' ');
  return mkbuf (st, &b);
}

static json_t *
fn_truncate (struct state *st, json_t **argv, size_t argc, char *msg)
{
  size_t n = json_string_length (argv[0]);
  json_int_t len = json_integer_value (argv[1]);
  if (len >= 0 && n < (uint64_t) len)
    return argv[0];
  if (len < 0)
    return fail (msg, "runtime error: slice bounds out of range [:%" JSON_INTEGER_FORMAT "]", len);
  return mkstr (st, json_string_value (argv[0]), (size_t) len);
}

/* HeaderFunctions: the column title goes through unchanged. */
static json_t *
fn_first (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return argv[0];
}

static const struct func funcs[] = {
  {"and", "aa", true, NULL, false},
  {"or", "aa", true, NULL, false},
  {"call", "aa", true, fn_call, false},
  {"html", "a", true, fn_html, false},
  {"index", "aa", true, fn_index, false},
  {"slice", "aa", true, fn_slice, false},
  {"js", "a", true, fn_js, false},
  {"len", "a", false, fn_len, false},
  {"not", "a", false, fn_not, false},
  {"print", "a", true, fn_print, false},
  {"printf", "sa", true, fn_printf, false},
  {"println", "a", true, fn_println, false},
  {"urlquery", "a", true, fn_urlquery, false},
  {"eq", "aa", true, fn_eq, false},
  {"ge", "aa", false, fn_ge, false},
  {"gt", "aa", false, fn_gt, false},
  {"le", "aa", false, fn_le, false},
  {"lt", "aa", false, fn_lt, false},
  {"ne", "aa", false, fn_ne, false},
  {"json", "a", false, fn_json, true},
  {"split", "ss", false, fn_split, true},
  {"join", "as", false, fn_join, true},
  {"title", "s", false, fn_title, true},
  {"lower", "s", false, fn_lower, true},
  {"upper", "s", false, fn_upper, true},
  {"pad", "sii", false, fn_pad, false},
  {"truncate", "si", false, fn_truncate, true},
};

static const struct func header_funcs[] = {
  {"json", "s", false, fn_first, true},  {"split", "ss", false, fn_first, true},
  {"join", "ss", false, fn_first, true}, {"title", "s", false, fn_first, true},
  {"lower", "s", false, fn_first, true}, {"upper", "s", false, fn_first, true},
  {"truncate", "si", false, fn_first, true},
};

static const struct func *
find_func (const char *name, size_t len, bool header)
{
  if (header)
    for (size_t i = 0; i < sizeof header_funcs / sizeof *header_funcs; i++)
      if (strlen (header_funcs[i].name) == len && memcmp (header_funcs[i].name, name, len) == 0)
        return &header_funcs[i];
  for (size_t i = 0; i < sizeof funcs / sizeof *funcs; i++)
    if (strlen (funcs[i].name) == len && memcmp (funcs[i].name, name, len) == 0)
      return &funcs[i];
  return NULL;
}

static bool
function_known (const char *name, size_t len)
{
  return find_func (name, len, false) != NULL;
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
      exec_errorf (st, "can't give argument to non-function %s", node_cstr (args[0], str));
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
    return keep (st, json_real (n->f));
  if (n->is_int)
    return mkint (st, n->i);
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
          if (truth (v) == is_or)
            return v;
        }
      if (final != MISSING)
        v = validate (st, final, 'a');
      return v;
    }

  json_t **argv = pool_alloc (st, xcalloc (num_in ? num_in : 1, sizeof *argv));
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
  const struct func *fn = find_func (name, strlen (name), st->o->header_funcs);
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
  return keep (st, v);
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
      if (v == NULL && st->o->missingkey == GT_MISSING_ERROR)
        exec_errorf (st, "map has no entry for key \"%s\"", name);
      return v;
    }
  exec_errorf (st, "can't evaluate field %s in type %s", name, type_name (st, recv));
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
      exec_errorf (st, "indirection through explicit nil in %s", node_cstr (chain, str));
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
    case N_STRING: return mkstr (st, first->text, first->len);
    default: break;
    }
  char str[512];
  exec_errorf (st, "can't evaluate command %s", node_cstr (first, str));
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
  node_cstr (n, str);
  switch (typ)
    {
    case 'b':
      if (n->kind == N_BOOL)
        return n->b ? json_true () : json_false ();
      exec_errorf (st, "expected bool; found %s", str);
    case 'i':
      if (n->kind == N_NUMBER && n->is_int)
        return mkint (st, n->i);
      exec_errorf (st, "expected integer; found %s", str);
    case 's':
      if (n->kind == N_STRING)
        return mkstr (st, n->text, n->len);
      exec_errorf (st, "expected string; found %s", str);
    default:
      if (n->kind == N_BOOL)
        return n->b ? json_true () : json_false ();
      if (n->kind == N_NUMBER)
        return ideal_constant (st, n);
      if (n->kind == N_STRING)
        return mkstr (st, n->text, n->len);
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
    keys = pool_alloc (st, sorted_keys (val, &n)); /* in the pool in case the body fails */
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
      print_value (&b, val);
      snprintf (str, sizeof str, "%s", buf_str (&b));
      buf_free (&b);
      st->node = r;
      exec_errorf (st, "range can't iterate over %s", str);
    }
  for (size_t i = 0; i < n && st->ctl != CTL_BREAK; i++)
    {
      st->ctl = CTL_NONE;
      json_t *index = keys ? mkstr (st, keys[i], strlen (keys[i])) : mkint (st, (json_int_t) i);
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
  pool_alloc (st, saved);
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
            print_value (st->out, v);
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
        if (truth (v))
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
        exec_errorf (st, "unknown node: %s", node_cstr (n, str));
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
