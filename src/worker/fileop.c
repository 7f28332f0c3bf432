/* worker/fileop.c — COPY, ADD and WORKDIR's mkdir, inside a private mount namespace. */
#include "worker/fileop.h"
#include "worker/rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "context/ctxscan.h"
#include "context/ignore.h"
#include "store/layer.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/envmap.h"
#include "util/fsutil.h"
#include "util/path.h"
#include "worker/overlay.h"
#include "worker/users.h"

#define CHUNK (1u << 20)
#define MAX_MATCHES 1000000u

void
fileop_clear (struct fileop *op)
{
  strv_free (&op->lowers);
  strv_free (&op->sources);
  strv_free (&op->src_lowers);
  strv_free (&op->excludes);
  strv_free (&op->heredoc_names);
  strv_free (&op->heredoc_contents);
}

/* ---------- chmod specs ---------- */

int
chmod_apply (const char *spec, mode_t mode, bool is_dir, mode_t *out)
{
  if (spec[0] >= '0' && spec[0] <= '7')
    {
      char *end;
      unsigned long v = strtoul (spec, &end, 8);
      if (*end || v > 07777)
        return -1;
      *out = (mode_t) v;
      return 0;
    }
  mode_t m = mode & 07777;
  const char *p = spec;
  while (*p)
    {
      mode_t who = 0;
      for (; *p && strchr ("ugoa", *p); p++)
        who |= *p == 'u' ? 04700 : *p == 'g' ? 02070 : *p == 'o' ? 01007 : 07777;
      if (who == 0)
        who = 07777;
      while (*p && strchr ("+-=", *p))
        {
          char op = *p++;
          mode_t bits = 0;
          if (*p && strchr ("ugo", *p))
            {
              mode_t src = *p == 'u' ? (m >> 6) & 7 : *p == 'g' ? (m >> 3) & 7 : m & 7;
              bits = (mode_t) ((src << 6) | (src << 3) | src);
              p++;
            }
          else
            for (; *p && strchr ("rwxXst", *p); p++)
              switch (*p)
                {
                case 'r': bits |= 0444; break;
                case 'w': bits |= 0222; break;
                case 'x': bits |= 0111; break;
                case 'X': if (is_dir || (mode & 0111)) bits |= 0111; break;
                case 's': bits |= 06000; break;
                case 't': bits |= 01000; break;
                }
          bits &= who;
          if (op == '+')
            m |= bits;
          else if (op == '-')
            m &= ~bits;
          else
            m = (m & ~(who & 0777)) | bits;
        }
      if (*p == ',')
        p++;
      else if (*p)
        return -1;
    }
  *out = m;
  return 0;
}

/* ---------- helpers inside the child ---------- */

struct ctx
{
  const struct fileop *op;
  struct ignore_rules *excludes; /* --exclude, with .dockerignore's pattern rules */
  int dst_root;
  int src_root;
  bool from_context;
  bool chown_set;
  struct user_ids owner;
  char *buf;
  int err_fd;
  bool no_copy_range; /* copy_file_range refused once for these two filesystems */
  /* Files with several links, "dev:ino" → the first copy's absolute path, so that one
   * COPY (as BuildKit's) or an export keeps the hardlinks among what it copies. */
  struct envmap links;
};

static void __attribute__ ((noreturn, format (printf, 2, 3)))
fail (struct ctx *c, const char *fmt, ...)
{
  char msg[2048];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (n > 0 && write (c->err_fd, msg, (size_t) n < sizeof msg ? (size_t) n : sizeof msg - 1) < 0)
    _exit (2);
  _exit (1);
}

static int
in_root (int root, const char *path, int flags, mode_t mode)
{
  const char *p = path;
  while (*p == '/')
    p++;
  return open_resolved (root, *p ? p : ".", flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* mkdir -p of `path` in the destination; new directories get `mode` and the
 * --chown owner (docker gives implicitly created parents both). */
static int
mkdirs (struct ctx *c, const char *path, mode_t mode)
{
  struct rootfs_owner own = {.chown = c->chown_set, .uid = c->owner.uid, .gid = c->owner.gid};
  int fd = rootfs_mkdirs_in_root (c->dst_root, path, mode, &own);
  if (fd < 0)
    fail (c, "%s: %s", path, errno == ENOTDIR || errno == EEXIST ? "not a directory" : strerror (errno));
  return fd;
}

static bool
excluded (struct ctx *c, const char *rel)
{
  const struct ctx_selection *sel = c->from_context ? c->op->selection : NULL;
  return ctx_excluded (sel ? sel->ignore : NULL, c->excludes, rel);
}

/* Is the source `rel` (a path the user named, or a wildcard's match) there to
 * copy?  From the context: a directory when the selection holds it, a file when
 * the rules keep the path a link leads to (.dockerignore applies to what a link
 * reaches too).  From a stage: when --exclude keeps it. */
static bool
source_selected (struct ctx *c, const char *rel)
{
  int fd = in_root (c->src_root, rel, O_PATH, 0);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      if (fd >= 0)
        close (fd);
      return false;
    }
  bool ok;
  if (!c->from_context)
    ok = strcmp (rel, ".") == 0 || !excluded (c, rel);
  else if (S_ISDIR (st.st_mode))
    ok = c->op->selection && ctx_selection_find (c->op->selection, rel) != NULL;
  else
    {
      struct buf real = BUF_INIT;
      ok = fd_path_below (c->src_root, fd, &real) == 0 && !excluded (c, buf_str (&real));
      buf_free (&real);
    }
  close (fd);
  return ok;
}

/* Owner, mode and times of a copied entry: through `fd` when the caller has the
 * file open (no path walked again through the overlay), else by name in pfd. */
static void
apply_meta (struct ctx *c, int pfd, const char *name, int fd, const struct stat *st, const char *what)
{
  mode_t mode = st->st_mode & 07777;
  if (c->op->chmod && !S_ISLNK (st->st_mode))
    chmod_apply (c->op->chmod, mode, S_ISDIR (st->st_mode), &mode);
  uid_t uid = c->chown_set ? c->owner.uid : c->from_context ? 0 : st->st_uid;
  gid_t gid = c->chown_set ? c->owner.gid : c->from_context ? 0 : st->st_gid;
  if ((fd >= 0 ? fchown (fd, uid, gid) : fchownat (pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)) < 0)
    fail (c, "chown %s: %s", what, strerror (errno));
  /* After the chown, which clears set-id bits. */
  if (!S_ISLNK (st->st_mode) && (fd >= 0 ? fchmod (fd, mode) : fchmodat (pfd, name, mode, 0)) < 0)
    fail (c, "chmod %s: %s", what, strerror (errno));
  struct timespec t[2] = {st->st_mtim, st->st_mtim};
  if (fd >= 0)
    futimens (fd, t);
  else
    utimensat (pfd, name, t, AT_SYMLINK_NOFOLLOW);
}

static void
remove_existing (struct ctx *c, int pfd, const char *name, bool keep_dir)
{
  struct stat st;
  if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      if (keep_dir)
        return;
      struct kiln_err e = {0};
      if (store_remove_tree (pfd, name, &e) < 0)
        fail (c, "replacing %s: %s", name, e.msg);
      return;
    }
  unlinkat (pfd, name, 0);
}

/* A new regular file to fill: created at once, and only when the name is taken
 * is the old entry removed first (no stat per file in the common case). */
static int
create_file (struct ctx *c, int dpfd, const char *dname)
{
  int out = openat (dpfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0 && errno == EEXIST)
    {
      remove_existing (c, dpfd, dname, false);
      out = openat (dpfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
  if (out < 0)
    fail (c, "%s: %s", dname, strerror (errno));
  return out;
}

static void copy_tree (struct ctx *c, int sfd, const char *srel, int dpfd, const char *dname, unsigned depth,
                       const struct ctx_node *sel);

/* The selected tree of a context directory the copy enters by its path. */
static const struct ctx_node *
context_node (struct ctx *c, const char *srel)
{
  if (!c->from_context)
    return NULL;
  const struct ctx_node *n = c->op->selection ? ctx_selection_find (c->op->selection, srel) : NULL;
  if (n == NULL)
    fail (c, "\"%s\": not found in the build context (or excluded by .dockerignore)", srel);
  return n;
}

/* A copy source given by the user, followed if it is a symlink: resolved from
 * the source's root by its whole path (a link leads where it would inside that
 * root, never to the host), opened for reading only if it is a regular file or a
 * directory — a device or a FIFO is never opened. */
static int
open_followed (struct ctx *c, const char *srel, struct stat *st, bool want_dir)
{
  int p = in_root (c->src_root, srel, O_PATH, 0);
  if (p < 0 || fstat (p, st) < 0)
    fail (c, "%s: %s", srel, strerror (errno));
  if (!(want_dir ? S_ISDIR (st->st_mode) : S_ISREG (st->st_mode)))
    {
      close (p);
      return -1;
    }
  char self[64];
  snprintf (self, sizeof self, "/proc/self/fd/%d", p);
  int fd = open (self, (want_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NONBLOCK | O_NOCTTY) | O_CLOEXEC);
  struct stat again;
  if (fd < 0 || fstat (fd, &again) < 0 || again.st_ino != st->st_ino || again.st_dev != st->st_dev)
    fail (c, "%s: %s", srel, fd < 0 ? strerror (errno) : "changed while it was copied");
  close (p);
  return fd;
}

/* True when `st` was copied before and dpfd/dname is now a link to that copy; else
 * remembers dpfd/dname as its first copy. */
static bool
link_again (struct ctx *c, const struct stat *st, const char *srel, int dpfd, const char *dname)
{
  char key[64];
  int kl = snprintf (key, sizeof key, "%llu:%llu", (unsigned long long) st->st_dev, (unsigned long long) st->st_ino);
  const char *first = envmap_get (&c->links, key, (size_t) kl);
  if (first == NULL)
    {
      char fdp[64], dir[4096], path[8192];
      snprintf (fdp, sizeof fdp, "/proc/self/fd/%d", dpfd);
      ssize_t n = readlink (fdp, dir, sizeof dir - 1);
      if (n > 0 && (size_t) n < sizeof dir - 1)
        {
          dir[n] = '\0';
          snprintf (path, sizeof path, "%s/%s", strcmp (dir, "/") ? dir : "", dname);
          envmap_set (&c->links, key, path);
        }
      return false;
    }
  remove_existing (c, dpfd, dname, false);
  if (linkat (AT_FDCWD, first, dpfd, dname, 0) < 0)
    fail (c, "%s: link to %s: %s", srel, first, strerror (errno));
  return true;
}

/* Copies one entry (src: fd of its directory + name) to dst (fd of the target dir
 * + name); `follow`: the entry is a source the user named (`srel` from the root). */
static void
copy_entry (struct ctx *c, int spfd, const char *sname, const char *srel, int dpfd, const char *dname, bool follow,
            unsigned depth, const struct ctx_node *sub)
{
  struct stat st;
  if (follow)
    {
      int p = in_root (c->src_root, srel, O_PATH, 0);
      if (p < 0 || fstat (p, &st) < 0)
        fail (c, "%s: %s", srel, strerror (errno));
      close (p);
    }
  else if (fstatat (spfd, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
    fail (c, "%s: %s", srel, strerror (errno));
  if (S_ISDIR (st.st_mode))
    {
      remove_existing (c, dpfd, dname, true);
      if (mkdirat (dpfd, dname, 0700) < 0 && errno != EEXIST)
        fail (c, "%s: %s", dname, strerror (errno));
      int sfd = follow ? open_followed (c, srel, &st, true)
                       : openat (spfd, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sfd < 0)
        fail (c, "%s: %s", srel, follow ? "changed while it was copied" : strerror (errno));
      copy_tree (c, sfd, srel, dpfd, dname, depth + 1, sub ? sub : context_node (c, srel));
      close (sfd);
      apply_meta (c, dpfd, dname, -1, &st, srel);
      return;
    }
  if (!S_ISREG (st.st_mode))
    remove_existing (c, dpfd, dname, false);
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (spfd, sname, target, sizeof target - 1);
      if (n < 0)
        fail (c, "%s: %s", srel, strerror (errno));
      target[n] = '\0';
      if (symlinkat (target, dpfd, dname) < 0)
        fail (c, "%s: %s", dname, strerror (errno));
    }
  else if (S_ISREG (st.st_mode) && st.st_nlink > 1 && !follow && link_again (c, &st, srel, dpfd, dname))
    return;
  else if (S_ISREG (st.st_mode))
    {
      int in = follow ? open_followed (c, srel, &st, false)
                      : openat (spfd, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      if (in < 0)
        fail (c, "%s: %s", srel, follow ? "changed while it was copied" : strerror (errno));
      int out = create_file (c, dpfd, dname);
      off_t left = st.st_size;
      while (left > 0)
        {
          /* In-kernel copy where both ends allow it; an overlay destination and an
           * ext4 source do not (EXDEV), and then read/write is used from then on. */
          ssize_t n = c->no_copy_range ? -1 : copy_file_range (in, NULL, out, NULL, (size_t) left, 0);
          if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS))
            c->no_copy_range = true;
          if (n <= 0)
            {
              /* Fall back to read/write (other filesystems, special files). */
              n = read (in, c->buf, CHUNK);
              if (n <= 0)
                break;
              if (write (out, c->buf, (size_t) n) != n)
                fail (c, "%s: %s", dname, strerror (errno));
            }
          left -= n;
        }
      close (in);
      apply_meta (c, dpfd, dname, out, &st, srel);
      close (out);
      return;
    }
  else if (S_ISFIFO (st.st_mode))
    {
      if (mkfifoat (dpfd, dname, 0600) < 0)
        fail (c, "%s: %s", dname, strerror (errno));
    }
  else
    return; /* devices and sockets are not copied */
  apply_meta (c, dpfd, dname, -1, &st, srel);
}

/* Copies the contents of directory sfd into dpfd/dname: from the context, the
 * entries of its selected tree `sel`; else all but what --exclude leaves out. */
static void
copy_tree (struct ctx *c, int sfd, const char *srel, int dpfd, const char *dname, unsigned depth,
           const struct ctx_node *sel)
{
  if (depth > 512)
    fail (c, "%s: directories nested too deep", srel);
  int dfd = openat (dpfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    fail (c, "%s: %s", dname, strerror (errno));
  if (sel)
    {
      for (size_t i = 0; i < sel->n; i++)
        {
          const struct ctx_entry *e = &sel->ents[i];
          char rel[4096];
          snprintf (rel, sizeof rel, "%s%s%s", srel, *srel ? "/" : "", e->name);
          copy_entry (c, sfd, e->name, rel, dfd, e->name, false, depth, e->sub);
        }
      close (dfd);
      return;
    }
  struct strv names = STRV_INIT;
  if (dir_sorted_names (sfd, &names) < 0)
    fail (c, "%s: %s", srel, strerror (errno));
  for (size_t i = 0; i < names.n; i++)
    {
      char rel[4096];
      snprintf (rel, sizeof rel, "%s%s%s", srel, *srel ? "/" : "", names.v[i]);
      if (excluded (c, rel))
        continue;
      copy_entry (c, sfd, names.v[i], rel, dfd, names.v[i], false, depth, NULL);
    }
  strv_free (&names);
  close (dfd);
}

static bool
has_glob (const char *s)
{
  return strpbrk (s, "*?[") != NULL;
}

/* Expands a source pattern to the paths it names in the source root. */
static void
match_sources (struct ctx *c, const char *pattern, struct strv *out)
{
  char *clean = path_clean (pattern);
  const char *p = clean;
  while (*p == '/')
    p++;
  if (strcmp (p, ".") == 0 || *p == '\0')
    {
      strv_push (out, ".");
      free (clean);
      return;
    }
  if (!has_glob (p))
    {
      strv_push (out, p);
      free (clean);
      return;
    }
  /* Walk from the longest literal prefix directory; match each path. */
  char dir[4096];
  snprintf (dir, sizeof dir, "%s", p);
  char *g = strpbrk (dir, "*?[");
  while (g > dir && *g != '/')
    g--;
  if (*g == '/')
    *g = '\0';
  else
    snprintf (dir, sizeof dir, ".");
  int depth_limit = 0;
  for (const char *q = p; *q; q++)
    depth_limit += *q == '/';
  struct strv stack = STRV_INIT;
  strv_push (&stack, dir);
  while (stack.n && out->n < MAX_MATCHES)
    {
      char *d = stack.v[--stack.n];
      stack.v[stack.n] = NULL;
      int fd = in_root (c->src_root, d, O_RDONLY | O_DIRECTORY, 0);
      if (fd >= 0)
        {
          DIR *dd = fdopendir (fd);
          struct dirent *de;
          struct strv names = STRV_INIT;
          while (dd && (de = readdir (dd)) != NULL)
            if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
              strv_push (&names, de->d_name);
          if (dd)
            closedir (dd);
          strv_sort (&names);
          for (size_t i = 0; i < names.n; i++)
            {
              char rel[4096];
              snprintf (rel, sizeof rel, "%s%s%s", strcmp (d, ".") ? d : "", strcmp (d, ".") ? "/" : "", names.v[i]);
              int slashes = 0;
              for (const char *q = rel; *q; q++)
                slashes += *q == '/';
              if (fnmatch (p, rel, FNM_PATHNAME) == 0)
                {
                  if (source_selected (c, rel))
                    strv_push (out, rel);
                }
              else if (slashes < depth_limit)
                strv_push (&stack, rel);
            }
          strv_free (&names);
        }
      free (d);
    }
  strv_free (&stack);
  free (clean);
}

static bool
is_archive (int fd)
{
  unsigned char h[262];
  ssize_t n = pread (fd, h, sizeof h, 0);
  if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
    return true; /* gzip */
  if (n >= 3 && h[0] == 'B' && h[1] == 'Z' && h[2] == 'h')
    return true;
  if (n >= 6 && memcmp (h, "\xfd" "7zXZ\0", 6) == 0)
    return true;
  if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
    return true;
  return n >= 262 && memcmp (h + 257, "ustar", 5) == 0;
}

static void
do_copy (struct ctx *c)
{
  const struct fileop *op = c->op;
  struct strv srcs = STRV_INIT;
  bool wildcard = false;
  for (size_t i = 0; i < op->sources.n; i++)
    {
      size_t before = srcs.n;
      wildcard |= has_glob (op->sources.v[i]);
      match_sources (c, op->sources.v[i], &srcs);
      if (!has_glob (op->sources.v[i]))
        for (size_t k = before; k < srcs.n; k++)
          {
            if (!source_selected (c, srcs.v[k]))
              fail (c, "\"%s\": not found%s", op->sources.v[i],
                    c->from_context ? " in the build context (or excluded by .dockerignore)" : " in the source stage");
          }
    }
  size_t total = srcs.n + op->heredoc_names.n;
  if (total == 0)
    fail (c, "no source files were specified%s", wildcard ? " (no file matched the wildcard)" : "");
  const char *dest = op->dest;
  size_t dl = strlen (dest);
  bool dest_slash = dl > 0 && dest[dl - 1] == '/';
  struct stat dst_st;
  int probe = in_root (c->dst_root, dest, O_PATH, 0);
  bool dest_is_dir = probe >= 0 && fstat (probe, &dst_st) == 0 && S_ISDIR (dst_st.st_mode);
  if (probe >= 0)
    close (probe);
  if ((total > 1 || (wildcard && srcs.n > 1)) && !dest_slash && !dest_is_dir)
    fail (c, "when using COPY with more than one source file, the destination must be a directory and end with a /");

  mode_t parent_mode = 0755;
  if (op->chmod)
    chmod_apply (op->chmod, 0755, true, &parent_mode);

  /* Heredoc files: their names are the delimiters. */
  for (size_t i = 0; i < op->heredoc_names.n; i++)
    {
      char target[4096];
      if (dest_slash || dest_is_dir || op->heredoc_names.n > 1)
        snprintf (target, sizeof target, "%s%s%s", dest, dest_slash ? "" : "/", op->heredoc_names.v[i]);
      else
        snprintf (target, sizeof target, "%s", dest);
      char *slash = strrchr (target, '/');
      *slash = '\0';
      int pfd = mkdirs (c, target, parent_mode);
      const char *name = slash + 1;
      remove_existing (c, pfd, name, false);
      int fd = openat (pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      const char *body = op->heredoc_contents.v[i];
      if (fd < 0 || write (fd, body, strlen (body)) < 0)
        fail (c, "%s: %s", name, strerror (errno));
      close (fd);
      struct stat st = {.st_mode = S_IFREG | 0644};
      clock_gettime (CLOCK_REALTIME, &st.st_mtim);
      c->from_context = true;
      apply_meta (c, pfd, name, -1, &st, name);
      close (pfd);
    }

  for (size_t i = 0; i < srcs.n; i++)
    {
      const char *src = srcs.v[i];
      int sfd = in_root (c->src_root, src, O_PATH, 0);
      struct stat st;
      if (sfd < 0 || fstat (sfd, &st) < 0)
        fail (c, "%s: %s", src, strerror (errno));
      const char *base = strrchr (src, '/') ? strrchr (src, '/') + 1 : src;
      char target[8192];
      if (op->parents && strcmp (src, ".") != 0)
        snprintf (target, sizeof target, "%s%s%s", dest, dest_slash ? "" : "/", src);
      else if (S_ISDIR (st.st_mode))
        snprintf (target, sizeof target, "%s", dest);
      else if (dest_slash || dest_is_dir || total > 1)
        snprintf (target, sizeof target, "%s%s%s", dest, dest_slash ? "" : "/", base);
      else
        snprintf (target, sizeof target, "%s", dest);
      close (sfd);

      if (S_ISDIR (st.st_mode) && !op->parents)
        {
          /* A directory source copies its contents. */
          int dfd = mkdirs (c, target, parent_mode);
          int src_dir = in_root (c->src_root, src, O_RDONLY | O_DIRECTORY, 0);
          if (src_dir < 0)
            fail (c, "%s: %s", src, strerror (errno));
          int parent = dup (dfd);
          copy_tree (c, src_dir, strcmp (src, ".") ? src : "", parent, ".", 0, context_node (c, src));
          close (parent);
          close (src_dir);
          close (dfd);
          continue;
        }
      size_t tl = strlen (target);
      while (tl > 1 && target[tl - 1] == '/')
        target[--tl] = '\0';
      char *slash = strrchr (target, '/');
      char parent_path[8192];
      snprintf (parent_path, sizeof parent_path, "%.*s", slash ? (int) (slash - target) : 0, target);
      const char *name = slash ? slash + 1 : target;
      int pfd = mkdirs (c, parent_path[0] ? parent_path : "/", parent_mode);
      /* The source's own directory, so that a symlink source is followed inside its root. */
      char sdir[4096];
      const char *sl = strrchr (src, '/');
      snprintf (sdir, sizeof sdir, "%.*s", sl ? (int) (sl - src) : 1, sl ? src : ".");
      int spfd = in_root (c->src_root, sdir, O_RDONLY | O_DIRECTORY, 0);
      if (spfd < 0)
        fail (c, "%s: %s", src, strerror (errno));
      if (op->add && S_ISREG (st.st_mode))
        {
          struct stat ast;
          int afd = open_followed (c, src, &ast, false);
          if (afd >= 0 && is_archive (afd))
            {
              /* ADD of a local archive: its contents land in the destination directory. */
              close (pfd);
              int dfd = mkdirs (c, dest, parent_mode);
              struct kiln_err e = {0};
              if (layer_apply_tar (dfd, afd, NULL, NULL, NULL, &e) < 0)
                fail (c, "ADD %s: %s", src, e.msg);
              close (dfd);
              close (afd);
              close (spfd);
              continue;
            }
          if (afd >= 0)
            close (afd);
        }
      copy_entry (c, spfd, base, src, pfd, name, true, 0, NULL);
      close (spfd);
      close (pfd);
    }
  strv_free (&srcs);
}

static void
do_mkdir (struct ctx *c)
{
  int probe = in_root (c->dst_root, c->op->dest, O_PATH, 0);
  if (probe >= 0)
    {
      close (probe);
      return; /* an existing directory keeps its owner */
    }
  char why[512];
  struct user_ids ids;
  if (users_resolve (c->dst_root, c->op->owner, true, &ids, why, sizeof why) == 0)
    {
      c->owner = ids;
      c->chown_set = c->op->owner && *c->op->owner;
    }
  int fd = mkdirs (c, c->op->dest, 0755);
  close (fd);
}

/* Mounts `lowers` (and `upper`, if any) on `target` and opens the tree.  With
 * neither (a scratch stage or image) there is nothing to stack, and overlayfs
 * refuses one empty directory as both of the lowers a read-only mount needs
 * (ELOOP): the tree is then an empty directory, opened as it is. */
static int
mount_layers (struct ctx *c, const struct strv *lowers, const char *upper, const char *work, const char *target,
              const char *what)
{
  char empty[4200];
  snprintf (empty, sizeof empty, "%s.empty", target);
  if (lowers->n < (upper ? 1u : 2u))
    mkdir (empty, 0755);
  if (lowers->n == 0 && upper == NULL)
    target = empty;
  else
    {
      _cleanup_buf_ struct buf opts = BUF_INIT;
      overlay_options (&opts, lowers, empty, upper, work);
      if (mount ("overlay", target, "overlay", upper ? 0 : MS_RDONLY, buf_str (&opts)) < 0)
        fail (c, "mounting %s: %s", what, strerror (errno));
    }
  int fd = open (target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    fail (c, "%s: %s", target, strerror (errno));
  return fd;
}

static void __attribute__ ((noreturn))
child (const struct fileop *op, int err_fd)
{
  struct ctx c = {.op = op, .err_fd = err_fd, .src_root = -1};
  c.buf = xmalloc (CHUNK);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    fail (&c, "mount namespace: %s", strerror (errno));
  char snapdir[4096];
  snprintf (snapdir, sizeof snapdir, "%s/snapshots", op->store_root);
  if (chdir (snapdir) < 0)
    fail (&c, "%s: %s", snapdir, strerror (errno));
  c.dst_root = mount_layers (&c, &op->lowers, op->upper, op->work, op->merged, "the image");
  if (op->kind == FOP_MKDIR)
    {
      do_mkdir (&c);
      _exit (0);
    }
  if (op->kind == FOP_EXPORT)
    {
      /* The image (mounted read-only above as the "destination") is copied out
       * to a host directory with owners and modes kept. */
      int out = open (op->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (out < 0)
        fail (&c, "%s: %s", op->dest, strerror (errno));
      c.src_root = c.dst_root;
      c.from_context = false;
      int parent = dup (out);
      copy_tree (&c, c.src_root, "", parent, ".", 0, NULL);
      _exit (0);
    }
  if (op->context_fd >= 0)
    {
      c.src_root = op->context_fd;
      c.from_context = true;
    }
  else
    {
      mkdir (op->merged_src, 0755); /* made only by the steps that need it */
      c.src_root = mount_layers (&c, &op->src_lowers, NULL, NULL, op->merged_src, "the source");
    }
  if (op->excludes.n)
    {
      struct buf lines = BUF_INIT;
      for (size_t i = 0; i < op->excludes.n; i++)
        buf_printf (&lines, "%s\n", op->excludes.v[i]);
      struct kiln_err e = {0};
      c.excludes = ignore_parse ("--exclude", buf_str (&lines), lines.len, &e);
      if (c.excludes == NULL)
        fail (&c, "%s", e.msg);
      buf_free (&lines);
    }
  if (op->chown && *op->chown)
    {
      char why[512];
      if (users_resolve (c.dst_root, op->chown, true, &c.owner, why, sizeof why) < 0)
        fail (&c, "--chown=%s: %s", op->chown, why);
      c.chown_set = true;
    }
  do_copy (&c);
  _exit (0);
}

int
fileop_run (const struct fileop *op, struct kiln_err *err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  pid_t pid = fork ();
  if (pid < 0)
    return kiln_err_set (err, errno, "fork: %s", strerror (errno));
  if (pid == 0)
    {
      close (p[0]);
      child (op, p[1]);
    }
  close (p[1]);
  char msg[2048];
  ssize_t n = 0, got;
  while ((got = read (p[0], msg + n, sizeof msg - 1 - (size_t) n)) > 0)
    n += got;
  close (p[0]);
  int st;
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (n > 0)
    {
      msg[n] = '\0';
      return kiln_err_set (err, EIO, "%s", msg);
    }
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    return kiln_err_set (err, EIO, "the file operation failed (status %d)", st);
  return 0;
}
