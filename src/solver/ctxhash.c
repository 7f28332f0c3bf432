/* solver/ctxhash.c — the content digest of context sources for cache keys: files
 * and trees hashed by content, memoised in the store by their stat numbers. */
#include "solver/builder.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "context/ctxscan.h"
#include "context/ignore.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/path.h"
#include "worker/fileop.h"

/* ---------- context sources (cache keys) ---------- */

/* The store's memo of digests by key: a file's stat numbers, or a directory's. */
static int
memo_get (struct builder *b, const void *key, size_t len, struct digest *out)
{
  if (b->digests == NULL)
    b->digests = file_digests_new (b->st);
  return file_digests_get (b->digests, key, len, out, b->err);
}

static int
memo_put (struct builder *b, const void *key, size_t len, const struct digest *d)
{
  if (b->digests == NULL)
    b->digests = file_digests_new (b->st);
  return file_digests_put (b->digests, key, len, d, b->err);
}

static int
file_digest (struct builder *b, int dirfd, const char *name, const struct stat *st, struct digest *out)
{
  /* Remembered per stat key: a warm rebuild reads nothing. */
  uint64_t key[8];
  ctx_stat_key (st, key);
  int hit = memo_get (b, key, sizeof key, out);
  if (hit != 0)
    return hit < 0 ? -1 : 0;
  int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return kiln_err_set (b->err, errno, "%s: %s", name, strerror (errno));
  int r = digest_fd (fd, out);
  int saved = errno;
  close (fd);
  if (r < 0)
    return kiln_err_set (b->err, saved, "%s: %s", name, strerror (saved));
  return memo_put (b, key, sizeof key, out);
}

/* A directory of the context as one digest: the names (paths from the source),
 * modes, sizes and contents of what it holds, never mtimes.  Remembered under the
 * scan's key of the directory (its entries' stat numbers, its subdirectories'
 * keys), so a no-op rebuild of 20,000 files does one store lookup; a change looks
 * up the directories on its path and hashes only what changed. */
static int
tree_digest (struct builder *b, int dirfd, const struct ctx_node *n, struct digest *out)
{
  /* Listing the files (explain.c) visits every one: no directory is taken whole. */
  int hit = b->collect_files ? 0 : memo_get (b, n->key.str, DIGEST_STR_LEN, out);
  if (hit != 0)
    return hit < 0 ? -1 : 0;
  int ret = 0;
  _cleanup_buf_ struct buf p = BUF_INIT;
  size_t rel_len = strlen (n->rel);
  struct hasher *h = hasher_new ();
  for (size_t i = 0; i < n->n && ret == 0; i++)
    {
      const struct ctx_entry *e = &n->ents[i];
      buf_reset (&p);
      buf_append (&p, n->rel, rel_len);
      if (rel_len)
        buf_putc (&p, '/');
      buf_append (&p, e->name, e->name_len);
      /* "\n<mode octal> <size> ", formatted by hand: this runs once per context file. */
      char line[64];
      char *c = line + sizeof line;
      unsigned long long v = (unsigned long long) e->st.st_size;
      *--c = ' ';
      do
        *--c = (char) ('0' + v % 10);
      while (v /= 10);
      *--c = ' ';
      unsigned m = (unsigned) e->st.st_mode;
      do
        *--c = (char) ('0' + (m & 7));
      while (m >>= 3);
      *--c = '\n';
      hasher_update (h, buf_str (&p), p.len);
      hasher_update (h, c, (size_t) (line + sizeof line - c));
      if (S_ISREG (e->st.st_mode))
        {
          struct digest fd_;
          ret = file_digest (b, dirfd, e->name, &e->st, &fd_);
          hasher_update (h, fd_.str, DIGEST_STR_LEN);
          if (b->collect_files && ret == 0)
            envmap_set (b->collect_files, buf_str (&p), fd_.str);
        }
      else if (S_ISLNK (e->st.st_mode))
        {
          char t[4096];
          ssize_t tn = readlinkat (dirfd, e->name, t, sizeof t);
          if (tn > 0)
            hasher_update (h, t, (size_t) tn);
          if (b->collect_files && tn > 0)
            {
              _cleanup_buf_ struct buf link = BUF_INIT;
              buf_printf (&link, "symlink to %.*s", (int) tn, t);
              envmap_set (b->collect_files, buf_str (&p), buf_str (&link));
            }
        }
      else if (e->sub)
        {
          struct digest sub_digest;
          int sub = openat (dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            ret = kiln_err_set (b->err, errno, "%s: %s", buf_str (&p), strerror (errno));
          else
            {
              ret = tree_digest (b, sub, e->sub, &sub_digest);
              close (sub);
              hasher_update (h, sub_digest.str, DIGEST_STR_LEN);
            }
        }
    }
  hasher_final (h, out);
  hasher_free (h);
  if (ret == 0)
    ret = memo_put (b, n->key.str, DIGEST_STR_LEN, out);
  return ret;
}

static int
in_root (int root, const char *path, int flags)
{
  const char *p = path;
  while (*p == '/')
    p++;
  return open_resolved (root, *p ? p : ".", flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

static void
ignore_freep (struct ignore_rules **r)
{
  ignore_free (*r);
}

/* Hashes what COPY/ADD sources select from the context (contents, modes, names). */
static int hash_context_sources_locked (struct builder *b, const struct strv *sources,
                                        const struct strv *excludes, struct hasher *h, struct ctx_selection *sel);

/* One transaction for all the file digests a step records (not one fsync each). */
static int
hash_sources_into (struct builder *b, const struct strv *sources, const struct strv *excludes, struct hasher *h,
                   struct ctx_selection *sel)
{
  if (b->ctx_fd < 0)
    return 0;
  if (store_begin (b->st, b->err) < 0)
    return -1;
  sel->ignore = b->ignore;
  int r = hash_context_sources_locked (b, sources, excludes, h, sel);
  if (r < 0)
    {
      store_rollback (b->st);
      return -1;
    }
  return store_commit (b->st, b->err);
}

static int
hash_context_sources_locked (struct builder *b, const struct strv *sources, const struct strv *excludes,
                             struct hasher *h, struct ctx_selection *sel)
{
  _cleanup_ (ignore_freep) struct ignore_rules *excl = NULL;
  if (excludes && excludes->n)
    {
      _cleanup_buf_ struct buf lines = BUF_INIT;
      for (size_t i = 0; i < excludes->n; i++)
        buf_printf (&lines, "%s\n", excludes->v[i]);
      excl = ignore_parse ("--exclude", buf_str (&lines), lines.len, b->err);
      if (excl == NULL)
        return -1;
    }
  for (size_t i = 0; i < sources->n; i++)
    {
      const char *src = sources->v[i];
      _cleanup_free_ char *clean = path_clean (src);
      const char *p = clean;
      while (*p == '/')
        p++;
      /* For a wildcard, hash the directory it searches (a superset: safe). */
      char dir[4096];
      snprintf (dir, sizeof dir, "%s", *p ? p : ".");
      char *g = strpbrk (dir, "*?[");
      if (g)
        {
          while (g > dir && *g != '/')
            g--;
          if (*g == '/')
            *g = '\0';
          else
            snprintf (dir, sizeof dir, ".");
        }
      hasher_update (h, "\nsrc ", 5);
      hasher_update (h, src, strlen (src));
      int fd = in_root (b->ctx_fd, dir, O_PATH);
      if (fd < 0)
        continue; /* missing: the copy itself reports it */
      struct stat st;
      fstat (fd, &st);
      /* .dockerignore decides by the path a followed link leads to. */
      _cleanup_buf_ struct buf real = BUF_INIT;
      int below = fd_path_below (b->ctx_fd, fd, &real);
      close (fd);
      if (below < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          int dfd = in_root (b->ctx_fd, dir, O_RDONLY | O_DIRECTORY);
          if (dfd < 0)
            continue;
          /* The tree that is hashed here is the one the copy walks (one selection). */
          struct ctx_node *root = ctx_scan (dfd, buf_str (&real), b->ignore, excl, b->err);
          struct digest td;
          int r = root ? tree_digest (b, dfd, root, &td) : -1;
          close (dfd);
          if (r < 0)
            {
              ctx_node_free (root);
              return -1;
            }
          if (*buf_str (&real) && ctx_excluded (b->ignore, excl, buf_str (&real)) && root->n == 0)
            {
              ctx_node_free (root); /* excluded, and no exception keeps anything below */
              continue;
            }
          ctx_selection_add (sel, strcmp (dir, ".") ? dir : "", root);
          hasher_update (h, td.str, DIGEST_STR_LEN);
        }
      else if (S_ISREG (st.st_mode) && !ctx_excluded (b->ignore, excl, buf_str (&real)))
        {
          /* A symlinked source is followed: hash what it points at, resolved in
           * the context's root as the copy resolves it (from its parent directory
           * an absolute or ../ target would name another file, or none). */
          int f = in_root (b->ctx_fd, dir, O_RDONLY);
          if (f < 0)
            continue;
          struct digest d;
          int r = digest_fd (f, &d);
          int saved = errno;
          close (f);
          if (r < 0)
            return kiln_err_set (b->err, saved, "%s: %s", dir, strerror (saved));
          char line[64];
          snprintf (line, sizeof line, " %o ", (unsigned) st.st_mode);
          hasher_update (h, line, strlen (line));
          hasher_update (h, d.str, DIGEST_STR_LEN);
          if (b->collect_files)
            envmap_set (b->collect_files, dir, d.str);
        }
    }
  return 0;
}

int
hash_context_sources (struct builder *b, const struct strv *sources, const struct strv *excludes, struct hasher *h,
                      bool keep)
{
  struct ctx_selection own = {0};
  if (keep && b->copy_sel == NULL)
    b->copy_sel = xcalloc (1, sizeof *b->copy_sel);
  else if (keep)
    ctx_selection_clear (b->copy_sel);
  int r = hash_sources_into (b, sources, excludes, h, keep ? b->copy_sel : &own);
  ctx_selection_clear (&own);
  return r;
}

void
context_selection_free (struct builder *b)
{
  if (b->copy_sel)
    ctx_selection_clear (b->copy_sel);
  free (b->copy_sel);
  b->copy_sel = NULL;
}

/* ---------- RUN --mount=type=bind of the context ---------- */

/* When .dockerignore leaves something out, the bound context is a copy of the
 * selection (the same trees and the same file op as COPY) in place of the
 * context itself. */
bool
context_view_needed (const struct builder *b)
{
  return b->ignore && ignore_count (b->ignore) > 0;
}

int
context_view (struct builder *b, const char *source, struct step_dirs *view)
{
  struct ctx_selection sel = {0};
  struct strv one = STRV_INIT;
  char *clean = path_clean (source && *source ? source : ".");
  const char *rel = clean;
  while (*rel == '/')
    rel++;
  bool whole = *rel == '\0' || strcmp (rel, ".") == 0;
  strv_push (&one, whole ? "." : rel);
  free (clean);
  struct hasher *h = hasher_new (); /* the key was made already: this is for the trees */
  int r = hash_sources_into (b, &one, NULL, h, &sel);
  hasher_free (h);
  if (r == 0 && (r = step_begin (b, view)) == 0)
    {
      /* --parents: the view keeps the context's layout, so the mount's source
       * path means the same in it. */
      struct fileop op = {.kind = FOP_COPY, .context_fd = b->ctx_fd, .selection = &sel,
                          .parents = !whole, .store_root = store_root (b->st), .upper = view->upper, .work = view->work,
                          .merged = view->merged, .merged_src = view->merged_src, .dest = "/"};
      op.sources = one;
      one = (struct strv) STRV_INIT;
      r = fileop_run (&op, b->err);
      op.dest = NULL;
      fileop_clear (&op);
      if (r < 0)
        snapshot_abort (&view->sn);
    }
  strv_free (&one);
  ctx_selection_clear (&sel);
  return r;
}
