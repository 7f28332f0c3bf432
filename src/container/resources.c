/* container/resources.c — resource flags, HostConfig, and the container's cgroup
 * over its life (see the header). */
#include "container/resources.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/state.h"
#include "store/containers.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fsutil.h"
#include "worker/devices.h"
#include "worker/limits.h"
#include "worker/sandbox.h"

#define MIN_MEMORY (6 * 1024 * 1024) /* docker's linuxMinMemory */

void
container_resources_clear (struct container_resources *r)
{
  json_decref (r->ulimits);
  json_decref (r->sysctls);
  json_decref (r->devices);
  strv_free (&r->group_add);
  memset (r, 0, sizeof *r);
}

/* ---------- parsing ---------- */

int64_t
container_parse_size (const char *s)
{
  uint64_t v;
  if (limits_parse_bytes (s, &v) < 0 || v > (uint64_t) INT64_MAX)
    return -1;
  return (int64_t) v;
}

static bool
parse_i64 (const char *s, int64_t *out)
{
  if (*s == '\0' || strlen (s) > 20)
    return false;
  char *end;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (*end || errno)
    return false;
  *out = v;
  return true;
}

/* docker's Ulimit object ({"Name","Hard","Soft"}, -1 unlimited) of a limit. */
static json_t *
ulimit_json (const struct sandbox_rlimit *rl)
{
  _cleanup_free_ char *name = xstrdup (limits_oci_name (rl->resource) + 7); /* "RLIMIT_NOFILE" */
  for (char *c = name; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  json_int_t hard = rl->hard == RLIM_INFINITY ? -1 : (json_int_t) rl->hard;
  json_int_t soft = rl->soft == RLIM_INFINITY ? -1 : (json_int_t) rl->soft;
  return json_pack ("{s:s, s:I, s:I}", "Name", name, "Hard", hard, "Soft", soft);
}

/* --ulimit (worker/limits: go-units ParseUlimit's rules and messages). */
static int
parse_ulimit (const char *val, json_t **out, struct kiln_err *err)
{
  struct sandbox_rlimit rl;
  if (limits_parse_ulimit (val, &rl, err) < 0)
    return -1;
  json_t *u = ulimit_json (&rl);
  const char *name = json_string_value (json_object_get (u, "Name"));
  /* A later --ulimit of the same name replaces the earlier (docker's map). */
  if (*out == NULL)
    *out = json_array ();
  size_t i;
  json_t *old;
  json_array_foreach (*out, i, old) if (strcmp (json_string_value (json_object_get (old, "Name")), name) == 0)
  {
    json_array_remove (*out, i);
    break;
  }
  if (json_array_size (*out) >= SANDBOX_MAX_RLIMITS)
    {
      json_decref (u);
      return kiln_err_set (err, KILN_EUSAGE, "at most %d --ulimit", SANDBOX_MAX_RLIMITS);
    }
  json_array_append_new (*out, u);
  return 0;
}

/* docker's opts.ValidateSysctl: the namespaced ones. */
static bool
sysctl_allowed (const char *key)
{
  static const char *const exact[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
    if (strcmp (key, exact[i]) == 0)
      return true;
  return strncmp (key, "fs.mqueue.", 10) == 0 || strncmp (key, "net.", 4) == 0;
}

static int
parse_sysctl (const char *val, json_t **out, struct kiln_err *err)
{
  const char *eq = strchr (val, '=');
  _cleanup_free_ char *key = eq ? xstrndup (val, (size_t) (eq - val)) : NULL;
  /* The key names a file under /proc/sys: no way out of it. */
  if (eq == NULL || !sysctl_allowed (key) || strstr (key, "..") || strchr (key, '/') || strlen (val) > 4096)
    return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--sysctl\" flag: sysctl '%s' is not "
                                           "whitelisted",
                         val, val);
  if (*out == NULL)
    *out = json_object ();
  json_object_set_new (*out, key, json_string (eq + 1));
  return 0;
}

static bool
perms_ok (const char *p)
{
  if (*p == '\0' || strlen (p) > 3)
    return false;
  for (; *p; p++)
    if (*p != 'r' && *p != 'w' && *p != 'm')
      return false;
  return true;
}

/* --device HOST[:CTR][:PERMS], docker's ParseDevice; the host path must be a
 * device node now (docker checks at the start; kiln at once, and again then). */
static int
parse_device (const char *val, json_t **out, struct kiln_err *err)
{
  _cleanup_free_ char *v = xstrdup (val);
  char *parts[4] = {NULL};
  size_t n = 0;
  for (char *save = NULL, *t = strtok_r (v, ":", &save); t && n < 4; t = strtok_r (NULL, ":", &save))
    parts[n++] = t;
  const char *src = parts[0], *dst = NULL, *perms = "rwm";
  if (n == 0 || n > 3)
    return kiln_err_set (err, KILN_EUSAGE, "invalid device specification: %s", val);
  if (n == 3)
    {
      dst = parts[1];
      perms = parts[2];
      if (!perms_ok (perms))
        return kiln_err_set (err, KILN_EUSAGE, "invalid device specification: %s", val);
    }
  else if (n == 2)
    {
      if (perms_ok (parts[1]))
        perms = parts[1];
      else
        dst = parts[1];
    }
  if (dst == NULL)
    dst = src;
  if (src[0] != '/')
    return kiln_err_set (err, KILN_EUSAGE, "invalid device specification: %s", val);
  if (dst[0] != '/')
    return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--device\" flag: %s is not an absolute "
                                           "path",
                         val, dst);
  struct stat sb;
  if (stat (src, &sb) < 0)
    return kiln_err_set (err, EINVAL, "error gathering device information while adding custom device \"%s\": %s",
                         src, strerror (errno));
  if (!S_ISCHR (sb.st_mode) && !S_ISBLK (sb.st_mode))
    return kiln_err_set (err, EINVAL, "error gathering device information while adding custom device \"%s\": not "
                                      "a device node",
                         src);
  if (*out == NULL)
    *out = json_array ();
  json_array_append_new (*out, json_pack ("{s:s, s:s, s:s}", "PathOnHost", src, "PathInContainer", dst,
                                          "CgroupPermissions", perms));
  return 0;
}

/* pflag's wrapping of a value's error. */
static int
flag_error (struct kiln_err *err, const char *flag, const char *value, const char *why)
{
  return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"%s\" flag: %s", value, flag, why);
}

int
container_resources_flag (struct container_resources *r, int opt, const char *value, struct kiln_err *err)
{
  char why[600];
  switch (opt)
    {
    case RES_OPT_MEMORY:
    case RES_OPT_SHM_SIZE:
    case RES_OPT_MEMORY_SWAP:
      {
        int64_t v = opt == RES_OPT_MEMORY_SWAP && strcmp (value, "-1") == 0 ? -1 : container_parse_size (value);
        const char *flag = opt == RES_OPT_MEMORY ? "-m, --memory" : opt == RES_OPT_SHM_SIZE ? "--shm-size"
                                                                                             : "--memory-swap";
        if (v < 0 && !(opt == RES_OPT_MEMORY_SWAP && v == -1 && strcmp (value, "-1") == 0))
          {
            snprintf (why, sizeof why, "invalid size: '%.500s'", value);
            return flag_error (err, flag, value, why);
          }
        if (opt == RES_OPT_MEMORY)
          r->memory = v;
        else if (opt == RES_OPT_SHM_SIZE)
          r->shm_size = v, r->shm_size_set = true;
        else
          r->memory_swap = v, r->memory_swap_set = true;
        return 0;
      }
    case RES_OPT_CPUS:
      {
        /* docker's NanoCPUs: a rational number, whole in nanoCPUs. */
        const char *p = value;
        int64_t whole = 0, frac = 0, scale = 1000000000;
        bool neg = *p == '-';
        if (neg || *p == '+')
          p++;
        bool digits = false;
        while (isdigit ((unsigned char) *p) && whole < 1000000)
          whole = whole * 10 + (*p++ - '0'), digits = true;
        if (*p == '.')
          for (p++; isdigit ((unsigned char) *p); p++)
            {
              digits = true;
              if (scale == 1 && *p != '0')
                return flag_error (err, "--cpus", value, "value is too precise");
              if (scale > 1)
                scale /= 10, frac += (*p - '0') * scale;
            }
        if (!digits || *p)
          {
            snprintf (why, sizeof why, "failed to parse %.500s as a rational number", value);
            return flag_error (err, "--cpus", value, why);
          }
        r->nano_cpus = (neg ? -1 : 1) * (whole * 1000000000 + frac);
        return 0;
      }
    case RES_OPT_CPU_SHARES:
    case RES_OPT_PIDS_LIMIT:
      {
        int64_t v;
        if (!parse_i64 (value, &v))
          {
            snprintf (why, sizeof why, "strconv.ParseInt: parsing \"%.500s\": invalid syntax", value);
            return flag_error (err, opt == RES_OPT_CPU_SHARES ? "-c, --cpu-shares" : "--pids-limit", value, why);
          }
        if (opt == RES_OPT_CPU_SHARES)
          r->cpu_shares = v;
        else
          r->pids_limit = v, r->pids_limit_set = true;
        return 0;
      }
    case RES_OPT_ULIMIT:
      if (parse_ulimit (value, &r->ulimits, err) < 0)
        {
          _cleanup_free_ char *m = xstrdup (err->msg);
          kiln_err_clear (err);
          return flag_error (err, "--ulimit", value, m);
        }
      return 0;
    case RES_OPT_SYSCTL: return parse_sysctl (value, &r->sysctls, err);
    case RES_OPT_DEVICE: return parse_device (value, &r->devices, err);
    case RES_OPT_GROUP_ADD:
      if (*value == '\0' || strlen (value) > 256 || strchr (value, ':') || strchr (value, '\n'))
        return flag_error (err, "--group-add", value, "invalid group");
      strv_push (&r->group_add, value);
      return 0;
    }
  return kiln_err_set (err, KILN_EUSAGE, "unknown option");
}

/* ---------- HostConfig ---------- */

int
container_resources_host_config (const struct container_resources *r, json_t *h, struct kiln_err *err)
{
  if (r->memory > 0 && r->memory < MIN_MEMORY)
    return kiln_err_set (err, KILN_EINVAL, "Minimum memory limit allowed is 6MB");
  if (r->memory_swap > 0 && r->memory == 0)
    return kiln_err_set (err, KILN_EINVAL, "You should always set the Memory limit when using Memoryswap limit, see "
                                           "usage");
  if (r->memory_swap > 0 && r->memory_swap < r->memory)
    return kiln_err_set (err, KILN_EINVAL, "Minimum memoryswap limit should be larger than memory limit, see usage");
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
  if (ncpu < 1)
    ncpu = 1;
  if (r->nano_cpus < 0 || r->nano_cpus > (int64_t) ncpu * 1000000000 || (r->nano_cpus > 0 && r->nano_cpus < 10000000))
    return kiln_err_set (err, KILN_EINVAL, "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs "
                                           "available",
                         ncpu, ncpu);
  if (r->cpu_shares < 0)
    return kiln_err_set (err, KILN_EINVAL, "invalid CPU shares (%" PRId64 "): value must be a positive integer",
                         r->cpu_shares);
  if (r->shm_size_set && r->shm_size <= 0)
    return kiln_err_set (err, KILN_EINVAL, "SHM size can not be less than 0");
  const char *net = json_string_value (json_object_get (h, "NetworkMode"));
  const char *k;
  json_t *v;
  json_object_foreach (r->sysctls, k, v) if (net && strcmp (net, "host") == 0 && strncmp (k, "net.", 4) == 0)
    return kiln_err_set (err, KILN_EINVAL, "sysctl \"%s\" not allowed in host network mode", k);
  json_object_set_new (h, "Memory", json_integer (r->memory));
  /* docker: a memory limit without a swap limit gets twice as much memory + swap. */
  int64_t swap = r->memory_swap_set ? r->memory_swap
                 : r->memory > INT64_MAX / 2 ? INT64_MAX /* the kernel clamps it */
                 : r->memory > 0             ? 2 * r->memory
                                             : 0;
  json_object_set_new (h, "MemorySwap", json_integer (swap));
  json_object_set_new (h, "NanoCpus", json_integer (r->nano_cpus));
  json_object_set_new (h, "CpuShares", json_integer (r->cpu_shares));
  json_object_set_new (h, "PidsLimit", r->pids_limit_set ? json_integer (r->pids_limit) : json_null ());
  json_object_set_new (h, "ShmSize", json_integer (r->shm_size_set ? r->shm_size : 64 * 1024 * 1024));
  json_object_set_new (h, "Ulimits", r->ulimits ? json_deep_copy (r->ulimits) : json_null ());
  json_object_set_new (h, "Devices", r->devices ? json_deep_copy (r->devices) : json_array ());
  if (r->sysctls)
    json_object_set_new (h, "Sysctls", json_deep_copy (r->sysctls));
  json_t *groups = json_null ();
  if (r->group_add.n)
    {
      groups = json_array ();
      for (size_t i = 0; i < r->group_add.n; i++)
        json_array_append_new (groups, json_string (r->group_add.v[i]));
    }
  json_object_set_new (h, "GroupAdd", groups);
  return 0;
}

static int64_t
int_of (const json_t *h, const char *key)
{
  return json_integer_value (json_object_get (h, key));
}

/* A device's rule for the cgroup, from HostConfig.Devices[i]. */
static bool
device_rule_of (const json_t *d, struct device_rule *r)
{
  const char *host = json_string_value (json_object_get (d, "PathOnHost"));
  const char *perms = json_string_value (json_object_get (d, "CgroupPermissions"));
  struct stat sb;
  if (host == NULL || perms == NULL || !perms_ok (perms) || stat (host, &sb) < 0
      || (!S_ISCHR (sb.st_mode) && !S_ISBLK (sb.st_mode)))
    return false;
  static const char *const kept[] = {"r", "w", "m", "rw", "rm", "wm", "rwm", "wr", "mr", "mw", "rmw", "wrm", "wmr",
                                     "mrw", "mwr"};
  const char *access = "rwm";
  for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
    if (strcmp (kept[i], perms) == 0)
      access = kept[i]; /* a static string: the rule outlives the JSON */
  *r = (struct device_rule){.type = S_ISCHR (sb.st_mode) ? 'c' : 'b', .major = major (sb.st_rdev),
                            .minor = minor (sb.st_rdev), .access = access, .allow = true};
  return true;
}

bool
container_cgroup_limits (const json_t *h, struct cgroup_limits *l, struct device_rule **devices)
{
  memset (l, 0, sizeof *l);
  l->memory = int_of (h, "Memory");
  l->memory_swap = int_of (h, "MemorySwap");
  l->nano_cpus = int_of (h, "NanoCpus");
  l->cpu_shares = int_of (h, "CpuShares");
  l->pids_limit = int_of (h, "PidsLimit");
  l->privileged = json_is_true (json_object_get (h, "Privileged"));
  const json_t *devs = json_object_get (h, "Devices");
  *devices = NULL;
  if (json_array_size (devs))
    {
      *devices = xcalloc (json_array_size (devs), sizeof **devices);
      size_t i;
      json_t *d;
      json_array_foreach (devs, i, d) if (device_rule_of (d, &(*devices)[l->n_devices])) l->n_devices++;
      l->devices = *devices;
    }
  return l->memory > 0 || l->nano_cpus > 0 || l->cpu_shares > 0 || l->pids_limit > 0 || l->n_devices > 0;
}

/* ---------- the sandbox's part ---------- */

void
container_sandbox_extras_clear (struct container_sandbox_extras *x)
{
  free (x->devices);
  strv_free (&x->sysctls);
  strv_free (&x->group_add);
  memset (x, 0, sizeof *x);
}

int
container_resources_spec (const json_t *h, struct sandbox_spec *sb, struct container_sandbox_extras *x,
                          struct kiln_err *err)
{
  memset (x, 0, sizeof *x);
  const json_t *ul = json_object_get (h, "Ulimits");
  size_t ui;
  json_t *u;
  json_array_foreach (ul, ui, u)
  {
    /* Back through the one parser: "nofile=100:200", -1 unlimited. */
    const char *name = json_string_value (json_object_get (u, "Name"));
    char spec[128];
    snprintf (spec, sizeof spec, "%s=%lld:%lld", name ? name : "", (long long) int_of (u, "Soft"),
              (long long) int_of (u, "Hard"));
    if (sb->n_rlimits >= SANDBOX_MAX_RLIMITS || limits_parse_ulimit (spec, &sb->rlimits[sb->n_rlimits], err) < 0)
      return kiln_err_wrap (err, "HostConfig.Ulimits");
    sb->n_rlimits++;
  }
  int64_t shm = int_of (h, "ShmSize");
  sb->shm_size = shm > 0 ? (uint64_t) shm : 0;
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) json_object_get (h, "Sysctls"), k, v)
  {
    if (!sysctl_allowed (k) || strstr (k, "..") || strchr (k, '/') || !json_is_string (v))
      return kiln_err_set (err, EINVAL, "sysctl '%s' is not whitelisted", k);
    struct buf b = BUF_INIT;
    buf_printf (&b, "%s=%s", k, json_string_value (v));
    strv_push_owned (&x->sysctls, buf_steal (&b));
  }
  if (x->sysctls.n)
    sb->sysctls = (const char *const *) x->sysctls.v;
  const json_t *devs = json_object_get (h, "Devices");
  if (json_array_size (devs))
    {
      x->devices = xcalloc (json_array_size (devs), sizeof *x->devices);
      size_t i;
      json_t *d;
      json_array_foreach (devs, i, d)
      {
        const char *host = json_string_value (json_object_get (d, "PathOnHost"));
        const char *ctr = json_string_value (json_object_get (d, "PathInContainer"));
        struct stat st;
        if (host == NULL || ctr == NULL || ctr[0] != '/')
          continue;
        const char *why = stat (host, &st) < 0                          ? strerror (errno)
                          : !S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode) ? "not a device node"
                                                                           : NULL;
        if (why)
          return kiln_err_set (err, ENODEV, "error gathering device information while adding custom device \"%s\": %s",
                               host, why);
        x->devices[sb->n_devices++] = (struct sandbox_device){
            .path = ctr, .mode = st.st_mode, .rdev = st.st_rdev, .uid = st.st_uid, .gid = st.st_gid};
      }
      sb->devices = x->devices;
    }
  const json_t *groups = json_object_get (h, "GroupAdd");
  size_t gi;
  json_t *g;
  json_array_foreach (groups, gi, g) if (json_is_string (g)) strv_push (&x->group_add, json_string_value (g));
  if (x->group_add.n)
    sb->group_add = (const char *const *) x->group_add.v;
  return 0;
}

/* ---------- the cgroup's life ---------- */

/* "kiln/<16 hex>": one group per store (its real path hashed), so that a
 * store's `system check` only looks at its own containers' cgroups. */
static void
store_group (const char *root, char out[static 32])
{
  _cleanup_free_ char *real = realpath (root, NULL);
  const char *r = real ? real : root;
  struct digest d;
  digest_bytes (r, strlen (r), &d);
  snprintf (out, 32, "kiln/%.16s", digest_hex (&d));
}

static char *
record_path (const char *root, const char *id)
{
  return container_path (root, id, "cgroup");
}

/* Makes the cgroup and its record; 1 when the container runs without one (no
 * usable cgroup, no limit asked). */
static int
make_cgroup (const char *root, const char *id, const json_t *config, struct cgroup *cg, struct kiln_err *err)
{
  const json_t *h = json_object_get (config, "HostConfig");
  struct cgroup_limits l;
  _cleanup_free_ struct device_rule *devices = NULL;
  bool needed = container_cgroup_limits (h, &l, &devices);
  /* A leftover of an earlier run (its monitor killed) goes first. */
  container_cgroup_cleanup (root, id);
  /* An OCI runtime makes the container's cgroup itself (and would not start
   * under a pids limit of the container's). */
  const char *rt = json_string_value (json_object_get (h, "Runtime"));
  if (rt && *rt && strcmp (rt, "kiln") != 0)
    return 1;
  struct kiln_err e = {0};
  char group[32];
  store_group (root, group);
  if (cgroup_locate_self (group, id, cg, &e) < 0 || cgroup_create (cg, &l, &e) < 0)
    {
      cgroup_clear (cg);
      if (needed)
        {
          *err = e;
          return kiln_err_wrap (err, "the container's resource limits");
        }
      kiln_err_clear (&e);
      return 1; /* no cgroup of its own: it runs in kiln's, as before */
    }
  _cleanup_free_ char *rec = record_path (root, id);
  if (cgroup_save (cg, rec, err) < 0)
    {
      cgroup_remove (cg, &e);
      kiln_err_clear (&e);
      cgroup_clear (cg);
      return -1;
    }
  return 0;
}

void
container_cgroup_start (const char *root, const char *id, const json_t *config, struct container_cgroup *cc)
{
  memset (cc, 0, sizeof *cc);
  cc->maker = -1;
  cc->maker_fd = -1;
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return;
  fflush (NULL);
  pid_t c = fork ();
  if (c == 0)
    {
      close (p[0]);
      struct cgroup cg;
      struct kiln_err err = {0};
      int r = make_cgroup (root, id, config, &cg, &err);
      if (r == 0)
        {
          /* A first migration makes the kernel wait for an RCU grace period
           * (~7 ms); paid here, beside the monitor's own work, the sandbox's
           * first process joins on the fast path. */
          struct kiln_err ignored = {0};
          cgroup_join (&cg, getpid (), &ignored);
        }
      const char *msg = r == 0 ? "ok" : r == 1 ? "none" : err.msg ? err.msg : "the container's cgroup";
      ssize_t w = write (p[1], msg, strlen (msg));
      (void) w;
      _exit (0);
    }
  close (p[1]);
  if (c < 0)
    {
      close (p[0]);
      return;
    }
  cc->maker = c;
  cc->maker_fd = p[0];
}

/* Waits for the maker started by container_cgroup_start: 0 made, 1 none, -1 failed. */
static int
wait_maker (struct container_cgroup *cc, struct kiln_err *err)
{
  _cleanup_buf_ struct buf msg = BUF_INIT;
  struct kiln_err rerr = {0};
  read_all (cc->maker_fd, 64 * 1024, &msg, "the cgroup maker", &rerr);
  kiln_err_clear (&rerr);
  close (cc->maker_fd);
  cc->maker_fd = -1;
  while (waitpid (cc->maker, NULL, 0) < 0 && errno == EINTR)
    ;
  cc->maker = -1;
  if (strcmp (buf_str (&msg), "ok") == 0)
    return 0;
  if (strcmp (buf_str (&msg), "none") == 0)
    return 1;
  return kiln_err_set (err, EIO, "%s", msg.len ? buf_str (&msg) : "the container's cgroup: its maker died");
}

int
container_cgroup_enter (const char *root, const char *id, const json_t *config, struct sandbox_spec *sb,
                        struct container_cgroup *cc, struct kiln_err *err)
{
  int r;
  if (cc->maker > 0)
    {
      r = wait_maker (cc, err);
      if (r == 0 && container_cgroup_of (root, id, &cc->cg, err) < 0)
        r = -1;
    }
  else
    {
      memset (cc, 0, sizeof *cc);
      cc->maker = cc->maker_fd = -1;
      r = make_cgroup (root, id, config, &cc->cg, err);
    }
  if (r == 1 && sb->runtime)
    {
      container_cgroup_limits (json_object_get (config, "HostConfig"), &cc->runtime_limits, &cc->runtime_devices);
      sb->runtime_limits = &cc->runtime_limits;
    }
  if (r != 0)
    return r < 0 ? -1 : 0;
  cc->made = true;
  cgroup_procs_files (&cc->cg, &cc->procs);
  sb->cgroup_procs = (const char *const *) cc->procs.v;
  return 0;
}

static bool
finish (const char *root, const char *id, struct cgroup *cg)
{
  struct cgroup_stats st;
  struct kiln_err e = {0};
  bool oom = cgroup_read_stats (cg, &st, &e) == 0 && st.oom_kills > 0;
  kiln_err_clear (&e);
  /* A frozen cgroup's processes cannot leave it. */
  cgroup_freeze (cg, false, &e);
  kiln_err_clear (&e);
  if (cgroup_remove (cg, &e) == 0)
    {
      _cleanup_free_ char *rec = record_path (root, id);
      unlink (rec);
    }
  kiln_err_clear (&e);
  return oom;
}

bool
container_cgroup_leave (const char *root, const char *id, struct container_cgroup *cc)
{
  if (cc->maker > 0)
    {
      /* Started but never entered (the spec failed): whatever it made goes. */
      struct kiln_err e = {0};
      if (wait_maker (cc, &e) == 0 && container_cgroup_of (root, id, &cc->cg, &e) == 0)
        cc->made = true;
      kiln_err_clear (&e);
    }
  bool oom = cc->made && finish (root, id, &cc->cg);
  free (cc->runtime_devices);
  cc->runtime_devices = NULL;
  cgroup_clear (&cc->cg);
  strv_free (&cc->procs);
  cc->made = false;
  return oom;
}

int
container_cgroup_of (const char *root, const char *id, struct cgroup *cg, struct kiln_err *err)
{
  _cleanup_free_ char *rec = record_path (root, id);
  return cgroup_load (rec, cg, err);
}

int
container_cgroup_join (const char *root, const char *id, pid_t pid, struct kiln_err *err)
{
  struct cgroup cg;
  struct kiln_err e = {0};
  if (container_cgroup_of (root, id, &cg, &e) < 0)
    {
      kiln_err_clear (&e);
      return 0;
    }
  int r = cgroup_join (&cg, pid, err);
  cgroup_clear (&cg);
  return r;
}

bool
container_cgroup_cleanup (const char *root, const char *id)
{
  struct cgroup cg;
  struct kiln_err e = {0};
  if (container_cgroup_of (root, id, &cg, &e) < 0)
    {
      kiln_err_clear (&e);
      return false;
    }
  bool oom = finish (root, id, &cg);
  cgroup_clear (&cg);
  return oom;
}

int
container_cgroup_stale (const char *root, bool (*live) (void *ud, const char *id), void *ud, bool repair,
                        struct strv *stale, struct kiln_err *err)
{
  char group[32];
  store_group (root, group);
  _cleanup_strv_ struct strv parents = STRV_INIT;
  cgroup_parents_self (group, &parents);
  for (size_t i = 0; i < parents.n; i++)
    {
      DIR *d = opendir (parents.v[i]);
      if (d == NULL)
        continue;
      struct dirent *de;
      while ((de = readdir (d)) != NULL)
        {
          if (de->d_type != DT_DIR || strlen (de->d_name) != CONTAINER_ID_LEN || live (ud, de->d_name))
            continue;
          struct buf p = BUF_INIT;
          buf_printf (&p, "%s/%s", parents.v[i], de->d_name);
          if (repair)
            {
              /* Its processes are gone with their monitor; a frozen one is thawed
               * so the kernel can finish with it. */
              struct buf fz = BUF_INIT;
              buf_printf (&fz, "%s/freezer.state", buf_str (&p));
              FILE *ff = fopen (buf_str (&fz), "we");
              if (ff)
                fputs ("THAWED", ff), fclose (ff);
              buf_free (&fz);
              if (rmdir (buf_str (&p)) < 0 && errno != ENOENT)
                {
                  kiln_err_set (err, errno, "removing cgroup %s: %s", buf_str (&p), strerror (errno));
                  buf_free (&p);
                  closedir (d);
                  return -1;
                }
            }
          strv_push_owned (stale, buf_steal (&p));
        }
      closedir (d);
      if (repair)
        rmdir (parents.v[i]); /* the group, when nothing is left in it */
    }
  return 0;
}

static bool
owner_live (void *ud, const char *id)
{
  const char *root = ud;
  struct container_state s;
  struct kiln_err e = {0};
  _cleanup_free_ char *dir = container_path (root, id, NULL);
  if (access (dir, F_OK) < 0 || container_state_get_locked (root, id, &s, &e) < 0)
    {
      kiln_err_clear (&e);
      return false;
    }
  bool live = container_state_live (&s);
  container_state_clear (&s);
  return live;
}

int
container_cgroups_check (const char *root, bool repair, struct strv *garbage, struct kiln_err *err)
{
  /* Under containers.lock: a start holds it until its container runs, so a
   * cgroup being filled is never taken for a leftover. */
  int lock = containers_lock (root, err);
  if (lock < 0)
    return -1;
  _cleanup_strv_ struct strv stale = STRV_INIT;
  int r = container_cgroup_stale (root, owner_live, (void *) root, repair, &stale, err);
  containers_unlock (lock);
  for (size_t i = 0; i < stale.n; i++)
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "cgroup %s", stale.v[i]);
      strv_push_owned (garbage, buf_steal (&b));
    }
  return r;
}

void
container_cgroup_thaw (const char *root, const char *id)
{
  struct cgroup cg;
  struct kiln_err e = {0};
  if (container_cgroup_of (root, id, &cg, &e) == 0)
    cgroup_freeze (&cg, false, &e);
  kiln_err_clear (&e);
  cgroup_clear (&cg);
}
