/* worker/fileop.h — file operations on a snapshot, no container needed: COPY,
 * ADD and WORKDIR's mkdir.
 *
 * The operation runs in a child process with a private mount namespace: the
 * image so far is mounted as an overlay whose upper directory is the new
 * snapshot, so docker's rules that depend on what the image already holds (is
 * the destination a directory? is the parent a symlink?) are answered by the
 * image itself, and every path is resolved inside the right root with openat2. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

struct ctx_selection;

enum fileop_kind
{
  FOP_COPY,
  FOP_MKDIR,
  FOP_EXPORT, /* copy the image's tree (lowers, no upper) to the host directory `dest` */
};

struct fileop
{
  enum fileop_kind kind;
  const char *store_root;
  struct strv lowers;      /* the image so far: "<id>/fs", topmost first */
  const char *upper;       /* the new snapshot's tree */
  const char *work;        /* overlay work dir */
  const char *merged;      /* mount point for the image */
  const char *merged_src;  /* mount point for a --from source */

  /* COPY / ADD */
  struct strv sources;     /* as given (expanded); relative to the source root */
  const char *dest;        /* absolute in the image, trailing '/' kept */
  int context_fd;          /* source root when copying from the context, else -1 */
  /* Context only: the trees the cache key hashed (context/ctxscan.h); a copy
   * walks them and nothing else, so it sees exactly what the key covers. */
  const struct ctx_selection *selection;
  struct strv src_lowers;  /* source root when copying from a stage or image */
  struct strv excludes;    /* --exclude patterns */
  const char *chown;       /* NULL: context files become 0:0, stage files keep theirs */
  const char *chmod;       /* octal or symbolic, NULL to keep modes */
  bool add;                /* ADD: local archives are extracted */
  bool parents;            /* --parents */
  struct strv heredoc_names;    /* COPY <<EOF: file names (the delimiters) */
  struct strv heredoc_contents; /* and their bodies, already expanded */

  /* MKDIR */
  const char *owner;       /* user spec for a directory WORKDIR creates */
};

void fileop_clear (struct fileop *op);
int fileop_run (const struct fileop *op, struct kiln_err *err);

/* Applies a chmod(1) symbolic or octal spec to a mode (for tests, too). */
int chmod_apply (const char *spec, mode_t mode, bool is_dir, mode_t *out);
