/* worker/users.h — USER and --chown specs resolved the way docker does, in the
 * /etc/passwd and /etc/group of the image (read inside its root, never the host's). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct user_ids
{
  uid_t uid;
  gid_t gid;
  gid_t groups[64];
  size_t n_groups;
};

/* spec: "", "name", "uid", "name:group", "uid:gid". With `chown_mode` a numeric
 * uid that passwd does not list gets gid = uid (COPY --chown), else gid 0 (USER).
 * Returns -1 with `why` set ("unable to find user x: no matching entries in passwd file"). */
int users_resolve (int root_fd, const char *spec, bool chown_mode, struct user_ids *ids, char *why, size_t whylen);

/* docker's --group-add: each name (from the image's /etc/group) or gid added to
 * the supplementary groups. -1 with `why` for a name the file lacks. */
int users_add_groups (int root_fd, const char *const *names, struct user_ids *ids, char *why, size_t whylen);
