/* frontend/instructions.c — AST nodes → typed, validated instructions.
 *
 * One builder serves both steps: inst_from_node() builds without an environment
 * (values holding `$` are checked later), inst_expand() builds again from the same
 * node with the stage's environment, so expansion and validation cannot drift.
 * Flags and word expansion are in flags.c, RUN --mount in run_mount.c. */
#include "frontend/instructions.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/inst_build.h"
#include "util/cleanup.h"
#include "util/duration.h"
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
          if (!inst_int64 (num, &v, 10) || v >= (int64_t) UINT32_MAX)
            return part;
        }
      part += n;
      if (*part == '\0')
        return NULL;
    }
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
        return inst_fail (b, NULL, "ARG needs at least one name (ARG NAME[=default])");
      in->kvs = xcalloc (a->n, sizeof *in->kvs);
      for (size_t i = 0; i < a->n; i++)
        {
          const char *w = a->v[i];
          const char *eq = strchr (w, '=');
          _cleanup_free_ char *k = eq ? xstrndup (w, (size_t) (eq - w)) : xstrdup (w);
          struct inst_kv *kv = &in->kvs[in->n_kvs++];
          kv->key = inst_expand_word (b, k);
          if (kv->key == NULL)
            return -1;
          if (kv->key[0] == '\0')
            return inst_fail (b, w, "ARG names cannot be empty");
          if (eq)
            {
              kv->value = inst_expand_word (b, eq + 1);
              if (kv->value == NULL)
                return -1;
            }
        }
      return 0;
    }
  /* ENV / LABEL: triples (key, value, "=" or "") from the parser. */
  if (a->n == 0)
    return inst_fail (b, NULL, "%s needs at least one name=value", inst_kind_name (in->kind));
  size_t n = a->n / 3;
  in->kvs = xcalloc (n ? n : 1, sizeof *in->kvs);
  for (size_t i = 0; i + 2 < a->n; i += 3)
    {
      struct inst_kv *kv = &in->kvs[in->n_kvs++];
      kv->key = inst_expand_word (b, a->v[i]);
      if (kv->key == NULL)
        return -1;
      kv->value = inst_expand_word (b, a->v[i + 1]);
      if (kv->value == NULL)
        return -1;
      if (kv->key[0] == '\0')
        return inst_fail (b, NULL, "%s names cannot be empty", inst_kind_name (in->kind));
      if (in->kind == I_ENV && strchr (kv->key, '=') != NULL)
        return inst_fail (b, kv->key, "ENV names cannot contain \"=\"");
    }
  return 0;
}

/* HEALTHCHECK's duration flags, by name, and where each goes. */
static int
healthcheck_durations (struct builder *b, struct healthcheck *hc, struct flag_set *fs)
{
  const struct
  {
    const char *name;
    int64_t *dst;
  } durs[] = {{"interval", &hc->interval_ns},
              {"timeout", &hc->timeout_ns},
              {"start-period", &hc->start_period_ns},
              {"start-interval", &hc->start_interval_ns}};
  for (size_t i = 0; i < sizeof durs / sizeof *durs; i++)
    {
      const struct flag_val *v = flag_get (fs, durs[i].name);
      if (!v->set)
        continue;
      int64_t d = parse_go_duration (v->value);
      if (d < 0)
        return inst_fail (b, v->raw, "HEALTHCHECK --%s: \"%s\" is not a duration (like 30s, 1m30s)", durs[i].name,
                          v->value);
      if (d != 0 && d < 1000000)
        return inst_fail (b, v->raw, "HEALTHCHECK --%s cannot be less than 1ms", durs[i].name);
      *durs[i].dst = d;
    }
  return 0;
}

static int
build_healthcheck (struct builder *b, struct inst *in, struct flag_set *fs)
{
  const struct strv *a = &b->node->args;
  struct healthcheck *hc = &in->hc;
  if (a->n == 0)
    return inst_fail (b, NULL, "HEALTHCHECK needs NONE or CMD followed by a command");
  if (strcasecmp (a->v[0], "NONE") == 0)
    {
      if (a->n > 1)
        return inst_fail (b, NULL, "HEALTHCHECK NONE takes no arguments");
      const struct flag_val *given = flags_first_set (fs);
      if (given)
        return inst_fail (b, given->raw, "HEALTHCHECK NONE takes no flags");
      hc->none = true;
      return 0;
    }
  if (strcasecmp (a->v[0], "CMD") != 0)
    return inst_fail (b, a->v[0], "HEALTHCHECK: unknown type \"%s\" (CMD or NONE)", a->v[0]);
  if (a->n < 2)
    return inst_fail (b, NULL, "HEALTHCHECK CMD needs a command");
  hc->shell = !b->node->json;
  for (size_t i = 1; i < a->n; i++)
    strv_push (&hc->test, a->v[i]);
  if (healthcheck_durations (b, hc, fs) < 0)
    return -1;
  const struct flag_val *retries = flag_get (fs, "retries");
  if (retries->set)
    {
      int64_t r;
      if (!inst_int64 (retries->value, &r, 10) || r > INT_MAX)
        return inst_fail (b, retries->raw, "HEALTHCHECK --retries must be a non-negative number, not \"%s\"",
                          retries->value);
      hc->retries = (int) r;
    }
  return 0;
}

static struct inst *build (const struct df_ast *ast, const struct df_node *node, const struct shell_env *env,
                           bool nested, struct kiln_err *err);

static int
build_from (struct builder *b, struct inst *in, struct flag_set *fs)
{
  const struct strv *a = &b->node->args;
  if (a->n != 1 && a->n != 3)
    return inst_fail (b, NULL, "FROM takes an image and optionally AS NAME (FROM image [AS name])");
  if (a->n == 3 && strcasecmp (a->v[1], "AS") != 0)
    return inst_fail (b, a->v[1], "FROM: expected AS before the stage name, found \"%s\"", a->v[1]);
  char *base = inst_expand_word (b, a->v[0]);
  if (base == NULL)
    return -1;
  strv_push_owned (&in->args, base);
  if (b->env && base[0] == '\0')
    return inst_fail (b, a->v[0], "FROM: base name \"%s\" expands to nothing", a->v[0]);
  if (a->n == 3)
    {
      in->stage_name = xstrdup (a->v[2]);
      for (char *p = in->stage_name; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
      if (!stage_name_valid (in->stage_name))
        return inst_fail (b, a->v[2],
                          "invalid stage name \"%s\": it must start with a letter and hold only letters, digits, "
                          "'-', '_' and '.'",
                          a->v[2]);
    }
  return flag_take_string (b, fs, "platform", &in->platform);
}

/* RUN, CMD, ENTRYPOINT and SHELL: their words stay unexpanded (the container's shell expands them). */
static int
build_command (struct builder *b, struct inst *in, struct flag_set *fs)
{
  const struct strv *a = &b->node->args;
  for (size_t i = 0; i < a->n; i++)
    strv_push (&in->args, a->v[i]);
  if (in->kind == I_RUN && a->n == 0)
    return inst_fail (b, NULL, "RUN needs a command");
  if (in->kind == I_SHELL && (!b->node->json || a->n == 0))
    return inst_fail (b, NULL, "SHELL needs the JSON form, like SHELL [\"/bin/sh\", \"-c\"]");
  if (in->kind != I_RUN)
    return 0;
  const struct strv *mounts = &flag_get (fs, "mount")->list;
  in->mounts = xcalloc (mounts->n + 1, sizeof *in->mounts);
  for (size_t i = 0; i < mounts->n; i++)
    {
      if (run_mount_parse (b, mounts->v[i], mounts->v[i], &in->mounts[in->n_mounts]) < 0)
        {
          run_mount_clear (&in->mounts[in->n_mounts]);
          return -1;
        }
      in->n_mounts++;
    }
  struct flag_val *network = flag_get (fs, "network");
  if (network->set)
    {
      const char *n = network->value;
      if (strcmp (n, "default") != 0 && strcmp (n, "none") != 0 && strcmp (n, "host") != 0)
        return inst_fail (b, network->raw, "RUN --network must be default, none or host, not \"%s\"", n);
      in->network = steal_pointer (&network->value);
    }
  struct flag_val *security = flag_get (fs, "security");
  if (security->set)
    {
      const char *s = security->value;
      if (strcmp (s, "insecure") != 0 && strcmp (s, "sandbox") != 0)
        return inst_fail (b, security->raw, "RUN --security must be insecure or sandbox, not \"%s\"", s);
      in->security = steal_pointer (&security->value);
    }
  return 0;
}

/* COPY/ADD's flag values, checked where they hold no variable left to expand. */
static int
check_copy_flags (struct builder *b, struct inst *in)
{
  if (in->from && b->env && in->from[0] == '\0')
    return inst_fail (b, "--from", "COPY --from expands to nothing");
  if (in->chmod && (b->env || !inst_has_var (in->chmod)) && !chmod_spec_valid (in->chmod))
    return inst_fail (b, "--chmod", "invalid --chmod \"%s\": use octal (0755) or symbolic (u+x,g-w) modes",
                      in->chmod);
  if (in->chown && (b->env || !inst_has_var (in->chown)) && (in->chown[0] == '\0' || in->chown[0] == ':'))
    return inst_fail (b, "--chown", "invalid --chown \"%s\": use USER[:GROUP]", in->chown);
  const char *bad_id = in->chown && (b->env || !inst_has_var (in->chown)) ? chown_bad_id (in->chown) : NULL;
  if (bad_id)
    return inst_fail (b, "--chown", "invalid --chown \"%s\": %s %.*s is out of range (IDs go from 0 to %u)",
                      in->chown, bad_id == in->chown ? "user ID" : "group ID", (int) strcspn (bad_id, ":"), bad_id,
                      UINT32_MAX - 1);
  if (in->checksum && (b->env || !inst_has_var (in->checksum)) && strncmp (in->checksum, "sha256:", 7) != 0
      && strncmp (in->checksum, "sha384:", 7) != 0 && strncmp (in->checksum, "sha512:", 7) != 0)
    return inst_fail (b, "--checksum", "invalid --checksum \"%s\": use sha256:HEX", in->checksum);
  return 0;
}

static int
build_copy (struct builder *b, struct inst *in, struct flag_set *fs)
{
  const struct strv *a = &b->node->args;
  if (a->n < 2)
    return inst_fail (b, NULL, "%s needs at least one source and a destination", inst_kind_name (in->kind));
  for (size_t i = 0; i < a->n; i++)
    {
      /* Heredoc sources (<<EOF) are names, not paths: never expanded. */
      char *w = (b->node->n_heredocs && strncmp (a->v[i], "<<", 2) == 0) ? xstrdup (a->v[i])
                                                                          : inst_expand_word (b, a->v[i]);
      if (w == NULL)
        return -1;
      strv_push_owned (&in->args, w);
    }
  bool is_copy = in->kind == I_COPY;
  if ((is_copy && flag_take_string (b, fs, "from", &in->from) < 0) || flag_take_string (b, fs, "chown", &in->chown) < 0
      || flag_take_string (b, fs, "chmod", &in->chmod) < 0)
    return -1;
  in->link = flag_true (fs, "link");
  if (is_copy)
    in->parents = flag_true (fs, "parents");
  else
    {
      in->keep_git_dir = flag_true (fs, "keep-git-dir");
      if (flag_take_string (b, fs, "checksum", &in->checksum) < 0)
        return -1;
    }
  const struct strv *excludes = &flag_get (fs, "exclude")->list;
  for (size_t i = 0; i < excludes->n; i++)
    {
      char *e = inst_expand_word (b, excludes->v[i]);
      if (e == NULL)
        return -1;
      strv_push_owned (&in->excludes, e);
    }
  return check_copy_flags (b, in);
}

/* WORKDIR, USER, STOPSIGNAL and MAINTAINER: one value. */
static int
build_single (struct builder *b, struct inst *in)
{
  const struct strv *a = &b->node->args;
  if (a->n == 0)
    return inst_fail (b, NULL, "%s needs a value", inst_kind_name (in->kind));
  char *v = in->kind == I_MAINTAINER ? xstrdup (a->v[0]) : inst_expand_word (b, a->v[0]);
  if (v == NULL)
    return -1;
  strv_push_owned (&in->args, v);
  if (in->kind == I_STOPSIGNAL && (b->env || !inst_has_var (v)) && !stop_signal_valid (v))
    return inst_fail (b, a->v[0], "STOPSIGNAL: \"%s\" is not a signal (like SIGTERM, SIGQUIT or 15)", v);
  if (b->env && v[0] == '\0' && in->kind != I_MAINTAINER)
    return inst_fail (b, a->v[0], "%s \"%s\" expands to nothing", inst_kind_name (in->kind), a->v[0]);
  return 0;
}

static int
build_expose (struct builder *b, struct inst *in)
{
  const struct strv *a = &b->node->args;
  if (a->n == 0)
    return inst_fail (b, NULL, "EXPOSE needs at least one port (EXPOSE 80 or 53/udp)");
  for (size_t i = 0; i < a->n; i++)
    {
      _cleanup_strv_ struct strv words = STRV_INIT;
      if (inst_expand_words (b, a->v[i], &words) < 0)
        return -1;
      for (size_t w = 0; w < words.n; w++)
        {
          if ((b->env || !inst_has_var (words.v[w])) && !expose_parse (words.v[w], NULL))
            return inst_fail (b, a->v[i], "EXPOSE: invalid port \"%s\" (use PORT, PORT/tcp, PORT/udp or FROM-TO)",
                              words.v[w]);
          strv_push (&in->args, words.v[w]);
        }
    }
  return 0;
}

static int
build_volume (struct builder *b, struct inst *in)
{
  const struct strv *a = &b->node->args;
  if (a->n == 0)
    return inst_fail (b, NULL, "VOLUME needs at least one path");
  for (size_t i = 0; i < a->n; i++)
    {
      char *v = inst_expand_word (b, a->v[i]);
      if (v == NULL)
        return -1;
      strv_push_owned (&in->args, v);
      if ((b->env || !inst_has_var (v)) && v[0] == '\0')
        return inst_fail (b, NULL, "VOLUME paths cannot be empty");
    }
  return 0;
}

static int
build_onbuild (struct builder *b, struct inst *in, bool nested)
{
  const struct df_node *node = b->node;
  if (nested)
    return inst_fail (b, NULL, "ONBUILD cannot wrap ONBUILD");
  if (node->sub == NULL)
    return inst_fail (b, NULL, "ONBUILD needs an instruction to run later");
  const char *kw = node->sub->keyword;
  if (strcasecmp (kw, "ONBUILD") == 0)
    return inst_fail (b, kw, "ONBUILD ONBUILD is not allowed");
  if (strcasecmp (kw, "FROM") == 0 || strcasecmp (kw, "MAINTAINER") == 0)
    return inst_fail (b, kw, "%s is not allowed as an ONBUILD trigger", kw);
  /* The trigger is checked now, expanded when a child image runs it. */
  in->sub = build (b->ast, node->sub, NULL, true, b->err);
  if (in->sub == NULL)
    return -1;
  const char *orig = node->original;
  size_t lead = utf8_space_prefix (orig, strlen (orig));
  const char *rest = orig + lead;
  while (*rest && !isspace ((unsigned char) *rest))
    rest++;
  while (*rest && isspace ((unsigned char) *rest))
    rest++;
  in->trigger = xstrdup (rest);
  return 0;
}

static int
build_body (struct builder *b, struct inst *in, bool nested)
{
  struct flag_set fs;
  memset (&fs, 0, sizeof fs);
  int r = flags_parse (b, flags_for (in->kind), &fs);
  if (r == 0)
    switch (in->kind)
      {
      case I_FROM: r = build_from (b, in, &fs); break;
      case I_RUN:
      case I_CMD:
      case I_ENTRYPOINT:
      case I_SHELL: r = build_command (b, in, &fs); break;
      case I_ENV:
      case I_LABEL:
      case I_ARG: r = build_kvs (b, in); break;
      case I_COPY:
      case I_ADD: r = build_copy (b, in, &fs); break;
      case I_WORKDIR:
      case I_USER:
      case I_STOPSIGNAL:
      case I_MAINTAINER: r = build_single (b, in); break;
      case I_EXPOSE: r = build_expose (b, in); break;
      case I_VOLUME: r = build_volume (b, in); break;
      case I_HEALTHCHECK: r = build_healthcheck (b, in, &fs); break;
      case I_ONBUILD: r = build_onbuild (b, in, nested); break;
      }
  flags_free (&fs);
  return r;
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
        inst_fail (&b, NULL, "unknown instruction \"%s\" (did you mean \"%s\"?)", node->keyword, best);
      else
        inst_fail (&b, NULL, "unknown instruction \"%s\"", node->keyword);
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
    run_mount_clear (&in->mounts[i]);
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
          buf_printf (out, " --mount=type=%s", run_mount_type_name (m->type));
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
