/* util/outfile.c — a file the user names for kiln to write (see outfile.h).
 *
 * States of a `struct outfile`, by how it was opened:
 *   OF_STDOUT   a duplicate of descriptor 1; commit and abort close it.
 *   OF_FIFO     the named pipe itself; commit and abort close it.
 *   OF_UNNAMED  an O_TMPFILE file in the destination's directory (`dirfd`); it has no
 *               name until commit links it in, so abort (or a kill) leaves nothing.
 *   OF_NAMED    the fallback where O_TMPFILE is refused: `tmp` in `dirfd`, renamed
 *               over `base` by commit, unlinked by abort.
 * Invariant: the name `base` in `dirfd` is only ever changed by one renameat() or
 * linkat() in commit, after the data is fsynced, and only if what is there is still
 * a regular file (or nothing). */
#include "util/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/utf8.h"

/* The unit test replaces this to reach the named fallback. */
#ifndef OUTFILE_OPEN_UNNAMED
#define OUTFILE_OPEN_UNNAMED(dirfd, mode) openat ((dirfd), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, (mode))
#endif

#define SYMLINK_HOPS 40 /* as the kernel's MAXSYMLINKS */
#define TEMP_TRIES 100

enum of_how
{
  OF_STDOUT,
  OF_FIFO,
  OF_UNNAMED,
  OF_NAMED,
};

struct outfile
{
  enum of_how how;
  int fd;
  int dirfd;   /* OF_UNNAMED, OF_NAMED: the directory the file gets its name in */
  char *shown; /* the path as the user gave it, for messages */
  char *base;  /* the name in dirfd */
  char *tmp;   /* OF_NAMED: the temporary name in dirfd */
};

static const char *
kind_name (mode_t m)
{
  if (S_ISCHR (m) || S_ISBLK (m))
    return "a device";
  if (S_ISSOCK (m))
    return "a socket";
  if (S_ISFIFO (m))
    return "a named pipe";
  if (S_ISLNK (m))
    return "a symbolic link";
  return "an irregular file";
}

static int
invalid_path (const char *shown, int code, const char *why, const char *kind, struct kiln_err *err)
{
  _cleanup_buf_ struct buf q = BUF_INIT;
  utf8_go_quote (&q, shown, strlen (shown));
  return kiln_err_set (err, code, "invalid output path: %s %s%s", buf_str (&q), why, kind ? kind : "");
}

/* 0 when a path holding a file of type `m` may be written as `flags` says.  Where a
 * directory is wanted, a regular file is left to the command to report. */
static int
check_type (const char *shown, mode_t m, unsigned flags, struct kiln_err *err)
{
  bool ok = flags & OUTFILE_DIR ? S_ISDIR (m) || S_ISREG (m) : S_ISREG (m) || S_ISFIFO (m);
  if (ok)
    return 0;
  if (S_ISDIR (m))
    return invalid_path (shown, EISDIR, "is a directory, not a file", NULL, err);
  return invalid_path (shown, KILN_EINVAL, "must be a directory or a regular file: got ", kind_name (m), err);
}

/* The directory part of `path` ("." when there is none) and its last component. */
static char *
dir_of (const char *path, const char **base)
{
  const char *slash = strrchr (path, '/');
  if (base)
    *base = slash ? slash + 1 : path;
  if (slash == NULL)
    return xstrdup (".");
  return slash == path ? xstrdup ("/") : xstrndup (path, (size_t) (slash - path));
}

int
outfile_check (const char *path, unsigned flags, struct kiln_err *err)
{
  if ((flags & OUTFILE_STDOUT) && strcmp (path, "-") == 0)
    return 0;
  if (*path == '\0')
    return kiln_err_set (err, KILN_EINVAL, "invalid output path: empty");
  struct stat sb;
  if (!(flags & OUTFILE_DIR))
    {
      const char *base;
      _cleanup_free_ char *dir = dir_of (path, &base);
      if (stat (dir, &sb) < 0 && errno == ENOENT)
        {
          _cleanup_buf_ struct buf q = BUF_INIT;
          utf8_go_quote (&q, dir, strlen (dir));
          return kiln_err_set (err, ENOENT, "invalid output path: directory %s does not exist", buf_str (&q));
        }
      if (*base == '\0')
        return invalid_path (path, EISDIR, "is a directory, not a file", NULL, err);
    }
  if (stat (path, &sb) < 0)
    return errno == ENOENT ? 0 : kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  return check_type (path, sb.st_mode, flags, err);
}

/* The name that opening `path` would write: symlinks in its last component are
 * followed (a dangling one to the name it points at), as open(O_CREAT) does. */
static char *
resolve_last (const char *path, struct kiln_err *err)
{
  char *p = xstrdup (path);
  for (int hops = 0;; hops++)
    {
      struct stat sb;
      if (lstat (p, &sb) < 0 || !S_ISLNK (sb.st_mode))
        return p;
      if (hops == SYMLINK_HOPS)
        break;
      size_t cap = (size_t) sb.st_size + 2;
      _cleanup_free_ char *target = NULL;
      ssize_t n;
      for (;;)
        {
          free (target);
          target = xmalloc (cap);
          n = readlink (p, target, cap);
          if (n < 0 || (size_t) n < cap)
            break;
          cap *= 2;
        }
      if (n < 0)
        {
          kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
          free (p);
          return NULL;
        }
      target[n] = '\0';
      struct buf next = BUF_INIT;
      const char *slash = strrchr (p, '/');
      if (target[0] != '/' && slash)
        buf_append (&next, p, (size_t) (slash - p) + 1);
      buf_puts (&next, target);
      free (p);
      p = buf_steal (&next);
    }
  free (p);
  kiln_err_set (err, ELOOP, "%s: %s", path, strerror (ELOOP));
  return NULL;
}

static char *
temp_name (const char *base, int n)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s.kiln-tmp-%d-%d", base, (int) getpid (), n);
  return buf_steal (&b);
}

static void
outfile_free (struct outfile *f)
{
  if (f->fd >= 0)
    close (f->fd);
  if (f->dirfd >= 0)
    close (f->dirfd);
  free (f->shown);
  free (f->base);
  free (f->tmp);
  free (f);
}

static int
open_fifo (struct outfile *f, const char *real, struct kiln_err *err)
{
  f->how = OF_FIFO;
  do
    f->fd = open (real, O_WRONLY | O_NOCTTY | O_CLOEXEC);
  while (f->fd < 0 && errno == EINTR);
  if (f->fd < 0)
    return kiln_err_set (err, errno, "%s: %s", f->shown, strerror (errno));
  /* It was a pipe when looked at; refuse whatever took its place since. */
  struct stat sb;
  if (fstat (f->fd, &sb) < 0)
    return kiln_err_set (err, errno, "%s: %s", f->shown, strerror (errno));
  return S_ISFIFO (sb.st_mode) ? 0 : check_type (f->shown, sb.st_mode, 0, err);
}

static int
open_in_dir (struct outfile *f, const char *real, struct kiln_err *err)
{
  const char *base;
  _cleanup_free_ char *dir = dir_of (real, &base);
  f->base = xstrdup (base);
  f->dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f->dirfd < 0)
    return kiln_err_set (err, errno, "%s: %s", dir, strerror (errno));
  f->how = OF_UNNAMED;
  f->fd = OUTFILE_OPEN_UNNAMED (f->dirfd, 0644);
  if (f->fd >= 0)
    return 0;
  if (errno != EOPNOTSUPP && errno != EISDIR) /* EISDIR: a kernel without O_TMPFILE */
    return kiln_err_set (err, errno, "%s: %s", f->shown, strerror (errno));
  f->how = OF_NAMED;
  for (int n = 0; f->fd < 0 && n < TEMP_TRIES; n++)
    {
      free (f->tmp);
      f->tmp = temp_name (f->base, n);
      f->fd = openat (f->dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (f->fd < 0 && errno != EEXIST)
        break;
    }
  if (f->fd >= 0)
    return 0;
  int e = errno;
  free (f->tmp);
  f->tmp = NULL;
  return kiln_err_set (err, e, "%s: %s", f->shown, strerror (e));
}

struct outfile *
outfile_open (const char *path, unsigned flags, struct kiln_err *err)
{
  flags &= ~(unsigned) OUTFILE_DIR;
  if (outfile_check (path, flags, err) < 0)
    return NULL;
  struct outfile *f = xcalloc (1, sizeof *f);
  f->fd = f->dirfd = -1;
  f->shown = xstrdup (path);
  int r;
  if ((flags & OUTFILE_STDOUT) && strcmp (path, "-") == 0)
    {
      f->how = OF_STDOUT;
      f->fd = fcntl (STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
      r = f->fd < 0 ? kiln_err_set (err, errno, "standard output: %s", strerror (errno)) : 0;
    }
  else
    {
      _cleanup_free_ char *real = resolve_last (path, err);
      struct stat sb;
      if (real == NULL)
        r = -1;
      else if (lstat (real, &sb) < 0)
        r = errno == ENOENT ? open_in_dir (f, real, err) : kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
      else if (S_ISFIFO (sb.st_mode))
        r = open_fifo (f, real, err);
      else if (S_ISREG (sb.st_mode))
        r = open_in_dir (f, real, err);
      else
        r = check_type (path, sb.st_mode, flags, err);
    }
  if (r < 0)
    {
      outfile_abort (f);
      return NULL;
    }
  return f;
}

int
outfile_fd (const struct outfile *f)
{
  return f->fd;
}

/* Gives the open file the name `name` in dirfd; -1 with errno (EEXIST when taken). */
static int
link_unnamed (struct outfile *f, const char *name)
{
  char proc[64];
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", f->fd);
  if (linkat (AT_FDCWD, proc, f->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
    return 0;
  if (errno != ENOENT) /* ENOENT: no /proc; AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH */
    return -1;
  return linkat (f->fd, "", f->dirfd, name, AT_EMPTY_PATH);
}

/* Puts the written file in place under `base` (the states are in the comment on top). */
static int
name_it (struct outfile *f, struct kiln_err *err)
{
  struct stat sb;
  if (fstatat (f->dirfd, f->base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG (sb.st_mode))
    return check_type (f->shown, sb.st_mode, 0, err);
  if (f->how == OF_UNNAMED)
    {
      if (link_unnamed (f, f->base) == 0)
        return 0;
      if (errno != EEXIST)
        return kiln_err_set (err, errno, "%s: %s", f->shown, strerror (errno));
      /* An older file is there: link beside it, then rename over it. */
      for (int n = 0; f->tmp == NULL && n < TEMP_TRIES; n++)
        {
          f->tmp = temp_name (f->base, n);
          if (link_unnamed (f, f->tmp) == 0)
            break;
          int e = errno;
          free (f->tmp);
          f->tmp = NULL;
          if (e != EEXIST)
            return kiln_err_set (err, e, "%s: %s", f->shown, strerror (e));
        }
      if (f->tmp == NULL)
        return kiln_err_set (err, EEXIST, "%s: %s", f->shown, strerror (EEXIST));
    }
  if (renameat (f->dirfd, f->tmp, f->dirfd, f->base) < 0)
    return kiln_err_set (err, errno, "%s: %s", f->shown, strerror (errno));
  free (f->tmp);
  f->tmp = NULL;
  return 0;
}

int
outfile_commit (struct outfile *f, struct kiln_err *err)
{
  int r = 0;
  if (f->how == OF_STDOUT || f->how == OF_FIFO)
    {
      int fd = f->fd;
      f->fd = -1;
      if (close (fd) < 0 && errno != EINTR)
        r = kiln_err_set (err, errno, "%s: %s", f->how == OF_STDOUT ? "standard output" : f->shown,
                          strerror (errno));
      outfile_free (f);
      return r;
    }
  if (fsync (f->fd) < 0)
    r = kiln_err_set (err, errno, "%s: %s", f->shown, strerror (errno));
  else
    r = name_it (f, err);
  if (r < 0)
    {
      outfile_abort (f);
      return -1;
    }
  /* The name is in place; a directory that cannot be synced only risks it to a
   * crash, as any file a program writes. */
  (void) fsync (f->dirfd);
  outfile_free (f);
  return 0;
}

void
outfile_abort (struct outfile *f)
{
  if (f == NULL)
    return;
  if (f->tmp && f->dirfd >= 0)
    unlinkat (f->dirfd, f->tmp, 0);
  outfile_free (f);
}

int
outfile_put (const char *path, const void *data, size_t len, struct kiln_err *err)
{
  struct outfile *f = outfile_open (path, 0, err);
  if (f == NULL)
    return -1;
  if (write_all (f->fd, data, len, path, err) < 0)
    {
      outfile_abort (f);
      return -1;
    }
  return outfile_commit (f, err);
}
