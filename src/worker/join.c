/* worker/join.c — a running process's cgroups as cgroup.procs paths. */
#include "worker/join.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"

/* mountinfo escapes spaces and the like as \ooo. */
static void
unescape (char *s)
{
  char *w = s;
  for (char *r = s; *r; r++)
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
      {
        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
        r += 3;
      }
    else
      *w++ = *r;
  *w = '\0';
}

/* True if every comma-separated item of `want` is in the comma list `have`. */
static bool
all_in (const char *want, const char *have)
{
  _cleanup_free_ char *w = xstrdup (want);
  char *save = NULL;
  for (char *t = strtok_r (w, ",", &save); t; t = strtok_r (NULL, ",", &save))
    {
      size_t n = strlen (t);
      const char *h = have;
      bool found = false;
      while (*h && !found)
        {
          const char *e = strchrnul (h, ',');
          found = (size_t) (e - h) == n && strncmp (h, t, n) == 0;
          h = *e ? e + 1 : e;
        }
      if (!found)
        return false;
    }
  return true;
}

/* The mount point and root of the hierarchy with `controllers` ("" for v2). */
static bool
find_mount (const char *mountinfo, const char *controllers, char **point, char **root)
{
  _cleanup_free_ char *text = xstrdup (mountinfo);
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      /* id parent maj:min root point opts [optional...] - fstype source superopts */
      char *f[6] = {0};
      char *lsave = NULL, *t = strtok_r (line, " ", &lsave);
      for (int i = 0; i < 6 && t; i++, t = strtok_r (NULL, " ", &lsave))
        f[i] = t;
      while (t && strcmp (t, "-") != 0)
        t = strtok_r (NULL, " ", &lsave);
      char *fstype = t ? strtok_r (NULL, " ", &lsave) : NULL;
      char *source = fstype ? strtok_r (NULL, " ", &lsave) : NULL;
      char *super = source ? strtok_r (NULL, " ", &lsave) : NULL;
      if (f[4] == NULL || fstype == NULL)
        continue;
      bool match = *controllers == '\0' ? strcmp (fstype, "cgroup2") == 0
                                        : strcmp (fstype, "cgroup") == 0 && super && all_in (controllers, super);
      if (match)
        {
          *root = xstrdup (f[3]);
          *point = xstrdup (f[4]);
          unescape (*root);
          unescape (*point);
          return true;
        }
    }
  return false;
}

/* The path `controllers` has in a /proc/PID/cgroup text, or NULL. */
static char *
path_of (const char *cgroup, const char *controllers)
{
  _cleanup_free_ char *text = xstrdup (cgroup);
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *c1 = strchr (line, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 && (size_t) (c2 - c1 - 1) == strlen (controllers) && strncmp (c1 + 1, controllers, strlen (controllers)) == 0)
        return xstrdup (c2 + 1);
    }
  return NULL;
}

void
join_cgroup_procs (const char *mountinfo, const char *target_cgroup, const char *self_cgroup, struct strv *procs)
{
  _cleanup_free_ char *text = xstrdup (target_cgroup);
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *c1 = strchr (line, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 == NULL || c2[1] != '/')
        continue;
      *c2 = '\0';
      const char *controllers = c1 + 1, *path = c2 + 1;
      _cleanup_free_ char *mine = path_of (self_cgroup, controllers);
      if (mine && strcmp (mine, path) == 0)
        continue;
      _cleanup_free_ char *point = NULL, *root = NULL;
      if (!find_mount (mountinfo, controllers, &point, &root))
        continue;
      /* The mount shows the hierarchy from `root` down. */
      const char *rel = path;
      size_t rl = strlen (root);
      if (strcmp (root, "/") != 0)
        {
          if (strncmp (path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
            continue;
          rel = path + rl;
        }
      struct buf p = BUF_INIT;
      buf_printf (&p, "%s%s%scgroup.procs", point, rel, rel[0] && rel[strlen (rel) - 1] == '/' ? "" : "/");
      strv_push_owned (procs, buf_steal (&p));
    }
}

static int
read_text (const char *path, struct buf *out, struct kiln_err *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  return read_all (fd, 1 << 20, out, path, err);
}

int
join_cgroup_procs_of (pid_t pid, struct strv *procs, struct kiln_err *err)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/cgroup", (int) pid);
  _cleanup_buf_ struct buf target = BUF_INIT, self = BUF_INIT, mi = BUF_INIT;
  if (read_text (path, &target, err) < 0 || read_text ("/proc/self/cgroup", &self, err) < 0
      || read_text ("/proc/self/mountinfo", &mi, err) < 0)
    return -1;
  join_cgroup_procs (buf_str (&mi), buf_str (&target), buf_str (&self), procs);
  return 0;
}
