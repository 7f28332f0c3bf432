/* solver/build.c — the build: stages in order, steps cached by content. */
#include "solver/build.h"
#include "solver/builder.h"
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
#include "image/config.h"
#include "image/platform.h"
#include "image/image.h"
#include "image/layers.h"
#include "store/snapshots.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/envmap.h"
#include "util/outfile.h"
#include "util/path.h"

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

/* An image named by FROM, COPY --from or a mount's from=: from the store, or fetched
 * through the request's fetch_image when the store lacks it (always, with --pull). */
int
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
      if (rq->fetch_image (rq->fetch_ud, b->st, ref, rq->platform, b->err) < 0)
        return -1;
    }
  return image_resolve (b->st, ref, id, b->err);
}

/* ---------- stages ---------- */

static int
start_stage (struct builder *b, size_t si, struct stage_out *o)
{
  const struct graph_stage *s = &b->def->stages[si];
  const char *plat = b->rq->platform;
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
          b->rq->frontend->locate_base (b->rq->frontend->ud, si, b->err);
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
  return 0;
}

/* Builds the steps [0, upto) of stage si: the solver starts it on its base, the
 * frontend runs its steps.  Those before `shown` (and its FROM, unless shown is 0)
 * are replayed from the cache without a word: another process built and printed them. */
int
build_stage_part (struct builder *b, size_t si, size_t upto, size_t shown)
{
  const struct graph_stage *s = &b->def->stages[si];
  struct stage_out *o = &b->outs[si];
  b->cur_stage = si;
  b->slot_idx = 0;
  bool quiet = b->quiet;
  b->quiet = quiet || shown > 0;
  b->step++;
  {
    struct buf from = BUF_INIT;
    if (s->name)
      buf_printf (&from, "[%s 1/%zu] FROM %s", s->name, s->n_steps + 1, s->base);
    else
      buf_printf (&from, "[stage-%zu 1/%zu] FROM %s", si, s->n_steps + 1, s->base);
    step_start (b, buf_str (&from));
    buf_free (&from);
  }
  if (start_stage (b, si, o) < 0)
    {
      step_error (b, b->err->msg ? b->err->msg : "failed");
      b->quiet = quiet;
      return -1;
    }
  step_end (b, false, 0, false);
  struct solve_stage ss = {.b = b, .o = o, .quiet = quiet};
  const struct build_frontend *fe = b->rq->frontend;
  int ret = fe->run_steps (fe->ud, &ss, si, upto, shown);
  b->quiet = quiet;
  o->built = ret == 0;
  return ret;
}

int
build_stage (struct builder *b, size_t si)
{
  return build_stage_part (b, si, b->def->stages[si].n_steps, 0);
}

/* Walks the needed stages in order; a stage marked in `prebuilt` (by the graph)
 * is all cache hits and says nothing. prebuilt may be NULL. */
int
walk_stages (struct builder *b, const bool *prebuilt)
{
  bool quiet = b->quiet;
  for (size_t si = 0; si < b->def->n_stages; si++)
    {
      if (!b->def->stages[si].needed)
        continue;
      int base = graph_def_step_base (b->def, si);
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

/* The build's stages (from the frontend) and the context directory with its
 * .dockerignore. */
static int
load_definition (struct builder *b)
{
  const struct build_request *rq = b->rq;
  _cleanup_free_ char *ignore_for = NULL;
  struct strv warnings = STRV_INIT;
  b->def = rq->frontend->load (rq->frontend->ud, &warnings, &ignore_for, b->err);
  for (size_t i = 0; i < warnings.n; i++)
    say (b, "warning: %s\n", warnings.v[i]);
  strv_free (&warnings);
  if (b->def == NULL)
    return -1;
  if (rq->context)
    {
      b->ctx_fd = open (rq->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (b->ctx_fd < 0)
        {
          kiln_err_set (b->err, errno, "build context %s: %s", rq->context, strerror (errno));
          return -1;
        }
      b->ctx_path = realpath (rq->context, NULL);
      _cleanup_free_ char *ign = context_ignore_path (rq->context, ignore_for);
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
              b->rq->target ? b->rq->target : "");
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

  if (load_definition (&b) < 0)
    goto out;
  b.slot_ident = slot_ident (&b);
  b.outs = xcalloc (b.def->n_stages, sizeof *b.outs);
  if (build_all_stages (&b) < 0)
    goto out;
  /* The image's layers must be recorded before the image is. */
  if (build_flush (&b, err) < 0)
    goto out;

  struct stage_out *fin = &b.outs[b.def->target];
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
      bool *chain = xcalloc (b.def->n_stages ? b.def->n_stages : 1, sizeof *chain);
      for (int si = (int) b.def->target; si >= 0; si = b.def->stages[si].base_stage)
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
  if (b.outs && b.def)
    for (size_t i = 0; i < b.def->n_stages; i++)
      {
        json_decref (b.outs[i].config);
        free (b.outs[i].layers.d);
      }
  free (b.outs);
  graph_def_free (b.def);
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
  return ret;
}
