/* store/layer.h — OCI layers: deterministic tars from trees, and tars applied
 * onto a snapshot without ever writing outside it.
 *
 * A snapshot holds one layer's tree in overlay form: a deleted path is a 0/0
 * character device, an opaque directory carries trusted.overlay.opaque=y.  Writing
 * a layer from such a tree (a snapshot or an overlay upperdir) turns those into
 * `.wh.NAME` and `.wh..wh..opq` entries; applying a layer turns them back. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/err.h"

/* Where a tar stream goes, in order, as it is produced. */
struct layer_sink
{
  int (*write) (void *ud, const void *buf, size_t len, struct kiln_err *err);
  void *ud;
};

enum layer_pick
{
  LAYER_KEEP,
  LAYER_SKIP,
  LAYER_PARENT_ONLY,
};

struct stat;
struct layer_write_opts
{
  int64_t clamp_mtime; /* < 0: keep mtimes; else mtimes later than this are set to it */
  /* Paths ("etc/hosts", NULL-terminated) left out when they are an empty file or an
   * empty directory: the mount points a sandbox made in a container's upper (commit). */
  const char *const *skip_empty;
  /* When set, asked for every entry (its path from the tree's root, its lstat) in
   * walk order: a directory picked LAYER_PARENT_ONLY is looked into and written only
   * when something below it is kept (BuildKit's selection of an excluded directory
   * that holds an exception). */
  enum layer_pick (*pick) (void *arg, const char *path, const struct stat *st);
  void *pick_arg;
};

/* Streams a deterministic tar (sorted names, PAX where needed, numeric owners,
 * whole-second mtimes, xattrs, hardlinks) of the tree at `dirfd` into `sink` (may
 * be NULL), computing the diff_id and size on the way. Memory use does not depend
 * on the size of the tree's files. */
int layer_write_tar (int dirfd, const struct layer_write_opts *o, const struct layer_sink *sink,
                     struct digest *diff_id, uint64_t *size, struct kiln_err *err);

struct layer_apply_stats
{
  uint64_t entries;
  uint64_t skipped_devices; /* device nodes are not created in snapshots */
};

/* Reads a layer (tar, optionally gzip/zstd/xz/bzip2-compressed) from `fd` and
 * writes it into the snapshot tree at `root_fd`, in overlay form. Every path is
 * resolved inside the root (openat2 RESOLVE_IN_ROOT); entries that would escape
 * are rejected with an error naming them. If `diff_id` is not NULL it receives the
 * sha256 of the uncompressed tar stream; `size` its length. */
int layer_apply_tar (int root_fd, int fd, struct digest *diff_id, uint64_t *size, struct layer_apply_stats *stats,
                     struct kiln_err *err);
