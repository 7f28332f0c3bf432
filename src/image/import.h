/* image/import.h — `kiln import`: a root filesystem (directory or tar) becomes a
 * one-layer image. */
#pragma once
#include <stdbool.h>

#include "image/config.h"
#include "store/layer.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

struct import_opts
{
  const char *source;          /* directory, tar file (any compression), or "-" */
  const char *tag;             /* normalised reference, or NULL */
  const struct config_changes *changes; /* --change, read by the frontend (df_changes_parse) */
  const char *platform;        /* NULL: the host's */
  const char *message;         /* history comment; NULL: "Imported from SOURCE" */
  bool at_epoch;               /* created at 0, not now: the same tree is the same image id */
  /* A directory source: which entries the layer holds (store/layer.h); NULL: all. */
  enum layer_pick (*pick) (void *arg, const char *path, const struct stat *st);
  void *pick_arg;
};

int image_import (struct kiln_store *st, const struct import_opts *o, struct digest *id, struct kiln_err *err);

/* Makes a snapshot from a directory tree (the tree's tar is streamed straight
 * into the snapshot). Returns the layer's diff_id and tar size. */
int snapshot_from_dir (struct kiln_store *st, int dirfd, struct digest *diff_id, uint64_t *size,
                       struct kiln_err *err);
/* The same, the tree written with `o` (store/layer.h). */
struct layer_write_opts;
int snapshot_from_dir_opts (struct kiln_store *st, int dirfd, const struct layer_write_opts *o, struct digest *diff_id,
                            uint64_t *size, struct kiln_err *err);
