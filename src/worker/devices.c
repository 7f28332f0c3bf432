/* worker/devices.c — docker's device allow-list and the cgroup that enforces it. */
#include "worker/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"

const struct device_rule devices_default[] = {
  /* docker's spec (moby daemon/pkg/oci/defaults.go) */
  {'a', -1, -1, "rwm", false},
  {'c', 1, 5, "rwm", true},    /* /dev/zero */
  {'c', 1, 3, "rwm", true},    /* /dev/null */
  {'c', 1, 9, "rwm", true},    /* /dev/urandom */
  {'c', 1, 8, "rwm", true},    /* /dev/random */
  {'c', 5, 0, "rwm", true},    /* /dev/tty */
  {'c', 5, 1, "rwm", true},    /* /dev/console */
  {'c', 10, 229, "rwm", false}, /* /dev/fuse */
  /* runc's AllowedDevices, appended for every container */
  {'c', -1, -1, "m", true},
  {'b', -1, -1, "m", true},
  {'c', 1, 3, "rwm", true},
  {'c', 1, 8, "rwm", true},
  {'c', 1, 7, "rwm", true},    /* /dev/full */
  {'c', 5, 0, "rwm", true},
  {'c', 1, 5, "rwm", true},
  {'c', 1, 9, "rwm", true},
  {'c', 136, -1, "rwm", true}, /* the pty slaves */
  {'c', 5, 2, "rwm", true},    /* /dev/ptmx */
  {'c', 10, 200, "rwm", true}, /* /dev/net/tun */
};
const size_t devices_default_n = sizeof devices_default / sizeof *devices_default;

void
devices_rule_v1 (const struct device_rule *r, char *out, size_t len)
{
  char maj[24], min[24];
  if (r->major < 0)
    snprintf (maj, sizeof maj, "*");
  else
    snprintf (maj, sizeof maj, "%lld", (long long) r->major);
  if (r->minor < 0)
    snprintf (min, sizeof min, "*");
  else
    snprintf (min, sizeof min, "%lld", (long long) r->minor);
  if (r->type == 'a')
    snprintf (out, len, "a");
  else
    snprintf (out, len, "%c %s:%s %s", r->type, maj, min, r->access);
}

json_t *
devices_oci (void)
{
  json_t *a = json_array ();
  /* Only docker's own rules: runc appends its AllowedDevices itself. */
  for (size_t i = 0; i < 8; i++)
    {
      const struct device_rule *r = &devices_default[i];
      json_t *o = json_pack ("{s:b, s:s}", "allow", r->allow, "access", r->access);
      if (r->type != 'a')
        {
          char t[2] = {r->type, 0};
          json_object_set_new (o, "type", json_string (t));
          json_object_set_new (o, "major", json_integer (r->major));
          json_object_set_new (o, "minor", json_integer (r->minor));
        }
      json_array_append_new (a, o);
    }
  return a;
}

/* ---------- cgroup v1 ---------- */

/* Where the v1 devices controller is mounted, from /proc/self/mountinfo. */
static char *
v1_devices_mount (void)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return NULL;
  char *line = NULL;
  size_t cap = 0;
  char *found = NULL;
  while (found == NULL && getline (&line, &cap, f) > 0)
    {
      /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS */
      char *sep = strstr (line, " - ");
      if (sep == NULL || strncmp (sep, " - cgroup ", 10) != 0)
        continue;
      char *super = strrchr (sep, ' ');
      if (super == NULL)
        continue;
      super++;
      super[strcspn (super, "\n")] = '\0';
      bool devices = false;
      for (char *o = super; *o;)
        {
          size_t n = strcspn (o, ",");
          devices |= n == 7 && strncmp (o, "devices", 7) == 0;
          o += n + (o[n] == ',');
        }
      char root[4096], mnt[4096];
      if (devices && sscanf (line, "%*s %*s %*s %4095s %4095s", root, mnt) == 2 && strcmp (root, "/") == 0)
        found = xstrdup (mnt);
    }
  free (line);
  return found;
}

/* kiln's own cgroup in the devices hierarchy, from /proc/self/cgroup. */
static char *
v1_own_path (void)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/cgroup", "re");
  if (f == NULL)
    return NULL;
  char *line = NULL;
  size_t cap = 0;
  char *found = NULL;
  while (found == NULL && getline (&line, &cap, f) > 0)
    {
      char *c1 = strchr (line, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 == NULL)
        continue;
      *c2 = '\0';
      bool devices = false;
      for (char *o = c1 + 1; *o;)
        {
          size_t n = strcspn (o, ",");
          devices |= n == 7 && strncmp (o, "devices", 7) == 0;
          o += n + (o[n] == ',');
        }
      if (devices)
        {
          char *p = c2 + 1;
          p[strcspn (p, "\n")] = '\0';
          found = xstrdup (p);
        }
    }
  free (line);
  return found;
}

static int
write_rule (const char *dir, const char *file, const char *rule)
{
  char path[4200];
  snprintf (path, sizeof path, "%s/%s", dir, file);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t w = write (fd, rule, strlen (rule));
  int e = errno;
  close (fd);
  errno = e;
  return w < 0 ? -1 : 0;
}

/* True when the cgroup's list is exactly the allows of the default rules (a fresh
 * v1 cgroup inherits its parent's list, "a *:* rwm" on most hosts). */
static bool
v1_configured (const char *dir)
{
  char path[4200];
  snprintf (path, sizeof path, "%s/devices.list", dir);
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return false;
  char line[128];
  size_t n = 0;
  while (fgets (line, sizeof line, f))
    {
      line[strcspn (line, "\n")] = '\0';
      bool known = false;
      for (size_t i = 0; i < devices_default_n && !known; i++)
        {
          char want[64];
          if (!devices_default[i].allow)
            continue;
          devices_rule_v1 (&devices_default[i], want, sizeof want);
          known = strcmp (line, want) == 0;
        }
      if (!known)
        return false;
      n++;
    }
  return n > 0;
}

static char *procs_path;
static char procs_why[8192];
static pthread_once_t procs_once = PTHREAD_ONCE_INIT;

static void
prepare_v1 (void)
{
  _cleanup_free_ char *mnt = v1_devices_mount ();
  _cleanup_free_ char *own = mnt ? v1_own_path () : NULL;
  if (mnt == NULL || own == NULL)
    {
      snprintf (procs_why, sizeof procs_why, "no cgroup v1 devices controller");
      return;
    }
  char dir[4096];
  snprintf (dir, sizeof dir, "%s%s%skiln-sandbox", mnt, own, own[strlen (own) - 1] == '/' ? "" : "/");
  if (mkdir (dir, 0755) < 0 && errno != EEXIST)
    {
      snprintf (procs_why, sizeof procs_why, "%s: %s", dir, strerror (errno));
      return;
    }
  if (!v1_configured (dir))
    {
      if (write_rule (dir, "devices.deny", "a") < 0)
        {
          snprintf (procs_why, sizeof procs_why, "%s/devices.deny: %s", dir, strerror (errno));
          return;
        }
      for (size_t i = 0; i < devices_default_n; i++)
        {
          char r[64];
          devices_rule_v1 (&devices_default[i], r, sizeof r);
          if (devices_default[i].type != 'a'
              && write_rule (dir, devices_default[i].allow ? "devices.allow" : "devices.deny", r) < 0)
            {
              snprintf (procs_why, sizeof procs_why, "%s: %s: %s", dir, r, strerror (errno));
              return;
            }
        }
    }
  struct buf p = BUF_INIT;
  buf_printf (&p, "%s/cgroup.procs", dir);
  procs_path = buf_steal (&p);
}

const char *
devices_cgroup_procs (struct kiln_err *err)
{
  pthread_once (&procs_once, prepare_v1);
  if (procs_path == NULL)
    kiln_err_set (err, ENOTSUP, "device cgroup: %s", procs_why);
  return procs_path;
}
