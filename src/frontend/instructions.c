/* frontend/instructions.c — AST nodes → typed, validated instructions.
 *
 * One builder serves both steps: inst_from_node() builds without an environment
 * (values holding `$` are checked later), inst_expand() builds again from the same
 * node with the stage's environment, so expansion and validation cannot drift. */
#include "frontend/instructions.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/godur.h"
#include "util/utf8.h"

static const char *const kind_names[] = {
  [I_FROM] = "FROM",       [I_RUN] = "RUN",         [I_CMD] = "CMD",           [I_ENTRYPOINT] = "ENTRYPOINT",
  [I_SHELL] = "SHELL",     [I_ENV] = "ENV",         [I_LABEL] = "LABEL",       [I_ARG] = "ARG",
  [I_COPY] = "COPY",       [I_ADD] = "ADD",         [I_WORKDIR] = "WORKDIR",   [I_USER] = "USER",
  [I_EXPOSE] = "EXPOSE",   [I_VOLUME] = "VOLUME",   [I_STOPSIGNAL] = "STOPSIGNAL",
  [I_HEALTHCHECK] = "HEALTHCHECK", [I_ONBUILD] = "ONBUILD", [I_MAINTAINER] = "MAINTAINER",
};
#define N_KINDS (sizeof kind_names / sizeof *kind_names)

const char *
inst_kind_name (enum inst_kind k)
{
  return (size_t) k < N_KINDS ? kind_names[k] : "?";
}

/* ---------- small validators ---------- */

size_t
edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  if (la > 64 || lb > 64)
    return 64;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      size_t prev = row[0];
      row[0] = i;
      for (size_t j = 1; j <= lb; j++)
        {
          size_t cur = row[j];
          size_t cost = tolower ((unsigned char) a[i - 1]) == tolower ((unsigned char) b[j - 1]) ? 0 : 1;
          size_t best = prev + cost;
          if (row[j] + 1 < best)
            best = row[j] + 1;
          if (row[j - 1] + 1 < best)
            best = row[j - 1] + 1;
          row[j] = best;
          prev = cur;
        }
    }
  return row[lb];
}

int64_t
parse_go_duration (const char *s)
{
  int64_t ns;
  char why[160];
  if (s == NULL || go_duration_parse (s, &ns, why, sizeof why) < 0 || ns < 0)
    return -1;
  return ns;
}

bool
chmod_spec_valid (const char *s)
{
  if (s == NULL || *s == '\0')
    return false;
  if (isdigit ((unsigned char) *s))
    {
      char *end;
      errno = 0;
      unsigned long v = strtoul (s, &end, 8);
      return *end == '\0' && errno == 0 && v <= 07777;
    }
  /* Symbolic, as chmod(1): clause[,clause...], clause = [ugoa]*([-+=]([rwxXst]*|[ugo]))+ */
  const char *p = s;
  for (;;)
    {
      while (*p && strchr ("ugoa", *p))
        p++;
      if (!*p || !strchr ("+-=", *p))
        return false;
      while (*p && strchr ("+-=", *p))
        {
          p++;
          if (*p && strchr ("ugo", *p))
            p++;
          else
            while (*p && strchr ("rwxXst", *p))
              p++;
        }
      if (*p == '\0')
        return true;
      if (*p != ',')
        return false;
      p++;
    }
}

static const char *const signal_names[]
    = {"HUP",  "INT",  "QUIT", "ILL",    "TRAP", "ABRT", "IOT",  "BUS",   "FPE",  "KILL",   "USR1",
       "SEGV", "USR2", "PIPE", "ALRM",   "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",   "TTIN",
       "TTOU", "URG",  "XCPU", "XFSZ",   "VTALRM", "PROF", "WINCH", "IO",   "POLL", "PWR", "SYS"};

bool
stop_signal_valid (const char *s)
{
  if (s == NULL || *s == '\0')
    return false;
  if (isdigit ((unsigned char) *s))
    {
      char *end;
      long v = strtol (s, &end, 10);
      return *end == '\0' && v >= 1 && v <= 64;
    }
  const char *n = strncasecmp (s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < sizeof signal_names / sizeof *signal_names; i++)
    if (strcasecmp (n, signal_names[i]) == 0)
      return true;
  if (strncasecmp (n, "RTMIN", 5) == 0 || strncasecmp (n, "RTMAX", 5) == 0)
    {
      const char *rest = n + 5;
      if (*rest == '\0')
        return true;
      if (*rest != '+' && *rest != '-')
        return false;
      char *end;
      long v = strtol (rest + 1, &end, 10);
      return *end == '\0' && rest[1] != '\0' && v >= 0 && v <= 30;
    }
  return false;
}

static bool
parse_port (const char *s, size_t n, long *out)
{
  if (n == 0 || n > 5)
    return false;
  long v = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (!isdigit ((unsigned char) s[i]))
        return false;
      v = v * 10 + (s[i] - '0');
    }
  if (v < 1 || v > 65535)
    return false;
  *out = v;
  return true;
}

bool
expose_parse (const char *word, struct strv *out)
{
  const char *slash = strchr (word, '/');
  size_t pn = slash ? (size_t) (slash - word) : strlen (word);
  const char *proto = slash ? slash + 1 : "tcp";
  char lproto[8];
  size_t pl = strlen (proto);
  if (pl == 0 || pl >= sizeof lproto)
    return false;
  for (size_t i = 0; i <= pl; i++)
    lproto[i] = (char) tolower ((unsigned char) proto[i]);
  if (strcmp (lproto, "tcp") != 0 && strcmp (lproto, "udp") != 0 && strcmp (lproto, "sctp") != 0)
    return false;
  const char *dash = memchr (word, '-', pn);
  long lo, hi;
  if (dash)
    {
      if (!parse_port (word, (size_t) (dash - word), &lo) || !parse_port (dash + 1, pn - (size_t) (dash - word) - 1, &hi)
          || hi < lo)
        return false;
    }
  else
    {
      if (!parse_port (word, pn, &lo))
        return false;
      hi = lo;
    }
  if (out)
    for (long p = lo; p <= hi; p++)
      {
        struct buf b = BUF_INIT;
        buf_printf (&b, "%ld/%s", p, lproto);
        strv_push_owned (out, buf_steal (&b));
      }
  return true;
}

static bool
stage_name_valid (const char *s)
{
  if (!islower ((unsigned char) s[0]))
    return false;
  for (const char *p = s; *p; p++)
    if (!islower ((unsigned char) *p) && !isdigit ((unsigned char) *p) && *p != '-' && *p != '_' && *p != '.')
      return false;
  return true;
}

/* ---------- building ---------- */

struct builder
{
  const struct df_ast *ast;
  const struct df_node *node;
  const struct shell_env *env; /* NULL: do not expand */
  struct kiln_err *err;
};

/* Sets an error located at the node's first line, at the column where `needle`
 * appears (or the keyword). Returns -1. */
static int __attribute__ ((format (printf, 3, 4)))
fail (struct builder *b, const char *needle, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  kiln_err_setv (b->err, KILN_EPARSE, fmt, ap);
  va_end (ap);
  int col = df_ast_find_col (b->ast, b->node->start_line, needle ? needle : b->node->keyword);
  return df_ast_locate (b->ast, b->err, b->node->start_line, col);
}

static bool
has_var (const char *s)
{
  return strchr (s, '$') != NULL;
}

/* Expands one word when an environment is given; otherwise copies it. */
static char *
expand (struct builder *b, const char *word)
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

/* Expands text into several words (EXPOSE). */
static int
expand_words (struct builder *b, const char *text, struct strv *out)
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

enum flag_type
{
  F_STRING,
  F_BOOL,
  F_LIST,
};

struct flag_def
{
  const char *name;
  enum flag_type type;
};

struct flag_val
{
  const char *raw; /* the flag as written, for error positions */
  char *value;     /* F_STRING; "true"/"false" for F_BOOL */
  struct strv list;
  bool set;
};

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

static const struct flag_def *
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

/* Parses the node's flags against `defs` into `vals` (same indexes). */
static int
parse_flags (struct builder *b, const struct flag_def *defs, struct flag_val *vals)
{
  const struct strv *flags = &b->node->flags;
  for (size_t i = 0; i < flags->n; i++)
    {
      const char *f = flags->v[i];
      if (strncmp (f, "--", 2) != 0)
        return fail (b, f, "invalid flag \"%s\": flags start with --", f);
      const char *name = f + 2;
      const char *eq = strchr (name, '=');
      size_t nl = eq ? (size_t) (eq - name) : strlen (name);
      size_t d;
      for (d = 0; defs[d].name; d++)
        if (strlen (defs[d].name) == nl && strncmp (defs[d].name, name, nl) == 0)
          break;
      if (defs[d].name == NULL)
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
            return fail (b, f, "unknown flag \"--%s\" for %s (did you mean \"--%s\"?)", given,
                         b->node->keyword, best);
          if (defs[0].name == NULL)
            return fail (b, f, "%s takes no flags (\"--%s\")", b->node->keyword, given);
          return fail (b, f, "unknown flag \"--%s\" for %s", given, b->node->keyword);
        }
      struct flag_val *v = &vals[d];
      v->raw = f;
      switch (defs[d].type)
        {
        case F_BOOL:
          if (v->set)
            return fail (b, f, "duplicate flag --%s", defs[d].name);
          if (eq == NULL || strcasecmp (eq + 1, "true") == 0 || strcmp (eq + 1, "1") == 0)
            v->value = xstrdup ("true");
          else if (strcasecmp (eq + 1, "false") == 0 || strcmp (eq + 1, "0") == 0)
            v->value = xstrdup ("false");
          else
            return fail (b, f, "flag --%s expects true or false, not \"%s\"", defs[d].name, eq + 1);
          break;
        case F_STRING:
          if (v->set)
            return fail (b, f, "duplicate flag --%s", defs[d].name);
          if (eq == NULL)
            return fail (b, f, "flag --%s needs a value (--%s=VALUE)", defs[d].name, defs[d].name);
          v->value = xstrdup (eq + 1);
          break;
        case F_LIST:
          if (eq == NULL)
            return fail (b, f, "flag --%s needs a value (--%s=VALUE)", defs[d].name, defs[d].name);
          strv_push (&v->list, eq + 1);
          break;
        }
      v->set = true;
    }
  return 0;
}

static void
flag_vals_free (struct flag_val *vals, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (vals[i].value);
      strv_free (&vals[i].list);
    }
}

/* Takes a string flag's value, expanded; NULL when unset. Returns -1 on error. */
static int
take_string_flag (struct builder *b, struct flag_val *v, bool do_expand, char **out)
{
  *out = NULL;
  if (!v->set)
    return 0;
  if (!do_expand)
    {
      *out = steal_pointer (&v->value);
      return 0;
    }
  *out = expand (b, v->value);
  return *out ? 0 : -1;
}

/* ---------- RUN --mount ---------- */

static bool
parse_bool_word (const char *s, bool *out)
{
  if (strcasecmp (s, "true") == 0 || strcmp (s, "1") == 0)
    return *out = true, true;
  if (strcasecmp (s, "false") == 0 || strcmp (s, "0") == 0)
    return *out = false, true;
  return false;
}

static bool
parse_int64 (const char *s, int64_t *out, int base)
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

/* The numeric part of a --chown USER[:GROUP] too large for an ID, or NULL.  (A
 * number wrapped into 32 bits would chown to someone else; (uid_t) -1 means
 * "unchanged" to chown(2).) */
static const char *
chown_bad_id (const char *spec)
{
  for (const char *part = spec;; part++)
    {
      size_t n = strcspn (part, ":");
      if (n > 0 && strspn (part, "0123456789") == n) /* else a name */
        {
          _cleanup_free_ char *num = xstrndup (part, n);
          int64_t v;
          if (!parse_int64 (num, &v, 10) || v >= (int64_t) UINT32_MAX)
            return part;
        }
      part += n;
      if (*part == '\0')
        return NULL;
    }
}

/* Splits a --mount value on commas, honouring double quotes (CSV as BuildKit reads it). */
static int
split_csv (const char *s, struct strv *out)
{
  _cleanup_buf_ struct buf field = BUF_INIT;
  bool quoted = false;
  for (const char *p = s;; p++)
    {
      if (*p == '"')
        {
          if (quoted && p[1] == '"')
            {
              buf_putc (&field, '"');
              p++;
              continue;
            }
          quoted = !quoted;
          continue;
        }
      if ((*p == ',' && !quoted) || *p == '\0')
        {
          strv_pushn (out, buf_str (&field), field.len);
          buf_reset (&field);
          if (*p == '\0')
            break;
          continue;
        }
      buf_putc (&field, *p);
    }
  return quoted ? -1 : 0;
}

/* A mount option given twice keeps the last value, as BuildKit's. */
static void
set_option (char **field, char **val)
{
  free (*field);
  *field = steal_pointer (val);
}

static int
parse_mount (struct builder *b, const char *raw, const char *spec, struct run_mount *m)
{
  memset (m, 0, sizeof *m);
  m->mode = -1;
  m->uid = -1;
  m->gid = -1;
  m->readonly = true;
  bool ro_set = false;
  _cleanup_strv_ struct strv fields = STRV_INIT;
  if (split_csv (spec, &fields) < 0)
    return fail (b, raw, "--mount: unterminated quote in \"%s\"", spec);
  /* The type decides the defaults, so find it first. */
  for (size_t i = 0; i < fields.n; i++)
    if (strncasecmp (fields.v[i], "type=", 5) == 0)
      {
        const char *t = fields.v[i] + 5;
        if (strcmp (t, "bind") == 0)
          m->type = MOUNT_BIND;
        else if (strcmp (t, "cache") == 0)
          m->type = MOUNT_CACHE;
        else if (strcmp (t, "tmpfs") == 0)
          m->type = MOUNT_TMPFS;
        else if (strcmp (t, "secret") == 0)
          m->type = MOUNT_SECRET;
        else if (strcmp (t, "ssh") == 0)
          m->type = MOUNT_SSH;
        else
          return fail (b, raw, "--mount: unknown type \"%s\" (bind, cache, tmpfs, secret or ssh)", t);
      }
  if (m->type == MOUNT_CACHE || m->type == MOUNT_TMPFS)
    m->readonly = false;
  for (size_t i = 0; i < fields.n; i++)
    {
      const char *f = fields.v[i];
      if (*f == '\0')
        continue;
      const char *eq = strchr (f, '=');
      _cleanup_free_ char *key = eq ? xstrndup (f, (size_t) (eq - f)) : xstrdup (f);
      for (char *k = key; *k; k++)
        *k = (char) tolower ((unsigned char) *k);
      _cleanup_free_ char *val = NULL;
      if (eq)
        {
          val = b->env ? expand (b, eq + 1) : xstrdup (eq + 1);
          if (val == NULL)
            return -1;
        }
      if (strcmp (key, "type") == 0)
        continue;
      if (strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0 || strcmp (key, "rw") == 0
          || strcmp (key, "readwrite") == 0)
        {
          bool value = true;
          if (val && !parse_bool_word (val, &value))
            return fail (b, raw, "--mount: %s expects true or false, not \"%s\"", key, val);
          bool rw = key[0] == 'r' && (key[1] == 'w' || strcmp (key, "readwrite") == 0);
          m->readonly = rw ? !value : value;
          ro_set = true;
          continue;
        }
      if (strcmp (key, "required") == 0)
        {
          bool value = true;
          if (val && !parse_bool_word (val, &value))
            return fail (b, raw, "--mount: required expects true or false, not \"%s\"", val);
          m->required = value;
          continue;
        }
      if (val == NULL)
        return fail (b, raw, "--mount: \"%s\" needs a value (%s=...)", key, key);
      if (strcmp (key, "target") == 0 || strcmp (key, "dst") == 0 || strcmp (key, "destination") == 0)
        set_option (&m->target, &val);
      else if (strcmp (key, "source") == 0 || strcmp (key, "src") == 0)
        set_option (&m->source, &val);
      else if (strcmp (key, "from") == 0)
        {
          set_option (&m->from, &val);
          if (*m->from == '\0') /* BuildKit: an empty from= is the context */
            {
              free (m->from);
              m->from = NULL;
            }
        }
      else if (strcmp (key, "id") == 0)
        set_option (&m->id, &val);
      else if (strcmp (key, "env") == 0 && m->type == MOUNT_SECRET)
        set_option (&m->env, &val);
      else if (strcmp (key, "sharing") == 0 && m->type == MOUNT_CACHE)
        {
          if (strcmp (val, "shared") == 0)
            m->sharing = SHARING_SHARED;
          else if (strcmp (val, "private") == 0)
            m->sharing = SHARING_PRIVATE;
          else if (strcmp (val, "locked") == 0)
            m->sharing = SHARING_LOCKED;
          else
            return fail (b, raw, "--mount: sharing must be shared, private or locked, not \"%s\"", val);
        }
      else if (strcmp (key, "mode") == 0 && m->type != MOUNT_BIND && m->type != MOUNT_TMPFS)
        {
          int64_t v = -1;
          if (!(b->env == NULL && has_var (val)) && (!parse_int64 (val, &v, 8) || v > 07777))
            return fail (b, raw, "--mount: mode must be octal (like 0644), not \"%s\"", val);
          m->mode = b->env || !has_var (val) ? (int) v : -1;
        }
      else if ((strcmp (key, "uid") == 0 || strcmp (key, "gid") == 0) && m->type != MOUNT_BIND
               && m->type != MOUNT_TMPFS)
        {
          int64_t v = -1;
          if (!(b->env == NULL && has_var (val)) && (!parse_int64 (val, &v, 10) || v > UINT32_MAX))
            return fail (b, raw, "--mount: %s must be a number, not \"%s\"", key, val);
          *(key[0] == 'u' ? &m->uid : &m->gid) = v;
        }
      else if (strcmp (key, "size") == 0 && m->type == MOUNT_TMPFS)
        {
          char *end;
          errno = 0;
          unsigned long long v = strtoull (val, &end, 10);
          unsigned long long mul = 1;
          if (*end == 'k' || *end == 'K')
            mul = 1024, end++;
          else if (*end == 'm' || *end == 'M')
            mul = 1024 * 1024, end++;
          else if (*end == 'g' || *end == 'G')
            mul = 1024ull * 1024 * 1024, end++;
          if (*end == 'b' || *end == 'B')
            end++;
          if (end == val || *end || errno)
            return fail (b, raw, "--mount: size must be a number of bytes (like 64m), not \"%s\"", val);
          m->size = v * mul;
        }
      else
        return fail (b, raw, "--mount: unknown option \"%s\" for type=%s", key,
                     (const char *[]){"bind", "cache", "tmpfs", "secret", "ssh"}[m->type]);
    }
  (void) ro_set;
  if (m->type == MOUNT_SECRET || m->type == MOUNT_SSH)
    {
      if (m->id == NULL && m->target && m->type == MOUNT_SECRET)
        {
          const char *base = strrchr (m->target, '/');
          m->id = xstrdup (base ? base + 1 : m->target);
        }
      if (m->id == NULL)
        m->id = xstrdup (m->type == MOUNT_SSH ? "default" : "");
      if (m->type == MOUNT_SECRET && m->id[0] == '\0' && m->env == NULL)
        return fail (b, raw, "--mount=type=secret needs an id (id=NAME) or a target");
      if (m->target == NULL && !(m->type == MOUNT_SECRET && m->env && !m->target))
        {
          struct buf t = BUF_INIT;
          if (m->type == MOUNT_SECRET)
            buf_printf (&t, "/run/secrets/%s", m->id);
          else
            buf_puts (&t, "/run/buildkit/ssh_agent.0");
          m->target = buf_steal (&t);
        }
      if (m->mode < 0)
        m->mode = m->type == MOUNT_SECRET ? 0400 : 0600;
    }
  else if (m->target == NULL)
    return fail (b, raw, "--mount: target is required (target=/path)");
  if (m->type == MOUNT_CACHE && m->id == NULL && m->target)
    m->id = xstrdup (m->target);
  if (m->target && b->env && m->target[0] != '/')
    {
      /* Relative targets are resolved against the working directory by the builder. */
    }
  return 0;
}

static void
mount_clear (struct run_mount *m)
{
  free (m->target);
  free (m->source);
  free (m->from);
  free (m->id);
  free (m->env);
}

/* ---------- per instruction ---------- */

static int
kind_of (const char *kw, enum inst_kind *out)
{
  for (size_t i = 0; i < N_KINDS; i++)
    if (strcasecmp (kw, kind_names[i]) == 0)
      {
        *out = (enum inst_kind) i;
        return 0;
      }
  return -1;
}

static int
build_kvs (struct builder *b, struct inst *in)
{
  const struct strv *a = &b->node->args;
  if (in->kind == I_ARG)
    {
      if (a->n == 0)
        return fail (b, NULL, "ARG needs at least one name (ARG NAME[=default])");
      in->kvs = xcalloc (a->n, sizeof *in->kvs);
      for (size_t i = 0; i < a->n; i++)
        {
          const char *w = a->v[i];
          const char *eq = strchr (w, '=');
          _cleanup_free_ char *k = eq ? xstrndup (w, (size_t) (eq - w)) : xstrdup (w);
          struct inst_kv *kv = &in->kvs[in->n_kvs++];
          kv->key = expand (b, k);
          if (kv->key == NULL)
            return -1;
          if (kv->key[0] == '\0')
            return fail (b, w, "ARG names cannot be empty");
          if (eq)
            {
              kv->value = expand (b, eq + 1);
              if (kv->value == NULL)
                return -1;
            }
        }
      return 0;
    }
  /* ENV / LABEL: triples (key, value, "=" or "") from the parser. */
  if (a->n == 0)
    return fail (b, NULL, "%s needs at least one name=value", inst_kind_name (in->kind));
  size_t n = a->n / 3;
  in->kvs = xcalloc (n ? n : 1, sizeof *in->kvs);
  for (size_t i = 0; i + 2 < a->n; i += 3)
    {
      struct inst_kv *kv = &in->kvs[in->n_kvs++];
      kv->key = expand (b, a->v[i]);
      if (kv->key == NULL)
        return -1;
      kv->value = expand (b, a->v[i + 1]);
      if (kv->value == NULL)
        return -1;
      if (kv->key[0] == '\0')
        return fail (b, NULL, "%s names cannot be empty", inst_kind_name (in->kind));
      if (in->kind == I_ENV && strchr (kv->key, '=') != NULL)
        return fail (b, kv->key, "ENV names cannot contain \"=\"");
    }
  return 0;
}

static int
build_healthcheck (struct builder *b, struct inst *in, struct flag_val *fv)
{
  const struct strv *a = &b->node->args;
  struct healthcheck *hc = &in->hc;
  if (a->n == 0)
    return fail (b, NULL, "HEALTHCHECK needs NONE or CMD followed by a command");
  if (strcasecmp (a->v[0], "NONE") == 0)
    {
      if (a->n > 1)
        return fail (b, NULL, "HEALTHCHECK NONE takes no arguments");
      for (size_t i = 0; i < 5; i++)
        if (fv[i].set)
          return fail (b, fv[i].raw, "HEALTHCHECK NONE takes no flags");
      hc->none = true;
      return 0;
    }
  if (strcasecmp (a->v[0], "CMD") != 0)
    return fail (b, a->v[0], "HEALTHCHECK: unknown type \"%s\" (CMD or NONE)", a->v[0]);
  if (a->n < 2)
    return fail (b, NULL, "HEALTHCHECK CMD needs a command");
  hc->shell = !b->node->json;
  for (size_t i = 1; i < a->n; i++)
    strv_push (&hc->test, a->v[i]);
  int64_t *durs[] = {&hc->interval_ns, &hc->timeout_ns, &hc->start_period_ns, &hc->start_interval_ns};
  for (size_t i = 0; i < 4; i++)
    {
      if (!fv[i].set)
        continue;
      int64_t d = parse_go_duration (fv[i].value);
      if (d < 0)
        return fail (b, fv[i].raw, "HEALTHCHECK --%s: \"%s\" is not a duration (like 30s, 1m30s)",
                     hc_flags[i].name, fv[i].value);
      if (d != 0 && d < 1000000)
        return fail (b, fv[i].raw, "HEALTHCHECK --%s cannot be less than 1ms", hc_flags[i].name);
      *durs[i] = d;
    }
  if (fv[4].set)
    {
      int64_t r;
      if (!parse_int64 (fv[4].value, &r, 10) || r > INT_MAX)
        return fail (b, fv[4].raw, "HEALTHCHECK --retries must be a non-negative number, not \"%s\"",
                     fv[4].value);
      hc->retries = (int) r;
    }
  return 0;
}

static struct inst *build (const struct df_ast *ast, const struct df_node *node, const struct shell_env *env,
                           bool nested, struct kiln_err *err);

static int
build_body (struct builder *b, struct inst *in, bool nested)
{
  const struct df_node *node = b->node;
  const struct strv *a = &node->args;
  const struct flag_def *defs = flags_for (in->kind);
  size_t ndefs = 0;
  while (defs[ndefs].name)
    ndefs++;
  struct flag_val fv[8];
  memset (fv, 0, sizeof fv);
  int ret = -1;
  if (parse_flags (b, defs, fv) < 0)
    goto out;

  switch (in->kind)
    {
    case I_FROM:
      if (a->n != 1 && a->n != 3)
        {
          fail (b, NULL, "FROM takes an image and optionally AS NAME (FROM image [AS name])");
          goto out;
        }
      if (a->n == 3 && strcasecmp (a->v[1], "AS") != 0)
        {
          fail (b, a->v[1], "FROM: expected AS before the stage name, found \"%s\"", a->v[1]);
          goto out;
        }
      {
        char *base = expand (b, a->v[0]);
        if (base == NULL)
          goto out;
        strv_push_owned (&in->args, base);
        if (b->env && base[0] == '\0')
          {
            fail (b, a->v[0], "FROM: base name \"%s\" expands to nothing", a->v[0]);
            goto out;
          }
      }
      if (a->n == 3)
        {
          in->stage_name = xstrdup (a->v[2]);
          for (char *p = in->stage_name; *p; p++)
            *p = (char) tolower ((unsigned char) *p);
          if (!stage_name_valid (in->stage_name))
            {
              fail (b, a->v[2],
                    "invalid stage name \"%s\": it must start with a letter and hold only letters, digits, "
                    "'-', '_' and '.'",
                    a->v[2]);
              goto out;
            }
        }
      if (take_string_flag (b, &fv[0], true, &in->platform) < 0)
        goto out;
      break;

    case I_RUN:
    case I_CMD:
    case I_ENTRYPOINT:
    case I_SHELL:
      for (size_t i = 0; i < a->n; i++)
        strv_push (&in->args, a->v[i]);
      if (in->kind == I_RUN && a->n == 0)
        {
          fail (b, NULL, "RUN needs a command");
          goto out;
        }
      if (in->kind == I_SHELL && (!node->json || a->n == 0))
        {
          fail (b, NULL, "SHELL needs the JSON form, like SHELL [\"/bin/sh\", \"-c\"]");
          goto out;
        }
      if (in->kind == I_RUN)
        {
          in->mounts = xcalloc (fv[0].list.n + 1, sizeof *in->mounts);
          for (size_t i = 0; i < fv[0].list.n; i++)
            {
              if (parse_mount (b, fv[0].list.v[i], fv[0].list.v[i], &in->mounts[in->n_mounts]) < 0)
                {
                  mount_clear (&in->mounts[in->n_mounts]);
                  goto out;
                }
              in->n_mounts++;
            }
          if (fv[1].set)
            {
              const char *n = fv[1].value;
              if (strcmp (n, "default") != 0 && strcmp (n, "none") != 0 && strcmp (n, "host") != 0)
                {
                  fail (b, fv[1].raw, "RUN --network must be default, none or host, not \"%s\"", n);
                  goto out;
                }
              in->network = steal_pointer (&fv[1].value);
            }
          if (fv[2].set)
            {
              const char *s = fv[2].value;
              if (strcmp (s, "insecure") != 0 && strcmp (s, "sandbox") != 0)
                {
                  fail (b, fv[2].raw, "RUN --security must be insecure or sandbox, not \"%s\"", s);
                  goto out;
                }
              in->security = steal_pointer (&fv[2].value);
            }
        }
      break;

    case I_ENV:
    case I_LABEL:
    case I_ARG:
      if (build_kvs (b, in) < 0)
        goto out;
      break;

    case I_COPY:
    case I_ADD:
      if (a->n < 2)
        {
          fail (b, NULL, "%s needs at least one source and a destination", inst_kind_name (in->kind));
          goto out;
        }
      for (size_t i = 0; i < a->n; i++)
        {
          /* Heredoc sources (<<EOF) are names, not paths: never expanded. */
          char *w = (node->n_heredocs && strncmp (a->v[i], "<<", 2) == 0) ? xstrdup (a->v[i]) : expand (b, a->v[i]);
          if (w == NULL)
            goto out;
          strv_push_owned (&in->args, w);
        }
      {
        size_t k = 0;
        if (in->kind == I_COPY && take_string_flag (b, &fv[k], true, &in->from) < 0)
          goto out;
        if (in->kind == I_COPY)
          k++;
        if (take_string_flag (b, &fv[k], true, &in->chown) < 0 || take_string_flag (b, &fv[k + 1], true, &in->chmod) < 0)
          goto out;
        in->link = fv[k + 2].set && strcmp (fv[k + 2].value, "true") == 0;
        if (in->kind == I_COPY)
          {
            in->parents = fv[4].set && strcmp (fv[4].value, "true") == 0;
            for (size_t i = 0; i < fv[5].list.n; i++)
              {
                char *e = expand (b, fv[5].list.v[i]);
                if (e == NULL)
                  goto out;
                strv_push_owned (&in->excludes, e);
              }
          }
        else
          {
            in->keep_git_dir = fv[3].set && strcmp (fv[3].value, "true") == 0;
            if (take_string_flag (b, &fv[4], true, &in->checksum) < 0)
              goto out;
            for (size_t i = 0; i < fv[5].list.n; i++)
              {
                char *e = expand (b, fv[5].list.v[i]);
                if (e == NULL)
                  goto out;
                strv_push_owned (&in->excludes, e);
              }
          }
        if (in->from && b->env && in->from[0] == '\0')
          {
            fail (b, "--from", "COPY --from expands to nothing");
            goto out;
          }
        if (in->chmod && (b->env || !has_var (in->chmod)) && !chmod_spec_valid (in->chmod))
          {
            fail (b, "--chmod", "invalid --chmod \"%s\": use octal (0755) or symbolic (u+x,g-w) modes",
                  in->chmod);
            goto out;
          }
        if (in->chown && (b->env || !has_var (in->chown)) && (in->chown[0] == '\0' || in->chown[0] == ':'))
          {
            fail (b, "--chown", "invalid --chown \"%s\": use USER[:GROUP]", in->chown);
            goto out;
          }
        const char *bad_id = in->chown && (b->env || !has_var (in->chown)) ? chown_bad_id (in->chown) : NULL;
        if (bad_id)
          {
            fail (b, "--chown", "invalid --chown \"%s\": %s %.*s is out of range (IDs go from 0 to %u)",
                  in->chown, bad_id == in->chown ? "user ID" : "group ID", (int) strcspn (bad_id, ":"), bad_id,
                  UINT32_MAX - 1);
            goto out;
          }
        if (in->checksum && (b->env || !has_var (in->checksum)) && strncmp (in->checksum, "sha256:", 7) != 0
            && strncmp (in->checksum, "sha384:", 7) != 0 && strncmp (in->checksum, "sha512:", 7) != 0)
          {
            fail (b, "--checksum", "invalid --checksum \"%s\": use sha256:HEX", in->checksum);
            goto out;
          }
      }
      break;

    case I_WORKDIR:
    case I_USER:
    case I_STOPSIGNAL:
    case I_MAINTAINER:
      if (a->n == 0)
        {
          fail (b, NULL, "%s needs a value", inst_kind_name (in->kind));
          goto out;
        }
      {
        char *v = in->kind == I_MAINTAINER ? xstrdup (a->v[0]) : expand (b, a->v[0]);
        if (v == NULL)
          goto out;
        strv_push_owned (&in->args, v);
        if (in->kind == I_STOPSIGNAL && (b->env || !has_var (v)) && !stop_signal_valid (v))
          {
            fail (b, a->v[0], "STOPSIGNAL: \"%s\" is not a signal (like SIGTERM, SIGQUIT or 15)", v);
            goto out;
          }
        if (b->env && v[0] == '\0' && in->kind != I_MAINTAINER)
          {
            fail (b, a->v[0], "%s \"%s\" expands to nothing", inst_kind_name (in->kind), a->v[0]);
            goto out;
          }
      }
      break;

    case I_EXPOSE:
      if (a->n == 0)
        {
          fail (b, NULL, "EXPOSE needs at least one port (EXPOSE 80 or 53/udp)");
          goto out;
        }
      for (size_t i = 0; i < a->n; i++)
        {
          _cleanup_strv_ struct strv words = STRV_INIT;
          if (expand_words (b, a->v[i], &words) < 0)
            goto out;
          for (size_t w = 0; w < words.n; w++)
            {
              if ((b->env || !has_var (words.v[w])) && !expose_parse (words.v[w], NULL))
                {
                  fail (b, a->v[i], "EXPOSE: invalid port \"%s\" (use PORT, PORT/tcp, PORT/udp or FROM-TO)",
                        words.v[w]);
                  goto out;
                }
              strv_push (&in->args, words.v[w]);
            }
        }
      break;

    case I_VOLUME:
      if (a->n == 0)
        {
          fail (b, NULL, "VOLUME needs at least one path");
          goto out;
        }
      for (size_t i = 0; i < a->n; i++)
        {
          char *v = expand (b, a->v[i]);
          if (v == NULL)
            goto out;
          strv_push_owned (&in->args, v);
          if ((b->env || !has_var (v)) && v[0] == '\0')
            {
              fail (b, NULL, "VOLUME paths cannot be empty");
              goto out;
            }
        }
      break;

    case I_HEALTHCHECK:
      if (build_healthcheck (b, in, fv) < 0)
        goto out;
      break;

    case I_ONBUILD:
      if (nested)
        {
          fail (b, NULL, "ONBUILD cannot wrap ONBUILD");
          goto out;
        }
      if (node->sub == NULL)
        {
          fail (b, NULL, "ONBUILD needs an instruction to run later");
          goto out;
        }
      {
        const char *kw = node->sub->keyword;
        if (strcasecmp (kw, "ONBUILD") == 0)
          {
            fail (b, kw, "ONBUILD ONBUILD is not allowed");
            goto out;
          }
        if (strcasecmp (kw, "FROM") == 0 || strcasecmp (kw, "MAINTAINER") == 0)
          {
            fail (b, kw, "%s is not allowed as an ONBUILD trigger", kw);
            goto out;
          }
        /* The trigger is checked now, expanded when a child image runs it. */
        in->sub = build (b->ast, node->sub, NULL, true, b->err);
        if (in->sub == NULL)
          goto out;
        const char *orig = node->original;
        size_t lead = utf8_space_prefix (orig, strlen (orig));
        const char *rest = orig + lead;
        while (*rest && !isspace ((unsigned char) *rest))
          rest++;
        while (*rest && isspace ((unsigned char) *rest))
          rest++;
        in->trigger = xstrdup (rest);
      }
      break;
    }
  ret = 0;
out:
  flag_vals_free (fv, ndefs);
  return ret;
}

static struct inst *
build (const struct df_ast *ast, const struct df_node *node, const struct shell_env *env, bool nested,
       struct kiln_err *err)
{
  struct builder b = {ast, node, env, err};
  enum inst_kind kind;
  if (kind_of (node->keyword, &kind) < 0)
    {
      const char *best = NULL;
      size_t best_d = 3;
      for (size_t i = 0; i < N_KINDS; i++)
        {
          size_t d = edit_distance (node->keyword, kind_names[i]);
          if (d < best_d)
            best_d = d, best = kind_names[i];
        }
      if (best)
        fail (&b, NULL, "unknown instruction \"%s\" (did you mean \"%s\"?)", node->keyword, best);
      else
        fail (&b, NULL, "unknown instruction \"%s\"", node->keyword);
      return NULL;
    }
  struct inst *in = xcalloc (1, sizeof *in);
  in->kind = kind;
  in->node = node;
  in->line = node->start_line;
  in->json = node->json;
  if (build_body (&b, in, nested) < 0)
    {
      inst_free (in);
      return NULL;
    }
  return in;
}

struct inst *
inst_from_node (const struct df_ast *ast, const struct df_node *node, struct kiln_err *err)
{
  return build (ast, node, NULL, false, err);
}

struct inst *
inst_expand (const struct df_ast *ast, const struct inst *in, const struct shell_env *env, struct kiln_err *err)
{
  struct shell_env none = {NULL, NULL};
  return build (ast, in->node, env ? env : &none, false, err);
}

void
inst_free (struct inst *in)
{
  if (in == NULL)
    return;
  strv_free (&in->args);
  free (in->stage_name);
  free (in->platform);
  for (size_t i = 0; i < in->n_mounts; i++)
    mount_clear (&in->mounts[i]);
  free (in->mounts);
  free (in->network);
  free (in->security);
  free (in->from);
  free (in->chown);
  free (in->chmod);
  free (in->checksum);
  strv_free (&in->excludes);
  for (size_t i = 0; i < in->n_kvs; i++)
    {
      free (in->kvs[i].key);
      free (in->kvs[i].value);
    }
  free (in->kvs);
  strv_free (&in->hc.test);
  free (in->trigger);
  inst_free (in->sub);
  free (in);
}

/* ---------- rendering ---------- */

static void
q (struct buf *out, const char *s)
{
  utf8_go_quote (out, s, strlen (s));
}

static void
render_json_list (struct buf *out, const struct strv *v, size_t from, size_t to)
{
  buf_putc (out, '[');
  for (size_t i = from; i < to; i++)
    {
      if (i > from)
        buf_puts (out, ", ");
      q (out, v->v[i]);
    }
  buf_putc (out, ']');
}

static void
render_duration (struct buf *out, const char *name, int64_t ns)
{
  if (ns == 0)
    return;
  if (ns % 1000000000 == 0)
    buf_printf (out, " --%s=%llds", name, (long long) (ns / 1000000000));
  else
    buf_printf (out, " --%s=%lldms", name, (long long) (ns / 1000000));
}

static const char *const mount_type_names[] = {"bind", "cache", "tmpfs", "secret", "ssh"};
static const char *const sharing_names[] = {"shared", "private", "locked"};

void
inst_render (const struct inst *in, struct buf *out)
{
  buf_puts (out, inst_kind_name (in->kind));
  switch (in->kind)
    {
    case I_FROM:
      if (in->platform)
        buf_printf (out, " --platform=%s", in->platform);
      buf_putc (out, ' ');
      q (out, in->args.v[0]);
      if (in->stage_name)
        buf_printf (out, " AS %s", in->stage_name);
      break;
    case I_RUN:
      for (size_t i = 0; i < in->n_mounts; i++)
        {
          const struct run_mount *m = &in->mounts[i];
          buf_printf (out, " --mount=type=%s", mount_type_names[m->type]);
          if (m->target)
            buf_printf (out, ",target=%s", m->target);
          if (m->source)
            buf_printf (out, ",source=%s", m->source);
          if (m->from)
            buf_printf (out, ",from=%s", m->from);
          if (m->id && m->type != MOUNT_BIND && m->type != MOUNT_TMPFS)
            buf_printf (out, ",id=%s", m->id);
          if (m->type == MOUNT_CACHE)
            buf_printf (out, ",sharing=%s", sharing_names[m->sharing]);
          if (m->type == MOUNT_BIND || m->type == MOUNT_CACHE)
            buf_puts (out, m->readonly ? ",ro" : ",rw");
          if (m->env)
            buf_printf (out, ",env=%s", m->env);
          if (m->required)
            buf_puts (out, ",required");
          if (m->mode >= 0)
            buf_printf (out, ",mode=%04o", m->mode);
          if (m->uid >= 0)
            buf_printf (out, ",uid=%lld", (long long) m->uid);
          if (m->gid >= 0)
            buf_printf (out, ",gid=%lld", (long long) m->gid);
          if (m->size)
            buf_printf (out, ",size=%llu", (unsigned long long) m->size);
        }
      if (in->network)
        buf_printf (out, " --network=%s", in->network);
      if (in->security)
        buf_printf (out, " --security=%s", in->security);
      /* fall through */
    case I_CMD:
    case I_ENTRYPOINT:
    case I_SHELL:
      buf_putc (out, ' ');
      if (in->json)
        render_json_list (out, &in->args, 0, in->args.n);
      else if (in->args.n)
        q (out, in->args.v[0]);
      break;
    case I_ENV:
    case I_LABEL:
    case I_ARG:
      for (size_t i = 0; i < in->n_kvs; i++)
        {
          buf_printf (out, " %s", in->kvs[i].key);
          if (in->kvs[i].value)
            {
              buf_putc (out, '=');
              q (out, in->kvs[i].value);
            }
        }
      break;
    case I_COPY:
    case I_ADD:
      if (in->from)
        buf_printf (out, " --from=%s", in->from);
      if (in->chown)
        buf_printf (out, " --chown=%s", in->chown);
      if (in->chmod)
        buf_printf (out, " --chmod=%s", in->chmod);
      if (in->link)
        buf_puts (out, " --link");
      if (in->parents)
        buf_puts (out, " --parents");
      if (in->keep_git_dir)
        buf_puts (out, " --keep-git-dir");
      if (in->checksum)
        buf_printf (out, " --checksum=%s", in->checksum);
      for (size_t i = 0; i < in->excludes.n; i++)
        buf_printf (out, " --exclude=%s", in->excludes.v[i]);
      buf_putc (out, ' ');
      render_json_list (out, &in->args, 0, in->args.n - 1);
      buf_putc (out, ' ');
      q (out, in->args.v[in->args.n - 1]);
      break;
    case I_WORKDIR:
    case I_USER:
    case I_STOPSIGNAL:
    case I_MAINTAINER:
      buf_putc (out, ' ');
      q (out, in->args.v[0]);
      break;
    case I_EXPOSE:
    case I_VOLUME:
      buf_putc (out, ' ');
      render_json_list (out, &in->args, 0, in->args.n);
      break;
    case I_HEALTHCHECK:
      if (in->hc.none)
        {
          buf_puts (out, " NONE");
          break;
        }
      render_duration (out, "interval", in->hc.interval_ns);
      render_duration (out, "timeout", in->hc.timeout_ns);
      render_duration (out, "start-period", in->hc.start_period_ns);
      render_duration (out, "start-interval", in->hc.start_interval_ns);
      if (in->hc.retries)
        buf_printf (out, " --retries=%d", in->hc.retries);
      buf_puts (out, in->hc.shell ? " CMD-SHELL " : " CMD ");
      if (in->hc.shell)
        q (out, in->hc.test.v[0]);
      else
        render_json_list (out, &in->hc.test, 0, in->hc.test.n);
      break;
    case I_ONBUILD:
      buf_putc (out, ' ');
      q (out, in->trigger);
      break;
    }
}
