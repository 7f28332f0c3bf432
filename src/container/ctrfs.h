/* container/ctrfs.h — a container's filesystem seen from outside, for cp and export:
 * its root opened safely, trees written as tar streams, and docker cp's rules.
 *
 * The root: a running container's is its init's (/proc/PID/root, its mounts included);
 * a stopped one's is its overlay (the upper over the image's layers) with its volumes
 * and binds, mounted in a mount namespace of this process's own under containers.lock,
 * so that no start uses the upper meanwhile.  Every container path is resolved from that root with
 * openat2(RESOLVE_IN_ROOT): `..` and symlinks, absolute or not, stay inside, so a link
 * the container swapped in cannot make kiln read or write the host. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

struct kiln_store;
struct archive;

struct ctr_root
{
  int fd;        /* O_PATH of the container's root, -1 when closed */
  int lock;      /* containers.lock while a stopped container's overlay is mounted; -1 */
  char *work;    /* the overlay's work dir made for this mount (removed on close); NULL */
  bool running;
};

/* Opens the root of container `id`.  A stopped container's needs this process to have
 * no other threads (it unshares its mount namespace). */
int ctr_root_open (struct kiln_store *st, const char *id, struct ctr_root *r, struct kiln_err *err);
void ctr_root_close (struct ctr_root *r);

/* How a tree goes into a tar: names under `as` ("" puts a directory's contents at the
 * top, without an entry of its own), the top followed if it is a symlink (`follow`,
 * cp -L), owners kept or all 0:0 (`as_root`, cp without -a). */
struct ctr_tar_opts
{
  const char *as;
  bool follow;
  bool as_root;
  bool no_mounts;  /* stop at mount points below the top (export of a running container) */
  bool no_whiteouts; /* refuse names overlayfs keeps (".wh.*"): what goes into a container */
};

/* Writes the tree at `name` in directory `dirfd` (NULL: what dirfd is) into the tar
 * writer `a`: every entry opened relative to its parent, symlinks never followed below
 * the top, hard links as links, devices and FIFOs as what they are. */
int ctr_tar_tree (struct archive *a, int dirfd, const char *name, const struct ctr_tar_opts *o, struct kiln_err *err);

/* Copies the tar stream on `in` to the writer `a`, owners 0:0 when `as_root`, refusing
 * ".wh.*" names (docker cp - into a container). */
int ctr_tar_copy (int in, struct archive *a, bool as_root, struct kiln_err *err);

/* A tar writer (pax, as docker's) on descriptor `fd`; NULL and `err` on failure. */
struct archive *ctr_tar_writer (int fd, struct kiln_err *err);
/* Finishes and frees a writer; -1 when the end could not be written. */
int ctr_tar_close (struct archive *a, struct kiln_err *err);

/* docker cp's rule for SRC → DEST: where the copy lands (`dir`, an existing directory)
 * and under which name (`name`; "" for SRC's contents).  `src_dir`: SRC is a directory;
 * `dst_exists`, `dst_dir`: what DEST is.  SRC ending in "/." copies a directory's
 * contents.  Errors are docker's: "not a directory", "no such directory", "cannot copy
 * directory".  Caller frees dir and name. */
int ctr_cp_plan (const char *src, bool src_dir, const char *dst, bool dst_exists, bool dst_dir, char **dir,
                 char **name, struct kiln_err *err);
