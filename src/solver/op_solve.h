/* solver/op_solve.h — the graph's ops (graph/ops.h) run as build steps: each keyed
 * (the material's bytes are fixed: existing stores stay warm), looked up in the
 * cache, and on a miss run on the stage's root and committed as its next layer.
 * exec_op.c runs exec ops in the sandbox, file_op.c file ops with the worker. */
#pragma once
#include "graph/ops.h"
#include "solver/solve.h" /* struct step_desc */

struct builder;
struct stage_out;
struct envmap;

/* Run op as the next step of stage output o: 0, or -1 with b->err set. */
int exec_op_solve (struct builder *b, struct stage_out *o, const struct exec_op *op, const struct step_desc *d);
int file_op_solve (struct builder *b, struct stage_out *o, const struct file_op *op, const struct step_desc *d);
/* The build's entitlements allow op (RUN --network=host, --security=insecure): 0, or
 * -1 with b->err set.  exec_op_solve asks too; converters ask before resolving mounts. */
int exec_allowed (struct builder *b, const struct exec_op *op);
