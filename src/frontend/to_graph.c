/* frontend/to_graph.c — the stage model as a graph definition (frontend/to_graph.h). */
#include "frontend/to_graph.h"

#include <string.h>

/* The first instruction that uses another stage (or an image by --from). */
static size_t
first_cross_stage (const struct stage *s)
{
  for (size_t k = 0; k < s->n_insts; k++)
    {
      const struct inst *in = s->insts[k];
      if ((in->kind == I_COPY || in->kind == I_ADD) && in->from)
        return k;
      if (in->kind == I_RUN)
        for (size_t i = 0; i < in->n_mounts; i++)
          if (in->mounts[i].from)
            return k;
    }
  return s->n_insts;
}

/* An ADD of a URL downloads to make its key. */
static bool
stage_adds_urls (const struct stage *s)
{
  for (size_t k = 0; k < s->n_insts; k++)
    {
      const struct inst *in = s->insts[k];
      for (size_t a = 0; in->kind == I_ADD && a + 1 < in->args.n; a++)
        if (strstr (in->args.v[a], "://"))
          return true;
    }
  return false;
}

struct graph_def *
stages_to_graph (const struct stage_model *m)
{
  struct graph_def *d = xcalloc (1, sizeof *d);
  d->n_stages = m->n_stages;
  d->target = (size_t) m->target;
  d->stages = xcalloc (m->n_stages ? m->n_stages : 1, sizeof *d->stages);
  for (size_t si = 0; si < m->n_stages; si++)
    {
      const struct stage *s = &m->stages[si];
      struct graph_stage *g = &d->stages[si];
      g->name = s->name ? xstrdup (s->name) : NULL;
      g->base = xstrdup (s->base);
      g->base_stage = s->base_stage;
      g->scratch = s->scratch;
      g->platform = s->from->platform ? xstrdup (s->from->platform) : NULL;
      g->needed = s->needed;
      g->n_steps = s->n_insts;
      g->step_text = xcalloc (s->n_insts ? s->n_insts : 1, sizeof *g->step_text);
      for (size_t k = 0; k < s->n_insts; k++)
        g->step_text[k] = xstrdup (s->insts[k]->node->original);
      g->uses = xcalloc (s->n_deps ? s->n_deps : 1, sizeof *g->uses);
      for (size_t i = 0; i < s->n_deps; i++)
        g->uses[i] = s->deps[i];
      g->n_uses = s->n_deps;
      g->first_cross = first_cross_stage (s);
      g->adds_urls = stage_adds_urls (s);
    }
  return d;
}
