/* solver/solve.c — the steps a frontend hands the solver (solver/solve.h). */
#include "solver/solve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/config.h"
#include "image/image.h"
#include "solver/builder.h"
#include "solver/op_solve.h"
#include "util/cleanup.h"
#include "worker/fileop.h"

struct kiln_err *
solve_err (struct solve_stage *s)
{
  return s->b->err;
}

json_t *
solve_config (struct solve_stage *s)
{
  return s->o->config;
}

void
solve_step_next (struct solve_stage *s, bool hidden)
{
  s->b->quiet = s->quiet || hidden;
  s->b->step++;
}

int
solve_interrupted (struct solve_stage *s)
{
  if (!build_interrupted)
    return 0;
  return kiln_err_set (s->b->err, EINTR, "interrupted (signal %d): the build stopped cleanly", (int) build_interrupted);
}

void
solve_step_start (struct solve_stage *s, const char *label)
{
  step_start (s->b, label);
}

void
solve_step_failed (struct solve_stage *s)
{
  step_error (s->b, s->b->err->msg ? s->b->err->msg : "failed");
}

int
solve_exec_allowed (struct solve_stage *s, const struct exec_op *op)
{
  return exec_allowed (s->b, op);
}

int
solve_exec (struct solve_stage *s, const struct exec_op *op, const struct step_desc *d)
{
  return exec_op_solve (s->b, s->o, op, d);
}

int
solve_file (struct solve_stage *s, const struct file_op *op, const struct step_desc *d)
{
  return file_op_solve (s->b, s->o, op, d);
}

/* WORKDIR makes its directory (owned by the current USER) when it is missing. */
int
solve_workdir (struct solve_stage *s, const char *written, const char *created_by)
{
  struct builder *b = s->b;
  struct stage_out *o = s->o;
  _cleanup_free_ char *dir = config_workdir (o->config);
  _cleanup_free_ char *user = config_user (o->config);
  char key[DIGEST_STR_LEN + 1];
  _cleanup_buf_ struct buf mat = BUF_INIT;
  buf_printf (&mat, "mkdir\n%s\n%s", dir, user);
  key_of (o->key, buf_str (&mat), mat.len, key);
  step_note (b, o->key, key, written, buf_str (&mat), mat.len, NULL);
  memcpy (o->key, key, sizeof key);
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
      solve_step_failed (s);
      return -1;
    }
  return step_commit (b, o, &sd, key, created_by, 0, false, keeps_layer);
}

int
solve_config_step (struct solve_stage *s, const char *created_by, const char *written, const struct envmap *args,
                   bool chain, bool in_history)
{
  struct builder *b = s->b;
  struct stage_out *o = s->o;
  char key[DIGEST_STR_LEN + 1];
  key_of (o->key, created_by, strlen (created_by), key);
  if (chain) /* what --explain compares with the last build's key of this step */
    step_note (b, o->key, key, written, created_by, strlen (created_by), args);
  int64_t when = b->now;
  _cleanup_free_ char *hit = cache_get (b, key, &when);
  if (hit == NULL && cache_put (b, key, "none") < 0)
    return -1;
  if (in_history)
    stage_history (b, o, created_by, true, when);
  if (chain)
    memcpy (o->key, key, sizeof key);
  return 0;
}

int
solve_input_stage (struct solve_stage *s, size_t stage, struct strv *lowers, char key[static DIGEST_STR_LEN + 1])
{
  memcpy (key, s->b->outs[stage].key, DIGEST_STR_LEN + 1);
  return lowers_of (s->b, &s->b->outs[stage].layers, lowers);
}

int
solve_input_image (struct solve_stage *s, const char *ref, struct strv *lowers, char key[static DIGEST_STR_LEN + 1])
{
  struct builder *b = s->b;
  struct digest id;
  struct image_info ii;
  if (resolve_base_image (b, ref, &id) < 0 || image_load (b->st, &id, &ii, b->err) < 0)
    return -1;
  struct layerlist l = {0};
  for (size_t i = 0; i < ii.n_layers; i++)
    layers_push (&l, &ii.layers[i].diff_id);
  image_info_clear (&ii);
  int r = lowers_of (b, &l, lowers);
  free (l.d);
  snprintf (key, DIGEST_STR_LEN + 1, "%s", id.str);
  return r;
}
