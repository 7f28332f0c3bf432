/* util/fsutil.h — small file system helpers shared by the walkers. */
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

/* A DIR stream over the directory `dirfd` refers to, with its own position.
 * (fdopendir(dup(fd)) would share the offset with `fd`: a second walk of the same
 * fd would then see nothing.) */
static inline DIR *
dir_reopen (int dirfd)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  DIR *d = fdopendir (fd);
  if (d == NULL)
    close (fd);
  return d;
}

#include "util/buf.h"
#include "util/err.h"

/* Writes all of buf (retrying short writes and EINTR); `what` names the target in errors. */
int write_all (int fd, const void *buf, size_t len, const char *what, struct kiln_err *err);

/* Appends everything readable from fd to `out`; fails beyond `max` bytes. */
int read_all (int fd, size_t max, struct buf *out, const char *what, struct kiln_err *err);

struct strv;
/* The names in directory `dirfd` but "." and "..", sorted bytewise (layers and
 * cache keys must not depend on the order the file system lists them in).
 * -1 with errno when the directory cannot be read to its end. */
int dir_sorted_names (int dirfd, struct strv *names);

/* The path of the open file `fd` below the directory `root_fd`, as the kernel
 * names them now ("" for the root itself): where a followed symlink led.
 * -1 (errno EXDEV) when fd is not below root. */
int fd_path_below (int root_fd, int fd, struct buf *out);

/* openat2(2) of `path` below `dirfd` with the RESOLVE_* flags `resolve`; O_CLOEXEC
 * is always added.  The kernel answers EAGAIN to RESOLVE_IN_ROOT / RESOLVE_BENEATH
 * lookups through ".." when any rename or mount anywhere on the host raced with them
 * (it cannot then prove the walk stayed inside); its documentation says to ask
 * again, which this does (bounded) so callers never see that spurious error. */
int open_resolved (int dirfd, const char *path, int flags, mode_t mode, unsigned long long resolve);
