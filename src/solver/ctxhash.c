/* solver/ctxhash.c — the content digest of context sources for cache keys: files
 * and trees hashed by content, memoised in the store by their stat numbers. */
#include "solver/builder.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>

#include "frontend/ctxscan.h"
#include "frontend/ignore.h"
#include "util/cleanup.h"

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
  int hit = memo_get (b, n->key.str, DIGEST_STR_LEN, out);
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
        }
      else if (S_ISLNK (e->st.st_mode))
        {
          char t[4096];
          ssize_t tn = readlinkat (dirfd, e->name, t, sizeof t);
          if (tn > 0)
            hasher_update (h, t, (size_t) tn);
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
hash_tree (struct builder *b, int dirfd, const char *rel, struct digest *out, const struct ignore_rules *excl)
{
  struct ctx_node *root = ctx_scan (dirfd, rel, b->ignore, excl, b->err);
  if (root == NULL)
    return -1;
  int r = tree_digest (b, dirfd, root, out);
  ctx_node_free (root);
  return r;
}

static int
in_root (int root, const char *path, int flags)
{
  struct open_how how = {.flags = (uint64_t) (flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  const char *p = path;
  while (*p == '/')
    p++;
  return (int) syscall (SYS_openat2, root, *p ? p : ".", &how, sizeof how);
}

static void
ignore_freep (struct ignore_rules **r)
{
  ignore_free (*r);
}

/* Hashes what COPY/ADD sources select from the context (contents, modes, names). */
static int hash_context_sources_locked (struct builder *b, const struct strv *sources,
                                        const struct strv *excludes, struct hasher *h);

/* One transaction for all the file digests a step records (not one fsync each). */
int
hash_context_sources (struct builder *b, const struct strv *sources, const struct strv *excludes, struct hasher *h)
{
  if (b->ctx_fd < 0)
    return 0;
  if (store_begin (b->st, b->err) < 0)
    return -1;
  int r = hash_context_sources_locked (b, sources, excludes, h);
  if (r < 0)
    {
      store_rollback (b->st);
      return -1;
    }
  return store_commit (b->st, b->err);
}

static int
hash_context_sources_locked (struct builder *b, const struct strv *sources, const struct strv *excludes,
                             struct hasher *h)
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
      close (fd);
      if (S_ISDIR (st.st_mode))
        {
          int dfd = in_root (b->ctx_fd, dir, O_RDONLY | O_DIRECTORY);
          if (dfd < 0)
            continue;
          struct digest td;
          int r = hash_tree (b, dfd, strcmp (dir, ".") ? dir : "", &td, excl);
          close (dfd);
          if (r < 0)
            return -1;
          hasher_update (h, td.str, DIGEST_STR_LEN);
        }
      else if (S_ISREG (st.st_mode))
        {
          char pdir[4096];
          const char *sl = strrchr (dir, '/');
          snprintf (pdir, sizeof pdir, "%.*s", sl ? (int) (sl - dir) : 1, sl ? dir : ".");
          int pfd = in_root (b->ctx_fd, pdir, O_RDONLY | O_DIRECTORY);
          if (pfd < 0)
            continue;
          /* A symlinked source is followed: hash what it points at. */
          int f = in_root (pfd, sl ? sl + 1 : dir, O_RDONLY);
          close (pfd);
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
        }
    }
  return 0;
}
