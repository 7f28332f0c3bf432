/* solver/ctxview.c — what RUN --mount=type=bind sees of the build context when
 * .dockerignore leaves something out: a copy of the selection (the same trees
 * and the same file op as COPY), bound in place of the context itself. */
#include "solver/builder.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/ctxscan.h"
#include "frontend/ignore.h"
#include "worker/fileop.h"

bool
context_view_needed (const struct builder *b)
{
  return b->ignore && ignore_count (b->ignore) > 0;
}

int
context_view (struct builder *b, const char *source, struct step_dirs *view)
{
  struct ctx_selection sel = {0};
  struct strv one = STRV_INIT;
  char *clean = path_clean (source && *source ? source : ".");
  const char *rel = clean;
  while (*rel == '/')
    rel++;
  bool whole = *rel == '\0' || strcmp (rel, ".") == 0;
  strv_push (&one, whole ? "." : rel);
  free (clean);
  struct hasher *h = hasher_new (); /* the key was made already: this is for the trees */
  int r = hash_context_sources (b, &one, NULL, h, &sel);
  hasher_free (h);
  if (r == 0 && (r = step_begin (b, view)) == 0)
    {
      /* --parents: the view keeps the context's layout, so the mount's source
       * path means the same in it. */
      struct fileop op = {.kind = FOP_COPY, .context_fd = b->ctx_fd, .ignore = b->ignore, .selection = &sel,
                          .parents = !whole, .store_root = b->st->root, .upper = view->upper, .work = view->work,
                          .merged = view->merged, .merged_src = view->merged_src, .dest = "/"};
      op.sources = one;
      one = (struct strv) STRV_INIT;
      r = fileop_run (&op, b->err);
      op.dest = NULL;
      fileop_clear (&op);
      if (r < 0)
        snapshot_abort (&view->sn);
    }
  strv_free (&one);
  ctx_selection_clear (&sel);
  return r;
}
