/* frontend/heredoc.c — heredocs in the Dockerfile parser: which instructions take
 * them, the `<<[-]NAME` words of a line (BuildKit's rule: the line is lexed as
 * the shell would, a word with quotes in its name is not expanded), the chomp of
 * `<<-`.  Their bodies are read by the main loop in parser.c. */
#include <string.h>

#include "frontend/parser_int.h"
#include "frontend/shell.h"
#include "util/cleanup.h"

bool
df_takes_heredocs (const struct df_node *node)
{
  const struct df_node *n = node;
  if (strcasecmp (n->keyword, "onbuild") == 0 && n->sub)
    n = n->sub;
  if (strcasecmp (n->keyword, "run") != 0 && strcasecmp (n->keyword, "copy") != 0
      && strcasecmp (n->keyword, "add") != 0)
    return false;
  return !n->json;
}

/* Parses one word as a heredoc start (`DIGITS? << -? REST`); returns 1 with *h
 * filled, 0 if the word is not a heredoc, -1 on an unterminated quote. */
static int
heredoc_from_word (const char *word, struct df_heredoc *h, struct kiln_err *err)
{
  const char *p = word;
  unsigned long fd = 0;
  while (*p >= '0' && *p <= '9')
    {
      if (fd < 1000000)
        fd = fd * 10 + (unsigned long) (*p - '0');
      p++;
    }
  if (p[0] != '<' || p[1] != '<')
    return 0;
  p += 2;
  bool chomp = false;
  if (*p == '-')
    chomp = true, p++;
  if (strchr (p, '<') != NULL || *p == '\0')
    return 0;

  struct shell_opts o = {.escape = '\\', .skip_unset_env = true};
  struct shell_env none = {NULL, NULL};
  _cleanup_strv_ struct strv words = STRV_INIT;
  _cleanup_free_ char *res = NULL;
  if (shell_expand (&o, p, strlen (p), &none, &res, &words, err) < 0)
    return -1;
  if (words.n != 1)
    return 0;
  o.raw_quotes = true;
  _cleanup_strv_ struct strv raw = STRV_INIT;
  _cleanup_free_ char *res2 = NULL;
  if (shell_expand (&o, p, strlen (p), &none, &res2, &raw, err) < 0)
    return -1;
  if (raw.n != 1)
    return 0;
  size_t q1 = 0, q2 = 0;
  for (const char *c = words.v[0]; *c; c++)
    q1 += (*c == '\'' || *c == '"');
  for (const char *c = raw.v[0]; *c; c++)
    q2 += (*c == '\'' || *c == '"');
  h->name = xstrdup (words.v[0]);
  h->content = NULL;
  h->expand = q1 == q2;
  h->chomp = chomp;
  h->fd = (unsigned) fd;
  return 1;
}

int
df_heredocs_from_line (const char *line, size_t len, struct df_node *node, struct kiln_err *err)
{
  struct shell_opts o = {.escape = '\\', .raw_quotes = true, .raw_escapes = true, .skip_unset_env = true,
                         .heredoc_glue = true};
  struct shell_env none = {NULL, NULL};
  _cleanup_strv_ struct strv words = STRV_INIT;
  _cleanup_free_ char *res = NULL;
  struct kiln_err ignored = {0};
  /* Upstream ignores lexing errors of the whole line: such a line has no heredocs. */
  if (shell_expand (&o, line, len, &none, &res, &words, &ignored) < 0)
    {
      kiln_err_clear (&ignored);
      return 0;
    }
  for (size_t i = 0; i < words.n; i++)
    {
      struct df_heredoc h;
      int r = heredoc_from_word (words.v[i], &h, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue;
      node->heredocs = xrealloc (node->heredocs, (node->n_heredocs + 1) * sizeof *node->heredocs);
      node->heredocs[node->n_heredocs++] = h;
    }
  return 0;
}

char *
df_heredoc_chomp (const char *content)
{
  struct buf out = BUF_INIT;
  const char *p = content;
  bool at_start = true;
  for (; *p; p++)
    {
      if (at_start && *p == '\t')
        continue;
      at_start = *p == '\n';
      buf_putc (&out, *p);
    }
  return buf_steal (&out);
}

void
df_heredoc_clear (struct df_heredoc *h)
{
  free (h->name);
  free (h->content);
}
