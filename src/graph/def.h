/* graph/def.h — a build's stages as plain data, whichever frontend described
 * them: what the solver needs to plan and run the stages (solver/graph.c) without
 * knowing a Dockerfile.  The Dockerfile frontend fills it from its stage model
 * (frontend/to_graph.h); the steps themselves are run through the frontend's
 * callbacks (solver/build.h's struct build_frontend). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct graph_stage
{
  char *name;         /* lower-cased; NULL: the stage has no name */
  char *base;         /* FROM's reference as written (an image, a stage, "scratch") */
  int base_stage;     /* the stage it builds on, or -1 (an image or scratch) */
  bool scratch;
  char *platform;     /* FROM --platform, NULL: none */
  bool needed;        /* the target depends on it */
  size_t n_steps;     /* its steps after FROM */
  char **step_text;   /* each step as written (what a vertex's digest hashes) */
  int *uses;          /* the stages it needs: its base, COPY --from, RUN --mount from= */
  size_t n_uses;
  /* The first step that uses another stage or an image (COPY --from, a mount's
   * from=); n_steps when none does. */
  size_t first_cross;
  bool adds_urls;     /* an ADD of a URL (its key needs a download) */
};

struct graph_def
{
  struct graph_stage *stages;
  size_t n_stages;
  size_t target;
};

void graph_def_free (struct graph_def *d);
/* Does stage s need stage d (directly or not; s itself included)? */
bool graph_def_depends (const struct graph_def *g, size_t s, size_t d);
/* The step number before stage s's FROM: the steps of the needed stages before it
 * (the same whichever process prints it). */
int graph_def_step_base (const struct graph_def *g, size_t s);
