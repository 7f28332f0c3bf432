/* frontend/df_driver.c — the Dockerfile driving the solver (frontend/df_driver.h). */
#include "frontend/df_driver.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "frontend/inst_config.h"
#include "frontend/to_graph.h"
#include "frontend/to_ops.h"
#include "image/config.h"
#include "solver/solve.h"
#include "util/cleanup.h"
#include "util/envmap.h"
#include "util/utf8.h"

/* The step failed: progress says so, and the error points at its line (unless
 * something deeper placed it already). */
static int
step_fail_located (struct df_driver *d, struct solve_stage *s, const struct inst *in)
{
  struct kiln_err *err = solve_err (s);
  solve_step_failed (s);
  if (err->line == 0 && in->node)
    {
      int col = df_ast_find_col (d->ast, in->line, in->node->keyword);
      df_ast_locate (d->ast, err, in->line, col);
    }
  return -1;
}

/* The converter's resolver (frontend/to_ops.h): a stage of this build before
 * stage si, a --build-context image, or an image. */
struct resolve_ud
{
  struct df_driver *d;
  struct solve_stage *s;
  size_t si;
};

static int
resolve_input (void *ud, const struct inst *in, struct op_input *from)
{
  struct resolve_ud *r = ud;
  const struct stage_model *m = r->d->m;
  const char *ref = from->ref;
  const char *named = stages_named_context (m, ref);
  if (named)
    ref = named; /* --build-context: an image, even where a stage had the name */
  bool numeric = named == NULL && *ref != '\0';
  for (const char *p = ref; *p; p++)
    numeric &= isdigit ((unsigned char) *p) != 0;
  int idx = -1;
  if (numeric)
    idx = atoi (ref);
  else if (named == NULL)
    for (size_t i = 0; i < r->si; i++)
      if (m->stages[i].name && strcasecmp (m->stages[i].name, ref) == 0)
        idx = (int) i;
  if (idx >= 0 && (size_t) idx < r->si)
    return solve_input_stage (r->s, (size_t) idx, &from->lowers, from->key);
  if (solve_input_image (r->s, ref, &from->lowers, from->key) < 0)
    return step_fail_located (r->d, r->s, in);
  return 0;
}

static int
allowed_input (void *ud, const struct exec_op *op)
{
  struct resolve_ud *r = ud;
  return solve_exec_allowed (r->s, op);
}

/* RUN, COPY and ADD: turned into their op (frontend/to_ops.h), then run. */
static int
op_step (struct df_driver *d, struct solve_stage *s, size_t si, struct stage_state *ss, const struct inst *in,
         const char *label)
{
  struct step_desc desc = {.label = label, .written = inst_as_written (in), .args = &ss->args};
  struct resolve_ud ud = {d, s, si};
  struct op_convert c = {.m = d->m, .ss = ss, .config = solve_config (s), .escape = d->ast->escape,
                         .resolve = resolve_input, .allowed = allowed_input, .ud = &ud, .err = solve_err (s)};
  int r;
  if (in->kind == I_RUN)
    {
      struct exec_op op = {0};
      r = inst_to_exec_op (&c, in, &op);
      if (r == 0)
        r = solve_exec (s, &op, &desc);
      exec_op_clear (&op);
      return r;
    }
  struct file_op op = {0};
  r = inst_to_file_op (&c, in, &op);
  if (r == 0)
    r = solve_file (s, &op, &desc);
  file_op_clear (&op);
  return r;
}

/* A step that changes only the config: recorded with its history text. */
static int
config_step (struct solve_stage *s, struct stage_state *ss, const struct inst *ex, bool chain, bool in_history)
{
  _cleanup_free_ char *cb = inst_created_by (ex);
  return solve_config_step (s, cb, inst_as_written (ex), &ss->args, chain, in_history);
}

static int
run_instruction (struct df_driver *d, struct solve_stage *s, size_t si, struct stage_state *ss,
                 const struct inst *raw, const char *label, bool *cmd_set)
{
  struct kiln_err *err = solve_err (s);
  struct inst *ex = stage_step (d->m, ss, raw, err);
  if (ex == NULL)
    return -1;
  json_t *config = solve_config (s);
  int r = 0;
  switch (ex->kind)
    {
    case I_RUN:
    case I_COPY:
    case I_ADD:
      r = op_step (d, s, si, ss, ex, label);
      break;
    case I_ARG:
      /* ARG changes no config and stays out of the key chain (its values are part of later
       * keys through RUN's env); BuildKit records "ARG k=v" in the history (dispatchArg). */
      r = config_step (s, ss, ex, false, true);
      break;
    case I_WORKDIR:
      solve_step_start (s, label);
      if (inst_config_apply (config, ex, err) < 0)
        r = -1;
      else
        {
          _cleanup_free_ char *created_by = inst_created_by (ex);
          r = solve_workdir (s, inst_as_written (ex), created_by);
        }
      break;
    case I_FROM:
      break;
    default:
      if (ex->kind == I_ENTRYPOINT && !*cmd_set)
        json_object_del (json_object_get (config, "config"), "Cmd"); /* omitempty, as BuildKit */
      if (ex->kind == I_CMD)
        *cmd_set = true;
      if (inst_config_apply (config, ex, err) < 0)
        {
          r = -1;
          break;
        }
      if (ex->kind == I_CMD) /* as BuildKit's dispatchCmd, shell or exec form */
        json_object_set_new (json_object_get (config, "config"), "ArgsEscaped", json_true ());
      /* Config steps are part of the chain: the same layers with another CMD are another
       * image.  ONBUILD only adds its trigger to the config (BuildKit's dispatchOnbuild). */
      r = config_step (s, ss, ex, true, ex->kind != I_ONBUILD);
      break;
    }
  /* Whatever failed in the step (making its snapshot, mounting its layers) names its line. */
  if (r < 0)
    step_fail_located (d, s, ex);
  inst_free (ex);
  return r;
}

/* The base image's ONBUILD triggers, run first (and dropped from the config). */
static int
run_onbuild (struct df_driver *d, struct solve_stage *s, size_t si, struct stage_state *ss, bool hidden)
{
  json_t *config = solve_config (s);
  json_t *ob = json_object_get (json_object_get (config, "config"), "OnBuild");
  if (!json_is_array (ob) || json_array_size (ob) == 0)
    return 0;
  json_t *triggers = json_deep_copy (ob);
  json_object_del (json_object_get (config, "config"), "OnBuild");
  int ret = 0;
  size_t i;
  json_t *t;
  json_array_foreach (triggers, i, t)
  {
    const char *text = json_string_value (t);
    if (!text)
      continue;
    struct df_ast *ast = df_parse ("ONBUILD", text, strlen (text), solve_err (s));
    if (ast == NULL)
      {
        ret = -1;
        break;
      }
    struct df_ast *saved = d->ast;
    for (size_t n = 0; n < ast->n_nodes && ret == 0; n++)
      {
        struct inst *in = inst_from_node (ast, &ast->nodes[n], solve_err (s));
        if (in == NULL)
          {
            ret = -1;
            break;
          }
        d->ast = ast;
        struct buf label = BUF_INIT;
        buf_printf (&label, "[%s onbuild] %s", d->m->stages[si].name ? d->m->stages[si].name : "stage", text);
        solve_step_next (s, hidden);
        bool cmd_set = false;
        /* Expansion uses the stage model's AST for positions, but the trigger's own text. */
        struct stage_model *m = d->m;
        const struct df_ast *mast = m->ast;
        m->ast = ast;
        ret = run_instruction (d, s, si, ss, in, buf_str (&label), &cmd_set);
        m->ast = mast;
        d->ast = saved;
        buf_free (&label);
        inst_free (in);
      }
    df_ast_free (ast);
    if (ret < 0)
      break;
  }
  json_decref (triggers);
  return ret;
}

/* The stage's state starts from its base image's environment. */
static void
state_from_config (struct stage_state *ss, const json_t *config)
{
  struct envmap base_env = ENVMAP_INIT;
  json_t *env = config_env (config);
  size_t i;
  json_t *v;
  json_array_foreach (env, i, v)
  {
    const char *e = json_string_value (v);
    const char *eq = e ? strchr (e, '=') : NULL;
    if (eq)
      envmap_setn (&base_env, e, (size_t) (eq - e), eq + 1);
  }
  stage_state_init (ss, &base_env);
  envmap_free (&base_env);
}

static int
run_steps (void *ud, struct solve_stage *s, size_t si, size_t upto, size_t shown)
{
  struct df_driver *d = ud;
  const struct stage *st = &d->m->stages[si];
  struct stage_state ss;
  state_from_config (&ss, solve_config (s));
  int ret = run_onbuild (d, s, si, &ss, shown > 0);
  char namebuf[64];
  if (st->name == NULL)
    snprintf (namebuf, sizeof namebuf, "stage-%d", st->index);
  size_t total = st->n_insts + 1;
  bool cmd_set = false;
  for (size_t k = 0; k < upto && k < st->n_insts && ret == 0; k++)
    {
      const struct inst *in = st->insts[k];
      if ((ret = solve_interrupted (s)) < 0)
        break;
      solve_step_next (s, k < shown);
      struct buf label = BUF_INIT;
      const char *orig = in->node->original;
      orig += utf8_space_prefix (orig, strlen (orig));
      buf_printf (&label, "[%s %zu/%zu] %.200s", st->name ? st->name : namebuf, k + 2, total, orig);
      ret = run_instruction (d, s, si, &ss, in, buf_str (&label), &cmd_set);
      buf_free (&label);
    }
  stage_state_clear (&ss);
  return ret;
}

static void
locate_base (void *ud, size_t si, struct kiln_err *err)
{
  struct df_driver *d = ud;
  const struct inst *from = d->m->stages[si].from;
  df_ast_locate (d->ast, err, from->line, df_ast_find_col (d->ast, from->line, from->node->args.v[0]));
}

/* The Dockerfile (-f, else CONTEXT/Dockerfile, else CONTEXT/dockerfile) and its stages. */
static struct graph_def *
load (void *ud, struct strv *warnings, char **ignore_for, struct kiln_err *err)
{
  struct df_driver *d = ud;
  const struct build_request *rq = d->rq;
  _cleanup_free_ char *df_path = NULL;
  if (rq->dockerfile_text)
    d->ast = df_parse ("Dockerfile", rq->dockerfile_text, strlen (rq->dockerfile_text), err);
  else
    {
      if (rq->dockerfile)
        df_path = xstrdup (rq->dockerfile);
      else
        {
          struct buf p = BUF_INIT;
          buf_printf (&p, "%s/Dockerfile", rq->context);
          if (access (buf_str (&p), F_OK) < 0)
            {
              buf_reset (&p);
              buf_printf (&p, "%s/dockerfile", rq->context);
            }
          df_path = buf_steal (&p);
        }
      d->ast = df_parse_file (df_path, err);
    }
  if (d->ast == NULL)
    return NULL;
  struct build_opts opts = {.target = rq->target, .build_args = rq->build_args, .platform = rq->platform,
                            .named_contexts = rq->named_contexts};
  d->m = stages_resolve (d->ast, &opts, err);
  if (d->m == NULL)
    return NULL;
  for (size_t i = 0; i < d->m->warnings.n; i++)
    strv_push (warnings, d->m->warnings.v[i]);
  *ignore_for = df_path;
  df_path = NULL;
  return stages_to_graph (d->m);
}

void
df_driver_init (struct df_driver *d, const struct build_request *rq, struct build_frontend *fe)
{
  *d = (struct df_driver){.rq = rq};
  *fe = (struct build_frontend){.load = load, .run_steps = run_steps, .locate_base = locate_base, .ud = d};
}

void
df_driver_clear (struct df_driver *d)
{
  stages_free (d->m);
  df_ast_free (d->ast);
  d->m = NULL;
  d->ast = NULL;
}
