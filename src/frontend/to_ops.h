/* frontend/to_ops.h — the Dockerfile's RUN and COPY/ADD as the build graph's ops
 * (graph/ops.h): an instruction expanded by stage_step becomes plain data (argv,
 * environment, mounts, sources, destination) that the solver runs without
 * knowing a Dockerfile.  The step toward the Dockerfile → graph converter. */
#pragma once
#include <jansson.h>

#include "frontend/instructions.h"
#include "frontend/stages.h"
#include "graph/ops.h"
#include "util/err.h"

/* What a conversion reads of the stage being built, and how it names another
 * root: `resolve` fills from->lowers and from->key for the stage, image or build
 * context named from->ref (0, or -1 with the error set: it may locate it at in). */
struct op_convert
{
  const struct stage_model *m;
  struct stage_state *ss;
  const json_t *config; /* the image so far */
  char escape;          /* the Dockerfile's escape character */
  int (*resolve) (void *ud, const struct inst *in, struct op_input *from);
  /* May the exec op run at all (the caller's entitlements: --network=host,
   * --security=insecure)?  Asked before any mount's root is resolved, so a step that
   * is refused pulls nothing.  NULL: yes. */
  int (*allowed) (void *ud, const struct exec_op *op);
  void *ud;
  struct kiln_err *err;
};

/* RUN (expanded) as an exec op: 0, or -1 with c->err set; the caller clears op
 * (exec_op_clear) either way. */
int inst_to_exec_op (const struct op_convert *c, const struct inst *in, struct exec_op *op);
/* COPY or ADD (expanded) as a file op: heredocs expanded, --from resolved; the caller
 * clears op (file_op_clear) either way. */
int inst_to_file_op (const struct op_convert *c, const struct inst *in, struct file_op *op);

/* The instruction as the Dockerfile has it (what a cache-miss explanation quotes). */
const char *inst_as_written (const struct inst *in);
