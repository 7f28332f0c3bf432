/* graph/def.c — a build's stages as plain data (graph/def.h). */
#include "graph/def.h"

#include <stdlib.h>

void
graph_def_free (struct graph_def *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->n_stages; i++)
    {
      struct graph_stage *s = &d->stages[i];
      free (s->name);
      free (s->base);
      free (s->platform);
      for (size_t k = 0; k < s->n_steps; k++)
        free (s->step_text[k]);
      free (s->step_text);
      free (s->uses);
    }
  free (d->stages);
  free (d);
}

bool
graph_def_depends (const struct graph_def *g, size_t s, size_t d)
{
  if (s == d)
    return true;
  for (size_t i = 0; i < g->stages[s].n_uses; i++)
    if (graph_def_depends (g, (size_t) g->stages[s].uses[i], d))
      return true;
  return false;
}

int
graph_def_step_base (const struct graph_def *g, size_t s)
{
  int base = 0;
  for (size_t k = 0; k < s; k++)
    if (g->stages[k].needed)
      base += (int) g->stages[k].n_steps + 1;
  return base;
}
