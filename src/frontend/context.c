/* frontend/context.c — which .dockerignore a build context uses. */
#include "frontend/context.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"

char *
context_ignore_path (const char *context_dir, const char *dockerfile)
{
  if (dockerfile && strcmp (dockerfile, "-") != 0)
    {
      _cleanup_buf_ struct buf p = BUF_INIT;
      buf_printf (&p, "%s.dockerignore", dockerfile);
      if (access (buf_str (&p), F_OK) == 0)
        return buf_steal (&p);
    }
  struct buf p = BUF_INIT;
  buf_printf (&p, "%s/.dockerignore", context_dir);
  return buf_steal (&p);
}
