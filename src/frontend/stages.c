/* frontend/stages.c — the stage model, with BuildKit's ARG scoping rules. */
#include "frontend/stages.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "util/cleanup.h"
#include "util/utf8.h"

static const char *const predefined_args[]
    = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
       "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};

bool
is_predefined_arg (const char *name)
{
  for (size_t i = 0; i < sizeof predefined_args / sizeof *predefined_args; i++)
    if (strcmp (name, predefined_args[i]) == 0)
      return true;
  return false;
}


/* ---------- platform args ---------- */

/* NAMEPLATFORM, NAMEOS, NAMEARCH and NAMEVARIANT of an OS/ARCH[/VARIANT] (read
 * by image/platform's one parser). */
static int
platform_args (const char *name, const char *plat, struct envmap *out, struct kiln_err *err)
{
  struct platform p;
  struct kiln_err perr = {0};
  int r = *plat ? platform_parse (plat, &p, &perr) : -1;
  kiln_err_clear (&perr);
  if (r < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid platform \"%s\": use OS/ARCH[/VARIANT], like linux/amd64",
                         plat);
  const char *suffix[] = {"PLATFORM", "OS", "ARCH", "VARIANT"};
  const char *value[] = {plat, p.os, p.arch, p.variant};
  _cleanup_buf_ struct buf k = BUF_INIT;
  for (size_t i = 0; i < 4; i++)
    {
      buf_reset (&k);
      buf_printf (&k, "%s%s", name, suffix[i]);
      envmap_set (out, buf_str (&k), value[i]);
    }
  return 0;
}

/* ---------- ARG ---------- */

/* Expands an ARG instruction. A default is expanded only when no --build-arg
 * gives the value (so `ARG X=${Y:?msg}` fails only when X really needs it). */
static struct inst *
expand_arg (const struct stage_model *m, const struct inst *raw, const struct shell_env *env, struct kiln_err *err)
{
  struct inst *ex = xcalloc (1, sizeof *ex);
  ex->kind = I_ARG;
  ex->node = raw->node;
  ex->line = raw->line;
  ex->kvs = xcalloc (raw->n_kvs ? raw->n_kvs : 1, sizeof *ex->kvs);
  for (size_t k = 0; k < raw->n_kvs; k++)
    {
      struct inst_kv *kv = &ex->kvs[ex->n_kvs++];
      kv->key = shell_expand_word (raw->kvs[k].key, m->ast->escape, env, err);
      if (kv->key != NULL && raw->kvs[k].value
          && envmap_get (&m->build_args, kv->key, strlen (kv->key)) == NULL)
        kv->value = shell_expand_word (raw->kvs[k].value, m->ast->escape, env, err);
      if (kv->key == NULL || (raw->kvs[k].value && kv->value == NULL
                              && envmap_get (&m->build_args, kv->key, strlen (kv->key)) == NULL))
        {
          const char *needle = raw->kvs[k].value ? raw->kvs[k].value : raw->kvs[k].key;
          df_ast_locate (m->ast, err, raw->line, df_ast_find_col (m->ast, raw->line, needle));
          inst_free (ex);
          return NULL;
        }
    }
  return ex;
}

/* ---------- model ---------- */

void
stages_free (struct stage_model *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->n_meta; i++)
    inst_free (m->meta[i]);
  free (m->meta);
  for (size_t i = 0; i < m->n_stages; i++)
    {
      struct stage *s = &m->stages[i];
      free (s->name);
      inst_free (s->from);
      for (size_t j = 0; j < s->n_insts; j++)
        inst_free (s->insts[j]);
      free (s->insts);
      free (s->deps);
    }
  free (m->stages);
  envmap_free (&m->meta_env);
  envmap_free (&m->build_args);
  envmap_free (&m->platform_args);
  strv_free (&m->warnings);
  free (m);
}

static void
model_freep (struct stage_model **m)
{
  stages_free (*m);
}

static int
find_stage (const struct stage_model *m, size_t upto, const char *name)
{
  for (size_t i = 0; i < upto; i++)
    if (m->stages[i].name && strcasecmp (m->stages[i].name, name) == 0)
      return (int) i;
  return -1;
}

static void
add_dep (struct stage *s, int dep)
{
  for (size_t i = 0; i < s->n_deps; i++)
    if (s->deps[i] == dep)
      return;
  s->deps = xrealloc (s->deps, (s->n_deps + 1) * sizeof *s->deps);
  s->deps[s->n_deps++] = dep;
}

/* Resolves a COPY --from / RUN --mount from= reference of stage `cur`.
 * Returns the stage index, -1 for an image, -2 on error. */
static int
resolve_ref (struct stage_model *m, size_t cur, const char *ref, const struct inst *in, struct kiln_err *err)
{
  if (stages_named_context (m, ref))
    return -1; /* --build-context: an image, even where a stage has the name */
  const struct df_ast *ast = m->ast;
  int col = df_ast_find_col (ast, in->line, ref);
  bool numeric = ref[0] != '\0';
  for (const char *p = ref; *p; p++)
    numeric &= isdigit ((unsigned char) *p) != 0;
  if (numeric)
    {
      long idx = strtol (ref, NULL, 10);
      if (strlen (ref) > 6 || idx >= (long) cur)
        {
          kiln_err_set (err, KILN_EPARSE,
                        idx >= (long) m->n_stages || strlen (ref) > 6
                            ? "stage %s does not exist: stages are counted from 0 and this Dockerfile has %zu"
                            : "stage %s is defined after this one: a stage can only use stages before it",
                        ref, m->n_stages);
          df_ast_locate (ast, err, in->line, col);
          return -2;
        }
      return (int) idx;
    }
  int s = find_stage (m, cur, ref);
  if (s >= 0)
    return s;
  int later = find_stage (m, m->n_stages, ref);
  if (later >= 0 && (size_t) later == cur)
    {
      kiln_err_set (err, KILN_EPARSE, "stage \"%s\" refers to itself: use an earlier stage or an image", ref);
      df_ast_locate (ast, err, in->line, col);
      return -2;
    }
  if (later >= 0)
    {
      kiln_err_set (err, KILN_EPARSE,
                    "cannot copy from stage \"%s\", it needs to be defined before current stage \"%s\" (it is "
                    "defined at line %d)",
                    ref, m->stages[cur].name ? m->stages[cur].name : "", m->stages[later].from->line);
      df_ast_locate (ast, err, in->line, col);
      return -2;
    }
  /* Not a stage: docker takes it as an image.  A bare name one typo away from a
   * stage is almost certainly a mistake, so say so instead of pulling an image. */
  if (strpbrk (ref, ":/@.") == NULL)
    for (size_t i = 0; i < m->n_stages; i++)
      if (m->stages[i].name && edit_distance (ref, m->stages[i].name) <= 2)
        {
          kiln_err_set (err, KILN_EPARSE, "unknown stage \"%s\" (did you mean \"%s\"%s?)", ref, m->stages[i].name,
                        i >= cur ? ", which is defined after this one" : "");
          df_ast_locate (ast, err, in->line, col);
          return -2;
        }
  return -1;
}

/* A --from reference inside a stage: its ARGs and ENVs so far, then the global ARGs. */
static char *
expand_ref (const struct stage_model *m, const struct stage_state *scope, const char *word, struct kiln_err *err)
{
  struct envmap vars = ENVMAP_INIT;
  envmap_copy (&vars, &m->meta_env);
  for (size_t i = 0; i < scope->args.n; i++)
    envmap_set (&vars, scope->args.keys[i], scope->args.values[i]);
  struct shell_env env = {&scope->env, &vars};
  char *r = shell_expand_word (word, m->ast->escape, &env, err);
  envmap_free (&vars);
  return r;
}

static int
check_syntax_directive (const struct df_ast *ast, struct kiln_err *err)
{
  const char *s = ast->syntax;
  if (s == NULL)
    return 0;
  /* [docker.io/]docker/dockerfile[-upstream][:1[.x[.y]][-labs]][@sha256:...] is kiln's own front end. */
  const char *p = s;
  if (strncmp (p, "docker.io/", 10) == 0)
    p += 10;
  bool ok = false;
  if (strncmp (p, "docker/dockerfile", 17) == 0)
    {
      p += 17;
      if (strncmp (p, "-upstream", 9) == 0)
        p += 9;
      ok = true;
      if (*p == ':')
        {
          p++;
          ok = *p == '1';
          if (ok)
            {
              p++;
              while (*p == '.' && isdigit ((unsigned char) p[1]))
                {
                  p++;
                  while (isdigit ((unsigned char) *p))
                    p++;
                }
              if (strncmp (p, "-labs", 5) == 0)
                p += 5;
            }
        }
      if (ok && *p == '@')
        p = p + strlen (p);
      ok = ok && *p == '\0';
    }
  if (ok)
    return 0;
  kiln_err_set (err, KILN_EPARSE,
                "# syntax=%s: kiln cannot run external front ends; use docker/dockerfile:1 (kiln's own) or "
                "remove the directive",
                s);
  size_t len;
  const char *line = df_ast_line (ast, ast->syntax_line, &len);
  kiln_err_locate (err, ast->file, ast->syntax_line, 1, line, len);
  return -1;
}

const char *
stages_named_context (const struct stage_model *m, const char *ref)
{
  if (m->named == NULL || m->named->n == 0 || ref == NULL)
    return NULL;
  _cleanup_free_ char *lower = xstrdup (ref);
  for (char *p = lower; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  return envmap_get (m->named, lower, strlen (lower));
}

static struct stage_model *
model_new (const struct df_ast *ast, const struct build_opts *o)
{
  struct stage_model *m = xcalloc (1, sizeof *m);
  m->ast = ast;
  m->named = o->named_contexts;
  return m;
}

/* A FROM's base: the image a --build-context gives for it, else as written. */
static const char *
base_of (const struct stage_model *m, const char *ref)
{
  const char *named = stages_named_context (m, ref);
  return named ? named : ref;
}

/* --build-arg K=V, or K alone to take V from kiln's own environment (as docker). */
static int
take_build_args (struct stage_model *m, const struct build_opts *o, struct kiln_err *err)
{
  if (o->build_args == NULL)
    return 0;
  for (size_t i = 0; i < o->build_args->n; i++)
    {
      const char *a = o->build_args->v[i];
      const char *eq = strchr (a, '=');
      if (eq == a)
        return kiln_err_set (err, KILN_EUSAGE, "invalid --build-arg \"%s\": use NAME=VALUE", a);
      if (eq)
        envmap_setn (&m->build_args, a, (size_t) (eq - a), eq + 1);
      else if (getenv (a))
        envmap_set (&m->build_args, a, getenv (a));
    }
  return 0;
}

/* The global ARGs: only ARG may come before the first FROM.  The index of that
 * FROM, or -1. */
static long
read_global_args (struct stage_model *m, struct kiln_err *err)
{
  const struct df_ast *ast = m->ast;
  size_t i = 0;
  for (; i < ast->n_nodes; i++)
    {
      const struct df_node *n = &ast->nodes[i];
      if (strcasecmp (n->keyword, "FROM") == 0)
        break;
      struct inst *in = inst_from_node (ast, n, err);
      if (in == NULL)
        return -1;
      if (in->kind != I_ARG)
        {
          inst_free (in);
          kiln_err_set (err, KILN_EPARSE, "%s before the first FROM: only ARG may come before FROM", n->keyword);
          df_ast_locate (ast, err, n->start_line, df_ast_find_col (ast, n->start_line, n->keyword));
          return -1;
        }
      m->meta = xrealloc (m->meta, (m->n_meta + 1) * sizeof *m->meta);
      m->meta[m->n_meta++] = in;
      struct shell_env env = {&m->meta_env, NULL};
      struct inst *ex = expand_arg (m, in, &env, err);
      if (ex == NULL)
        return -1;
      for (size_t k = 0; k < ex->n_kvs; k++)
        {
          const char *key = ex->kvs[k].key;
          const char *bv = envmap_get (&m->build_args, key, strlen (key));
          const char *v = bv ? bv : ex->kvs[k].value;
          if (v)
            envmap_set (&m->meta_env, key, v);
        }
      inst_free (ex);
    }
  if (i == ast->n_nodes)
    {
      kiln_err_set (err, KILN_EPARSE, "dockerfile contains no stages to build: there is no FROM");
      df_ast_locate (ast, err, ast->nodes[0].start_line, 1);
      return -1;
    }
  return (long) i;
}

/* The stages from node `i` (a FROM) on: each FROM expanded with the global ARGs,
 * the instructions after it its own. */
static int
read_stages (struct stage_model *m, size_t i, struct kiln_err *err)
{
  const struct df_ast *ast = m->ast;
  size_t stages_cap = 0;
  for (; i < ast->n_nodes; i++)
    {
      const struct df_node *n = &ast->nodes[i];
      struct inst *in = inst_from_node (ast, n, err);
      if (in == NULL)
        return -1;
      if (in->kind == I_FROM)
        {
          struct shell_env env = {&m->meta_env, NULL};
          struct inst *ex = inst_expand (ast, in, &env, err);
          inst_free (in);
          if (ex == NULL)
            return -1;
          m->stages = xgrow (m->stages, &stages_cap, m->n_stages + 1, sizeof *m->stages);
          struct stage *s = &m->stages[m->n_stages];
          memset (s, 0, sizeof *s);
          s->index = (int) m->n_stages;
          s->from = ex;
          s->base = base_of (m, ex->args.v[0]); /* a named context wins over a stage */
          s->base_stage = -1;
          if (ex->stage_name)
            {
              int dup = find_stage (m, m->n_stages, ex->stage_name);
              if (dup >= 0)
                {
                  kiln_err_set (err, KILN_EPARSE, "duplicate stage name \"%s\" (first used at line %d)",
                                ex->stage_name, m->stages[dup].from->line);
                  df_ast_locate (ast, err, n->start_line, df_ast_find_col (ast, n->start_line, n->args.v[2]));
                  m->n_stages++;
                  return -1;
                }
              s->name = xstrdup (ex->stage_name);
            }
          m->n_stages++;
          continue;
        }
      struct stage *s = &m->stages[m->n_stages - 1];
      s->insts = xrealloc (s->insts, (s->n_insts + 1) * sizeof *s->insts);
      s->insts[s->n_insts++] = in;
    }
  return 0;
}

/* Stage si's FROM: scratch, an earlier stage (a later one is refused) or an image. */
static int
link_base (struct stage_model *m, size_t si, struct kiln_err *err)
{
  struct stage *s = &m->stages[si];
  if (strcasecmp (s->base, "scratch") == 0)
    {
      s->scratch = true;
      return 0;
    }
  int b = find_stage (m, si, s->base);
  if (b < 0 && find_stage (m, m->n_stages, s->base) >= 0)
    {
      kiln_err_set (err, KILN_EPARSE,
                    "FROM %s: stage \"%s\" is defined after this one: a stage can only build on stages "
                    "before it",
                    s->base, s->base);
      df_ast_locate (m->ast, err, s->from->line, df_ast_find_col (m->ast, s->from->line, s->base));
      return -1;
    }
  s->base_stage = b;
  if (b >= 0)
    add_dep (s, b);
  return 0;
}

/* The stages stage si's COPY --from and RUN --mount from= name.  A reference may
 * name an ARG the stage declared before it (BuildKit expands --from in the stage's
 * scope): the stage's ARGs and ENVs so far, then the global ARGs. */
static int
link_refs (struct stage_model *m, size_t si, struct stage_state *scope, struct kiln_err *err)
{
  struct stage *s = &m->stages[si];
  for (size_t k = 0; k < s->n_insts; k++)
    {
      const struct inst *in = s->insts[k];
      const char *refs[64];
      size_t nrefs = 0;
      if (in->kind == I_ARG || in->kind == I_ENV)
        {
          struct inst *ex = stage_step (m, scope, in, err);
          if (ex == NULL)
            return -1;
          inst_free (ex);
          continue;
        }
      if ((in->kind == I_COPY || in->kind == I_ADD) && in->from)
        refs[nrefs++] = in->from;
      if (in->kind == I_RUN)
        for (size_t mi = 0; mi < in->n_mounts && nrefs < 64; mi++)
          if (in->mounts[mi].from)
            refs[nrefs++] = in->mounts[mi].from;
      for (size_t r = 0; r < nrefs; r++)
        {
          _cleanup_free_ char *ref = expand_ref (m, scope, refs[r], err);
          if (ref == NULL)
            {
              df_ast_locate (m->ast, err, in->line, df_ast_find_col (m->ast, in->line, refs[r]));
              return -1;
            }
          int d = resolve_ref (m, si, ref, in, err);
          if (d == -2)
            return -1;
          if (d >= 0)
            add_dep (s, d);
        }
    }
  return 0;
}

/* The target (--target, else the last stage) and every stage it needs. */
static int
mark_needed (struct stage_model *m, const struct build_opts *o, struct kiln_err *err)
{
  m->target = (int) m->n_stages - 1;
  if (o->target)
    {
      m->target = find_stage (m, m->n_stages, o->target);
      if (m->target < 0)
        {
          const char *best = NULL;
          size_t best_d = 3;
          for (size_t k = 0; k < m->n_stages; k++)
            if (m->stages[k].name && edit_distance (o->target, m->stages[k].name) < best_d)
              best_d = edit_distance (o->target, m->stages[k].name), best = m->stages[k].name;
          if (best)
            return kiln_err_set (err, KILN_EUSAGE, "target stage \"%s\" could not be found (did you mean \"%s\"?)",
                                 o->target, best);
          return kiln_err_set (err, KILN_EUSAGE, "target stage \"%s\" could not be found in %s", o->target,
                               m->ast->file);
        }
    }
  /* Dependencies always point to earlier stages, so one backward pass suffices. */
  m->stages[m->target].needed = true;
  for (size_t k = (size_t) m->target + 1; k-- > 0;)
    if (m->stages[k].needed)
      for (size_t d = 0; d < m->stages[k].n_deps; d++)
        m->stages[m->stages[k].deps[d]].needed = true;
  return 0;
}

/* Build args nothing declares: docker warns, so do we. */
static void
warn_undeclared_args (struct stage_model *m)
{
  struct envmap declared = ENVMAP_INIT;
  for (size_t mi = 0; mi < m->n_meta; mi++)
    for (size_t kv = 0; kv < m->meta[mi]->n_kvs; kv++)
      envmap_set (&declared, m->meta[mi]->kvs[kv].key, "");
  for (size_t si = 0; si < m->n_stages; si++)
    if (m->stages[si].needed)
      for (size_t j = 0; j < m->stages[si].n_insts; j++)
        if (m->stages[si].insts[j]->kind == I_ARG)
          for (size_t kv = 0; kv < m->stages[si].insts[j]->n_kvs; kv++)
            envmap_set (&declared, m->stages[si].insts[j]->kvs[kv].key, "");
  for (size_t k = 0; k < m->build_args.n; k++)
    {
      const char *key = m->build_args.keys[k];
      if (is_predefined_arg (key) || envmap_get (&declared, key, strlen (key)))
        continue;
      struct buf w = BUF_INIT;
      buf_printf (&w, "build-arg %s was given but no ARG in the stages built declares it", key);
      strv_push_owned (&m->warnings, buf_steal (&w));
    }
  envmap_free (&declared);
}

struct stage_model *
stages_resolve (const struct df_ast *ast, const struct build_opts *o, struct kiln_err *err)
{
  _cleanup_ (model_freep) struct stage_model *m = model_new (ast, o);
  if (check_syntax_directive (ast, err) < 0 || take_build_args (m, o, err) < 0)
    return NULL;
  const char *target_plat = o->platform ? o->platform : host_platform ();
  if (platform_args ("TARGET", target_plat, &m->platform_args, err) < 0
      || platform_args ("BUILD", host_platform (), &m->platform_args, err) < 0)
    return NULL;
  envmap_copy (&m->meta_env, &m->platform_args);
  long first_from = read_global_args (m, err);
  if (first_from < 0 || read_stages (m, (size_t) first_from, err) < 0)
    return NULL;
  /* References between stages. */
  for (size_t si = 0; si < m->n_stages; si++)
    {
      if (link_base (m, si, err) < 0)
        return NULL;
      struct stage_state scope;
      stage_state_init (&scope, NULL);
      int r = link_refs (m, si, &scope, err);
      stage_state_clear (&scope);
      if (r < 0)
        return NULL;
    }
  if (mark_needed (m, o, err) < 0)
    return NULL;
  warn_undeclared_args (m);
  return steal_pointer (&m);
}

/* ---------- running a stage ---------- */

void
stage_state_init (struct stage_state *st, const struct envmap *base_env)
{
  memset (st, 0, sizeof *st);
  if (base_env)
    envmap_copy (&st->env, base_env);
}

void
stage_state_clear (struct stage_state *st)
{
  envmap_free (&st->env);
  envmap_free (&st->args);
}

/* The value a stage's `ARG key` (without a default) takes. */
static const char *
arg_value (const struct stage_model *m, const char *key, const char *dflt)
{
  size_t kl = strlen (key);
  const char *v = envmap_get (&m->build_args, key, kl);
  if (v)
    return v;
  if (dflt)
    return dflt;
  /* A global ARG or an automatic platform ARG comes into scope. */
  for (size_t mi = 0; mi < m->n_meta; mi++)
    for (size_t kv = 0; kv < m->meta[mi]->n_kvs; kv++)
      if (strcmp (m->meta[mi]->kvs[kv].key, key) == 0)
        return envmap_get (&m->meta_env, key, kl);
  v = envmap_get (&m->platform_args, key, kl);
  if (v == NULL && strcmp (key, "TARGETSTAGE") == 0)
    {
      const struct stage *t = &m->stages[m->target];
      v = t->name ? t->name : "default";
    }
  return v;
}

struct inst *
stage_step (const struct stage_model *m, struct stage_state *st, const struct inst *in, struct kiln_err *err)
{
  /* ENV wins over ARG of the same name. */
  struct shell_env env = {&st->env, &st->args};
  struct inst *ex = in->kind == I_ARG ? expand_arg (m, in, &env, err) : inst_expand (m->ast, in, &env, err);
  if (ex == NULL)
    return NULL;
  if (ex->kind == I_ENV)
    for (size_t k = 0; k < ex->n_kvs; k++)
      envmap_set (&st->env, ex->kvs[k].key, ex->kvs[k].value);
  else if (ex->kind == I_ARG)
    for (size_t k = 0; k < ex->n_kvs; k++)
      {
        const char *v = arg_value (m, ex->kvs[k].key, ex->kvs[k].value);
        if (v == NULL)
          continue;
        /* Record the value in the expanded instruction: it is what the build uses. */
        char *dup = xstrdup (v);
        envmap_set (&st->args, ex->kvs[k].key, dup);
        free (ex->kvs[k].value);
        ex->kvs[k].value = dup;
      }
  return ex;
}

int
stages_render (const struct stage_model *m, struct buf *out, struct kiln_err *err)
{
  const struct stage *t = &m->stages[m->target];
  if (t->name)
    buf_printf (out, "# target: %s\n", t->name);
  else
    buf_printf (out, "# target: %d\n", t->index);
  buf_printf (out, "# platform: %s (build: %s)\n", envmap_get (&m->platform_args, "TARGETPLATFORM", 14),
              envmap_get (&m->platform_args, "BUILDPLATFORM", 13));
  for (size_t i = 0; i < m->n_meta; i++)
    {
      for (size_t k = 0; k < m->meta[i]->n_kvs; k++)
        {
          const char *key = m->meta[i]->kvs[k].key;
          const char *v = envmap_get (&m->meta_env, key, strlen (key));
          buf_printf (out, "# global ARG %s", key);
          if (v)
            {
              buf_putc (out, '=');
              utf8_go_quote (out, v, strlen (v));
            }
          buf_putc (out, '\n');
        }
    }
  /* The final environment of each stage, for stages built on stages. */
  struct envmap *final_env = xcalloc (m->n_stages, sizeof *final_env);
  int ret = 0;
  for (size_t si = 0; si < m->n_stages && ret == 0; si++)
    {
      const struct stage *s = &m->stages[si];
      if (!s->needed)
        continue;
      buf_printf (out, "stage %d %s: ", s->index, s->name ? s->name : "-");
      inst_render (s->from, out);
      if (s->scratch)
        buf_puts (out, " (scratch)\n");
      else if (s->base_stage >= 0)
        buf_printf (out, " (stage %d)\n", s->base_stage);
      else
        buf_puts (out, " (image)\n");
      struct stage_state st;
      stage_state_init (&st, s->base_stage >= 0 ? &final_env[s->base_stage] : NULL);
      for (size_t k = 0; k < s->n_insts; k++)
        {
          struct inst *ex = stage_step (m, &st, s->insts[k], err);
          if (ex == NULL)
            {
              ret = -1;
              break;
            }
          buf_printf (out, "  %d: ", ex->line);
          inst_render (ex, out);
          buf_putc (out, '\n');
          inst_free (ex);
        }
      final_env[si] = st.env;
      memset (&st.env, 0, sizeof st.env);
      stage_state_clear (&st);
    }
  for (size_t si = 0; si < m->n_stages; si++)
    envmap_free (&final_env[si]);
  free (final_env);
  return ret;
}
