/* graph/ops.c — freeing the graph's op descriptions (graph/ops.h). */
#include "graph/ops.h"

#include <stdlib.h>

struct op_input *
op_input_new (const char *ref)
{
  struct op_input *in = xcalloc (1, sizeof *in);
  in->ref = xstrdup (ref);
  return in;
}

void
op_input_free (struct op_input *in)
{
  if (in == NULL)
    return;
  free (in->ref);
  strv_free (&in->lowers);
  free (in);
}

void
exec_op_clear (struct exec_op *op)
{
  strv_free (&op->argv);
  strv_free (&op->env);
  strv_free (&op->key_env);
  free (op->user);
  free (op->cwd);
  free (op->security);
  for (size_t i = 0; i < op->n_mounts; i++)
    {
      struct op_mount *m = &op->mounts[i];
      free (m->target);
      free (m->source);
      op_input_free (m->from);
      free (m->id);
      free (m->env);
    }
  free (op->mounts);
  free (op->script);
  free (op->created_by);
  *op = (struct exec_op) {0};
}

void
file_op_clear (struct file_op *op)
{
  for (size_t i = 0; i < op->n_srcs; i++)
    {
      free (op->srcs[i].name);
      free (op->srcs[i].body);
    }
  free (op->srcs);
  free (op->dest);
  free (op->chown);
  free (op->chmod);
  strv_free (&op->excludes);
  op_input_free (op->from);
  free (op->checksum);
  free (op->created_by);
  *op = (struct file_op) {0};
}
