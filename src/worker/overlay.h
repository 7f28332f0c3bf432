/* worker/overlay.h — an image's layers as the lowers of an overlay mount of
 * snapshots, the mount's options, and its limits: what `kiln run` (and cp,
 * diff, inspect) and the build's steps share.
 *
 * Lowers are paths relative to STORE/snapshots ("<id>/fs", or "../tmp/snap-…/fs"
 * for a tree made by this build and not committed yet), topmost first; the
 * mounting process chdirs there first so that long chains fit.  They still must:
 * mount(2) copies at most one page of options, and overlayfs stacks at most
 * OVERLAY_MAX_LOWERS layers. */
#pragma once
#include <stddef.h>

#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

struct envmap;
struct kiln_store;

#define OVERLAY_MAX_LOWERS 500 /* the kernel's OVL_MAX_STACK */

/* Appends to `out` the lowers of the layers `diff_ids` (n, bottom first, as an image
 * lists them): "<snapshot>/fs", topmost first.  A layer listed twice is kept at its
 * topmost place only: that copy decides every path it touches, and overlayfs
 * refuses the same directory twice (ELOOP).  `memo` (diff_id → lower; may be NULL)
 * keeps the lookups for later calls: a build mounts its whole chain at every step.
 * -1 and an error naming the layer when one has no snapshot. */
int overlay_lowers (struct kiln_store *st, const struct digest *diff_ids, size_t n, struct envmap *memo,
                    struct strv *out, struct kiln_err *err);

/* Appends "lowerdir=L1:L2…[,upperdir=U,workdir=W,…]" to `out`.  `empty` (an empty
 * directory) stands in for the missing lowers: none at all, or fewer than the two
 * a mount without an upper needs.  With no lowers and no upper there is nothing
 * to mount (overlayfs refuses the same directory twice): open `empty` instead. */
void overlay_options (struct buf *out, const struct strv *lowers, const char *empty, const char *upper,
                      const char *work);

/* 0 when a mount of these lowers (with this upper and work dir, if any) fits the
 * kernel's limits; else -1 and an error that names the limit. */
int overlay_check (const struct strv *lowers, const char *upper, const char *work, struct kiln_err *err);
