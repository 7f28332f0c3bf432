/* frontend/df_driver.h — the Dockerfile frontend of `kiln build` (BuildKit's
 * shape: the frontend drives the solver).  It reads the Dockerfile and resolves
 * its stages into the build's definition (graph/def.h), and when the solver asks
 * for a stage's steps it expands each instruction in the stage's state and hands
 * it to the solver as an op or a config step (solver/solve.h), placing errors at
 * their line.  The CLI wires it into build_request.frontend. */
#pragma once
#include "frontend/parser.h"
#include "frontend/stages.h"
#include "solver/build.h"

struct df_driver
{
  const struct build_request *rq; /* context, dockerfile(_text), target, build args, platform */
  struct df_ast *ast;
  struct stage_model *m;
};

/* d reads rq's Dockerfile inputs; fe gets its callbacks (ud: d). */
void df_driver_init (struct df_driver *d, const struct build_request *rq, struct build_frontend *fe);
void df_driver_clear (struct df_driver *d);
