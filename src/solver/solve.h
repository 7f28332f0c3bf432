/* solver/solve.h — what a frontend calls while it runs a stage's steps (BuildKit's
 * shape: the frontend drives, the solver keys, caches and runs).  The frontend
 * converts each of its instructions into an op (graph/ops.h) or a config change
 * and hands it here as the stage's next step; nothing here knows a Dockerfile.
 *
 * A struct solve_stage is the stage being built, given to the frontend's
 * run_steps (solver/build.h's struct build_frontend) after the solver started it
 * on its base.  Calls that fail return -1 with solve_err() set. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "graph/ops.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

struct solve_stage;
struct envmap;

/* What progress and --explain say of a step: its label (NULL: none shown), the
 * step as written, the build args in scope (may be NULL). */
struct step_desc
{
  const char *label;
  const char *written;
  const struct envmap *args;
};

/* The error of the build (where a failing call leaves its message). */
struct kiln_err *solve_err (struct solve_stage *s);
/* The stage's image config so far: config changes are made on it. */
json_t *solve_config (struct solve_stage *s);

/* The next step is numbered; `hidden`: another process shows it (it is replayed). */
void solve_step_next (struct solve_stage *s, bool hidden);
/* A Ctrl-C or SIGTERM came: -1 with the error set, else 0. */
int solve_interrupted (struct solve_stage *s);
/* Progress: the step begins (its label); it failed (the error's message). */
void solve_step_start (struct solve_stage *s, const char *label);
void solve_step_failed (struct solve_stage *s);

/* The build's entitlements allow op (RUN --network=host, --security=insecure): 0,
 * or -1 with the error set.  Asked before its mounts' roots are resolved (and by
 * solve_exec again). */
int solve_exec_allowed (struct solve_stage *s, const struct exec_op *op);
/* An exec or file op as the stage's next step. */
int solve_exec (struct solve_stage *s, const struct exec_op *op, const struct step_desc *d);
int solve_file (struct solve_stage *s, const struct file_op *op, const struct step_desc *d);
/* The config's working directory made (owned by its user) as a step. */
int solve_workdir (struct solve_stage *s, const char *written, const char *created_by);
/* A step that writes no layer (a config change): its own cache record, its history
 * entry (created_by) when in_history, the stage's key chain moved on when chain. */
int solve_config_step (struct solve_stage *s, const char *created_by, const char *written,
                       const struct envmap *args, bool chain, bool in_history);

/* Another root for an op (graph/ops.h's op_input): the output of stage `stage`
 * (built before this one), or an image (from the store, fetched if the build may). */
int solve_input_stage (struct solve_stage *s, size_t stage, struct strv *lowers, char key[static DIGEST_STR_LEN + 1]);
int solve_input_image (struct solve_stage *s, const char *ref, struct strv *lowers, char key[static DIGEST_STR_LEN + 1]);
