/* worker/overlay.h — the options of an overlay mount of snapshots, and its limits.
 *
 * Lowers are paths relative to STORE/snapshots ("<id>/fs", or "../tmp/snap-…/fs"
 * for a tree made by this build and not committed yet), topmost first; the
 * mounting process chdirs there first so that long chains fit.  They still must:
 * mount(2) copies at most one page of options, and overlayfs stacks at most
 * OVERLAY_MAX_LOWERS layers. */
#pragma once
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define OVERLAY_MAX_LOWERS 500 /* the kernel's OVL_MAX_STACK */

/* Appends "lowerdir=L1:L2…[,upperdir=U,workdir=W,…]" to `out` (a lower listed twice
 * appears once, at its topmost place).  `empty` (an empty
 * directory) stands in for the missing lowers: none at all, or fewer than the two
 * a mount without an upper needs.  With no lowers and no upper there is nothing
 * to mount (overlayfs refuses the same directory twice): open `empty` instead. */
void overlay_options (struct buf *out, const struct strv *lowers, const char *empty, const char *upper,
                      const char *work);

/* 0 when a mount of these lowers (with this upper and work dir, if any) fits the
 * kernel's limits; else -1 and an error that names the limit. */
int overlay_check (const struct strv *lowers, const char *upper, const char *work, struct kiln_err *err);
