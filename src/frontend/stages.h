/* frontend/stages.h — from AST to build stages: global ARGs and their scope, the
 * automatic platform ARGs, --build-arg, stage references, --target pruning.
 *
 * stages_resolve() checks the whole Dockerfile (every instruction is built and
 * validated) and works out which stages the target needs.  stage_step() then
 * expands one instruction in a stage's running environment (ARG and ENV so far),
 * which is what both `kiln debug stages` and the builder do, in build order. */
#pragma once
#include <stdbool.h>

#include "frontend/instructions.h"
#include "frontend/parser.h"
#include "image/platform.h" /* host_platform: the default target */
#include "util/buf.h"
#include "util/envmap.h"
#include "util/err.h"

struct build_opts
{
  const char *target;            /* stage name; NULL: the last stage */
  const struct strv *build_args; /* "K=V", or "K" to take V from kiln's environment */
  const char *platform;          /* target platform "os/arch[/variant]"; NULL: the host's */
  /* --build-context: lower-cased NAME → the image reference that replaces a
   * stage or image of that name in FROM, COPY --from and RUN --mount from=. */
  const struct envmap *named_contexts;
};

struct stage
{
  int index;
  char *name;           /* lower-cased; NULL when the stage has no AS */
  struct inst *from;    /* FROM, expanded with the global ARGs */
  const char *base;     /* from->args.v[0] */
  int base_stage;       /* index of the stage it builds on, or -1 */
  bool scratch;
  struct inst **insts;  /* the instructions after FROM, as written */
  size_t n_insts;
  int *deps;            /* stages it needs (base, COPY --from, RUN --mount from) */
  size_t n_deps;
  bool needed;          /* the target depends on it */
};

struct stage_model
{
  const struct df_ast *ast;
  struct inst **meta; /* ARGs before the first FROM */
  size_t n_meta;
  struct envmap meta_env;      /* resolved global ARGs + automatic platform ARGs */
  struct envmap build_args;    /* --build-arg values */
  struct envmap platform_args; /* TARGETPLATFORM, BUILDARCH, ... */
  struct stage *stages;
  size_t n_stages;
  int target;
  struct strv warnings;
  const struct envmap *named; /* build_opts.named_contexts, may be NULL */
};

struct stage_model *stages_resolve (const struct df_ast *ast, const struct build_opts *o, struct kiln_err *err);
void stages_free (struct stage_model *m);
/* The image a --build-context gives for `ref` (a stage or image name), or NULL. */
const char *stages_named_context (const struct stage_model *m, const char *ref);

/* The running environment of a stage while its instructions are expanded. */
struct stage_state
{
  struct envmap env;  /* the image's environment: base image, then ENV */
  struct envmap args; /* ARGs declared in this stage that have a value */
};

void stage_state_init (struct stage_state *st, const struct envmap *base_env);
void stage_state_clear (struct stage_state *st);

/* Expands `in` in the stage's environment and applies ARG/ENV to it.
 * Returns the expanded instruction (the caller frees it). */
struct inst *stage_step (const struct stage_model *m, struct stage_state *st, const struct inst *in,
                         struct kiln_err *err);

/* Prints the stages the target needs, in build order, each instruction expanded
 * (the documented `kiln debug stages` format). */
int stages_render (const struct stage_model *m, struct buf *out, struct kiln_err *err);

/* True for the build args docker predefines (HTTP_PROXY and friends). */
bool is_predefined_arg (const char *name);
