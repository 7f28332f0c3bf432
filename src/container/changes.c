/* container/changes.c — a container's changes from its overlay upper directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/changes.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

#define MAX_DEPTH 512 /* deeper than PATH_MAX allows anyway; a bound for a hostile tree */

struct walk
{
  uint64_t size;
  struct
  {
    dev_t dev;
    ino_t ino;
  } *seen;
  size_t nseen, capseen;
  const struct strv *lowers; /* for changes; NULL: size only */
  struct strv *lines;
};

static bool
dir_is_empty (int dirfd, const char *name)
{
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  _cleanup_strv_ struct strv names = STRV_INIT;
  bool empty = dir_sorted_names (fd, &names) == 0 && names.n == 0;
  close (fd);
  return empty;
}

static bool
is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

/* Whether a lower layer has `path` ("/a/b"): lstat with no symlink followed on the way
 * (a component that is a link in a layer is not a directory of it). */
static bool
in_lowers (const struct strv *lowers, const char *path)
{
  for (size_t i = 0; i < lowers->n; i++)
    {
      int fd = open (lowers->v[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        continue;
      _cleanup_free_ char *copy = xstrdup (path + 1);
      bool found = true;
      char *save = NULL;
      for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
        {
          int next = openat (fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
          close (fd);
          fd = next;
          if (fd < 0)
            {
              found = false;
              break;
            }
        }
      if (fd >= 0)
        close (fd);
      if (found)
        return true;
    }
  return false;
}

/* The mount points the sandbox makes in the root (docker keeps the same in its "-init"
 * layer, which diff does not show): empty, they are not the container's changes. */
const char *const container_init_paths[] = {"etc/hosts", "etc/resolv.conf", "etc/hostname", "etc/mtab",
                                             ".dockerenv", "dev",            "proc",         "sys",
                                             NULL};

static bool
init_path (const char *path, const struct stat *st)
{
  if (st->st_size != 0 && !S_ISDIR (st->st_mode))
    return false;
  for (size_t i = 0; container_init_paths[i]; i++)
    if (strcmp (path + 1, container_init_paths[i]) == 0)
      return true;
  return false;
}

/* Walks one directory of the upper; *skipped counts the sandbox's own mount points met
 * directly in it. */
static int
walk_dir (struct walk *w, int dirfd, struct buf *path, int depth, size_t *skipped, struct kiln_err *err)
{
  if (depth > MAX_DEPTH)
    return kiln_err_set (err, ELOOP, "%s: too deep", buf_str (path));
  _cleanup_strv_ struct strv names = STRV_INIT;
  if (dir_sorted_names (dirfd, &names) < 0)
    return kiln_err_set (err, errno, "reading %s: %s", *buf_str (path) ? buf_str (path) : "/", strerror (errno));
  size_t base = path->len;
  for (size_t i = 0; i < names.n; i++)
    {
      struct stat st;
      if (fstatat (dirfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue; /* gone meanwhile: a running container changes its files */
      buf_printf (path, "/%s", names.v[i]);
      size_t line_at = w->lines ? w->lines->n : 0;
      if (w->lines && init_path (buf_str (path), &st) && !(S_ISDIR (st.st_mode) && !dir_is_empty (dirfd, names.v[i])))
        {
          (*skipped)++;
          path->len = base;
          path->data[base] = 0;
          continue;
        }
      if (w->lines)
        {
          char kind = is_whiteout (&st) ? 'D' : in_lowers (w->lowers, buf_str (path)) ? 'C' : 'A';
          struct buf line = BUF_INIT;
          buf_printf (&line, "%c %s", kind, buf_str (path));
          strv_push_owned (w->lines, buf_steal (&line));
        }
      if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dirfd, names.v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            {
              size_t sub_skipped = 0;
              int r = walk_dir (w, sub, path, depth + 1, &sub_skipped, err);
              close (sub);
              if (r < 0)
                return -1;
              /* a directory of the image that holds only the sandbox's mount points */
              if (w->lines && sub_skipped && w->lines->n == line_at + 1 && w->lines->v[line_at][0] == 'C')
                {
                  free (w->lines->v[--w->lines->n]);
                  w->lines->v[w->lines->n] = NULL;
                }
            }
        }
      else if (!is_whiteout (&st))
        {
          bool counted = false;
          if (st.st_nlink > 1)
            {
              for (size_t k = 0; k < w->nseen && !counted; k++)
                counted = w->seen[k].dev == st.st_dev && w->seen[k].ino == st.st_ino;
              if (!counted)
                {
                  w->seen = xgrow (w->seen, &w->capseen, w->nseen + 1, sizeof *w->seen);
                  w->seen[w->nseen].dev = st.st_dev;
                  w->seen[w->nseen++].ino = st.st_ino;
                }
            }
          if (!counted)
            w->size += (uint64_t) st.st_size;
        }
      path->len = base;
      path->data[base] = 0;
    }
  return 0;
}

static int
walk_upper (const char *upper_dir, struct walk *w, struct kiln_err *err)
{
  int fd = open (upper_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : kiln_err_set (err, errno, "%s: %s", upper_dir, strerror (errno));
  _cleanup_buf_ struct buf path = BUF_INIT;
  buf_puts (&path, "");
  size_t skipped = 0;
  int r = walk_dir (w, fd, &path, 0, &skipped, err);
  close (fd);
  free (w->seen);
  return r;
}

int
container_rw_size (const char *upper_dir, uint64_t *size, struct kiln_err *err)
{
  struct walk w = {0};
  int r = walk_upper (upper_dir, &w, err);
  *size = w.size;
  return r;
}

static int
by_path (const void *a, const void *b)
{
  return strcmp (*(char *const *) a + 2, *(char *const *) b + 2);
}

int
container_changes (const char *upper_dir, const struct strv *lowers, struct strv *lines, struct kiln_err *err)
{
  _cleanup_strv_ struct strv mine = STRV_INIT;
  struct walk w = {.lowers = lowers, .lines = &mine};
  if (walk_upper (upper_dir, &w, err) < 0)
    return -1;
  /* docker sorts by path ("/a-b" before "/a/b"), not by walk */
  qsort (mine.v, mine.n, sizeof *mine.v, by_path);
  for (size_t i = 0; i < mine.n; i++)
    strv_push (lines, mine.v[i]);
  return 0;
}
