/* container/commit.h — `kiln commit`: a container's changes (its overlay upper) become
 * one more layer on its image, with the container's config as the image's.
 *
 * The upper is written as a layer by the store's layer writer (whiteouts and opaque
 * directories in their OCI form), applied into a snapshot as `import` does, and the
 * image recorded with the parent's layers plus that one.  A running container is read
 * as it is (kiln does not pause it). */
#pragma once
#include "image/config.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

struct commit_opts
{
  const char *message;         /* -m: the history entry's comment */
  const char *author;          /* -a */
  const struct config_changes *changes; /* -c, read by the frontend (df_changes_parse) */
  const char *tag;             /* normalised reference, or NULL */
};

int container_commit (struct kiln_store *st, const char *id, const char *image_id, const struct commit_opts *o,
                      struct digest *out, struct kiln_err *err);
