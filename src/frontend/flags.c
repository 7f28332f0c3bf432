/* frontend/flags.c — what building an instruction needs besides the instruction
 * itself: errors at a Dockerfile position, word expansion, and the flags each
 * instruction accepts, declared by name and read back by name. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/inst_build.h"
#include "util/cleanup.h"

int
inst_fail (struct builder *b, const char *needle, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  kiln_err_setv (b->err, KILN_EPARSE, fmt, ap);
  va_end (ap);
  int col = df_ast_find_col (b->ast, b->node->start_line, needle ? needle : b->node->keyword);
  return df_ast_locate (b->ast, b->err, b->node->start_line, col);
}

bool
inst_has_var (const char *s)
{
  return strchr (s, '$') != NULL;
}

char *
inst_expand_word (struct builder *b, const char *word)
{
  if (b->env == NULL)
    return xstrdup (word);
  struct shell_opts o = {.escape = b->ast->escape};
  char *res = NULL;
  if (shell_expand (&o, word, strlen (word), b->env, &res, NULL, b->err) < 0)
    {
      int col = df_ast_find_col (b->ast, b->node->start_line, word);
      df_ast_locate (b->ast, b->err, b->node->start_line, col);
      return NULL;
    }
  return res;
}

int
inst_expand_words (struct builder *b, const char *text, struct strv *out)
{
  if (b->env == NULL)
    {
      strv_push (out, text);
      return 0;
    }
  struct shell_opts o = {.escape = b->ast->escape};
  _cleanup_free_ char *res = NULL;
  if (shell_expand (&o, text, strlen (text), b->env, &res, out, b->err) < 0)
    {
      df_ast_locate (b->ast, b->err, b->node->start_line, df_ast_find_col (b->ast, b->node->start_line, text));
      return -1;
    }
  return 0;
}

bool
inst_bool_word (const char *s, bool *out)
{
  if (strcasecmp (s, "true") == 0 || strcmp (s, "1") == 0)
    return *out = true, true;
  if (strcasecmp (s, "false") == 0 || strcmp (s, "0") == 0)
    return *out = false, true;
  return false;
}

bool
inst_int64 (const char *s, int64_t *out, int base)
{
  if (*s == '\0')
    return false;
  char *end;
  errno = 0;
  long long v = strtoll (s, &end, base);
  if (*end || errno || v < 0)
    return false;
  *out = v;
  return true;
}

/* ---------- flags ---------- */

static const struct flag_def from_flags[] = {{"platform", F_STRING}, {NULL, 0}};
static const struct flag_def run_flags[]
    = {{"mount", F_LIST}, {"network", F_STRING}, {"security", F_STRING}, {NULL, 0}};
static const struct flag_def copy_flags[] = {{"from", F_STRING},   {"chown", F_STRING},   {"chmod", F_STRING},
                                             {"link", F_BOOL},     {"parents", F_BOOL},   {"exclude", F_LIST},
                                             {NULL, 0}};
static const struct flag_def add_flags[]
    = {{"chown", F_STRING},     {"chmod", F_STRING}, {"link", F_BOOL},      {"keep-git-dir", F_BOOL},
       {"checksum", F_STRING},  {"exclude", F_LIST}, {NULL, 0}};
static const struct flag_def hc_flags[]
    = {{"interval", F_STRING},       {"timeout", F_STRING}, {"start-period", F_STRING},
       {"start-interval", F_STRING}, {"retries", F_STRING}, {NULL, 0}};
static const struct flag_def no_flags[] = {{NULL, 0}};

const struct flag_def *
flags_for (enum inst_kind k)
{
  switch (k)
    {
    case I_FROM: return from_flags;
    case I_RUN: return run_flags;
    case I_COPY: return copy_flags;
    case I_ADD: return add_flags;
    case I_HEALTHCHECK: return hc_flags;
    default: return no_flags;
    }
}

/* The index of `name` (of length nl) in `defs`, or -1. */
static int
flag_index (const struct flag_def *defs, const char *name, size_t nl)
{
  for (int d = 0; defs[d].name; d++)
    if (strlen (defs[d].name) == nl && strncmp (defs[d].name, name, nl) == 0)
      return d;
  return -1;
}

static int
unknown_flag (struct builder *b, const struct flag_def *defs, const char *f, const char *name, size_t nl)
{
  const char *best = NULL;
  size_t best_d = 3;
  _cleanup_free_ char *given = xstrndup (name, nl);
  for (size_t k = 0; defs[k].name; k++)
    {
      size_t dist = edit_distance (given, defs[k].name);
      if (dist < best_d)
        best_d = dist, best = defs[k].name;
    }
  if (best)
    return inst_fail (b, f, "unknown flag \"--%s\" for %s (did you mean \"--%s\"?)", given, b->node->keyword, best);
  if (defs[0].name == NULL)
    return inst_fail (b, f, "%s takes no flags (\"--%s\")", b->node->keyword, given);
  return inst_fail (b, f, "unknown flag \"--%s\" for %s", given, b->node->keyword);
}

int
flags_parse (struct builder *b, const struct flag_def *defs, struct flag_set *fs)
{
  fs->defs = defs;
  const struct strv *flags = &b->node->flags;
  for (size_t i = 0; i < flags->n; i++)
    {
      const char *f = flags->v[i];
      if (strncmp (f, "--", 2) != 0)
        return inst_fail (b, f, "invalid flag \"%s\": flags start with --", f);
      const char *name = f + 2;
      const char *eq = strchr (name, '=');
      size_t nl = eq ? (size_t) (eq - name) : strlen (name);
      int d = flag_index (defs, name, nl);
      if (d < 0)
        return unknown_flag (b, defs, f, name, nl);
      struct flag_val *v = &fs->vals[d];
      v->raw = f;
      switch (defs[d].type)
        {
        case F_BOOL:
          if (v->set)
            return inst_fail (b, f, "duplicate flag --%s", defs[d].name);
          if (eq == NULL || strcasecmp (eq + 1, "true") == 0 || strcmp (eq + 1, "1") == 0)
            v->value = xstrdup ("true");
          else if (strcasecmp (eq + 1, "false") == 0 || strcmp (eq + 1, "0") == 0)
            v->value = xstrdup ("false");
          else
            return inst_fail (b, f, "flag --%s expects true or false, not \"%s\"", defs[d].name, eq + 1);
          break;
        case F_STRING:
          if (v->set)
            return inst_fail (b, f, "duplicate flag --%s", defs[d].name);
          if (eq == NULL)
            return inst_fail (b, f, "flag --%s needs a value (--%s=VALUE)", defs[d].name, defs[d].name);
          v->value = xstrdup (eq + 1);
          break;
        case F_LIST:
          if (eq == NULL)
            return inst_fail (b, f, "flag --%s needs a value (--%s=VALUE)", defs[d].name, defs[d].name);
          strv_push (&v->list, eq + 1);
          break;
        }
      v->set = true;
    }
  return 0;
}

void
flags_free (struct flag_set *fs)
{
  for (size_t i = 0; i < FLAGS_MAX; i++)
    {
      free (fs->vals[i].value);
      strv_free (&fs->vals[i].list);
    }
}

struct flag_val *
flag_get (struct flag_set *fs, const char *name)
{
  int d = fs->defs ? flag_index (fs->defs, name, strlen (name)) : -1;
  if (d < 0)
    {
      fprintf (stderr, "kiln: bug: flag --%s is not in the instruction's table\n", name);
      abort ();
    }
  return &fs->vals[d];
}

bool
flag_true (struct flag_set *fs, const char *name)
{
  const struct flag_val *v = flag_get (fs, name);
  return v->set && strcmp (v->value, "true") == 0;
}

int
flag_take_string (struct builder *b, struct flag_set *fs, const char *name, char **out)
{
  struct flag_val *v = flag_get (fs, name);
  *out = NULL;
  if (!v->set)
    return 0;
  *out = inst_expand_word (b, v->value);
  return *out ? 0 : -1;
}

const struct flag_val *
flags_first_set (const struct flag_set *fs)
{
  for (size_t d = 0; fs->defs && fs->defs[d].name; d++)
    if (fs->vals[d].set)
      return &fs->vals[d];
  return NULL;
}
