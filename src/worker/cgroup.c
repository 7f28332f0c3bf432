/* worker/cgroup.c — a container's own cgroup, v1 or v2 (see the header). */
#include "worker/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "worker/devices.h"

const char *const cgroup_ctrl_names[CG_N_CTRL] = {"memory", "cpu", "cpuacct", "pids", "freezer", "blkio", "devices"};

void
cgroup_clear (struct cgroup *cg)
{
  for (int i = 0; i < CG_N_CTRL; i++)
    free (cg->dir[i]);
  free (cg->unified);
  memset (cg, 0, sizeof *cg);
}

/* ---------- where ---------- */

static bool
has_opt (const char *list, size_t len, const char *word)
{
  size_t wl = strlen (word);
  for (size_t i = 0; i < len;)
    {
      size_t n = 0;
      while (i + n < len && list[i + n] != ',')
        n++;
      if (n == wl && strncmp (list + i, word, wl) == 0)
        return true;
      i += n + 1;
    }
  return false;
}

bool
cgroup_mount_of (const char *mountinfo, const char *controller, char *out, size_t len)
{
  for (const char *line = mountinfo; line && *line;)
    {
      const char *end = strchrnul (line, '\n');
      const char *sep = strstr (line, " - ");
      if (sep && sep < end)
        {
          const char *fs = sep + 3;
          size_t fl = strcspn (fs, " \n");
          bool match = false;
          if (controller == NULL)
            match = fl == 7 && strncmp (fs, "cgroup2", 7) == 0;
          else if (fl == 6 && strncmp (fs, "cgroup", 6) == 0)
            {
              const char *last = fs + fl;
              for (const char *q = fs + fl; q < end; q++)
                if (*q == ' ')
                  last = q + 1;
              match = has_opt (last, (size_t) (end - last), controller);
            }
          char root[4096], mnt[4096];
          if (match && sscanf (line, "%*s %*s %*s %4095s %4095s", root, mnt) == 2 && strcmp (root, "/") == 0)
            {
              snprintf (out, len, "%s", mnt);
              return true;
            }
        }
      line = *end ? end + 1 : NULL;
    }
  return false;
}

bool
cgroup_own_path (const char *self_cgroup, const char *controller, char *out, size_t len)
{
  for (const char *line = self_cgroup; line && *line;)
    {
      const char *end = strchrnul (line, '\n');
      const char *c1 = memchr (line, ':', (size_t) (end - line));
      const char *c2 = c1 ? memchr (c1 + 1, ':', (size_t) (end - c1 - 1)) : NULL;
      if (c2)
        {
          bool match = controller == NULL ? c2 == c1 + 1 && strncmp (line, "0:", 2) == 0
                                          : has_opt (c1 + 1, (size_t) (c2 - c1 - 1), controller);
          if (match)
            {
              snprintf (out, len, "%.*s", (int) (end - c2 - 1), c2 + 1);
              return true;
            }
        }
      line = *end ? end + 1 : NULL;
    }
  return false;
}

/* MOUNT + kiln's own path (its `kiln-sandbox` cut) + "/" + GROUP. */
static bool
parent_dir (const char *mountinfo, const char *self_cgroup, const char *controller, const char *group, struct buf *out)
{
  char mnt[4096], own[4096];
  if (!cgroup_mount_of (mountinfo, controller, mnt, sizeof mnt)
      || !cgroup_own_path (self_cgroup, controller, own, sizeof own))
    return false;
  size_t ol = strlen (own);
  if (ol >= 13 && strcmp (own + ol - 13, "/kiln-sandbox") == 0)
    own[ol - 13] = '\0';
  ol = strlen (own);
  while (ol > 0 && own[ol - 1] == '/')
    own[--ol] = '\0';
  buf_printf (out, "%s%s/%s", mnt, own, group);
  return true;
}

static bool
want_v1 (const char *mountinfo, const char *prefer)
{
  char mnt[4096];
  if (prefer && strcmp (prefer, "v1") == 0)
    return true;
  if (prefer && strcmp (prefer, "v2") == 0)
    return false;
  return cgroup_mount_of (mountinfo, "memory", mnt, sizeof mnt);
}

int
cgroup_parents (const char *mountinfo, const char *self_cgroup, const char *prefer, const char *group,
                struct strv *out)
{
  if (!want_v1 (mountinfo, prefer))
    {
      _cleanup_buf_ struct buf p = BUF_INIT;
      if (parent_dir (mountinfo, self_cgroup, NULL, group, &p))
        strv_push (out, buf_str (&p));
      return 0;
    }
  for (int i = 0; i < CG_N_CTRL; i++)
    {
      _cleanup_buf_ struct buf p = BUF_INIT;
      if (!parent_dir (mountinfo, self_cgroup, cgroup_ctrl_names[i], group, &p))
        continue;
      bool seen = false;
      for (size_t k = 0; k < out->n && !seen; k++)
        seen = strcmp (out->v[k], buf_str (&p)) == 0;
      if (!seen)
        strv_push (out, buf_str (&p));
    }
  return 0;
}

static bool
name_ok (const char *name)
{
  if (!*name || strlen (name) > 128 || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return false;
  for (const char *c = name; *c; c++)
    if (*c == '/' || *c == '\n')
      return false;
  return true;
}

/* A relative path of names ("kiln/ab12"): no way up or out. */
static bool
group_ok (const char *group)
{
  if (*group == '/' || strlen (group) > 256)
    return false;
  _cleanup_free_ char *g = xstrdup (group);
  char *save = NULL;
  for (char *t = strtok_r (g, "/", &save); t; t = strtok_r (NULL, "/", &save))
    if (!name_ok (t))
      return false;
  return *group != '\0';
}

int
cgroup_locate (const char *mountinfo, const char *self_cgroup, const char *prefer, const char *group,
               const char *name, struct cgroup *cg, struct kiln_err *err)
{
  memset (cg, 0, sizeof *cg);
  if (!name_ok (name) || !group_ok (group))
    return kiln_err_set (err, EINVAL, "cgroup name \"%s/%s\"", group, name);
  if (!want_v1 (mountinfo, prefer))
    {
      _cleanup_buf_ struct buf p = BUF_INIT;
      if (!parent_dir (mountinfo, self_cgroup, NULL, group, &p))
        return kiln_err_set (err, ENOTSUP, "no cgroup v1 memory controller and no cgroup2 mount");
      buf_printf (&p, "/%s", name);
      cg->version = CGROUP_V2;
      cg->unified = buf_steal (&p);
      return 0;
    }
  for (int i = 0; i < CG_N_CTRL; i++)
    {
      struct buf p = BUF_INIT;
      if (parent_dir (mountinfo, self_cgroup, cgroup_ctrl_names[i], group, &p))
        {
          buf_printf (&p, "/%s", name);
          cg->dir[i] = buf_steal (&p);
        }
      else
        buf_free (&p);
    }
  if (cg->dir[CG_MEMORY] == NULL)
    {
      cgroup_clear (cg);
      return kiln_err_set (err, ENOTSUP, "no cgroup v1 memory controller");
    }
  cg->version = CGROUP_V1;
  return 0;
}

static char *
read_small (const char *path)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct buf b = BUF_INIT;
  struct kiln_err e = {0};
  if (read_all (fd, 1u << 20, &b, path, &e) < 0)
    {
      kiln_err_clear (&e);
      buf_free (&b);
      return NULL;
    }
  return buf_steal (&b);
}

void
cgroup_parents_self (const char *group, struct strv *out)
{
  _cleanup_free_ char *mi = read_small ("/proc/self/mountinfo");
  _cleanup_free_ char *self = read_small ("/proc/self/cgroup");
  const char *prefer = getenv ("KILN_CGROUP");
  if (mi && self)
    cgroup_parents (mi, self, prefer && *prefer ? prefer : NULL, group, out);
}

int
cgroup_locate_self (const char *group, const char *name, struct cgroup *cg, struct kiln_err *err)
{
  _cleanup_free_ char *mi = read_small ("/proc/self/mountinfo");
  _cleanup_free_ char *self = read_small ("/proc/self/cgroup");
  if (mi == NULL || self == NULL)
    return kiln_err_set (err, errno, "/proc/self: %s", strerror (errno));
  const char *prefer = getenv ("KILN_CGROUP");
  return cgroup_locate (mi, self, prefer && *prefer ? prefer : NULL, group, name, cg, err);
}

/* ---------- files ---------- */

static int
write_file (const char *dir, const char *file, const char *value, struct kiln_err *err)
{
  _cleanup_buf_ struct buf path = BUF_INIT;
  buf_printf (&path, "%s/%s", dir, file);
  /* O_TRUNC: a cgroup file ignores it; a test's plain file keeps only the value. */
  int fd = open (buf_str (&path), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0)
    return kiln_err_set (err, errno, "%s: %s", buf_str (&path), strerror (errno));
  ssize_t w = write (fd, value, strlen (value));
  int e = errno;
  close (fd);
  if (w < 0)
    return kiln_err_set (err, e, "writing \"%s\" to %s: %s", value, buf_str (&path), strerror (e));
  return 0;
}

static int
write_int (const char *dir, const char *file, int64_t v, struct kiln_err *err)
{
  char s[32];
  snprintf (s, sizeof s, "%" PRId64, v);
  return write_file (dir, file, s, err);
}

static char *
read_file (const char *dir, const char *file)
{
  _cleanup_buf_ struct buf path = BUF_INIT;
  buf_printf (&path, "%s/%s", dir, file);
  return read_small (buf_str (&path));
}

/* The value of "KEY N" in a flat keyed file (memory.stat, memory.events, cpu.stat). */
static bool
keyed_value (const char *text, const char *key, uint64_t *out)
{
  size_t kl = strlen (key);
  for (const char *line = text; line && *line;)
    {
      const char *end = strchrnul (line, '\n');
      if (strncmp (line, key, kl) == 0 && line[kl] == ' ')
        {
          *out = strtoull (line + kl + 1, NULL, 10);
          return true;
        }
      line = *end ? end + 1 : NULL;
    }
  return false;
}

static bool
read_u64 (const char *dir, const char *file, uint64_t *out)
{
  if (dir == NULL)
    return false;
  _cleanup_free_ char *t = read_file (dir, file);
  if (t == NULL)
    return false;
  if (strncmp (t, "max", 3) == 0)
    *out = UINT64_MAX;
  else
    *out = strtoull (t, NULL, 10);
  return true;
}

/* True if `word` is one of the space-separated words of `list`. */
static bool
has_opt_space (const char *list, const char *word)
{
  size_t wl = strlen (word);
  for (const char *p = list; *p;)
    {
      size_t n = strcspn (p, " \n");
      if (n == wl && strncmp (p, word, wl) == 0)
        return true;
      p += n;
      p += strspn (p, " \n");
    }
  return false;
}

/* ---------- create, remove ---------- */

int64_t
cgroup_cpu_quota (int64_t nano_cpus)
{
  return nano_cpus * CGROUP_CPU_PERIOD / 1000000000;
}

uint64_t
cgroup_shares_to_weight (int64_t shares)
{
  if (shares <= 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((uint64_t) (shares - 2) * 9999) / 262142;
}

/* mkdir -p of `dir`, each directory made noted in `made` (deepest last). */
static int
mkdir_parents_once (const char *dir, struct strv *made, struct kiln_err *err)
{
  _cleanup_free_ char *p = xstrdup (dir);
  for (char *s = p + 1;; s++)
    {
      if (*s == '/' || *s == '\0')
        {
          char c = *s;
          *s = '\0';
          if (mkdir (p, 0755) == 0)
            strv_push (made, p);
          else if (errno != EEXIST)
            return kiln_err_set (err, errno, "%s: %s", p, strerror (errno));
          *s = c;
          if (c == '\0')
            break;
        }
    }
  return 0;
}

/* The same, again when a parent went meanwhile (the last cgroup of a group
 * removes the group's directory: cgroup_remove). */
static int
mkdir_parents (const char *dir, struct strv *made, struct kiln_err *err)
{
  int r = -1;
  for (int attempt = 0; attempt < 5 && r < 0; attempt++)
    {
      kiln_err_clear (err);
      r = mkdir_parents_once (dir, made, err);
      if (r < 0 && err->code != ENOENT)
        break;
    }
  return r;
}

/* v2: the controllers `want` ("+memory +pids") enabled from the hierarchy's
 * root down to `dir`'s parent; the controllers a level offers are in its
 * cgroup.controllers. */
static int
v2_delegate (const char *dir, const char *const *want, size_t n, struct kiln_err *err)
{
  _cleanup_free_ char *p = xstrdup (dir);
  char *last = strrchr (p, '/');
  if (last == NULL)
    return 0;
  *last = '\0';
  /* From the top: the deepest ancestor that has cgroup.controllers is the
   * hierarchy's root or below it; enable from the first that has the file. */
  struct strv levels = STRV_INIT;
  for (char *s = p + 1;; s++)
    if (*s == '/' || *s == '\0')
      {
        char c = *s;
        *s = '\0';
        _cleanup_free_ char *ctl = read_file (p, "cgroup.controllers");
        if (ctl)
          strv_push (&levels, p);
        *s = c;
        if (c == '\0')
          break;
      }
  int ret = 0;
  for (size_t i = 0; i < levels.n && ret == 0; i++)
    for (size_t k = 0; k < n && ret == 0; k++)
      {
        _cleanup_free_ char *on = read_file (levels.v[i], "cgroup.subtree_control");
        if (on && has_opt_space (on, want[k]))
          continue;
        char v[64];
        snprintf (v, sizeof v, "+%s", want[k]);
        if (write_file (levels.v[i], "cgroup.subtree_control", v, err) < 0)
          ret = kiln_err_wrap (err, "the %s controller is not delegated to %s", want[k], levels.v[i]);
      }
  strv_free (&levels);
  return ret;
}

static int
rmdir_wait (const char *dir, struct kiln_err *err)
{
  /* Processes of a PID namespace that just ended are still leaving: the kernel
   * says EBUSY for a few milliseconds. */
  for (int i = 0; i < 100; i++)
    {
      if (rmdir (dir) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY)
        break;
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep (&ts, NULL);
    }
  return kiln_err_set (err, errno, "removing cgroup %s: %s", dir, strerror (errno));
}

/* The group's directory goes with its last cgroup (a bats run's store, a store
 * removed): best effort, another cgroup in it keeps it (ENOTEMPTY/EBUSY). */
static void
rmdir_parent (const char *dir)
{
  _cleanup_free_ char *p = xstrdup (dir);
  char *slash = strrchr (p, '/');
  if (slash && slash != p)
    {
      *slash = '\0';
      rmdir (p);
    }
}

int
cgroup_remove (const struct cgroup *cg, struct kiln_err *err)
{
  int ret = 0;
  if (cg->version == CGROUP_V2)
    {
      if ((ret = rmdir_wait (cg->unified, err)) == 0)
        rmdir_parent (cg->unified);
      return ret;
    }
  for (int i = 0; i < CG_N_CTRL; i++)
    {
      bool shared = false;
      for (int k = 0; k < i && cg->dir[i]; k++)
        shared |= cg->dir[k] && strcmp (cg->dir[k], cg->dir[i]) == 0;
      if (cg->dir[i] && !shared)
        {
          if (rmdir_wait (cg->dir[i], err) < 0)
            ret = -1;
          else
            rmdir_parent (cg->dir[i]);
        }
    }
  return ret;
}

static int
create_v1 (const struct cgroup *cg, const struct cgroup_limits *l, struct kiln_err *err)
{
  for (int i = 0; i < CG_N_CTRL; i++)
    {
      if (cg->dir[i] == NULL)
        continue;
      _cleanup_strv_ struct strv made = STRV_INIT;
      if (mkdir_parents (cg->dir[i], &made, err) < 0)
        return -1;
    }
  const char *mem = cg->dir[CG_MEMORY], *cpu = cg->dir[CG_CPU], *pids = cg->dir[CG_PIDS];
  if (l->memory > 0)
    {
      if (write_int (mem, "memory.limit_in_bytes", l->memory, err) < 0)
        return -1;
      /* Without swap accounting the file is missing: only a swap limit asked
       * for needs it. */
      _cleanup_buf_ struct buf sw = BUF_INIT;
      buf_printf (&sw, "%s/memory.memsw.limit_in_bytes", mem);
      if (l->memory_swap != 0 && (access (buf_str (&sw), F_OK) == 0 || l->memory_swap > 0)
          && write_int (mem, "memory.memsw.limit_in_bytes", l->memory_swap, err) < 0)
        return -1;
    }
  if ((l->nano_cpus > 0 || l->cpu_shares > 0) && cpu == NULL)
    return kiln_err_set (err, ENOTSUP, "no cgroup v1 cpu controller");
  if (l->nano_cpus > 0
      && (write_int (cpu, "cpu.cfs_period_us", CGROUP_CPU_PERIOD, err) < 0
          || write_int (cpu, "cpu.cfs_quota_us", cgroup_cpu_quota (l->nano_cpus), err) < 0))
    return -1;
  if (l->cpu_shares > 0 && write_int (cpu, "cpu.shares", l->cpu_shares, err) < 0)
    return -1;
  if (l->pids_limit > 0)
    {
      if (pids == NULL)
        return kiln_err_set (err, ENOTSUP, "no cgroup v1 pids controller");
      if (write_int (pids, "pids.max", l->pids_limit, err) < 0)
        return -1;
    }
  if (!l->privileged && cg->dir[CG_DEVICES]
      && devices_configure (cg->dir[CG_DEVICES], false, l->devices, l->n_devices, err) < 0)
    return -1;
  return 0;
}

static int
create_v2 (const struct cgroup *cg, const struct cgroup_limits *l, struct kiln_err *err)
{
  const char *d = cg->unified;
  _cleanup_strv_ struct strv made = STRV_INIT;
  if (mkdir_parents (d, &made, err) < 0)
    return -1;
  /* Each controller delegated if the parents allow; only a limit asked for
   * needs its own. */
  static const char *const ctrls[] = {"memory", "cpu", "pids", "io"};
  bool needed[] = {l->memory > 0, l->nano_cpus > 0 || l->cpu_shares > 0, l->pids_limit > 0, false};
  for (size_t i = 0; i < 4; i++)
    {
      struct kiln_err e = {0};
      if (v2_delegate (d, &ctrls[i], 1, &e) < 0)
        {
          if (needed[i])
            {
              *err = e;
              return -1;
            }
          kiln_err_clear (&e);
        }
    }
  if (l->memory > 0)
    {
      if (write_int (d, "memory.max", l->memory, err) < 0)
        return -1;
      if (l->memory_swap == -1 && write_file (d, "memory.swap.max", "max", err) < 0)
        return -1;
      /* v2 limits swap alone: docker's MemorySwap is memory + swap. */
      if (l->memory_swap > 0 && write_int (d, "memory.swap.max", l->memory_swap - l->memory, err) < 0)
        return -1;
    }
  if (l->nano_cpus > 0)
    {
      char v[64];
      snprintf (v, sizeof v, "%" PRId64 " %d", cgroup_cpu_quota (l->nano_cpus), CGROUP_CPU_PERIOD);
      if (write_file (d, "cpu.max", v, err) < 0)
        return -1;
    }
  if (l->cpu_shares > 0 && write_int (d, "cpu.weight", (int64_t) cgroup_shares_to_weight (l->cpu_shares), err) < 0)
    return -1;
  if (l->pids_limit > 0 && write_int (d, "pids.max", l->pids_limit, err) < 0)
    return -1;
  if (!l->privileged && devices_configure (d, true, l->devices, l->n_devices, err) < 0)
    return -1;
  return 0;
}

int
cgroup_create (const struct cgroup *cg, const struct cgroup_limits *l, struct kiln_err *err)
{
  int r = cg->version == CGROUP_V2   ? create_v2 (cg, l, err)
          : cg->version == CGROUP_V1 ? create_v1 (cg, l, err)
                                     : kiln_err_set (err, ENOTSUP, "no cgroup");
  if (r < 0)
    {
      struct kiln_err ignored = {0};
      cgroup_remove (cg, &ignored);
      kiln_err_clear (&ignored);
      kiln_err_wrap (err, "the container's cgroup");
    }
  return r;
}

/* ---------- join, freeze ---------- */

void
cgroup_procs_files (const struct cgroup *cg, struct strv *out)
{
  if (cg->version == CGROUP_V2)
    {
      struct buf p = BUF_INIT;
      buf_printf (&p, "%s/cgroup.procs", cg->unified);
      strv_push_owned (out, buf_steal (&p));
      return;
    }
  for (int i = 0; i < CG_N_CTRL; i++)
    {
      bool shared = false;
      for (int k = 0; k < i && cg->dir[i]; k++)
        shared |= cg->dir[k] && strcmp (cg->dir[k], cg->dir[i]) == 0;
      if (cg->dir[i] && !shared)
        {
          struct buf p = BUF_INIT;
          buf_printf (&p, "%s/cgroup.procs", cg->dir[i]);
          strv_push_owned (out, buf_steal (&p));
        }
    }
}

int
cgroup_join (const struct cgroup *cg, pid_t pid, struct kiln_err *err)
{
  _cleanup_strv_ struct strv files = STRV_INIT;
  cgroup_procs_files (cg, &files);
  char v[24];
  snprintf (v, sizeof v, "%d", (int) pid);
  for (size_t i = 0; i < files.n; i++)
    {
      _cleanup_free_ char *dir = xstrdup (files.v[i]);
      *strrchr (dir, '/') = '\0';
      if (write_file (dir, "cgroup.procs", v, err) < 0)
        return kiln_err_wrap (err, "joining the container's cgroup");
    }
  return 0;
}

int
cgroup_freeze (const struct cgroup *cg, bool frozen, struct kiln_err *err)
{
  const char *dir = cg->version == CGROUP_V2 ? cg->unified : cg->dir[CG_FREEZER];
  if (dir == NULL)
    return kiln_err_set (err, ENOTSUP, "no cgroup freezer");
  bool v2 = cg->version == CGROUP_V2;
  if (write_file (dir, v2 ? "cgroup.freeze" : "freezer.state", v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED"),
                  err)
      < 0)
    return -1;
  /* The kernel freezes task by task: done when it says so (bounded). */
  for (int i = 0; i < 500; i++)
    {
      _cleanup_free_ char *t = read_file (dir, v2 ? "cgroup.events" : "freezer.state");
      uint64_t f = 0;
      if (t == NULL)
        break;
      if (v2 ? keyed_value (t, "frozen", &f) && (f == 1) == frozen
             : strncmp (t, frozen ? "FROZEN" : "THAWED", 6) == 0)
        return 0;
      if (v2 && !keyed_value (t, "frozen", &f))
        return 0; /* a kernel without the key: the write is all there is */
      struct timespec ts = {0, 2 * 1000 * 1000};
      nanosleep (&ts, NULL);
    }
  return kiln_err_set (err, ETIMEDOUT, "%s: the kernel did not %s the cgroup in time", dir,
                       frozen ? "freeze" : "thaw");
}

/* ---------- counters ---------- */

/* Sums "MAJ:MIN Read N" / "Write N" lines (v1 blkio) */
static void
blkio_v1 (const char *text, uint64_t *rd, uint64_t *wr)
{
  for (const char *line = text; line && *line;)
    {
      const char *end = strchrnul (line, '\n');
      char op[16];
      unsigned long long v;
      if (sscanf (line, "%*s %15s %llu", op, &v) == 2)
        {
          if (strcmp (op, "Read") == 0)
            *rd += v;
          else if (strcmp (op, "Write") == 0)
            *wr += v;
        }
      line = *end ? end + 1 : NULL;
    }
}

/* Sums "MAJ:MIN rbytes=N wbytes=N …" lines (v2 io.stat). */
static void
io_v2 (const char *text, uint64_t *rd, uint64_t *wr)
{
  for (const char *line = text; line && *line;)
    {
      const char *end = strchrnul (line, '\n');
      for (const char *p = line; p && p < end; p = memchr (p, ' ', (size_t) (end - p)), p = p ? p + 1 : NULL)
        {
          if (strncmp (p, "rbytes=", 7) == 0)
            *rd += strtoull (p + 7, NULL, 10);
          else if (strncmp (p, "wbytes=", 7) == 0)
            *wr += strtoull (p + 7, NULL, 10);
        }
      line = *end ? end + 1 : NULL;
    }
}

int
cgroup_read_stats (const struct cgroup *cg, struct cgroup_stats *st, struct kiln_err *err)
{
  memset (st, 0, sizeof *st);
  st->mem_limit = UINT64_MAX;
  if (cg->version == CGROUP_V2)
    {
      const char *d = cg->unified;
      struct stat sb;
      if (stat (d, &sb) < 0)
        return kiln_err_set (err, errno, "%s: %s", d, strerror (errno));
      _cleanup_free_ char *cpu = read_file (d, "cpu.stat");
      uint64_t usec = 0;
      if (cpu && keyed_value (cpu, "usage_usec", &usec))
        st->cpu_ns = usec * 1000;
      read_u64 (d, "memory.current", &st->mem_usage);
      read_u64 (d, "memory.max", &st->mem_limit);
      _cleanup_free_ char *ms = read_file (d, "memory.stat");
      uint64_t inactive = 0;
      if (ms && keyed_value (ms, "inactive_file", &inactive) && inactive < st->mem_usage)
        st->mem_usage -= inactive;
      read_u64 (d, "pids.current", &st->pids);
      _cleanup_free_ char *io = read_file (d, "io.stat");
      if (io)
        io_v2 (io, &st->blk_read, &st->blk_write);
      _cleanup_free_ char *ev = read_file (d, "memory.events");
      if (ev)
        keyed_value (ev, "oom_kill", &st->oom_kills);
      return 0;
    }
  const char *mem = cg->dir[CG_MEMORY];
  struct stat sb;
  if (mem == NULL || stat (mem, &sb) < 0)
    return kiln_err_set (err, errno ? errno : ENOENT, "%s: %s", mem ? mem : "memory cgroup", strerror (errno));
  read_u64 (cg->dir[CG_CPUACCT], "cpuacct.usage", &st->cpu_ns);
  read_u64 (mem, "memory.usage_in_bytes", &st->mem_usage);
  read_u64 (mem, "memory.limit_in_bytes", &st->mem_limit);
  if (st->mem_limit >= (UINT64_C (1) << 62))
    st->mem_limit = UINT64_MAX;
  _cleanup_free_ char *ms = read_file (mem, "memory.stat");
  uint64_t inactive = 0;
  if (ms && keyed_value (ms, "total_inactive_file", &inactive) && inactive < st->mem_usage)
    st->mem_usage -= inactive;
  read_u64 (cg->dir[CG_PIDS], "pids.current", &st->pids);
  if (cg->dir[CG_BLKIO])
    {
      _cleanup_free_ char *io = read_file (cg->dir[CG_BLKIO], "blkio.throttle.io_service_bytes_recursive");
      if (io)
        blkio_v1 (io, &st->blk_read, &st->blk_write);
    }
  _cleanup_free_ char *oc = read_file (mem, "memory.oom_control");
  if (oc)
    keyed_value (oc, "oom_kill", &st->oom_kills);
  return 0;
}

static int
cmp_pid (const void *a, const void *b)
{
  pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
  return (x > y) - (x < y);
}

int
cgroup_pids (const struct cgroup *cg, pid_t **pids, size_t *n, struct kiln_err *err)
{
  *pids = NULL;
  *n = 0;
  const char *d = cg->version == CGROUP_V2 ? cg->unified : cg->dir[CG_MEMORY];
  _cleanup_free_ char *t = d ? read_file (d, "cgroup.procs") : NULL;
  if (t == NULL)
    return kiln_err_set (err, errno ? errno : ENOENT, "%s/cgroup.procs: %s", d ? d : "cgroup", strerror (errno));
  size_t cap = 0;
  for (char *p = t; *p;)
    {
      char *end;
      long v = strtol (p, &end, 10);
      if (end == p)
        break;
      *pids = xgrow (*pids, &cap, *n + 1, sizeof **pids);
      (*pids)[(*n)++] = (pid_t) v;
      p = end + strspn (end, "\n ");
    }
  if (*n)
    qsort (*pids, *n, sizeof **pids, cmp_pid);
  return 0;
}

/* ---------- its place, kept ---------- */

int
cgroup_save (const struct cgroup *cg, const char *path, struct kiln_err *err)
{
  _cleanup_buf_ struct buf b = BUF_INIT, tmp = BUF_INIT;
  if (cg->version == CGROUP_V2)
    buf_printf (&b, "v2\nunified %s\n", cg->unified);
  else
    {
      buf_puts (&b, "v1\n");
      for (int i = 0; i < CG_N_CTRL; i++)
        if (cg->dir[i])
          buf_printf (&b, "%s %s\n", cgroup_ctrl_names[i], cg->dir[i]);
    }
  buf_printf (&tmp, "%s.tmp", path);
  int fd = open (buf_str (&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return kiln_err_set (err, errno, "%s: %s", buf_str (&tmp), strerror (errno));
  int r = write_all (fd, buf_str (&b), b.len, buf_str (&tmp), err);
  close (fd);
  if (r == 0 && rename (buf_str (&tmp), path) < 0)
    r = kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  if (r < 0)
    unlink (buf_str (&tmp));
  return r;
}

int
cgroup_load (const char *path, struct cgroup *cg, struct kiln_err *err)
{
  memset (cg, 0, sizeof *cg);
  _cleanup_free_ char *t = read_small (path);
  if (t == NULL)
    return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  char *save = NULL;
  char *line = strtok_r (t, "\n", &save);
  if (line == NULL || (strcmp (line, "v1") != 0 && strcmp (line, "v2") != 0))
    return kiln_err_set (err, EINVAL, "%s: not a cgroup record", path);
  cg->version = strcmp (line, "v1") == 0 ? CGROUP_V1 : CGROUP_V2;
  while ((line = strtok_r (NULL, "\n", &save)) != NULL)
    {
      char *sp = strchr (line, ' ');
      if (sp == NULL || sp[1] != '/')
        continue;
      *sp = '\0';
      if (strcmp (line, "unified") == 0 && cg->version == CGROUP_V2)
        {
          free (cg->unified);
          cg->unified = xstrdup (sp + 1);
        }
      for (int i = 0; i < CG_N_CTRL && cg->version == CGROUP_V1; i++)
        if (strcmp (line, cgroup_ctrl_names[i]) == 0)
          {
            free (cg->dir[i]);
            cg->dir[i] = xstrdup (sp + 1);
          }
    }
  if (cg->version == CGROUP_V2 ? cg->unified == NULL : cg->dir[CG_MEMORY] == NULL)
    {
      cgroup_clear (cg);
      return kiln_err_set (err, EINVAL, "%s: not a cgroup record", path);
    }
  return 0;
}
