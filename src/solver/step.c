/* solver/step.c — one step's life around its op: its key chained and noted, the
 * cache asked, its scratch directories made, its upper snapshot and recorded, its
 * result applied to the stage (solver/builder.h). */
#include <stdlib.h>
#include <string.h>

#include "image/config.h"
#include "image/image.h"
#include "solver/builder.h"
#include "solver/op_solve.h"
#include "util/cleanup.h"
#include "worker/overlay.h"

void
stage_history (struct builder *b, struct stage_out *o, const char *created_by, bool empty, int64_t when)
{
  (void) b;
  config_add_history (o->config, when, created_by, NULL, empty);
}

/* Applies a step's result (a layer or none) to the stage. */
void
take_result (struct builder *b, struct stage_out *o, const char *result, const char *created_by, int64_t when)
{
  struct digest d;
  struct kiln_err e = {0};
  bool layer = digest_valid (result) && digest_parse (result, &d, &e) == 0;
  kiln_err_clear (&e);
  if (layer)
    {
      layers_push (&o->layers, &d);
      config_add_layer (o->config, d.str);
    }
  stage_history (b, o, created_by, !layer, when);
}

/* A step's key from its parent's and its material; noted (explain.c) and made the
 * parent of the next step. */
void
step_key (struct builder *b, struct stage_out *o, const char *text, const char *material, size_t len,
          const struct envmap *args, char key[static DIGEST_STR_LEN + 1])
{
  if (getenv ("KILN_DEBUG_KEYS")) /* why did this step miss the cache? */
    fprintf (stderr, "#%d key material (parent %s): %.*s\n", b->step, o->key, (int) len, material);
  key_of (o->key, material, len, key);
  step_note (b, o->key, key, text, material, len, args);
  memcpy (o->key, key, DIGEST_STR_LEN + 1);
}

/* A hit: the step's recorded result is applied and 1 returned. A miss: the step is
 * announced and 0 returned. */
int
step_cached (struct builder *b, struct stage_out *o, const char *key, const char *label, const char *created_by,
             bool keeps_layer)
{
  int64_t when = b->now;
  _cleanup_free_ char *hit = cache_get (b, key, &when);
  /* A step that keeps its layer even when empty (as BuildKit) has "none" only in a store
   * of an older kiln, which dropped empty layers: run it again to record the layer. */
  if (hit && keeps_layer && !digest_valid (hit))
    {
      free (hit);
      hit = NULL;
    }
  if (hit)
    {
      b->note_sources = b->note_excludes = NULL;
      if (label)
        step_start (b, label);
      step_end (b, true, 0, label != NULL);
      take_result (b, o, hit, created_by, when);
      return 1;
    }
  if (label)
    step_start (b, label);
  step_missed (b, key, label);
  b->note_sources = b->note_excludes = NULL;
  return 0;
}

int
step_lookup (struct builder *b, struct stage_out *o, const json_t *km, const struct step_desc *d,
             const char *created_by, char key[static DIGEST_STR_LEN + 1])
{
  size_t len;
  _cleanup_free_ char *material = json_canonical (km, &len);
  step_key (b, o, d->written, material, len, d->args, key);
  return step_cached (b, o, key, d->label, created_by, true);
}

/* Makes the scratch dirs of a step and the lowers of the image so far, which one
 * overlay mount must hold.  Trees not committed yet have longer paths: near the
 * limit they are committed first, so that it is the same wherever a batch ends. */
int
step_prepare (struct builder *b, struct stage_out *o, struct step_dirs *sd, struct strv *lowers)
{
  if (step_begin (b, sd) < 0)
    return -1;
  if (lowers_of (b, &o->layers, lowers) < 0)
    goto fail;
  if (overlay_check (lowers, sd->upper, sd->work, b->err) < 0)
    {
      if (b->pending.n == 0)
        goto fail;
      kiln_err_clear (b->err);
      strv_free (lowers);
      if (build_flush (b, b->err) < 0 || lowers_of (b, &o->layers, lowers) < 0
          || overlay_check (lowers, sd->upper, sd->work, b->err) < 0)
        goto fail;
    }
  return 0;
fail:
  snapshot_abort (&sd->sn);
  return -1;
}

/* After the step filled its upper: snapshot it (an empty upper too when `keeps_layer`),
 * record it in the cache, apply it. */
int
step_commit (struct builder *b, struct stage_out *o, struct step_dirs *sd, const char *key, const char *created_by,
             double t0, bool announce, bool keeps_layer)
{
  struct digest diff;
  int changed = step_finish (b, sd, keeps_layer, &diff);
  if (changed < 0)
    return -1;
  const char *result = changed ? diff.str : "none";
  if (cache_put (b, key, result) < 0)
    return -1;
  take_result (b, o, result, created_by, b->now);
  step_end (b, false, now_s () - t0, announce);
  return 0;
}

