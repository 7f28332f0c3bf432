/* util/fsutil.c — whole reads and writes with the error handling done once. */
#include "util/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include "util/buf.h"

int
write_all (int fd, const void *buf, size_t len, const char *what, struct kiln_err *err)
{
  const char *p = buf;
  while (len)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return kiln_err_set (err, errno, "%s: %s", what, strerror (errno));
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
read_all (int fd, size_t max, struct buf *out, const char *what, struct kiln_err *err)
{
  char chunk[65536];
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return kiln_err_set (err, errno, "%s: %s", what, strerror (errno));
      if (n == 0)
        return 0;
      if (out->len + (size_t) n > max)
        return kiln_err_set (err, EFBIG, "%s: larger than %zu bytes", what, max);
      buf_append (out, chunk, (size_t) n);
    }
}

int
dir_sorted_names (int dirfd, struct strv *names)
{
  DIR *d = dir_reopen (dirfd);
  if (d == NULL)
    return -1;
  struct dirent *de;
  errno = 0;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
        strv_push (names, de->d_name);
      errno = 0;
    }
  int rerr = errno;
  closedir (d);
  if (rerr)
    {
      errno = rerr;
      return -1;
    }
  strv_sort (names);
  return 0;
}

int
fd_path_below (int root_fd, int fd, struct buf *out)
{
  char root[4096], self[64], path[4096];
  snprintf (self, sizeof self, "/proc/self/fd/%d", root_fd);
  ssize_t rn = readlink (self, root, sizeof root - 1);
  snprintf (self, sizeof self, "/proc/self/fd/%d", fd);
  ssize_t pn = readlink (self, path, sizeof path - 1);
  if (rn <= 0 || pn <= 0)
    return -1;
  root[rn] = path[pn] = '\0';
  if (strcmp (root, "/") == 0)
    rn = 0;
  if (strncmp (path, root, (size_t) rn) != 0 || (path[rn] != '\0' && path[rn] != '/'))
    {
      errno = EXDEV;
      return -1;
    }
  buf_reset (out);
  buf_puts (out, path[rn] == '/' ? path + rn + 1 : path + rn);
  return 0;
}

int
open_resolved (int dirfd, const char *path, int flags, mode_t mode, unsigned long long resolve)
{
  struct open_how how = {.flags = (uint64_t) (flags | O_CLOEXEC), .mode = mode, .resolve = resolve};
  /* The open is only retried while the host keeps renaming or mounting during the
   * lookup; 1000 tries is far beyond any real race and still bounded. */
  for (int tries = 0;; tries++)
    {
      int fd = (int) syscall (SYS_openat2, dirfd, path, &how, sizeof how);
      if (fd >= 0 || errno != EAGAIN || tries >= 1000)
        return fd;
    }
}
