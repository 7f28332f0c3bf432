/* container/changes.h — what a container changed: its overlay upper directory read
 * against its image's layers, for `kiln diff` and `ps -s`.
 *
 * The upper directory holds what the container wrote (a copied-up file, a new one, a
 * directory that holds either) and a 0/0 character device for each path it deleted
 * (overlayfs's whiteout).  Nothing here follows a symlink or leaves the directories
 * named: every entry is opened relative to its parent with O_NOFOLLOW. */
#pragma once
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* The mount points the sandbox makes in a container's root ("etc/hosts", ...;
 * NULL-terminated): empty, they are not the container's changes (docker keeps them in
 * its "-init" layer), for diff and commit. */
extern const char *const container_init_paths[];

/* docker's ChangesSize of the upper `upper_dir` (an absolute path): the sizes (lstat) of
 * everything but directories, a hard-linked inode once.  A missing directory is 0. */
int container_rw_size (const char *upper_dir, uint64_t *size, struct kiln_err *err);

/* docker diff's lines, sorted by path: "A /new", "C /changed", "D /deleted" ("C" for a
 * path one of `lowers` (absolute paths, topmost first) has, "A" for one none has, "D"
 * for a whiteout).  Appended to `lines`. */
int container_changes (const char *upper_dir, const struct strv *lowers, struct strv *lines, struct kiln_err *err);
