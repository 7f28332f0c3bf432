/* frontend/shell.c — word expansion, rule for rule as BuildKit's shell lexer.
 *
 * A recursive-descent scanner over runes: processStopOn reads until a stop
 * character, dispatching `$`, `'` and `"`; ${...} recurses with '}' as the stop.
 * Pattern operators (# ## % %% / //) use a wildcard matcher with `*` and `?`. */
#include "frontend/shell.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/utf8.h"

#define SCAN_EOF (-1)

struct scanner
{
  const struct shell_opts *o;
  const struct shell_env *env;
  const char *s;
  size_t len;
  size_t pos;
  bool raw_escapes;
  unsigned depth;
  struct kiln_err *err;
};

static int32_t
peek (struct scanner *sc)
{
  if (sc->pos >= sc->len)
    return SCAN_EOF;
  size_t w;
  return (int32_t) utf8_decode (sc->s + sc->pos, sc->len - sc->pos, &w);
}

static int32_t
next (struct scanner *sc)
{
  if (sc->pos >= sc->len)
    return SCAN_EOF;
  size_t w;
  uint32_t r = utf8_decode (sc->s + sc->pos, sc->len - sc->pos, &w);
  sc->pos += w;
  return (int32_t) r;
}

/* ---------- the word splitter (BuildKit's wordsStruct) ---------- */

struct words
{
  struct buf word;
  struct strv *out; /* NULL: words are not wanted */
  bool in_word;
  bool glue;
};

static bool
ends_with_heredoc_op (const struct buf *b)
{
  return b->len >= 2 && b->data[b->len - 2] == '<' && b->data[b->len - 1] == '<';
}

static void
words_add_raw_char (struct words *w, uint32_t ch)
{
  if (!w->out)
    return;
  buf_put_rune (&w->word, ch);
  w->in_word = true;
}

static void
words_add_char (struct words *w, uint32_t ch)
{
  if (!w->out)
    return;
  if (rune_is_space (ch) && w->in_word)
    {
      if (w->glue && ends_with_heredoc_op (&w->word))
        return;
      if (w->word.len != 0)
        {
          strv_pushn (w->out, buf_str (&w->word), w->word.len);
          buf_reset (&w->word);
          w->in_word = false;
        }
    }
  else if (!rune_is_space (ch))
    words_add_raw_char (w, ch);
}

static void
words_add_string (struct words *w, const char *s, size_t n)
{
  if (!w->out)
    return;
  size_t i = 0;
  while (i < n)
    {
      size_t width;
      uint32_t r = utf8_decode (s + i, n - i, &width);
      words_add_char (w, r);
      i += width;
    }
}

static void
words_add_raw_string (struct words *w, const char *s, size_t n)
{
  if (!w->out)
    return;
  buf_append (&w->word, s, n);
  w->in_word = true;
}

static void
words_finish (struct words *w)
{
  if (w->out && w->word.len > 0)
    strv_pushn (w->out, buf_str (&w->word), w->word.len);
  buf_free (&w->word);
}

/* ---------- environment ---------- */

const char *
shell_env_get (const struct shell_env *env, const char *name, size_t len)
{
  if (env == NULL)
    return NULL;
  const char *v = envmap_get (env->first, name, len);
  return v ? v : envmap_get (env->second, name, len);
}

/* ---------- wildcard patterns for # % / ---------- */

enum pat_kind
{
  PAT_LIT,
  PAT_ANY,  /* ? */
  PAT_STAR, /* * */
};

struct pat_tok
{
  enum pat_kind kind;
  uint32_t r;
};

/* Compiles a ${V#pattern} pattern: `*`, `?`, `\x` for x in * ? \, and `\}` `\/`
 * which only escape the ${} syntax. Other escapes are an error, as upstream. */
static int
pattern_compile (const char *p, size_t n, struct pat_tok **out, size_t *nout, struct kiln_err *err)
{
  struct pat_tok *t = xmalloc ((n + 1) * sizeof *t);
  size_t k = 0, i = 0;
  while (i < n)
    {
      size_t w;
      uint32_t r = utf8_decode (p + i, n - i, &w);
      i += w;
      if (r == '*')
        t[k++] = (struct pat_tok){PAT_STAR, 0};
      else if (r == '?')
        t[k++] = (struct pat_tok){PAT_ANY, 0};
      else if (r == '\\')
        {
          if (i < n && (p[i] == '}' || p[i] == '/'))
            continue;
          uint32_t e = i < n ? utf8_decode (p + i, n - i, &w) : 0;
          if (i >= n || (e != '*' && e != '?' && e != '\\'))
            {
              free (t);
              return kiln_err_set (err, KILN_EPARSE, "invalid pattern (%.*s) in substitution: invalid escape",
                                   (int) n, p);
            }
          i += w;
          t[k++] = (struct pat_tok){PAT_LIT, e};
        }
      else
        t[k++] = (struct pat_tok){PAT_LIT, r};
    }
  *out = t;
  *nout = k;
  return 0;
}

/* Whole-string wildcard match in O(n*m) (one backtrack point per star). */
static bool
pattern_match (const struct pat_tok *p, size_t np, const uint32_t *s, size_t ns)
{
  size_t pi = 0, si = 0, star = (size_t) -1, mark = 0;
  while (si < ns)
    {
      if (pi < np && p[pi].kind == PAT_STAR)
        {
          star = pi++;
          mark = si;
        }
      else if (pi < np && (p[pi].kind == PAT_ANY || p[pi].r == s[si]))
        pi++, si++;
      else if (star != (size_t) -1)
        {
          pi = star + 1;
          si = ++mark;
        }
      else
        return false;
    }
  while (pi < np && p[pi].kind == PAT_STAR)
    pi++;
  return pi == np;
}

static uint32_t *
decode_runes (const char *s, size_t n, size_t **offsets, size_t *count)
{
  uint32_t *r = xmalloc ((n + 1) * sizeof *r);
  size_t *off = xmalloc ((n + 1) * sizeof *off);
  size_t k = 0, i = 0;
  while (i < n)
    {
      size_t w;
      off[k] = i;
      r[k++] = utf8_decode (s + i, n - i, &w);
      i += w;
    }
  off[k] = n;
  *offsets = off;
  *count = k;
  return r;
}

/* ${V#p} ${V##p} ${V%p} ${V%%p}: removes the shortest/longest matching prefix/suffix. */
static int
trim_pattern (const char *pat, size_t pn, const char *value, bool greedy, bool suffix, char **out,
              struct kiln_err *err)
{
  struct pat_tok *p;
  size_t np;
  if (pattern_compile (pat, pn, &p, &np, err) < 0)
    return -1;
  size_t vn = strlen (value);
  _cleanup_free_ size_t *off = NULL;
  size_t nr;
  _cleanup_free_ uint32_t *r = decode_runes (value, vn, &off, &nr);
  ssize_t found = -1;
  if (!suffix)
    {
      for (size_t k = 0; k <= nr; k++)
        {
          size_t len = greedy ? nr - k : k;
          if (pattern_match (p, np, r, len))
            {
              found = (ssize_t) len;
              break;
            }
        }
      *out = found < 0 ? xstrdup (value) : xstrdup (value + off[found]);
    }
  else
    {
      for (size_t k = 0; k <= nr; k++)
        {
          size_t start = greedy ? k : nr - k;
          if (pattern_match (p, np, r + start, nr - start))
            {
              found = (ssize_t) start;
              break;
            }
        }
      *out = found < 0 ? xstrdup (value) : xstrndup (value, off[found]);
    }
  free (p);
  return 0;
}

/* ${V/p/r} and ${V//p/r}: leftmost, longest match, like the greedy regex upstream. */
static int
replace_pattern (const char *pat, size_t pn, const char *repl, const char *value, bool all, char **out,
                 struct kiln_err *err)
{
  struct pat_tok *p;
  size_t np;
  if (pattern_compile (pat, pn, &p, &np, err) < 0)
    return -1;
  size_t vn = strlen (value);
  _cleanup_free_ size_t *off = NULL;
  size_t nr;
  _cleanup_free_ uint32_t *r = decode_runes (value, vn, &off, &nr);
  struct buf b = BUF_INIT;
  size_t copied = 0; /* runes of value already copied to b */
  ssize_t prev_end = -1;
  size_t i = 0;
  while (i <= nr)
    {
      ssize_t end = -1;
      for (size_t j = nr + 1; j-- > i;)
        if (pattern_match (p, np, r + i, j - i))
          {
            end = (ssize_t) j;
            break;
          }
      /* No match here, or an empty match right after the previous one (Go skips those). */
      if (end < 0 || (end == (ssize_t) i && (ssize_t) i == prev_end))
        {
          i++;
          continue;
        }
      buf_append (&b, value + off[copied], off[i] - off[copied]);
      buf_puts (&b, repl);
      copied = (size_t) end;
      prev_end = end;
      if (!all)
        break;
      i = (size_t) end > i ? (size_t) end : i + 1;
    }
  buf_append (&b, value + off[copied], vn - off[copied]);
  free (p);
  *out = buf_steal (&b);
  return 0;
}

/* ---------- the lexer ---------- */

static int process_stop_on (struct scanner *sc, int32_t stop, bool raw_escapes, struct buf *result,
                            struct strv *words_out, bool glue);

static bool
is_special_param (int32_t c)
{
  return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' || c == '0';
}

static void
process_name (struct scanner *sc, struct buf *name)
{
  while (peek (sc) != SCAN_EOF)
    {
      int32_t ch = peek (sc);
      if (name->len == 0 && rune_is_digit ((uint32_t) ch))
        {
          while (peek (sc) != SCAN_EOF && rune_is_digit ((uint32_t) peek (sc)))
            buf_put_rune (name, (uint32_t) next (sc));
          return;
        }
      if (name->len == 0 && is_special_param (ch))
        {
          buf_put_rune (name, (uint32_t) next (sc));
          return;
        }
      if (!rune_is_letter ((uint32_t) ch) && !rune_is_digit ((uint32_t) ch) && ch != '_')
        break;
      buf_put_rune (name, (uint32_t) next (sc));
    }
}

static const char *
lookup (struct scanner *sc, const struct buf *name)
{
  return shell_env_get (sc->env, buf_str (name), name->len);
}

static int
check_size (struct scanner *sc, const struct buf *b)
{
  if (b->len > SHELL_MAX_RESULT)
    return kiln_err_set (sc->err, KILN_EINVAL, "expansion is larger than %u bytes", SHELL_MAX_RESULT);
  return 0;
}

/* Expands a `$...` at the scanner position into *out. */
static int
process_dollar (struct scanner *sc, struct buf *out)
{
  next (sc); /* '$' */
  _cleanup_buf_ struct buf name = BUF_INIT;
  if (peek (sc) != '{')
    {
      process_name (sc, &name);
      if (name.len == 0)
        {
          buf_putc (out, '$');
          return 0;
        }
      const char *v = lookup (sc, &name);
      if (v == NULL && sc->o->skip_unset_env)
        {
          buf_putc (out, '$');
          buf_append (out, name.data, name.len);
          return 0;
        }
      buf_puts (out, v ? v : "");
      return 0;
    }
  next (sc); /* '{' */
  switch (peek (sc))
    {
    case SCAN_EOF:
      return kiln_err_set (sc->err, KILN_EPARSE, "syntax error: missing '}'");
    case '{':
    case '}':
    case ':':
      return kiln_err_set (sc->err, KILN_EPARSE, "syntax error: bad substitution");
    }
  if (++sc->depth > SHELL_MAX_DEPTH)
    return kiln_err_set (sc->err, KILN_EPARSE, "syntax error: ${} nested more than %u deep", SHELL_MAX_DEPTH);
  process_name (sc, &name);
  int32_t ch = next (sc);
  _cleanup_buf_ struct buf chs = BUF_INIT;
  if (ch != SCAN_EOF)
    buf_put_rune (&chs, (uint32_t) ch);
  bool null_is_unset = false;
  int ret = 0;

  if (ch == '}')
    {
      const char *v = lookup (sc, &name);
      if (v == NULL && sc->o->skip_unset_env)
        buf_printf (out, "${%s}", buf_str (&name));
      else
        buf_puts (out, v ? v : "");
      goto done;
    }
  if (ch == ':')
    {
      null_is_unset = true;
      ch = next (sc);
      if (ch != SCAN_EOF)
        buf_put_rune (&chs, (uint32_t) ch);
      goto modifier;
    }
  if (ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%')
    goto modifier;
  if (ch == '/')
    {
      bool all = peek (sc) == '/';
      if (all)
        next (sc);
      _cleanup_buf_ struct buf pat = BUF_INIT;
      _cleanup_buf_ struct buf repl = BUF_INIT;
      if (process_stop_on (sc, '/', true, &pat, NULL, false) < 0)
        {
          if (peek (sc) == SCAN_EOF)
            kiln_err_set (sc->err, KILN_EPARSE, "syntax error: missing '/' in ${}");
          ret = -1;
          goto done;
        }
      if (process_stop_on (sc, '}', true, &repl, NULL, false) < 0)
        {
          if (peek (sc) == SCAN_EOF)
            kiln_err_set (sc->err, KILN_EPARSE, "syntax error: missing '}'");
          ret = -1;
          goto done;
        }
      const char *v = lookup (sc, &name);
      if (v == NULL && sc->o->skip_unset_env)
        {
          buf_printf (out, "${%s/%s/%s}", buf_str (&name), buf_str (&pat), buf_str (&repl));
          goto done;
        }
      _cleanup_free_ char *res = NULL;
      if (replace_pattern (buf_str (&pat), pat.len, buf_str (&repl), v ? v : "", all, &res, sc->err) < 0)
        {
          ret = -1;
          goto done;
        }
      buf_puts (out, res);
      goto done;
    }
  ret = kiln_err_set (sc->err, KILN_EPARSE, "unsupported modifier (%s) in substitution", buf_str (&chs));
  goto done;

modifier:
  {
    bool raw = ch == '#' || ch == '%';
    _cleanup_buf_ struct buf word = BUF_INIT;
    if (process_stop_on (sc, '}', raw, &word, NULL, false) < 0)
      {
        if (peek (sc) == SCAN_EOF)
          kiln_err_set (sc->err, KILN_EPARSE, "syntax error: missing '}'");
        ret = -1;
        goto done;
      }
    const char *v = lookup (sc, &name);
    if (v == NULL && sc->o->skip_unset_env)
      {
        buf_printf (out, "${%s%s%s}", buf_str (&name), buf_str (&chs), buf_str (&word));
        goto done;
      }
    bool set = v != NULL;
    bool empty = !set || (null_is_unset && *v == '\0');
    switch (ch)
      {
      case '-':
        buf_puts (out, empty ? buf_str (&word) : v);
        break;
      case '+':
        if (!empty)
          buf_puts (out, buf_str (&word));
        break;
      case '?':
        if (!set)
          ret = kiln_err_set (sc->err, KILN_EINVAL, "%s: %s", buf_str (&name),
                              word.len ? buf_str (&word) : "is not allowed to be unset");
        else if (null_is_unset && *v == '\0')
          ret = kiln_err_set (sc->err, KILN_EINVAL, "%s: %s", buf_str (&name),
                              word.len ? buf_str (&word) : "is not allowed to be empty");
        else
          buf_puts (out, v);
        break;
      case '#':
      case '%':
        {
          const char *pat = buf_str (&word);
          bool greedy = false;
          if (word.len > 0 && pat[0] == (char) ch)
            greedy = true, pat++;
          _cleanup_free_ char *res = NULL;
          if (trim_pattern (pat, strlen (pat), v ? v : "", greedy, ch == '%', &res, sc->err) < 0)
            ret = -1;
          else
            buf_puts (out, res);
          break;
        }
      default:
        ret = kiln_err_set (sc->err, KILN_EPARSE, "unsupported modifier (%s) in substitution", buf_str (&chs));
      }
  }
done:
  sc->depth--;
  if (ret == 0)
    ret = check_size (sc, out);
  return ret;
}

static int
process_single_quote (struct scanner *sc, struct buf *out)
{
  int32_t ch = next (sc);
  if (sc->o->raw_quotes)
    buf_put_rune (out, (uint32_t) ch);
  for (;;)
    {
      ch = next (sc);
      if (ch == SCAN_EOF)
        return kiln_err_set (sc->err, KILN_EPARSE,
                             "unexpected end of statement while looking for matching single-quote");
      if (ch == '\'')
        {
          if (sc->o->raw_quotes)
            buf_put_rune (out, (uint32_t) ch);
          return 0;
        }
      buf_put_rune (out, (uint32_t) ch);
    }
}

static int
process_double_quote (struct scanner *sc, struct buf *out)
{
  int32_t ch = next (sc);
  if (sc->o->raw_quotes)
    buf_put_rune (out, (uint32_t) ch);
  for (;;)
    {
      switch (peek (sc))
        {
        case SCAN_EOF:
          return kiln_err_set (sc->err, KILN_EPARSE,
                               "unexpected end of statement while looking for matching double-quote");
        case '"':
          ch = next (sc);
          if (sc->o->raw_quotes)
            buf_put_rune (out, (uint32_t) ch);
          return 0;
        case '$':
          if (process_dollar (sc, out) < 0)
            return -1;
          break;
        default:
          ch = next (sc);
          if (ch == (unsigned char) sc->o->escape)
            {
              if (sc->raw_escapes)
                buf_put_rune (out, (uint32_t) ch);
              int32_t p = peek (sc);
              if (p == SCAN_EOF)
                continue;
              if (p == '"' || p == '$' || p == (unsigned char) sc->o->escape)
                ch = next (sc);
            }
          buf_put_rune (out, (uint32_t) ch);
        }
    }
}

static int
process_stop_on (struct scanner *sc, int32_t stop, bool raw_escapes, struct buf *result, struct strv *words_out,
                 bool glue)
{
  struct words w = {BUF_INIT, words_out, false, glue};
  bool saved = sc->raw_escapes;
  sc->raw_escapes = raw_escapes;
  int ret = 0;
  int32_t esc = (unsigned char) sc->o->escape;

  while (peek (sc) != SCAN_EOF)
    {
      int32_t ch = peek (sc);
      if (stop != SCAN_EOF && ch == stop)
        {
          next (sc);
          goto out;
        }
      if (ch == '$' || (!sc->o->skip_process_quotes && (ch == '\'' || ch == '"')))
        {
          _cleanup_buf_ struct buf tmp = BUF_INIT;
          int r = ch == '$'    ? process_dollar (sc, &tmp)
                  : ch == '\'' ? process_single_quote (sc, &tmp)
                               : process_double_quote (sc, &tmp);
          if (r < 0)
            {
              ret = -1;
              goto out;
            }
          buf_append (result, buf_str (&tmp), tmp.len);
          if (ch == '$')
            words_add_string (&w, buf_str (&tmp), tmp.len);
          else
            words_add_raw_string (&w, buf_str (&tmp), tmp.len);
          if (check_size (sc, result) < 0)
            {
              ret = -1;
              goto out;
            }
          continue;
        }
      ch = next (sc);
      if (ch == esc)
        {
          if (sc->raw_escapes)
            {
              words_add_raw_char (&w, (uint32_t) ch);
              buf_put_rune (result, (uint32_t) ch);
            }
          ch = next (sc);
          if (ch == SCAN_EOF)
            break;
          words_add_raw_char (&w, (uint32_t) ch);
        }
      else
        words_add_char (&w, (uint32_t) ch);
      buf_put_rune (result, (uint32_t) ch);
    }
  if (stop != SCAN_EOF)
    ret = kiln_err_set (sc->err, KILN_EPARSE, "unexpected end of statement while looking for matching %c",
                        (char) stop);
out:
  sc->raw_escapes = saved;
  if (ret == 0)
    words_finish (&w);
  else
    buf_free (&w.word);
  return ret;
}

int
shell_expand (const struct shell_opts *opts, const char *word, size_t len, const struct shell_env *env,
              char **result, struct strv *words, struct kiln_err *err)
{
  struct scanner sc = {.o = opts, .env = env, .s = word, .len = len, .raw_escapes = opts->raw_escapes, .err = err};
  _cleanup_buf_ struct buf res = BUF_INIT;
  _cleanup_strv_ struct strv w = STRV_INIT;
  if (process_stop_on (&sc, SCAN_EOF, opts->raw_escapes, &res, words ? &w : NULL, opts->heredoc_glue) < 0)
    return kiln_err_wrap (err, "failed to process \"%.*s\"", (int) (len > 200 ? 200 : len), word);
  *result = buf_steal (&res);
  if (words)
    for (size_t i = 0; i < w.n; i++)
      strv_push_owned (words, steal_pointer (&w.v[i]));
  return 0;
}

char *
shell_expand_word (const char *word, char escape, const struct shell_env *env, struct kiln_err *err)
{
  struct shell_opts o = {.escape = escape};
  char *res = NULL;
  if (shell_expand (&o, word, strlen (word), env, &res, NULL, err) < 0)
    return NULL;
  return res;
}
