/* frontend/context.c — walking a build context with .dockerignore applied. */
#include "frontend/context.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

static int
walk_dir (int dfd, struct buf *path, unsigned depth, const struct ignore_rules *rules, context_walk_fn fn,
          void *ud, struct kiln_err *err)
{
  if (depth > CONTEXT_MAX_DEPTH)
    return kiln_err_set (err, ELOOP, "%s: directories nested deeper than %u levels", buf_str (path),
                         CONTEXT_MAX_DEPTH);
  _cleanup_strv_ struct strv names = STRV_INIT;
  if (dir_sorted_names (dfd, &names) < 0)
    return kiln_err_set (err, errno, "%s: %s", buf_str (path), strerror (errno));

  size_t base = path->len;
  for (size_t i = 0; i < names.n; i++)
    {
      path->len = base;
      if (base)
        buf_putc (path, '/');
      else
        buf_reset (path);
      buf_puts (path, names.v[i]);
      struct stat st;
      if (fstatat (dfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        return kiln_err_set (err, errno, "%s: %s", buf_str (path), strerror (errno));
      bool excluded = ignore_excluded (rules, buf_str (path));
      bool is_dir = S_ISDIR (st.st_mode);
      if (excluded && !(is_dir && ignore_may_include_below (rules, buf_str (path))))
        continue;
      if (!excluded)
        {
          struct context_entry e = {buf_str (path), names.v[i], dfd, &st};
          if (fn (&e, ud, err) < 0)
            return -1;
        }
      if (is_dir)
        {
          _cleanup_close_ int sub = openat (dfd, names.v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            return kiln_err_set (err, errno, "%s: %s", buf_str (path), strerror (errno));
          if (walk_dir (sub, path, depth + 1, rules, fn, ud, err) < 0)
            return -1;
        }
    }
  path->len = base;
  if (path->data)
    path->data[base] = '\0';
  return 0;
}

int
context_walk (int root_fd, const struct ignore_rules *rules, context_walk_fn fn, void *ud, struct kiln_err *err)
{
  _cleanup_buf_ struct buf path = BUF_INIT;
  return walk_dir (root_fd, &path, 0, rules, fn, ud, err);
}

char *
context_ignore_path (const char *context_dir, const char *dockerfile)
{
  if (dockerfile && strcmp (dockerfile, "-") != 0)
    {
      _cleanup_buf_ struct buf p = BUF_INIT;
      buf_printf (&p, "%s.dockerignore", dockerfile);
      if (access (buf_str (&p), F_OK) == 0)
        return buf_steal (&p);
    }
  struct buf p = BUF_INIT;
  buf_printf (&p, "%s/.dockerignore", context_dir);
  return buf_steal (&p);
}
