/* frontend/context.h — the build context: which .dockerignore applies, and a walk
 * that applies it while walking (an excluded tree is never opened unless an
 * exception may reach into it). */
#pragma once
#include <stdbool.h>
#include <sys/stat.h>

#include "frontend/ignore.h"
#include "util/err.h"

#define CONTEXT_MAX_DEPTH 256u

struct context_entry
{
  const char *path;       /* relative to the context root, '/'-separated */
  const char *name;       /* last element */
  int dir_fd;             /* the directory holding it (valid during the callback) */
  const struct stat *st;  /* lstat: symlinks are not followed */
};

/* Called for every included entry, parents before children, names sorted
 * bytewise. Return -1 (with err set) to stop the walk. */
typedef int (*context_walk_fn) (const struct context_entry *e, void *ud, struct kiln_err *err);

int context_walk (int root_fd, const struct ignore_rules *rules, context_walk_fn fn, void *ud,
                  struct kiln_err *err);

/* The ignore file that applies: `<dockerfile>.dockerignore` beside the Dockerfile
 * when it exists, else `<context>/.dockerignore`. The caller frees the result. */
char *context_ignore_path (const char *context_dir, const char *dockerfile);
