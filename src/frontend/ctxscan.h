/* frontend/ctxscan.h — a tree of the build context read on every core: names,
 * stat numbers and a key per directory that changes when anything under it does.
 *
 * A no-op rebuild is mostly this: 20,000 fstatat calls cost ~60 ms of kernel time
 * on one core.  Directories are scanned by a small pool of threads; nothing here
 * reads a file's content or touches the store. */
#pragma once
#include <stddef.h>
#include <sys/stat.h>

#include "frontend/ignore.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

struct ctx_node;

struct ctx_entry
{
  const char *name;
  size_t name_len;
  struct stat st;       /* lstat */
  struct ctx_node *sub; /* a directory's node */
};

struct ctx_node
{
  char *rel; /* from the context root, no leading or trailing '/' ("" for the root) */
  struct strv names;
  struct ctx_entry *ents; /* the included entries, names sorted bytewise */
  size_t n;
  /* Of the rel path, each entry's name and (device, inode, size, mtime, ctime,
   * mode), and each subdirectory's key: equal keys, equal trees. */
  struct digest key;
  unsigned depth;
};

/* Scans the directory open at dirfd (its path from the context root: rel), with
 * the context's ignore rules and a COPY's --exclude rules (either may be NULL). */
struct ctx_node *ctx_scan (int dirfd, const char *rel, const struct ignore_rules *ignore,
                           const struct ignore_rules *excl, struct kiln_err *err);
void ctx_node_free (struct ctx_node *n);
/* (device, inode, size, mtime, ctime, mode) as bytes: what says a file is unchanged. */
void ctx_stat_key (const struct stat *st, uint64_t key[static 8]);
