/* context/ctxscan.h — the one selection of the build context: what COPY copies,
 * what the cache key hashes and what `kiln debug context` prints are the same
 * tree, read on every core: names, stat numbers and a key per directory that
 * changes when anything under it does.
 *
 * Selection (BuildKit's): an entry is kept unless .dockerignore (or a COPY's
 * --exclude) excludes it; an excluded directory is looked into only when an
 * exception may match below it, and kept (as the parent of what it holds) only
 * when something below it is kept.
 *
 * A no-op rebuild is mostly this: 20,000 fstatat calls cost ~60 ms of kernel time
 * on one core.  Directories are scanned by a small pool of threads; nothing here
 * reads a file's content or touches the store. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

struct ctx_node;
struct ignore_rules; /* context/ignore.h */

struct ctx_entry
{
  const char *name;
  size_t name_len;
  struct stat st;       /* lstat */
  struct ctx_node *sub; /* a directory's node */
  bool parent_only;     /* excluded itself, kept for what an exception keeps below */
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

/* True when `path` (from the context root) is left out by either set of rules. */
bool ctx_excluded (const struct ignore_rules *ignore, const struct ignore_rules *excl, const char *path);

/* The trees a step scanned, each under the source path it was asked for (a
 * symlinked source is scanned at the path it leads to, and found by its own). */
struct ctx_selection
{
  struct ctx_node **roots;
  char **names;
  size_t n, cap;
  const struct ignore_rules *ignore; /* the rules the trees were scanned with */
};
void ctx_selection_add (struct ctx_selection *s, const char *name, struct ctx_node *root);
void ctx_selection_clear (struct ctx_selection *s);
/* The node of directory `rel` ("" or "." for the root) in a scanned tree that
 * holds it, or NULL when it is not selected. */
const struct ctx_node *ctx_selection_find (const struct ctx_selection *s, const char *rel);
/* The entry `name` of a node, or NULL. */
const struct ctx_entry *ctx_node_entry (const struct ctx_node *n, const char *name);
/* (device, inode, size, mtime, ctime, mode) as bytes: what says a file is unchanged. */
void ctx_stat_key (const struct stat *st, uint64_t key[static 8]);
