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

#include "util/fsutil.h"
#include "util/buf.h"
#include "util/cleanup.h"

#define MAX_DB (4u << 20)

static int
openat2_in_root (int root_fd, const char *path, int flags)
{
  return open_resolved (root_fd, path, flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

static char *
read_in_root (int root_fd, const char *path)
{
  int fd = openat2_in_root (root_fd, path, O_RDONLY);
  if (fd < 0)
    return NULL;
  struct buf b = BUF_INIT;
  char chunk[4096];
  ssize_t n;
  while ((n = read (fd, chunk, sizeof chunk)) > 0 && b.len < MAX_DB)
    buf_append (&b, chunk, (size_t) n);
  close (fd);
  return buf_steal (&b);
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

/* Splits one line of a colon database into at most `max` fields (in place). */
static size_t
split_fields (char *line, char **f, size_t max)
{
  size_t n = 0;
  f[n++] = line;
  for (char *p = line; *p && n < max; p++)
    if (*p == ':')
      {
        *p = '\0';
        f[n++] = p + 1;
      }
  return n;
}

/* Calls `fn` with the fields of each line; stops when it returns true. */
static bool
each_entry (const char *db, size_t want, bool (*fn) (char **f, size_t n, void *ud), void *ud)
{
  if (db == NULL)
    return false;
  for (const char *p = db; *p;)
    {
      const char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t) (nl - p) : strlen (p);
      char line[2048];
      if (len < sizeof line && len > 0 && *p != '#')
        {
          memcpy (line, p, len);
          line[len] = '\0';
          char *f[8];
          size_t n = split_fields (line, f, want);
          if (fn (f, n, ud))
            return true;
        }
      if (!nl)
        break;
      p = nl + 1;
    }
  return false;
}

struct pw_query
{
  const char *name; /* match field 0, or */
  const char *uid;  /* match field 2 */
  char found_name[256];
  unsigned long uid_v, gid_v;
};

static bool
pw_match (char **f, size_t n, void *ud)
{
  struct pw_query *q = ud;
  if (n < 4)
    return false;
  if ((q->name && strcmp (f[0], q->name) == 0) || (q->uid && strcmp (f[2], q->uid) == 0))
    {
      snprintf (q->found_name, sizeof q->found_name, "%s", f[0]);
      q->uid_v = strtoul (f[2], NULL, 10);
      q->gid_v = strtoul (f[3], NULL, 10);
      return true;
    }
  return false;
}

struct gr_query
{
  const char *name;
  unsigned long gid_v;
  /* membership scan */
  const char *member;
  struct user_ids *ids;
};

static bool
gr_match (char **f, size_t n, void *ud)
{
  struct gr_query *q = ud;
  if (n < 3)
    return false;
  if (q->name && strcmp (f[0], q->name) == 0)
    {
      q->gid_v = strtoul (f[2], NULL, 10);
      return true;
    }
  if (q->member && n >= 4)
    {
      char *save = NULL;
      for (char *m = strtok_r (f[3], ",", &save); m; m = strtok_r (NULL, ",", &save))
        if (strcmp (m, q->member) == 0 && q->ids->n_groups < 64)
          q->ids->groups[q->ids->n_groups++] = (gid_t) strtoul (f[2], NULL, 10);
    }
  return false;
}

int
users_resolve (int root_fd, const char *spec, bool chown_mode, struct user_ids *ids, char *why, size_t whylen)
{
  memset (ids, 0, sizeof *ids);
  char user[256] = "0", group[256] = "";
  bool have_group = false;
  if (spec && *spec)
    {
      snprintf (user, sizeof user, "%s", spec);
      char *colon = strchr (user, ':');
      if (colon)
        {
          snprintf (group, sizeof group, "%s", colon + 1);
          *colon = '\0';
          have_group = true;
        }
    }
  _cleanup_free_ char *passwd = read_in_root (root_fd, "/etc/passwd");
  _cleanup_free_ char *groups = read_in_root (root_fd, "/etc/group");

  struct pw_query pq = {0};
  bool numeric = all_digits (user);
  if (numeric)
    pq.uid = user;
  else
    pq.name = user;
  bool found = each_entry (passwd, 7, pw_match, &pq);
  if (!found && !numeric)
    {
      snprintf (why, whylen, "unable to find user %s: no matching entries in passwd file", user);
      return -1;
    }
  ids->uid = numeric ? (uid_t) strtoul (user, NULL, 10) : (uid_t) pq.uid_v;
  ids->gid = found ? (gid_t) pq.gid_v : chown_mode ? (gid_t) ids->uid : 0;

  if (have_group)
    {
      if (all_digits (group))
        ids->gid = (gid_t) strtoul (group, NULL, 10);
      else
        {
          struct gr_query gq = {.name = group};
          if (!each_entry (groups, 4, gr_match, &gq))
            {
              snprintf (why, whylen, "unable to find group %s: no matching entries in group file", group);
              return -1;
            }
          ids->gid = (gid_t) gq.gid_v;
        }
      /* With an explicit group, that group is the only one. */
      ids->groups[0] = ids->gid;
      ids->n_groups = 1;
    }
  else if (found)
    {
      /* The groups that list the user by name. */
      struct gr_query gq = {.member = pq.found_name, .ids = ids};
      each_entry (groups, 4, gr_match, &gq);
    }
  return 0;
}

int
users_add_groups (int root_fd, const char *const *names, struct user_ids *ids, char *why, size_t whylen)
{
  if (names == NULL || *names == NULL)
    return 0;
  _cleanup_free_ char *groups = read_in_root (root_fd, "/etc/group");
  for (const char *const *g = names; *g; g++)
    {
      gid_t gid;
      if (all_digits (*g))
        gid = (gid_t) strtoul (*g, NULL, 10);
      else
        {
          struct gr_query gq = {.name = *g};
          if (!each_entry (groups, 4, gr_match, &gq))
            {
              snprintf (why, whylen, "unable to find group %s: no matching entries in group file", *g);
              return -1;
            }
          gid = (gid_t) gq.gid_v;
        }
      bool have = false;
      for (size_t i = 0; i < ids->n_groups; i++)
        have |= ids->groups[i] == gid;
      if (!have && ids->n_groups < sizeof ids->groups / sizeof *ids->groups)
        ids->groups[ids->n_groups++] = gid;
    }
  return 0;
}
