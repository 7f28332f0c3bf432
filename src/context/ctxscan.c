/* context/ctxscan.c — the context scanned by a pool of threads (see ctxscan.h). */
#include "context/ctxscan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "context/ignore.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/path.h"

#define SCAN_MAX_DEPTH 512u
#define SCAN_MAX_THREADS 4

struct scan
{
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct ctx_node **queue;
  size_t qn, qcap;
  size_t busy; /* nodes being scanned */
  size_t helpers;
  pthread_t helper[SCAN_MAX_THREADS];
  long cores;
  int root_fd;     /* the scanned directory; nodes are opened from it by path */
  size_t root_len; /* of the root's rel, which every node's rel starts with */
  const struct ignore_rules *ignore, *excl;
  int err;
  char *err_path; /* the first failure's */
};

void
ctx_stat_key (const struct stat *st, uint64_t key[static 8])
{
  key[0] = (uint64_t) st->st_dev;
  key[1] = (uint64_t) st->st_ino;
  key[2] = (uint64_t) st->st_size;
  key[3] = (uint64_t) st->st_mtim.tv_sec;
  key[4] = (uint64_t) st->st_mtim.tv_nsec;
  key[5] = (uint64_t) st->st_ctim.tv_sec;
  key[6] = (uint64_t) st->st_ctim.tv_nsec;
  key[7] = (uint64_t) st->st_mode;
}

static struct ctx_node *
node_new (const char *rel, size_t rel_len, unsigned depth)
{
  struct ctx_node *n = xcalloc (1, sizeof *n);
  n->rel = xstrndup (rel, rel_len);
  n->depth = depth;
  return n;
}

/* A queued directory is opened when it is scanned, not when it is found: a wide
 * tree would otherwise hold a descriptor per waiting directory (and run out).
 * No symlink is followed on the way, so a tree swapped meanwhile cannot lead out. */
static int
node_open (const struct scan *sc, const struct ctx_node *n)
{
  if (n->depth == 0)
    return dup (sc->root_fd);
  const char *below = n->rel + sc->root_len + (sc->root_len ? 1 : 0);
  return open_resolved (sc->root_fd, below, O_RDONLY | O_DIRECTORY, 0,
                        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

static void
fail_locked (struct scan *sc, int e, const char *path)
{
  if (sc->err == 0)
    {
      sc->err = e;
      sc->err_path = xstrdup (path);
    }
  pthread_cond_broadcast (&sc->cv);
}

/* Reads one directory: its sorted names, each one's lstat, which are included,
 * and a node (queued) for each subdirectory. */
static void
scan_dir (struct scan *sc, struct ctx_node *node)
{
  int e = 0;
  _cleanup_buf_ struct buf p = BUF_INIT;
  int fd = node_open (sc, node);
  if (fd < 0 || dir_sorted_names (fd, &node->names) < 0)
    {
      e = errno;
      buf_puts (&p, node->rel);
    }
  node->ents = xcalloc (node->names.n ? node->names.n : 1, sizeof *node->ents);
  size_t rel_len = strlen (node->rel);
  struct ctx_node **subs = NULL;
  size_t n_subs = 0, subs_cap = 0;
  for (size_t i = 0; i < node->names.n && e == 0; i++)
    {
      size_t nl = node->names.lens ? node->names.lens[i] : strlen (node->names.v[i]);
      buf_reset (&p);
      buf_append (&p, node->rel, rel_len);
      if (rel_len)
        buf_putc (&p, '/');
      buf_append (&p, node->names.v[i], nl);
      struct ctx_entry *ent = &node->ents[node->n];
      if (fstatat (fd, node->names.v[i], &ent->st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          e = errno;
          break;
        }
      /* An excluded directory may still hold an exception. */
      bool dir = S_ISDIR (ent->st.st_mode);
      enum ignore_decision by_ignore = ignore_decide (sc->ignore, buf_str (&p), dir);
      if (by_ignore == IGNORE_SKIP)
        continue;
      enum ignore_decision by_excl = ignore_decide (sc->excl, buf_str (&p), dir);
      if (by_excl == IGNORE_SKIP)
        continue;
      ent->parent_only = by_ignore == IGNORE_LOOK_INSIDE || by_excl == IGNORE_LOOK_INSIDE;
      ent->name = node->names.v[i];
      ent->name_len = nl;
      node->n++;
      if (!S_ISDIR (ent->st.st_mode))
        continue;
      if (node->depth + 1 > SCAN_MAX_DEPTH)
        {
          e = ELOOP;
          break;
        }
      ent->sub = node_new (buf_str (&p), p.len, node->depth + 1);
      subs = xgrow (subs, &subs_cap, n_subs + 1, sizeof *subs);
      subs[n_subs++] = ent->sub;
    }
  if (fd >= 0)
    close (fd);
  pthread_mutex_lock (&sc->mu);
  if (e)
    fail_locked (sc, e, buf_str (&p));
  /* Queued in reverse so that they are taken in order (the queue is a stack). */
  sc->queue = xgrow (sc->queue, &sc->qcap, sc->qn + n_subs, sizeof *sc->queue);
  for (size_t k = n_subs; k-- > 0;)
    sc->queue[sc->qn++] = subs[k];
  if (n_subs)
    pthread_cond_broadcast (&sc->cv);
  pthread_mutex_unlock (&sc->mu);
  free (subs);
}

static void *scan_helper (void *arg);

/* Takes nodes until none is queued and none is being scanned (which could queue
 * more), or something failed. The caller's thread starts helpers once there is
 * work for them. */
static void
scan_work (struct scan *sc, bool starter)
{
  pthread_mutex_lock (&sc->mu);
  for (;;)
    {
      while (sc->qn == 0 && sc->busy > 0 && sc->err == 0)
        pthread_cond_wait (&sc->cv, &sc->mu);
      if (sc->qn == 0 || sc->err)
        break;
      struct ctx_node *node = sc->queue[--sc->qn];
      sc->busy++;
      while (starter && sc->qn > sc->helpers && (long) sc->helpers + 1 < sc->cores
             && sc->helpers < SCAN_MAX_THREADS)
        {
          if (pthread_create (&sc->helper[sc->helpers], NULL, scan_helper, sc) != 0)
            break;
          sc->helpers++;
        }
      pthread_mutex_unlock (&sc->mu);
      scan_dir (sc, node);
      pthread_mutex_lock (&sc->mu);
      sc->busy--;
      if (sc->busy == 0 && sc->qn == 0)
        pthread_cond_broadcast (&sc->cv);
    }
  pthread_mutex_unlock (&sc->mu);
}

static void *
scan_helper (void *arg)
{
  scan_work (arg, false);
  return NULL;
}

/* Drops the excluded directories in which no exception kept anything (deepest
 * first), so the tree holds only what the build sees. */
static void
node_prune (struct ctx_node *n)
{
  size_t k = 0;
  for (size_t i = 0; i < n->n; i++)
    {
      struct ctx_entry *e = &n->ents[i];
      if (e->sub)
        node_prune (e->sub);
      if (e->parent_only && (e->sub == NULL || e->sub->n == 0))
        {
          ctx_node_free (e->sub);
          continue;
        }
      n->ents[k++] = *e;
    }
  n->n = k;
}

static void
node_key (struct ctx_node *n)
{
  struct hasher *h = hasher_new ();
  hasher_update (h, "kiln dir v2\n", 12);
  hasher_update (h, n->rel, strlen (n->rel) + 1);
  for (size_t i = 0; i < n->n; i++)
    {
      struct ctx_entry *e = &n->ents[i];
      uint64_t key[8];
      ctx_stat_key (&e->st, key);
      hasher_update (h, e->name, e->name_len + 1);
      hasher_update (h, key, sizeof key);
      if (e->sub)
        {
          node_key (e->sub);
          hasher_update (h, e->sub->key.str, DIGEST_STR_LEN);
        }
    }
  hasher_final (h, &n->key);
  hasher_free (h);
}

void
ctx_node_free (struct ctx_node *n)
{
  if (n == NULL)
    return;
  for (size_t i = 0; i < n->n; i++)
    ctx_node_free (n->ents[i].sub);
  free (n->ents);
  strv_free (&n->names);
  free (n->rel);
  free (n);
}

struct ctx_node *
ctx_scan (int dirfd, const char *rel, const struct ignore_rules *ignore, const struct ignore_rules *excl,
          struct kiln_err *err)
{
  struct ctx_node *root = node_new (rel, strlen (rel), 0);
  struct scan sc = {.ignore = ignore, .excl = excl, .root_fd = dirfd, .root_len = strlen (rel)};
  sc.cores = sysconf (_SC_NPROCESSORS_ONLN);
  pthread_mutex_init (&sc.mu, NULL);
  pthread_cond_init (&sc.cv, NULL);
  sc.queue = xgrow (NULL, &sc.qcap, 1, sizeof *sc.queue);
  sc.queue[sc.qn++] = root;
  scan_work (&sc, true);
  for (size_t i = 0; i < sc.helpers; i++)
    pthread_join (sc.helper[i], NULL);
  /* After a failure, queued nodes were never scanned: they are freed with the
   * tree (each is reachable from its parent). */
  free (sc.queue);
  pthread_cond_destroy (&sc.cv);
  pthread_mutex_destroy (&sc.mu);
  if (sc.err)
    {
      kiln_err_set (err, sc.err, "%s: %s", *sc.err_path ? sc.err_path : ".",
                    sc.err == ELOOP ? "too deep" : strerror (sc.err));
      free (sc.err_path);
      ctx_node_free (root);
      return NULL;
    }
  node_prune (root);
  node_key (root);
  return root;
}

bool
ctx_excluded (const struct ignore_rules *ignore, const struct ignore_rules *excl, const char *path)
{
  return (ignore && ignore_excluded (ignore, path)) || (excl && ignore_excluded (excl, path));
}

void
ctx_selection_add (struct ctx_selection *s, const char *name, struct ctx_node *root)
{
  if (s->n == s->cap)
    {
      size_t cap = s->cap;
      s->roots = xgrow (s->roots, &cap, s->n + 1, sizeof *s->roots);
      s->names = xgrow (s->names, &s->cap, s->n + 1, sizeof *s->names);
    }
  _cleanup_free_ char *clean = path_clean (*name ? name : ".");
  const char *c = clean;
  while (*c == '/')
    c++;
  s->names[s->n] = xstrdup (strcmp (c, ".") ? c : "");
  s->roots[s->n++] = root;
}

void
ctx_selection_clear (struct ctx_selection *s)
{
  for (size_t i = 0; i < s->n; i++)
    {
      ctx_node_free (s->roots[i]);
      free (s->names[i]);
    }
  free (s->roots);
  free (s->names);
  s->roots = NULL;
  s->names = NULL;
  s->n = s->cap = 0;
}

const struct ctx_entry *
ctx_node_entry (const struct ctx_node *n, const char *name)
{
  size_t lo = 0, hi = n->n, len = strlen (name);
  while (lo < hi) /* sorted bytewise, as strcmp orders */
    {
      size_t mid = (lo + hi) / 2;
      const struct ctx_entry *e = &n->ents[mid];
      int c = memcmp (e->name, name, e->name_len < len ? e->name_len : len);
      if (c == 0)
        c = e->name_len < len ? -1 : e->name_len > len;
      if (c == 0)
        return e;
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

const struct ctx_node *
ctx_selection_find (const struct ctx_selection *s, const char *rel)
{
  _cleanup_free_ char *clean = path_clean (*rel ? rel : ".");
  const char *want = clean;
  while (*want == '/')
    want++;
  if (strcmp (want, ".") == 0)
    want = "";
  /* The deepest scanned root that holds `want`, then down by names. */
  const struct ctx_node *best = NULL;
  size_t best_len = 0;
  for (size_t i = 0; i < s->n; i++)
    {
      size_t l = strlen (s->names[i]);
      bool holds = l == 0 || (strncmp (want, s->names[i], l) == 0 && (want[l] == '\0' || want[l] == '/'));
      if (holds && (best == NULL || l > best_len))
        best = s->roots[i], best_len = l;
    }
  if (best == NULL)
    return NULL;
  const char *p = want + best_len;
  while (*p)
    {
      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      const char *end = strchr (p, '/');
      size_t nl = end ? (size_t) (end - p) : strlen (p);
      char name[256];
      if (nl >= sizeof name)
        return NULL;
      memcpy (name, p, nl);
      name[nl] = '\0';
      const struct ctx_entry *e = ctx_node_entry (best, name);
      if (e == NULL || e->sub == NULL)
        return NULL;
      best = e->sub;
      p += nl;
    }
  return best;
}
