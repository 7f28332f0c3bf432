/* solver/build.c — the build: stages in order, steps cached by content. */
#include "solver/build.h"
#include "solver/builder.h"
#include "solver/op_solve.h"
#include "solver/ttyview.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context/ctxscan.h"
#include "context/ignore.h"
#include "frontend/inst_config.h"
#include "frontend/parser.h"
#include "frontend/to_ops.h"
#include "image/config.h"
#include "image/image.h"
#include "image/layers.h"
#include "store/snapshots.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/envmap.h"
#include "util/outfile.h"
#include "util/path.h"
#include "util/utf8.h"
#include "worker/fileop.h"

/* ---------- interruption ---------- */

/* Ctrl-C or SIGTERM: the running step gets the signal (the sandbox passes it
 * on); between steps the build stops at the next one and cleans up like any
 * failure, so the store never keeps half a step. */
volatile sig_atomic_t build_interrupted;

static void
on_interrupt (int sig)
{
  build_interrupted = sig;
}

/* ---------- steps ---------- */

static int step_fail_located (struct builder *b, const struct inst *in)
{
  step_error (b, b->err->msg ? b->err->msg : "failed");
  if (b->err->line == 0 && in->node)
    {
      int col = df_ast_find_col (b->ast, in->line, in->node->keyword);
      df_ast_locate (b->ast, b->err, in->line, col);
    }
  return -1;
}


/* An image named by FROM, COPY --from or a mount's from=: from the store, or fetched
 * through the request's fetch_image when the store lacks it (always, with --pull). */
static int
resolve_base_image (struct builder *b, const char *ref, struct digest *id)
{
  const struct build_request *rq = b->rq;
  if (rq->fetch_image)
    {
      struct kiln_err probe = {0};
      bool have = image_resolve (b->st, ref, id, &probe) == 0;
      kiln_err_clear (&probe);
      if (have && !rq->pull)
        return 0;
      if (rq->fetch_image (rq->fetch_ud, b->st, ref, rq->stage.platform, b->err) < 0)
        return -1;
    }
  return image_resolve (b->st, ref, id, b->err);
}

static int
resolve_from (struct builder *b, size_t cur, const char *ref, const struct inst *in, struct strv *lowers,
              char key[static DIGEST_STR_LEN + 1])
{
  const char *named = stages_named_context (b->m, ref);
  if (named)
    ref = named; /* --build-context: an image, even where a stage had the name */
  bool numeric = named == NULL && *ref != '\0';
  for (const char *p = ref; *p; p++)
    numeric &= isdigit ((unsigned char) *p) != 0;
  int idx = -1;
  if (numeric)
    idx = atoi (ref);
  else if (named == NULL)
    for (size_t i = 0; i < cur; i++)
      if (b->m->stages[i].name && strcasecmp (b->m->stages[i].name, ref) == 0)
        idx = (int) i;
  if (idx >= 0 && (size_t) idx < cur)
    {
      memcpy (key, b->outs[idx].key, DIGEST_STR_LEN + 1);
      return lowers_of (b, &b->outs[idx].layers, lowers);
    }
  /* An image from the store. */
  struct digest id;
  struct image_info ii;
  if (resolve_base_image (b, ref, &id) < 0 || image_load (b->st, &id, &ii, b->err) < 0)
    return step_fail_located (b, in);
  struct layerlist l = {0};
  for (size_t i = 0; i < ii.n_layers; i++)
    layers_push (&l, &ii.layers[i].diff_id);
  image_info_clear (&ii);
  int r = lowers_of (b, &l, lowers);
  free (l.d);
  snprintf (key, DIGEST_STR_LEN + 1, "%s", id.str);
  return r;
}

/* The converter's resolver (frontend/to_ops.h): a stage of this build before
 * stage si, or an image. */
struct resolve_ud
{
  struct builder *b;
  size_t si;
};

static int
resolve_input (void *ud, const struct inst *in, struct op_input *from)
{
  struct resolve_ud *r = ud;
  return resolve_from (r->b, r->si, from->ref, in, &from->lowers, from->key);
}

static int
allowed_input (void *ud, const struct exec_op *op)
{
  struct resolve_ud *r = ud;
  return exec_allowed (r->b, op);
}

/* RUN, COPY and ADD: turned into their op (frontend/to_ops.h), then run. */
static int
op_step (struct builder *b, size_t si, struct stage_out *o, struct stage_state *ss, const struct inst *in,
         const char *label)
{
  struct step_desc d = {.label = label, .written = inst_as_written (in), .args = &ss->args};
  struct resolve_ud ud = {b, si};
  struct op_convert c = {.m = b->m, .ss = ss, .config = o->config, .escape = b->ast->escape, .resolve = resolve_input,
                         .allowed = allowed_input, .ud = &ud, .err = b->err};
  int r;
  if (in->kind == I_RUN)
    {
      struct exec_op op = {0};
      r = inst_to_exec_op (&c, in, &op);
      if (r == 0)
        r = exec_op_solve (b, o, &op, &d);
      exec_op_clear (&op);
      return r;
    }
  struct file_op op = {0};
  r = inst_to_file_op (&c, in, &op);
  if (r == 0)
    r = file_op_solve (b, o, &op, &d);
  file_op_clear (&op);
  return r;
}

/* WORKDIR makes its directory (owned by the current USER) when it is missing. */
static int
workdir_step (struct builder *b, struct stage_out *o, const struct inst *in, const char *label)
{
  _cleanup_free_ char *dir = config_workdir (o->config);
  _cleanup_free_ char *user = config_user (o->config);
  char key[DIGEST_STR_LEN + 1];
  _cleanup_buf_ struct buf mat = BUF_INIT;
  buf_printf (&mat, "mkdir\n%s\n%s", dir, user);
  key_of (o->key, buf_str (&mat), mat.len, key);
  step_note (b, o->key, key, inst_as_written (in), buf_str (&mat), mat.len, NULL);
  memcpy (o->key, key, sizeof key);
  _cleanup_free_ char *created_by = inst_created_by (in);
  /* BuildKit keeps a layer for every WORKDIR but `/` (dispatchWorkdir), empty or not. */
  bool keeps_layer = strcmp (dir, "/") != 0;
  if (step_cached (b, o, key, NULL, created_by, keeps_layer))
    return 0;
  struct step_dirs sd;
  struct fileop op = {.kind = FOP_MKDIR, .context_fd = -1};
  if (step_prepare (b, o, &sd, &op.lowers) < 0)
    {
      fileop_clear (&op);
      return -1;
    }
  op.store_root = store_root (b->st);
  op.upper = sd.upper;
  op.work = sd.work;
  op.merged = sd.merged;
  op.dest = dir;
  op.owner = user;
  int r = fileop_run (&op, b->err);
  op.dest = NULL;
  op.owner = NULL;
  fileop_clear (&op);
  if (r < 0)
    {
      snapshot_abort (&sd.sn);
      return step_fail_located (b, in);
    }
  (void) label;
  return step_commit (b, o, &sd, key, created_by, 0, false, keeps_layer);
}

/* ---------- stages ---------- */

static int run_instruction (struct builder *b, size_t si, struct stage_out *o, struct stage_state *ss,
                            const struct inst *raw, const char *label, bool *cmd_set);

static int
start_stage (struct builder *b, size_t si, struct stage_out *o, struct stage_state *ss)
{
  const struct stage *s = &b->m->stages[si];
  const char *plat = b->rq->stage.platform;
  if (s->scratch)
    {
      o->config = config_new_scratch (plat, b->now);
      snprintf (o->key, sizeof o->key, "%s", "scratch");
      key_of ("scratch", plat ? plat : host_platform (), strlen (plat ? plat : host_platform ()), o->key);
    }
  else if (s->base_stage >= 0)
    {
      struct stage_out *base = &b->outs[s->base_stage];
      o->config = json_deep_copy (base->config);
      for (size_t i = 0; i < base->layers.n; i++)
        layers_push (&o->layers, &base->layers.d[i]);
      memcpy (o->key, base->key, sizeof o->key);
    }
  else
    {
      struct digest id;
      struct image_info ii;
      if (resolve_base_image (b, s->base, &id) < 0)
        {
          if (b->rq->fetch_image)
            kiln_err_wrap (b->err, "FROM %s", s->base);
          else
            kiln_err_set (b->err, ENOENT,
                          "FROM %s: the image is not in the store; add it with kiln pull, kiln load or kiln import",
                          s->base);
          df_ast_locate (b->ast, b->err, s->from->line, df_ast_find_col (b->ast, s->from->line, s->from->node->args.v[0]));
          return -1;
        }
      if (image_load (b->st, &id, &ii, b->err) < 0)
        return -1;
      o->config = json_deep_copy (ii.config);
      for (size_t i = 0; i < ii.n_layers; i++)
        {
          layers_push (&o->layers, &ii.layers[i].diff_id);
          /* Loaded layers are unpacked at load time; be sure. */
          int found = snapshot_lookup (b->st, &ii.layers[i].diff_id, NULL, NULL, b->err);
          if (found != 1)
            {
              image_info_clear (&ii);
              return found < 0 ? -1 : kiln_err_set (b->err, ENOENT, "layer %s of %s has no snapshot", ii.layers[i].diff_id.str, s->base);
            }
        }
      image_info_clear (&ii);
      snprintf (o->key, sizeof o->key, "%s", id.str);
      stage_note_base (b, id.str, s->base);
    }
  /* A new image: its own creation time; history and layers carry on. */
  char ts[32];
  format_rfc3339 (b->now, ts);
  json_object_set_new (o->config, "created", json_string (ts));
  if (!json_is_object (json_object_get (o->config, "config")))
    json_object_set_new (o->config, "config", json_object ());
  struct envmap base_env = ENVMAP_INIT;
  json_t *env = config_env (o->config);
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
  return 0;
}

static int
run_onbuild (struct builder *b, size_t si, struct stage_out *o, struct stage_state *ss)
{
  json_t *ob = json_object_get (json_object_get (o->config, "config"), "OnBuild");
  if (!json_is_array (ob) || json_array_size (ob) == 0)
    return 0;
  json_t *triggers = json_deep_copy (ob);
  json_object_del (json_object_get (o->config, "config"), "OnBuild");
  int ret = 0;
  size_t i;
  json_t *t;
  json_array_foreach (triggers, i, t)
  {
    const char *text = json_string_value (t);
    if (!text)
      continue;
    struct df_ast *ast = df_parse ("ONBUILD", text, strlen (text), b->err);
    if (ast == NULL)
      {
        ret = -1;
        break;
      }
    struct df_ast *saved = b->ast;
    for (size_t n = 0; n < ast->n_nodes && ret == 0; n++)
      {
        struct inst *in = inst_from_node (ast, &ast->nodes[n], b->err);
        if (in == NULL)
          {
            ret = -1;
            break;
          }
        b->ast = ast;
        struct buf label = BUF_INIT;
        buf_printf (&label, "[%s onbuild] %s", b->m->stages[si].name ? b->m->stages[si].name : "stage", text);
        b->step++;
        bool cmd_set = false;
        /* Expansion uses the stage model's AST for positions, but the trigger's own text. */
        struct stage_model *m = b->m;
        const struct df_ast *mast = m->ast;
        m->ast = ast;
        ret = run_instruction (b, si, o, ss, in, buf_str (&label), &cmd_set);
        m->ast = mast;
        b->ast = saved;
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

/* A step that writes no layer: a cache record of its own (so its history time survives a
 * cached rebuild), its history entry when `in_history`, and the key chain moved on when
 * `chain`. */
static int
config_step_record (struct builder *b, struct stage_out *o, struct stage_state *ss, const struct inst *ex, bool chain,
                    bool in_history)
{
  char key[DIGEST_STR_LEN + 1];
  _cleanup_free_ char *cb = inst_created_by (ex);
  key_of (o->key, cb, strlen (cb), key);
  if (chain) /* what --explain compares with the last build's key of this step */
    step_note (b, o->key, key, inst_as_written (ex), cb, strlen (cb), &ss->args);
  int64_t when = b->now;
  _cleanup_free_ char *hit = cache_get (b, key, &when);
  if (hit == NULL && cache_put (b, key, "none") < 0)
    return -1;
  if (in_history)
    stage_history (b, o, cb, true, when);
  if (chain)
    memcpy (o->key, key, sizeof key);
  return 0;
}

static int
run_instruction (struct builder *b, size_t si, struct stage_out *o, struct stage_state *ss, const struct inst *raw,
                 const char *label, bool *cmd_set)
{
  struct inst *ex = stage_step (b->m, ss, raw, b->err);
  if (ex == NULL)
    return -1;
  int r = 0;
  switch (ex->kind)
    {
    case I_RUN:
    case I_COPY:
    case I_ADD:
      r = op_step (b, si, o, ss, ex, label);
      break;
    case I_ARG:
      /* ARG changes no config and stays out of the key chain (its values are part of later
       * keys through RUN's env); BuildKit records "ARG k=v" in the history (dispatchArg). */
      r = config_step_record (b, o, ss, ex, false, true);
      break;
    case I_WORKDIR:
      step_start (b, label);
      r = inst_config_apply (o->config, ex, b->err) < 0 ? -1 : workdir_step (b, o, ex, label);
      break;
    case I_FROM:
      break;
    default:
      {
        if (ex->kind == I_ENTRYPOINT && !*cmd_set)
          json_object_del (json_object_get (o->config, "config"), "Cmd"); /* omitempty, as BuildKit */
        if (ex->kind == I_CMD)
          *cmd_set = true;
        if (inst_config_apply (o->config, ex, b->err) < 0)
          {
            r = -1;
            break;
          }
        if (ex->kind == I_CMD) /* as BuildKit's dispatchCmd, shell or exec form */
          json_object_set_new (json_object_get (o->config, "config"), "ArgsEscaped", json_true ());
        /* Config steps are part of the chain: the same layers with another CMD are another
         * image.  ONBUILD only adds its trigger to the config (BuildKit's dispatchOnbuild). */
        r = config_step_record (b, o, ss, ex, true, ex->kind != I_ONBUILD);
        break;
      }
    }
  /* Whatever failed in the step (making its snapshot, mounting its layers) names its line. */
  if (r < 0)
    step_fail_located (b, ex);
  inst_free (ex);
  return r;
}

/* Builds the instructions [0, upto) of stage si; those before `shown` (and its
 * FROM, unless shown is 0) are replayed from the cache without a word: another
 * process built and printed them. */
int
build_stage_part (struct builder *b, size_t si, size_t upto, size_t shown)
{
  const struct stage *s = &b->m->stages[si];
  struct stage_out *o = &b->outs[si];
  struct stage_state ss;
  const char *sname = s->name ? s->name : "stage";
  b->cur_stage = si;
  b->slot_idx = 0;
  char namebuf[64];
  if (s->name == NULL)
    snprintf (namebuf, sizeof namebuf, "stage-%d", s->index);
  size_t total = s->n_insts + 1;
  bool quiet = b->quiet;
  b->quiet = quiet || shown > 0;
  b->step++;
  {
    struct buf from = BUF_INIT;
    buf_printf (&from, "[%s 1/%zu] FROM %s", s->name ? sname : namebuf, total, s->base);
    step_start (b, buf_str (&from));
    buf_free (&from);
  }
  if (start_stage (b, si, o, &ss) < 0)
    {
      step_error (b, b->err->msg ? b->err->msg : "failed");
      b->quiet = quiet;
      return -1;
    }
  step_end (b, false, 0, false);
  int ret = run_onbuild (b, si, o, &ss);
  bool cmd_set = false;
  for (size_t k = 0; k < upto && k < s->n_insts && ret == 0; k++)
    {
      const struct inst *in = s->insts[k];
      if (build_interrupted)
        {
          ret = kiln_err_set (b->err, EINTR, "interrupted (signal %d): the build stopped cleanly", (int) build_interrupted);
          break;
        }
      b->quiet = quiet || k < shown;
      b->step++;
      struct buf label = BUF_INIT;
      const char *orig = in->node->original;
      orig += utf8_space_prefix (orig, strlen (orig));
      buf_printf (&label, "[%s %zu/%zu] %.200s", s->name ? sname : namebuf, k + 2, total, orig);
      ret = run_instruction (b, si, o, &ss, in, buf_str (&label), &cmd_set);
      buf_free (&label);
    }
  b->quiet = quiet;
  stage_state_clear (&ss);
  o->built = ret == 0;
  return ret;
}

int
build_stage (struct builder *b, size_t si)
{
  return build_stage_part (b, si, b->m->stages[si].n_insts, 0);
}

/* Does stage s need stage d (itself included)? */
bool
depends_on (const struct stage_model *m, size_t s, size_t d)
{
  if (s == d)
    return true;
  for (size_t i = 0; i < m->stages[s].n_deps; i++)
    if (depends_on (m, (size_t) m->stages[s].deps[i], d))
      return true;
  return false;
}

/* Step numbers do not depend on which process prints them: stage s starts at
 * the sum of the steps of the needed stages before it. */
int
stage_step_base (const struct stage_model *m, size_t s)
{
  int base = 0;
  for (size_t k = 0; k < s; k++)
    if (m->stages[k].needed)
      base += (int) m->stages[k].n_insts + 1;
  return base;
}

/* Walks the needed stages in order; a stage marked in `prebuilt` (by the graph)
 * is all cache hits and says nothing. prebuilt may be NULL. */
int
walk_stages (struct builder *b, const bool *prebuilt)
{
  bool quiet = b->quiet;
  for (size_t si = 0; si < b->m->n_stages; si++)
    {
      if (!b->m->stages[si].needed)
        continue;
      int base = stage_step_base (b->m, si);
      if (b->step < base)
        b->step = base;
      b->quiet = quiet || (prebuilt && prebuilt[si]);
      int r = build_stage (b, si);
      b->quiet = quiet;
      if (r < 0)
        return -1;
    }
  return 0;
}

/* The Dockerfile (-f, else CONTEXT/Dockerfile, else CONTEXT/dockerfile), its
 * stages, and the context directory with its .dockerignore. */
static int
read_dockerfile (struct builder *b)
{
  const struct build_request *rq = b->rq;
  _cleanup_free_ char *df_path = NULL;
  if (rq->dockerfile_text)
    b->ast = df_parse ("Dockerfile", rq->dockerfile_text, strlen (rq->dockerfile_text), b->err);
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
      b->ast = df_parse_file (df_path, b->err);
    }
  if (b->ast == NULL)
    return -1;
  b->m = stages_resolve (b->ast, &rq->stage, b->err);
  if (b->m == NULL)
    return -1;
  for (size_t i = 0; i < b->m->warnings.n; i++)
    say (b, "warning: %s\n", b->m->warnings.v[i]);
  if (rq->context)
    {
      b->ctx_fd = open (rq->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (b->ctx_fd < 0)
        {
          kiln_err_set (b->err, errno, "build context %s: %s", rq->context, strerror (errno));
          return -1;
        }
      b->ctx_path = realpath (rq->context, NULL);
      _cleanup_free_ char *ign = context_ignore_path (rq->context, df_path);
      b->ignore = ignore_load (ign, true, b->err);
      if (b->ignore == NULL)
        return -1;
    }
  return 0;
}

/* The final image's config: --label added, and as new as its newest step (a
 * fully cached build gives the same image). */
static void
finish_config (struct builder *b, struct stage_out *fin)
{
  const struct build_request *rq = b->rq;
  /* --label adds to the final image's labels. */
  for (size_t i = 0; i < rq->labels.n; i++)
    {
      const char *eq = strchr (rq->labels.v[i], '=');
      _cleanup_free_ char *k = eq ? xstrndup (rq->labels.v[i], (size_t) (eq - rq->labels.v[i])) : xstrdup (rq->labels.v[i]);
      json_t *c = json_object_get (fin->config, "config");
      json_t *l = json_object_get (c, "Labels");
      if (!json_is_object (l))
        json_object_set_new (c, "Labels", l = json_object ());
      json_object_set_new (l, k, json_string (eq ? eq + 1 : ""));
    }
  /* The image is as new as its newest step: a fully cached build gives the same image. */
  if (!b->epoch_pinned)
    {
      int64_t newest = 0;
      size_t hi;
      json_t *h;
      json_array_foreach (json_object_get (fin->config, "history"), hi, h)
      {
        int64_t t = parse_rfc3339 (json_string_value (json_object_get (h, "created")) ?: "");
        if (t > newest)
          newest = t;
      }
      if (newest > 0)
        {
          char ts[32];
          format_rfc3339 (newest, ts);
          json_object_set_new (fin->config, "created", json_string (ts));
        }
    }
}

/* ---------- the whole build ---------- */

/* What makes the steps of this build the same steps as in the last build: the
 * context directory (its real path, read_dockerfile's), the Dockerfile and the
 * target.  NULL without a context. */
static char *
slot_ident (struct builder *b)
{
  if (b->rq->context == NULL)
    return NULL;
  const char *ctx = b->ctx_path;
  _cleanup_free_ char *df = b->rq->dockerfile ? realpath (b->rq->dockerfile, NULL) : NULL;
  struct buf id = BUF_INIT;
  buf_printf (&id, "%s\n%s\n%s", ctx ? ctx : b->rq->context,
              b->rq->dockerfile_text ? "-" : df ? df : b->rq->dockerfile ? b->rq->dockerfile : "Dockerfile",
              b->rq->stage.target ? b->rq->stage.target : "");
  return buf_steal (&id);
}

int
build_run (struct kiln_store *st, const struct build_request *rq, struct digest *id, struct kiln_err *err)
{
  struct builder b = {.st = st, .rq = rq, .ctx_fd = -1, .err = err};
  /* The sandbox's device cgroup is joined while the Dockerfile is read and the
   * context hashed (an OCI runtime brings its own). */
  if (rq->runtime == NULL)
    sandbox_warm_up ();
  b.now = store_now ();
  b.epoch_pinned = getenv ("SOURCE_DATE_EPOCH") && *getenv ("SOURCE_DATE_EPOCH");
  b.quiet = rq->progress == PROGRESS_QUIET;
  const char *term = getenv ("TERM");
  bool tty = rq->progress == PROGRESS_TTY
             || (rq->progress == PROGRESS_AUTO && isatty (STDERR_FILENO) && term && strcmp (term, "dumb") != 0);
  b.events_fd = rq->progress == PROGRESS_RAWJSON ? STDERR_FILENO : -1;
  int ret = -1;
  double t0 = now_s ();
  if (outputs_check (rq, err) < 0 || store_lock_shared (st, err) < 0)
    return -1;
  if (tty && !b.quiet && ttyview_start (&b.events_fd, &b.view_pid, err) < 0)
    return -1;
  build_interrupted = 0;
  struct sigaction sa, old_int, old_term;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, &old_int);
  sigaction (SIGTERM, &sa, &old_term);

  if (read_dockerfile (&b) < 0)
    goto out;
  b.slot_ident = slot_ident (&b);
  b.outs = xcalloc (b.m->n_stages, sizeof *b.outs);
  if (build_all_stages (&b) < 0)
    goto out;
  /* The image's layers must be recorded before the image is. */
  if (build_flush (&b, err) < 0)
    goto out;

  struct stage_out *fin = &b.outs[b.m->target];
  finish_config (&b, fin);
  struct image_layer *ls = xcalloc (fin->layers.n ? fin->layers.n : 1, sizeof *ls);
  uint64_t total = 0;
  for (size_t i = 0; i < fin->layers.n; i++)
    {
      ls[i].diff_id = fin->layers.d[i];
      ls[i].blob = fin->layers.d[i];
      snprintf (ls[i].media_type, sizeof ls[i].media_type, "%s", MT_OCI_LAYER);
      if (layer_size (st, &ls[i].diff_id, &ls[i].blob_size, err) < 0)
        {
          free (ls);
          goto out;
        }
      total += ls[i].blob_size;
    }
  int r = image_commit (st, fin->config, ls, fin->layers.n, &rq->tags, id, err);
  free (ls);
  if (r < 0)
    goto out;
  if (rq->output && export_output (&b, fin, id) < 0)
    goto out;
  if (rq->iidfile && outfile_put (rq->iidfile, id->str, strlen (id->str), err) < 0)
    {
      kiln_err_wrap (err, "--iidfile");
      goto out;
    }
  char size[32];
  format_size (total, size);
  if (b.events_fd >= 0)
    {
      /* BuildKit's last vertex, its notes the image and the names. */
      b.step++;
      step_start (&b, "exporting to image");
      step_status (&b, "writing image %s (%zu layers, %s)", id->str, fin->layers.n, size);
    }
  else
    say (&b, "#%d writing image %s (%zu layers, %s) done %.1fs\n", b.step + 1, id->str, fin->layers.n, size,
         now_s () - t0);
  for (size_t i = 0; i < rq->tags.n; i++)
    {
      _cleanup_free_ char *f = ref_familiar (rq->tags.v[i]);
      if (b.events_fd >= 0)
        step_status (&b, "naming to %s", f);
      else
        say (&b, "#%d naming to %s done\n", b.step + 1, f);
    }
  if (b.events_fd >= 0)
    step_end (&b, false, now_s () - t0, true);
  if (rq->cache_keys)
    {
      /* mode=min: the target and the stages it is FROM; mode=max: every stage. */
      bool *chain = xcalloc (b.m->n_stages ? b.m->n_stages : 1, sizeof *chain);
      for (int si = b.m->target; si >= 0; si = b.m->stages[si].base_stage)
        chain[si] = true;
      for (size_t i = 0; i < b.used_keys.n; i++)
        if (rq->cache_keys_all || chain[b.used_stage[i]])
          strv_push (rq->cache_keys, b.used_keys.v[i]);
      free (chain);
    }
  explain_finish (&b);
  ret = 0;
out:
  if (ret < 0)
    {
      /* What succeeded before the failure stays cached; the failure's own error is the one to report. */
      struct kiln_err ignored = {0};
      build_flush (&b, &ignored);
      kiln_err_clear (&ignored);
    }
  trash_empty (&b);
  /* The view's last frame, before the error (if any) is printed under it. */
  if (b.view_pid > 0)
    ttyview_stop (b.events_fd, b.view_pid);
  free (b.vtx_name);
  strv_free (&b.used_keys);
  free (b.used_stage);
  file_digests_free (b.digests);
  if (b.outs)
    for (size_t i = 0; i < b.m->n_stages; i++)
      {
        json_decref (b.outs[i].config);
        free (b.outs[i].layers.d);
      }
  free (b.outs);
  stages_free (b.m);
  df_ast_free (b.ast);
  ignore_free (b.ignore);
  context_selection_free (&b);
  if (b.ctx_fd >= 0)
    close (b.ctx_fd);
  free (b.ctx_path);
  envmap_free (&b.snapshot_ids);
  envmap_free (&b.pending_cache);
  envmap_free (&b.made);
  envmap_free (&b.infos);
  envmap_free (&b.pending_info);
  envmap_free (&b.pending_files);
  envmap_free (&b.slots);
  free (b.slot_ident);
  if (b.net_started)
    sandbox_net_stop (&b.net);
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  strv_free (&b.trigger_asts_text);
  return ret;
}
