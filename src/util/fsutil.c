/* util/fsutil.c — whole reads and writes with the error handling done once. */
#include "util/fsutil.h"

#include <errno.h>
#include <string.h>

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
