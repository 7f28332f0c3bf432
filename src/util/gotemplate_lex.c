/* util/gotemplate_lex.c — the lexer of Go's text/template (lex.go): text, delimiters
 * with their trim markers, comments, and the tokens of actions. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/gotemplate_int.h"
#include "util/gotemplate_lex.h"
#include "util/utf8.h"


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

void
gt_lex_all (struct lexer *l)
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

