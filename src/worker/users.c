/* worker/users.c — passwd and group lookups inside an image's root. */
#include "worker/users.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"

static int
openat2_in_root (int root_fd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {.flags = (uint64_t) (flags | O_CLOEXEC), .mode = mode,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int) syscall (SYS_openat2, root_fd, path, &how, sizeof how);
}



static bool
all_digits (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

/* Reads a small file from inside the root. */
static char *
read_in_root (int root_fd, const char *path)
{
  int fd = openat2_in_root (root_fd, path, O_RDONLY, 0);
  if (fd < 0)
    return NULL;
  struct buf b = BUF_INIT;
  char chunk[4096];
  ssize_t n;
  while ((n = read (fd, chunk, sizeof chunk)) > 0 && b.len < (4u << 20))
    buf_append (&b, chunk, (size_t) n);
  close (fd);
  return buf_steal (&b);
}

/* Finds field 0 == name (or field 2 == id) in passwd/group text; returns the line. */
static const char *
find_entry (const char *text, const char *name, char *line, size_t linelen)
{
  for (const char *p = text; p && *p;)
    {
      const char *nl = strchr (p, '\n');
      size_t n = nl ? (size_t) (nl - p) : strlen (p);
      if (n < linelen)
        {
          memcpy (line, p, n);
          line[n] = '\0';
          char *c1 = strchr (line, ':');
          if (c1 && (size_t) (c1 - line) == strlen (name) && strncmp (line, name, strlen (name)) == 0)
            return line;
        }
      p = nl ? nl + 1 : NULL;
    }
  return NULL;
}

static char *
field (char *line, int k)
{
  char *p = line;
  for (int i = 0; i < k && p; i++)
    {
      p = strchr (p, ':');
      if (p)
        p++;
    }
  if (p == NULL)
    return NULL;
  char *e = strchr (p, ':');
  if (e)
    *e = '\0';
  return p;
}

/* Resolves USER the way docker does, in the container's /etc/passwd and /etc/group. */
int
users_resolve (int root_fd, const char *spec, bool chown_mode, struct user_ids *ids, char *why, size_t whylen)
{
  memset (ids, 0, sizeof *ids);
  if (spec == NULL || *spec == '\0')
    return 0;
  char user[256], group[256] = "";
  snprintf (user, sizeof user, "%s", spec);
  char *colon = strchr (user, ':');
  if (colon)
    {
      snprintf (group, sizeof group, "%s", colon + 1);
      *colon = '\0';
    }
  _cleanup_free_ char *passwd = read_in_root (root_fd, "/etc/passwd");
  _cleanup_free_ char *groups = read_in_root (root_fd, "/etc/group");
  char line[1024];
  bool found_user = false;
  if (all_digits (user))
    {
      ids->uid = (uid_t) strtoul (user, NULL, 10);
      /* A numeric uid takes its primary group from passwd when it is listed there. */
      for (const char *p = passwd; p && *p;)
        {
          const char *nl = strchr (p, '\n');
          size_t n = nl ? (size_t) (nl - p) : strlen (p);
          if (n < sizeof line)
            {
              memcpy (line, p, n);
              line[n] = '\0';
              char copy[1024];
              memcpy (copy, line, n + 1);
              char *u = field (copy, 2);
              if (u && strcmp (u, user) == 0)
                {
                  memcpy (copy, line, n + 1);
                  char *g = field (copy, 3);
                  ids->gid = g ? (gid_t) strtoul (g, NULL, 10) : 0;
                  found_user = true;
                  break;
                }
            }
          p = nl ? nl + 1 : NULL;
        }
      if (!found_user && chown_mode)
        ids->gid = (gid_t) ids->uid;
    }
  else
    {
      if (passwd == NULL || find_entry (passwd, user, line, sizeof line) == NULL)
        {
          snprintf (why, whylen, "unable to find user %s: no matching entries in passwd file", user);
          return -1;
        }
      char copy[1024];
      snprintf (copy, sizeof copy, "%s", line);
      char *u = field (copy, 2);
      snprintf (copy, sizeof copy, "%s", line);
      char *g = field (copy, 3);
      ids->uid = u ? (uid_t) strtoul (u, NULL, 10) : 0;
      ids->gid = g ? (gid_t) strtoul (g, NULL, 10) : 0;
      found_user = true;
    }
  if (group[0])
    {
      if (all_digits (group))
        ids->gid = (gid_t) strtoul (group, NULL, 10);
      else if (groups && find_entry (groups, group, line, sizeof line))
        {
          char *g = field (line, 2);
          ids->gid = g ? (gid_t) strtoul (g, NULL, 10) : 0;
        }
      else
        {
          snprintf (why, whylen, "unable to find group %s: no matching entries in group file", group);
          return -1;
        }
    }
  /* Supplementary groups: those listing the user by name. */
  if (found_user && !all_digits (user) && groups && !group[0])
    {
      for (const char *p = groups; p && *p && ids->n_groups < 64;)
        {
          const char *nl = strchr (p, '\n');
          size_t n = nl ? (size_t) (nl - p) : strlen (p);
          if (n < sizeof line)
            {
              memcpy (line, p, n);
              line[n] = '\0';
              char copy[1024];
              memcpy (copy, line, n + 1);
              char *members = field (copy, 3);
              memcpy (line, p, n);
              line[n] = '\0';
              char *gid = field (line, 2);
              for (char *save = NULL, *m = members ? strtok_r (members, ",", &save) : NULL; m;
                   m = strtok_r (NULL, ",", &save))
                if (strcmp (m, user) == 0 && gid)
                  ids->groups[ids->n_groups++] = (gid_t) strtoul (gid, NULL, 10);
            }
          p = nl ? nl + 1 : NULL;
        }
    }
  return 0;
}

