/* context/ignore.c — .dockerignore rules, as docker and BuildKit apply them.
 *
 * Each pattern compiles to a small token list instead of a regular expression:
 * `*` (any run but '/'), `?` (one rune but '/'), classes, `**` in the middle
 * ("zero or more whole directories") and at the end ("anything").  Patterns with
 * no special characters are exact tests; the prefix/suffix shortcuts of upstream
 * (a trailing or leading `**`) are kept, quirks included, so results agree. */
#include "context/ignore.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/path.h"
#include "util/utf8.h"

enum tok_kind
{
  T_LIT,
  T_STAR,       /* [^/]* */
  T_ANY,        /* [^/] */
  T_DSTAR_MID,  /* (.*\/)? : zero or more whole directories */
  T_DSTAR_END,  /* .* */
  T_CLASS,      /* [...] */
};

struct range
{
  uint32_t lo, hi;
};

struct tok
{
  enum tok_kind kind;
  uint32_t r;           /* T_LIT */
  bool negated;         /* T_CLASS */
  struct range *ranges; /* T_CLASS */
  size_t n_ranges;
};

enum match_type
{
  M_EXACT,
  M_PREFIX,
  M_SUFFIX,
  M_TOKENS,
};

struct pattern
{
  char *text; /* cleaned, without the '!' */
  bool exclusion;
  int line;
  enum match_type type;
  struct tok *toks;
  size_t n_toks;
  char *literal_prefix; /* text before the first special character */
};

struct ignore_rules
{
  struct pattern *p;
  size_t n;
  bool has_exceptions;
};

/* ---------- compiling a pattern ---------- */

static void
pattern_clear (struct pattern *p)
{
  for (size_t i = 0; i < p->n_toks; i++)
    free (p->toks[i].ranges);
  free (p->toks);
  free (p->text);
  free (p->literal_prefix);
}

/* One class item (filepath.Match's getEsc): `\x` or a rune; '-' and ']' are not
 * allowed here, and the class must go on after it. */
static int
class_item (const char *s, size_t n, size_t *i, uint32_t *out)
{
  if (*i >= n || s[*i] == '-' || s[*i] == ']')
    return -1;
  if (s[*i] == '\\')
    {
      (*i)++;
      if (*i >= n)
        return -1;
    }
  size_t w;
  uint32_t r = utf8_decode (s + *i, n - *i, &w);
  if (r == RUNE_ERROR && w == 1)
    return -1;
  *i += w;
  if (*i >= n)
    return -1;
  *out = r;
  return 0;
}

/* Matching costs tokens x path runes (memoized): a pattern is bounded as a path is. */
#define PATTERN_MAX 4096

static int
compile_pattern (struct pattern *p, struct kiln_err *err)
{
  const char *s = p->text;
  size_t n = strlen (s);
  if (n > PATTERN_MAX)
    return kiln_err_set (err, KILN_EPARSE, "invalid pattern: longer than %d bytes", PATTERN_MAX);
  p->toks = xcalloc (n + 1, sizeof *p->toks);
  p->type = M_EXACT;
  size_t k = 0, i = 0;
  size_t prefix_end = (size_t) -1;
  for (size_t idx = 0; i < n; idx++)
    {
      size_t at = i;
      size_t w;
      uint32_t ch = utf8_decode (s + i, n - i, &w);
      i += w;
      if (ch == '*' || ch == '?' || ch == '[' || ch == '\\')
        if (prefix_end == (size_t) -1)
          prefix_end = at;
      if (ch == '*')
        {
          if (i < n && s[i] == '*')
            {
              i++;
              if (i < n && s[i] == '/')
                i++;
              if (i >= n)
                {
                  if (p->type == M_EXACT)
                    p->type = M_PREFIX;
                  else
                    p->type = M_TOKENS;
                  p->toks[k++].kind = T_DSTAR_END;
                }
              else
                {
                  p->toks[k++].kind = T_DSTAR_MID;
                  p->type = M_TOKENS;
                }
              if (idx == 0)
                p->type = M_SUFFIX;
            }
          else
            {
              /* `**` inside an element matches as `*` does: one token for a run,
               * so a pattern of stars costs no more than one. */
              if (k == 0 || p->toks[k - 1].kind != T_STAR)
                p->toks[k++].kind = T_STAR;
              p->type = M_TOKENS;
            }
        }
      else if (ch == '?')
        {
          p->toks[k++].kind = T_ANY;
          p->type = M_TOKENS;
        }
      else if (ch == '\\')
        {
          if (i >= n)
            goto bad;
          uint32_t e = utf8_decode (s + i, n - i, &w);
          i += w;
          p->toks[k].kind = T_LIT;
          p->toks[k++].r = e;
          p->type = M_TOKENS;
        }
      else if (ch == '[')
        {
          struct tok *t = &p->toks[k++];
          t->kind = T_CLASS;
          p->type = M_TOKENS;
          if (i < n && s[i] == '^')
            t->negated = true, i++;
          size_t cap = 0;
          for (;;)
            {
              if (i < n && s[i] == ']' && t->n_ranges > 0)
                {
                  i++;
                  break;
                }
              uint32_t lo, hi;
              if (class_item (s, n, &i, &lo) < 0)
                goto bad;
              hi = lo;
              if (s[i] == '-')
                {
                  i++;
                  if (class_item (s, n, &i, &hi) < 0)
                    goto bad;
                }
              if (lo > hi)
                goto bad;
              t->ranges = xgrow (t->ranges, &cap, t->n_ranges + 1, sizeof *t->ranges);
              t->ranges[t->n_ranges++] = (struct range){lo, hi};
            }
        }
      else if (ch == ']')
        {
          /* A lone ']' is literal for filepath.Match, and for the regex upstream builds. */
          p->toks[k].kind = T_LIT;
          p->toks[k++].r = ch;
          p->type = M_TOKENS;
        }
      else
        {
          p->toks[k].kind = T_LIT;
          p->toks[k++].r = ch;
        }
    }
  p->n_toks = k;
  p->literal_prefix = xstrndup (s, prefix_end == (size_t) -1 ? n : prefix_end);
  return 0;
bad:
  p->n_toks = k; /* so that pattern_clear frees a half-built class */
  return kiln_err_set (err, KILN_EPARSE, "invalid pattern \"%s\": syntax error in pattern", s);
}

/* ---------- matching ---------- */

static bool
class_has (const struct tok *t, uint32_t r)
{
  bool in = false;
  for (size_t i = 0; i < t->n_ranges && !in; i++)
    in = t->ranges[i].lo <= r && r <= t->ranges[i].hi;
  return in != t->negated;
}

struct matcher
{
  const struct tok *t;
  size_t nt;
  const uint32_t *s;
  size_t ns;
  unsigned char *failed; /* (nt+1)*(ns+1) memo of failed states */
  const size_t *next_slash; /* for each rune, the index of the next '/' (ns: none) */
  bool parents;             /* a match may also end where a parent directory ends */
};

static bool
match_at (struct matcher *m, size_t ti, size_t si)
{
  for (;;)
    {
      if (ti == m->nt)
        return si == m->ns || (m->parents && m->s[si] == '/');
      unsigned char *memo = &m->failed[ti * (m->ns + 1) + si];
      if (*memo)
        return false;
      const struct tok *t = &m->t[ti];
      bool ok = false;
      switch (t->kind)
        {
        case T_LIT:
          if (si < m->ns && m->s[si] == t->r)
            {
              ti++, si++;
              continue;
            }
          break;
        case T_ANY:
          if (si < m->ns && m->s[si] != '/')
            {
              ti++, si++;
              continue;
            }
          break;
        case T_CLASS:
          if (si < m->ns && class_has (t, m->s[si]))
            {
              ti++, si++;
              continue;
            }
          break;
        case T_STAR:
          /* Nothing more, or one more non-slash rune and the same star again:
           * each memoized state does constant work. */
          ok = match_at (m, ti + 1, si) || (si < m->ns && m->s[si] != '/' && match_at (m, ti, si + 1));
          break;
        case T_DSTAR_END:
          ok = true; /* .* then end of pattern */
          break;
        case T_DSTAR_MID:
          /* Nothing, or everything up to and including the next slash, and the
           * same `**` again. */
          if (match_at (m, ti + 1, si))
            ok = true;
          else
            {
              size_t e = si < m->ns ? m->next_slash[si] : m->ns;
              ok = e < m->ns && match_at (m, ti, e + 1);
            }
          break;
        }
      if (!ok)
        *memo = 1;
      return ok;
    }
}

/* The pattern matches the path (or, with `parents`, one of its parent
 * directories: all of them in one memoized pass). */
static bool
pattern_matches (const struct pattern *p, const char *path, bool parents)
{
  size_t pl = strlen (path);
  switch (p->type)
    {
    case M_EXACT:
      return strcmp (path, p->text) == 0;
    case M_PREFIX:
      {
        size_t n = strlen (p->text) - 2;
        return pl >= n && memcmp (path, p->text, n) == 0;
      }
    case M_SUFFIX:
      {
        /* `**X` is any path ending in X; `**\/X` is X itself or a path ending in "/X". */
        const char *suffix = p->text + 2;
        bool whole_elements = *suffix == '/';
        if (whole_elements && strcmp (path, suffix + 1) == 0)
          return true;
        size_t n = strlen (suffix);
        return pl >= n && memcmp (path + pl - n, suffix, n) == 0;
      }
    case M_TOKENS:
      break;
    }
  uint32_t stack_runes[256];
  unsigned char stack_memo[4096];
  uint32_t *runes = pl + 1 <= 256 ? stack_runes : xmalloc ((pl + 1) * sizeof *runes);
  size_t nr = 0;
  for (size_t i = 0; i < pl;)
    {
      size_t w;
      runes[nr++] = utf8_decode (path + i, pl - i, &w);
      i += w;
    }
  size_t memo_n = (p->n_toks + 1) * (nr + 1);
  unsigned char *memo = memo_n <= sizeof stack_memo ? stack_memo : xmalloc (memo_n);
  memset (memo, 0, memo_n);
  size_t stack_next[256];
  size_t *next = nr + 1 <= 256 ? stack_next : xmalloc ((nr + 1) * sizeof *next);
  next[nr] = nr;
  for (size_t i = nr; i-- > 0;)
    next[i] = runes[i] == '/' ? i : next[i + 1];
  struct matcher m = {p->toks, p->n_toks, runes, nr, memo, next, parents};
  bool ok = match_at (&m, 0, 0);
  if (next != stack_next)
    free (next);
  if (memo != stack_memo)
    free (memo);
  if (runes != stack_runes)
    free (runes);
  return ok;
}

/* The pattern matches the path or one of its parent directories. */
static bool
pattern_hits (const struct pattern *p, const char *path)
{
  if (p->type == M_TOKENS)
    return pattern_matches (p, path, true);
  if (pattern_matches (p, path, false))
    return true;
  _cleanup_free_ char *parent = xstrdup (path);
  for (char *slash = strchr (parent, '/'); slash; slash = strchr (slash + 1, '/'))
    {
      *slash = '\0';
      bool hit = pattern_matches (p, parent, false);
      *slash = '/';
      if (hit)
        return true;
    }
  return false;
}

bool
ignore_excluded (const struct ignore_rules *r, const char *path)
{
  if (r == NULL || r->n == 0)
    return false;
  _cleanup_free_ char *clean = path_clean (path);
  if (strcmp (clean, ".") == 0)
    return false;
  bool matched = false;
  for (size_t i = 0; i < r->n; i++)
    {
      const struct pattern *p = &r->p[i];
      if (p->exclusion != matched)
        continue;
      if (pattern_hits (p, clean))
        matched = !p->exclusion;
    }
  return matched;
}

bool
ignore_may_include_below (const struct ignore_rules *r, const char *dir)
{
  if (r == NULL || !r->has_exceptions)
    return false;
  _cleanup_free_ char *clean = path_clean (dir);
  size_t dl = strlen (clean);
  for (size_t i = 0; i < r->n; i++)
    {
      const struct pattern *p = &r->p[i];
      if (!p->exclusion)
        continue;
      /* Compare the literal start of the exception with "dir/": when neither is a
       * prefix of the other, nothing below dir can match it. */
      const char *lp = p->literal_prefix;
      size_t ll = strlen (lp);
      size_t common = ll < dl ? ll : dl;
      if (memcmp (lp, clean, common) != 0)
        continue;
      if (ll > dl && lp[dl] != '/')
        continue;
      return true;
    }
  return false;
}

enum ignore_decision
ignore_decide (const struct ignore_rules *r, const char *path, bool is_dir)
{
  if (r == NULL || !ignore_excluded (r, path))
    return IGNORE_KEEP;
  return is_dir && ignore_may_include_below (r, path) ? IGNORE_LOOK_INSIDE : IGNORE_SKIP;
}

size_t
ignore_count (const struct ignore_rules *r)
{
  return r ? r->n : 0;
}

void
ignore_free (struct ignore_rules *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++)
    pattern_clear (&r->p[i]);
  free (r->p);
  free (r);
}

static void
rules_freep (struct ignore_rules **r)
{
  ignore_free (*r);
}

/* ---------- reading the file ---------- */

struct ignore_rules *
ignore_parse (const char *file, const char *data, size_t len, struct kiln_err *err)
{
  _cleanup_ (rules_freep) struct ignore_rules *r = xcalloc (1, sizeof *r);
  size_t cap = 0;
  size_t pos = 0;
  int lineno = 0;
  while (pos < len)
    {
      const char *line = data + pos;
      const char *nl = memchr (line, '\n', len - pos);
      size_t n = nl ? (size_t) (nl - line) : len - pos;
      const char *whole = line; /* for the error display */
      size_t whole_n = n;
      pos += n + (nl ? 1 : 0);
      lineno++;
      if (lineno == 1 && n >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0)
        line += 3, n -= 3;
      if (n > 0 && line[0] == '#')
        continue;
      size_t lead = utf8_space_prefix (line, n);
      line += lead, n -= lead;
      n -= utf8_space_suffix (line, n);
      if (n == 0)
        continue;
      bool exclusion = false;
      if (line[0] == '!')
        {
          exclusion = true;
          line++, n--;
          size_t l2 = utf8_space_prefix (line, n);
          line += l2, n -= l2;
        }
      int col = (int) (line - whole) + 1;
      if (r->n >= IGNORE_MAX_PATTERNS)
        {
          kiln_err_set (err, KILN_EPARSE, "more than %u patterns", IGNORE_MAX_PATTERNS);
          kiln_err_locate (err, file, lineno, col, whole, whole_n);
          return NULL;
        }
      if (exclusion && n == 0)
        {
          kiln_err_set (err, KILN_EPARSE, "illegal exclusion pattern: \"!\"");
          kiln_err_locate (err, file, lineno, col, whole, whole_n);
          return NULL;
        }
      _cleanup_free_ char *raw = xstrndup (line, n);
      char *clean = path_clean (raw);
      if (clean[0] == '/')
        {
          char *c2 = xstrdup (clean[1] ? clean + 1 : ".");
          free (clean);
          clean = c2;
        }
      r->p = xgrow (r->p, &cap, r->n + 1, sizeof *r->p);
      struct pattern *p = &r->p[r->n];
      memset (p, 0, sizeof *p);
      p->text = clean;
      p->exclusion = exclusion;
      p->line = lineno;
      if (compile_pattern (p, err) < 0)
        {
          pattern_clear (p);
          kiln_err_locate (err, file, lineno, col, whole, whole_n);
          return NULL;
        }
      r->n++;
      r->has_exceptions |= exclusion;
    }
  return steal_pointer (&r);
}

struct ignore_rules *
ignore_load (const char *path, bool missing_ok, struct kiln_err *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT && missing_ok)
        return xcalloc (1, sizeof (struct ignore_rules));
      kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
      return NULL;
    }
  _cleanup_buf_ struct buf data = BUF_INIT;
  if (read_all (fd, 64u * 1024 * 1024, &data, path, err) < 0)
    return NULL;
  return ignore_parse (path, buf_str (&data), data.len, err);
}

char *
context_ignore_path (const char *context_dir, const char *dockerfile)
{
  if (dockerfile && strcmp (dockerfile, "-") != 0)
    {
      _cleanup_buf_ struct buf p = BUF_INIT;
      buf_printf (&p, "%s.dockerignore", dockerfile);
      if (access (buf_str (&p), F_OK) == 0)
        return buf_steal (&p);
    }
  struct buf p = BUF_INIT;
  buf_printf (&p, "%s/.dockerignore", context_dir);
  return buf_steal (&p);
}
