/* frontend/parser.c — lines → AST, following BuildKit's parser rule for rule.
 *
 * The rules are described in conformance/buildkit-parser/README.md; the comments
 * below name the rule where the code would otherwise look arbitrary.  Every step is
 * linear in the input: lines are scanned once, continuation lines are appended to
 * one growing buffer. */
#include "frontend/parser.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/parser_int.h"
#include "frontend/shell.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/utf8.h"

/* ---------- reading physical lines ---------- */

struct line_reader
{
  const char *data;
  size_t len;
  size_t pos;
  int lineno; /* number of the line last returned */
};

/* Returns the next physical line without its '\n' (and with trailing "\r\n" bytes
 * removed, as BuildKit's trimNewline), or false at end of input. */
static bool
next_line (struct line_reader *r, const char **line, size_t *len, size_t *raw_len)
{
  if (r->pos >= r->len)
    return false;
  const char *start = r->data + r->pos;
  const char *nl = memchr (start, '\n', r->len - r->pos);
  size_t n = nl ? (size_t) (nl - start) : r->len - r->pos;
  r->pos += n + (nl ? 1 : 0);
  r->lineno++;
  *raw_len = n;
  if (r->lineno == 1 && n >= 3 && memcmp (start, "\xEF\xBB\xBF", 3) == 0)
    start += 3, n -= 3;
  while (n > 0 && (start[n - 1] == '\r' || start[n - 1] == '\n'))
    n--;
  *line = start;
  *len = n;
  return true;
}

/* ---------- parser directives ---------- */

struct directives
{
  bool done;
  bool seen_syntax, seen_escape, seen_check;
  char escape;
  char *syntax;
  int syntax_line;
  char *check;
};

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

/* Offers a line to the directive reader (`# name = value`). Returns -1 on a
 * repeated directive or a bad escape character. */
static int
directive_offer (struct directives *d, const char *s, size_t n, int lineno, struct kiln_err *err)
{
  if (d->done)
    return 0;
  size_t i = 0;
  if (n == 0 || s[0] != '#')
    goto stop;
  i = 1;
  while (i < n && is_blank (s[i]))
    i++;
  size_t name_start = i;
  if (i >= n || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
    goto stop;
  while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
    i++;
  size_t name_len = i - name_start;
  while (i < n && is_blank (s[i]))
    i++;
  if (i >= n || s[i] != '=')
    goto stop;
  i++;
  while (i < n && is_blank (s[i]))
    i++;
  size_t vend = n;
  while (vend > i && is_blank (s[vend - 1]))
    vend--;
  if (vend <= i)
    goto stop;
  const char *name = s + name_start;
  const char *value = s + i;
  size_t vlen = vend - i;

  bool *seen;
  if (name_len == 6 && strncasecmp (name, "syntax", 6) == 0)
    seen = &d->seen_syntax;
  else if (name_len == 6 && strncasecmp (name, "escape", 6) == 0)
    seen = &d->seen_escape;
  else if (name_len == 5 && strncasecmp (name, "check", 5) == 0)
    seen = &d->seen_check;
  else
    goto stop;
  if (*seen)
    return kiln_err_set (err, KILN_EPARSE, "only one %.*s parser directive can be used", (int) name_len, name);
  *seen = true;
  if (seen == &d->seen_escape)
    {
      if (vlen != 1 || (value[0] != '`' && value[0] != '\\'))
        return kiln_err_set (err, KILN_EPARSE, "invalid escape token '%.*s': it must be ` or \\", (int) vlen,
                             value);
      d->escape = value[0];
    }
  else if (seen == &d->seen_syntax)
    {
      d->syntax = xstrndup (value, vlen);
      d->syntax_line = lineno;
    }
  else
    d->check = xstrndup (value, vlen);
  return 0;
stop:
  d->done = true;
  return 0;
}

/* ---------- line continuation ---------- */

/* If the line ends with the escape character (X E [ \t]*, X != E, or just E [ \t]*),
 * returns true and sets *keep to the length without E and the blanks. */
static bool
continues (const char *s, size_t n, char escape, size_t *keep)
{
  size_t end = n;
  while (end > 0 && is_blank (s[end - 1]))
    end--;
  if (end == 0 || s[end - 1] != escape)
    return false;
  if (end >= 2 && s[end - 2] == escape)
    return false;
  *keep = end - 1;
  return true;
}

/* The first non-white character (Unicode white space) is '#'. */
static bool
is_comment_line (const char *s, size_t n)
{
  size_t sp = utf8_space_prefix (s, n);
  return sp < n && s[sp] == '#';
}

/* ---------- splitting an instruction ---------- */

static bool
is_ascii_ws (char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* Go's unicode.IsSpace applied to one byte taken as a Latin-1 rune. */
static bool
byte_is_space (unsigned char c)
{
  return rune_is_space (c);
}

/* Extracts leading `--flags` from `rest`, byte by byte as BuildKit does.
 * Returns the offset in `rest` where the arguments start (n when none). */
static size_t
extract_flags (const char *rest, size_t n, char escape, struct strv *flags)
{
  enum
  {
    IN_SPACES,
    IN_WORD,
    IN_QUOTE
  } phase = IN_SPACES;
  _cleanup_buf_ struct buf word = BUF_INIT;
  char quote = 0;
  bool blank_ok = false;

  for (size_t pos = 0; pos <= n; pos++)
    {
      unsigned char ch = pos < n ? (unsigned char) rest[pos] : 0;
      if (phase == IN_SPACES)
        {
          if (pos == n)
            break;
          if (byte_is_space (ch))
            continue;
          if (ch != '-' || pos + 1 == n || rest[pos + 1] != '-')
            return pos;
          phase = IN_WORD;
        }
      if (pos == n)
        {
          if (!(word.len == 2 && memcmp (word.data, "--", 2) == 0) && (blank_ok || word.len > 0))
            strv_pushn (flags, buf_str (&word), word.len);
          return n;
        }
      if (phase == IN_WORD)
        {
          if (byte_is_space (ch))
            {
              phase = IN_SPACES;
              if (word.len == 2 && memcmp (word.data, "--", 2) == 0)
                return pos;
              if (blank_ok || word.len > 0)
                strv_pushn (flags, buf_str (&word), word.len);
              buf_reset (&word);
              blank_ok = false;
              continue;
            }
          if (ch == '\'' || ch == '"')
            {
              quote = (char) ch;
              blank_ok = true;
              phase = IN_QUOTE;
              continue;
            }
          if (ch == (unsigned char) escape)
            {
              if (pos + 1 == n)
                continue;
              pos++;
              ch = (unsigned char) rest[pos];
            }
          buf_put_rune (&word, ch); /* a byte taken as a Latin-1 rune, as upstream */
          continue;
        }
      /* IN_QUOTE */
      if (ch == (unsigned char) quote)
        {
          phase = IN_WORD;
          continue;
        }
      if (ch == (unsigned char) escape)
        {
          if (pos + 1 == n)
            {
              phase = IN_WORD;
              continue;
            }
          pos++;
          ch = (unsigned char) rest[pos];
        }
      buf_put_rune (&word, ch);
    }
  return n;
}

/* WORDS(s): split at unquoted white space, quotes and escapes kept. */
static void
parse_words (const char *s, size_t n, char escape, struct strv *out)
{
  enum
  {
    IN_SPACES,
    IN_WORD,
    IN_QUOTE
  } phase = IN_SPACES;
  _cleanup_buf_ struct buf word = BUF_INIT;
  uint32_t quote = 0;
  bool blank_ok = false;
  uint32_t ch = 0;
  size_t w = 0;

  for (size_t pos = 0; pos <= n; pos += w)
    {
      if (pos != n)
        ch = utf8_decode (s + pos, n - pos, &w);
      else
        w = 1;
      if (phase == IN_SPACES)
        {
          if (pos == n)
            break;
          if (rune_is_space (ch))
            continue;
          phase = IN_WORD;
        }
      if (pos == n)
        {
          if (blank_ok || word.len > 0)
            strv_pushn (out, buf_str (&word), word.len);
          break;
        }
      if (phase == IN_WORD)
        {
          if (rune_is_space (ch))
            {
              phase = IN_SPACES;
              if (blank_ok || word.len > 0)
                strv_pushn (out, buf_str (&word), word.len);
              buf_reset (&word);
              blank_ok = false;
              continue;
            }
          if (ch == '\'' || ch == '"')
            {
              quote = ch;
              blank_ok = true;
              phase = IN_QUOTE;
            }
          if (ch == (uint32_t) (unsigned char) escape)
            {
              if (pos + w == n)
                continue;
              buf_put_rune (&word, ch);
              pos += w;
              ch = utf8_decode (s + pos, n - pos, &w);
            }
          buf_put_rune (&word, ch);
          continue;
        }
      /* IN_QUOTE */
      if (ch == quote)
        phase = IN_WORD;
      if (ch == (uint32_t) (unsigned char) escape && quote != '\'')
        {
          if (pos + w == n)
            {
              phase = IN_WORD;
              continue;
            }
          pos += w;
          buf_put_rune (&word, ch);
          ch = utf8_decode (s + pos, n - pos, &w);
        }
      buf_put_rune (&word, ch);
    }
}

/* Splits on runs of [ \t\v\f\r]; `s` is already trimmed. */
static void
split_ascii_ws (const char *s, size_t n, struct strv *out)
{
  size_t i = 0;
  while (i < n)
    {
      size_t j = i;
      while (j < n && !is_ascii_ws (s[j]))
        j++;
      strv_pushn (out, s + i, j - i);
      while (j < n && is_ascii_ws (s[j]))
        j++;
      i = j;
    }
}

enum json_result
{
  JSON_NOT_ARRAY,  /* fall back to the other form */
  JSON_OK,         /* strings appended */
  JSON_NOT_STRING, /* valid array with a non-string element: an error */
};

static enum json_result
parse_json_array (const char *s, size_t n, struct strv *out)
{
  size_t sp = utf8_space_prefix (s, n);
  if (sp >= n || s[sp] != '[')
    return JSON_NOT_ARRAY;
  json_error_t jerr;
  json_t *v = json_loadb (s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (v == NULL)
    return JSON_NOT_ARRAY;
  if (!json_is_array (v))
    {
      json_decref (v);
      return JSON_NOT_ARRAY;
    }
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
  {
    if (!json_is_string (e))
      {
        json_decref (v);
        return JSON_NOT_STRING;
      }
  }
  json_array_foreach (v, i, e) strv_pushn (out, json_string_value (e), json_string_length (e));
  json_decref (v);
  return JSON_OK;
}

static char *
lower_ascii (const char *s)
{
  char *l = xstrdup (s);
  for (char *p = l; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char) (*p - 'A' + 'a');
  return l;
}

static const char *const known_keywords[]
    = {"add",    "arg",  "cmd",         "copy",  "entrypoint", "env",  "expose",  "from", "healthcheck",
       "label",  "maintainer", "onbuild", "run", "shell",      "stopsignal", "user", "volume", "workdir"};

static bool
is_known_keyword (const char *lower)
{
  for (size_t i = 0; i < sizeof known_keywords / sizeof *known_keywords; i++)
    if (strcmp (lower, known_keywords[i]) == 0)
      return true;
  return false;
}

static void node_clear (struct df_node *n);

static const char not_string_array[] = "dockerfile JSON arrays must contain only strings";

/* Builds a node from one logical line (BuildKit's newNodeFromLine). */
static int
node_from_line (const char *line, size_t len, char escape, struct df_node *node, struct kiln_err *err)
{
  memset (node, 0, sizeof *node);
  node->original = xstrndup (line, len);

  size_t lead = utf8_space_prefix (line, len);
  const char *t = line + lead;
  size_t tn = len - lead;
  tn -= utf8_space_suffix (t, tn);

  size_t k = 0;
  while (k < tn && !is_ascii_ws (t[k]))
    k++;
  node->keyword = xstrndup (t, k);
  const char *args = t + tn;
  size_t an = 0;
  if (k < tn)
    {
      size_t r = k;
      while (r < tn && is_ascii_ws (t[r]))
        r++;
      const char *rest = t + r;
      size_t rn = tn - r;
      size_t off = extract_flags (rest, rn, escape, &node->flags);
      args = rest + off;
      an = rn - off;
      size_t sp = utf8_space_prefix (args, an);
      args += sp;
      an -= sp;
      an -= utf8_space_suffix (args, an);
    }

  _cleanup_free_ char *kw = lower_ascii (node->keyword);
  if (!is_known_keyword (kw))
    {
      /* Unknown instructions parse; the instruction model rejects them with a hint. */
      strv_push (&node->args, "");
      return 0;
    }

  if (strcmp (kw, "run") == 0 || strcmp (kw, "cmd") == 0 || strcmp (kw, "entrypoint") == 0
      || strcmp (kw, "shell") == 0)
    {
      if (an == 0)
        return 0;
      enum json_result jr = parse_json_array (args, an, &node->args);
      if (jr == JSON_NOT_STRING)
        return kiln_err_set (err, KILN_EPARSE, "%s", not_string_array);
      if (jr == JSON_OK)
        node->json = true;
      else
        strv_pushn (&node->args, args, an);
    }
  else if (strcmp (kw, "add") == 0 || strcmp (kw, "copy") == 0 || strcmp (kw, "volume") == 0)
    {
      enum json_result jr = parse_json_array (args, an, &node->args);
      if (jr == JSON_NOT_STRING)
        return kiln_err_set (err, KILN_EPARSE, "%s", not_string_array);
      if (jr == JSON_OK)
        node->json = true;
      else
        split_ascii_ws (args, an, &node->args);
    }
  else if (strcmp (kw, "from") == 0 || strcmp (kw, "expose") == 0)
    split_ascii_ws (args, an, &node->args);
  else if (strcmp (kw, "user") == 0 || strcmp (kw, "workdir") == 0 || strcmp (kw, "maintainer") == 0
           || strcmp (kw, "stopsignal") == 0)
    {
      if (an > 0)
        strv_pushn (&node->args, args, an);
    }
  else if (strcmp (kw, "arg") == 0)
    parse_words (args, an, escape, &node->args);
  else if (strcmp (kw, "env") == 0 || strcmp (kw, "label") == 0)
    {
      _cleanup_strv_ struct strv words = STRV_INIT;
      parse_words (args, an, escape, &words);
      if (words.n == 0)
        return 0;
      if (strchr (words.v[0], '=') == NULL)
        {
          size_t i = 0;
          while (i < an && !is_ascii_ws (args[i]))
            i++;
          if (i == an)
            return kiln_err_set (err, KILN_EPARSE, "%s must have two arguments", kw[0] == 'e' ? "ENV" : "LABEL");
          size_t j = i;
          while (j < an && is_ascii_ws (args[j]))
            j++;
          strv_pushn (&node->args, args, i);
          strv_pushn (&node->args, args + j, an - j);
          strv_push (&node->args, "");
          return 0;
        }
      for (size_t w = 0; w < words.n; w++)
        {
          char *eq = strchr (words.v[w], '=');
          if (eq == NULL)
            return kiln_err_set (err, KILN_EPARSE,
                                 "syntax error: can't find = in \"%s\"; it must be of the form name=value",
                                 words.v[w]);
          strv_pushn (&node->args, words.v[w], (size_t) (eq - words.v[w]));
          strv_push (&node->args, eq + 1);
          strv_push (&node->args, "=");
        }
    }
  else if (strcmp (kw, "healthcheck") == 0)
    {
      size_t sep = 0;
      while (sep < an && !byte_is_space ((unsigned char) args[sep]))
        sep++;
      size_t next = sep;
      while (next < an && byte_is_space ((unsigned char) args[next]))
        next++;
      if (sep == 0)
        return 0;
      strv_pushn (&node->args, args, sep);
      const char *cmd = args + next;
      size_t cn = an - next;
      if (cn == 0)
        return 0;
      enum json_result jr = parse_json_array (cmd, cn, &node->args);
      if (jr == JSON_NOT_STRING)
        return kiln_err_set (err, KILN_EPARSE, "%s", not_string_array);
      if (jr == JSON_OK)
        node->json = true;
      else
        strv_pushn (&node->args, cmd, cn);
    }
  else if (strcmp (kw, "onbuild") == 0)
    {
      if (an == 0)
        return 0;
      node->sub = xcalloc (1, sizeof *node->sub);
      if (node_from_line (args, an, escape, node->sub, err) < 0)
        return -1;
    }
  return 0;
}

/* ---------- the main loop ---------- */

static void
node_clear (struct df_node *n)
{
  free (n->keyword);
  strv_free (&n->flags);
  strv_free (&n->args);
  if (n->sub)
    {
      node_clear (n->sub);
      free (n->sub);
    }
  free (n->original);
  for (size_t i = 0; i < n->n_heredocs; i++)
    df_heredoc_clear (&n->heredocs[i]);
  free (n->heredocs);
  memset (n, 0, sizeof *n);
}

void
df_ast_free (struct df_ast *ast)
{
  if (ast == NULL)
    return;
  for (size_t i = 0; i < ast->n_nodes; i++)
    node_clear (&ast->nodes[i]);
  free (ast->nodes);
  free (ast->file);
  free (ast->syntax);
  free (ast->check);
  strv_free (&ast->warnings);
  free (ast->text);
  free (ast->line_off);
  free (ast);
}

static void
ast_freep (struct df_ast **p)
{
  df_ast_free (*p);
}

const char *
df_ast_line (const struct df_ast *ast, int line, size_t *len)
{
  if (line < 1 || (size_t) line > ast->n_lines)
    return NULL;
  size_t start = ast->line_off[line - 1];
  const char *s = ast->text + start;
  const char *nl = memchr (s, '\n', ast->text_len - start);
  size_t n = nl ? (size_t) (nl - s) : ast->text_len - start;
  while (n > 0 && s[n - 1] == '\r')
    n--;
  *len = n;
  return s;
}

int
df_ast_locate (const struct df_ast *ast, struct kiln_err *err, int line, int col)
{
  size_t len = 0;
  const char *text = df_ast_line (ast, line, &len);
  kiln_err_locate (err, ast->file, line, col, text, len);
  return -1;
}

int
df_ast_find_col (const struct df_ast *ast, int line, const char *needle)
{
  size_t len = 0;
  const char *text = df_ast_line (ast, line, &len);
  if (text == NULL || needle == NULL || *needle == '\0')
    return 1;
  size_t nl = strlen (needle);
  for (size_t i = 0; i + nl <= len; i++)
    if (memcmp (text + i, needle, nl) == 0)
      return (int) i + 1;
  return (int) utf8_space_prefix (text, len) + 1;
}

static void
index_lines (struct df_ast *ast)
{
  size_t cap = 0;
  ast->n_lines = 0;
  size_t pos = 0;
  while (pos < ast->text_len)
    {
      ast->line_off = xgrow (ast->line_off, &cap, ast->n_lines + 1, sizeof (size_t));
      ast->line_off[ast->n_lines++] = pos;
      const char *nl = memchr (ast->text + pos, '\n', ast->text_len - pos);
      if (nl == NULL)
        break;
      pos = (size_t) (nl - ast->text) + 1;
    }
}

struct df_ast *
df_parse (const char *file, const char *data, size_t len, struct kiln_err *err)
{
  _cleanup_ (ast_freep) struct df_ast *ast = xcalloc (1, sizeof *ast);
  ast->file = xstrdup (file ? file : "Dockerfile");
  if (len > DF_MAX_FILE)
    {
      kiln_err_set (err, KILN_EPARSE, "%s: Dockerfile is larger than %u bytes", ast->file, DF_MAX_FILE);
      return NULL;
    }
  ast->text = xstrndup (data, len);
  ast->text_len = len;
  index_lines (ast);

  struct directives d = {.escape = '\\'};
  struct line_reader r = {.data = ast->text, .len = len};
  size_t nodes_cap = 0;
  _cleanup_buf_ struct buf logical = BUF_INIT;
  const char *line;
  size_t n, raw_n;
  int ret = 0;
  ast->start_line = -1;

#define FAIL_AT(lineno, col)                                                                       \
  do                                                                                               \
    {                                                                                              \
      df_ast_locate (ast, err, (lineno), (col));                                                   \
      ret = -1;                                                                                    \
      goto out;                                                                                    \
    }                                                                                              \
  while (0)

  while (next_line (&r, &line, &n, &raw_n))
    {
      if (raw_n > DF_MAX_LINE)
        {
          kiln_err_set (err, KILN_EPARSE, "line is longer than the maximum of %u bytes", DF_MAX_LINE);
          FAIL_AT (r.lineno, 1);
        }
      size_t lead = utf8_space_prefix (line, n);
      const char *tok = line + lead;
      size_t tn = n - lead;
      if (directive_offer (&d, tok, tn, r.lineno, err) < 0)
        FAIL_AT (r.lineno, (int) lead + 1);
      if (tn > 0 && tok[0] == '#')
        tn = 0; /* a comment line */

      int start = r.lineno;
      size_t keep;
      bool more = continues (tok, tn, d.escape, &keep);
      if (!more && tn == 0)
        continue;
      buf_reset (&logical);
      buf_append (&logical, tok, more ? keep : tn);

      bool empty_continuation = false;
      while (more && next_line (&r, &line, &n, &raw_n))
        {
          if (raw_n > DF_MAX_LINE)
            {
              kiln_err_set (err, KILN_EPARSE, "line is longer than the maximum of %u bytes", DF_MAX_LINE);
              FAIL_AT (r.lineno, 1);
            }
          if (is_comment_line (line, n))
            continue;
          if (utf8_space_prefix (line, n) == n)
            {
              empty_continuation = true;
              continue;
            }
          more = continues (line, n, d.escape, &keep);
          buf_append (&logical, line, more ? keep : n);
        }
      if (empty_continuation)
        {
          _cleanup_buf_ struct buf w = BUF_INIT;
          buf_printf (&w, "%s:%d: empty continuation line", ast->file, start);
          strv_push_owned (&ast->warnings, buf_steal (&w));
        }

      ast->nodes = xgrow (ast->nodes, &nodes_cap, ast->n_nodes + 1, sizeof *ast->nodes);
      struct df_node *node = &ast->nodes[ast->n_nodes];
      if (node_from_line (buf_str (&logical), logical.len, d.escape, node, err) < 0)
        {
          node_clear (node);
          FAIL_AT (start, (int) lead + 1);
        }
      ast->n_nodes++;

      if (df_takes_heredocs (node) && strstr (buf_str (&logical), "<<") != NULL)
        {
          if (df_heredocs_from_line (buf_str (&logical), logical.len, node, err) < 0)
            FAIL_AT (start, (int) lead + 1);
          for (size_t h = 0; h < node->n_heredocs; h++)
            {
              struct df_heredoc *hd = &node->heredocs[h];
              struct buf body = BUF_INIT;
              bool terminated = false;
              size_t name_len = strlen (hd->name);
              while (next_line (&r, &line, &n, &raw_n))
                {
                  const char *cand = line;
                  size_t cn = n;
                  if (hd->chomp)
                    while (cn > 0 && *cand == '\t')
                      cand++, cn--;
                  if (cn == name_len && memcmp (cand, hd->name, cn) == 0)
                    {
                      terminated = true;
                      break;
                    }
                  /* The body keeps the line exactly as read, newline included. */
                  size_t lstart = ast->line_off[r.lineno - 1];
                  bool has_nl = lstart + raw_n < len;
                  buf_append (&body, ast->text + lstart, raw_n + (has_nl ? 1 : 0));
                }
              hd->content = buf_steal (&body);
              if (!terminated)
                {
                  kiln_err_set (err, KILN_EPARSE, "unterminated heredoc \"%s\"", hd->name);
                  FAIL_AT (start, (int) lead + 1);
                }
            }
        }
      node->start_line = start;
      node->end_line = r.lineno;
      if (ast->start_line < 0)
        ast->start_line = start;
      ast->end_line = r.lineno;
    }
#undef FAIL_AT

  if (ast->n_nodes == 0)
    {
      kiln_err_set (err, KILN_EPARSE, "the Dockerfile has no instructions");
      kiln_err_locate (err, ast->file, r.lineno > 0 ? r.lineno : 1, 1, NULL, 0);
      ret = -1;
      goto out; /* the directives' values are freed there */
    }
  ast->escape = d.escape;
  ast->syntax = d.syntax;
  ast->syntax_line = d.syntax_line;
  ast->check = d.check;
  d.syntax = d.check = NULL;
out:
  free (d.syntax);
  free (d.check);
  if (ret < 0)
    return NULL;
  return steal_pointer (&ast);
}

struct df_ast *
df_parse_file (const char *path, struct kiln_err *err)
{
  _cleanup_close_ int fd = strcmp (path, "-") == 0 ? dup (0) : open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
      return NULL;
    }
  _cleanup_buf_ struct buf data = BUF_INIT;
  if (read_all (fd, DF_MAX_FILE, &data, path, err) < 0)
    return NULL;
  return df_parse (strcmp (path, "-") == 0 ? "<stdin>" : path, buf_str (&data), data.len, err);
}

/* ---------- the dump ---------- */

static void
node_dump_inner (const struct df_node *n, struct buf *out)
{
  size_t start = out->len;
  for (const char *k = n->keyword; *k; k++)
    buf_putc (out, (*k >= 'A' && *k <= 'Z') ? (char) (*k - 'A' + 'a') : *k);
  if (n->flags.n > 0)
    {
      buf_puts (out, " [");
      for (size_t i = 0; i < n->flags.n; i++)
        {
          if (i)
            buf_putc (out, ' ');
          utf8_go_quote (out, n->flags.v[i], n->flags.lens[i]);
        }
      buf_putc (out, ']');
    }
  if (n->sub)
    {
      buf_puts (out, " (");
      node_dump_inner (n->sub, out);
      buf_putc (out, ')');
    }
  for (size_t i = 0; i < n->args.n; i++)
    {
      buf_putc (out, ' ');
      utf8_go_quote (out, n->args.v[i], n->args.lens[i]);
    }
  /* Upstream trims white space from the whole string. */
  size_t len = out->len - start;
  size_t lead = utf8_space_prefix (out->data + start, len);
  if (lead)
    {
      memmove (out->data + start, out->data + start + lead, len - lead);
      out->len -= lead;
      out->data[out->len] = '\0';
    }
  out->len -= utf8_space_suffix (out->data + start, out->len - start);
  out->data[out->len] = '\0';
}

void
df_dump (const struct df_ast *ast, struct buf *out)
{
  for (size_t i = 0; i < ast->n_nodes; i++)
    {
      buf_putc (out, '(');
      node_dump_inner (&ast->nodes[i], out);
      buf_puts (out, ")\n");
    }
}
