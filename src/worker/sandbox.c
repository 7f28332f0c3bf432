/* worker/sandbox.c — namespaces, overlay root, pivot_root, and the rest. */
#include "worker/sandbox.h"
#include "worker/sandbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/envmap.h"
#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include "worker/users.h"
#include "worker/cgroup.h"
#include "worker/devices.h"
#include "worker/overlay.h"
#include "worker/pty.h"
#include "worker/relay.h"
#include "worker/rootfs.h"
#include "worker/seccomp.h"
#include "util/digest.h"
#include <ctype.h>
#include <sys/utsname.h>

static void
write_file (int dirfd, const char *name, const char *content, int status_fd)
{
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, content, strlen (content)) < 0)
    sandbox_die (status_fd, "writing %s: %s", name, strerror (errno));
  close (fd);
}

/* ---------- confinement ---------- */

/* docker's default capability set (moby daemon/pkg/oci/caps/defaults.go). */
static const cap_value_t default_caps[] = {
  CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,         CAP_FOWNER,     CAP_MKNOD,
  CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,         CAP_SETFCAP,    CAP_SETPCAP,
  CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,   CAP_AUDIT_WRITE,
};
#define N_DEFAULT_CAPS (sizeof default_caps / sizeof *default_caps)

uint64_t
sandbox_default_caps (void)
{
  uint64_t m = 0;
  for (size_t i = 0; i < N_DEFAULT_CAPS; i++)
    m |= 1ULL << default_caps[i];
  return m;
}

/* The bounding set (1 << CAP_X): the spec's, docker's default, or all for a
 * privileged sandbox; never more than kiln's own (a host may withhold some). */
uint64_t
sandbox_bounding_caps (const struct sandbox_spec *s)
{
  uint64_t own = 0;
  for (int c = 0; c < 64; c++)
    if (prctl (PR_CAPBSET_READ, c, 0, 0, 0) == 1)
      own |= 1ULL << c;
  if (s->privileged)
    return own;
  return (s->caps_given ? s->caps : sandbox_default_caps ()) & own;
}

/* Must run while still privileged (before setuid): dropping from the bounding
 * set needs CAP_SETPCAP. Capabilities the running kernel has beyond kiln's
 * headers are dropped too. */
static int
drop_bounding_set (uint64_t keep)
{
  for (int c = 0; c < 64; c++)
    if (!(keep & (1ULL << c)) && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return -1;
  return 0;
}

/* After setuid: root keeps the bounding set as effective and permitted; any
 * other user has none (setuid without KEEPCAPS cleared them). Inheritable and
 * ambient are empty for everyone, as in docker. */
static int
set_capabilities (bool root, uint64_t caps)
{
  cap_t c = cap_init ();
  if (root)
    for (int v = 0; v < 64; v++)
      if (caps & (1ULL << v))
        {
          cap_value_t one = v;
          cap_set_flag (c, CAP_EFFECTIVE, 1, &one, CAP_SET);
          cap_set_flag (c, CAP_PERMITTED, 1, &one, CAP_SET);
        }
  int r = cap_set_proc (c);
  cap_free (c);
  if (r == 0 && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    r = -1;
  return r;
}

/* The filter of docker's profile for a bounding set.  Compiling it with
 * libseccomp takes ~16 ms, more than a whole cached build: the program is kept in
 * the store, keyed by everything that decides it, and read back in microseconds.
 * The store is root's; a cached program that is not a whole number of
 * instructions is compiled again. */
static int
seccomp_cache_key (uint64_t caps, char *out, size_t len)
{
  struct utsname u;
  if (uname (&u) < 0)
    return -1;
  int maj = 0, min = 0;
  sscanf (u.release, "%d.%d", &maj, &min);
  const struct scmp_version *v = seccomp_version ();
  char material[256];
  int n = snprintf (material, sizeof material, "kiln-seccomp-2 docker-default %s %016llx %d.%d %u.%u.%u",
                    seccomp_native_arch (), (unsigned long long) caps, maj, min, v ? v->major : 0,
                    v ? v->minor : 0, v ? v->micro : 0);
  struct digest d;
  digest_bytes (material, (size_t) n, &d);
  snprintf (out, len, "%.32s", digest_hex (&d));
  return 0;
}

static int
seccomp_cached (const char *store_root, uint64_t caps, struct sock_fprog *out, struct kiln_err *err)
{
  char key[40], dir[4200], path[4300];
  bool cacheable = store_root && seccomp_cache_key (caps, key, sizeof key) == 0;
  if (cacheable)
    {
      snprintf (dir, sizeof dir, "%s/seccomp", store_root);
      snprintf (path, sizeof path, "%s/%s.bpf", dir, key);
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      struct stat sb;
      if (fd >= 0 && fstat (fd, &sb) == 0 && sb.st_size > 0 && sb.st_size < (1 << 20)
          && sb.st_size % (off_t) sizeof (struct sock_filter) == 0)
        {
          struct sock_filter *f = xmalloc ((size_t) sb.st_size);
          if (pread (fd, f, (size_t) sb.st_size, 0) == sb.st_size)
            {
              close (fd);
              out->filter = f;
              out->len = (unsigned short) (sb.st_size / (off_t) sizeof *f);
              return 0;
            }
          free (f);
        }
      if (fd >= 0)
        close (fd);
    }
  if (seccomp_profile_compile (seccomp_default_profile (), caps, out, err) < 0)
    return -1;
  if (cacheable)
    {
      char tmp[4400];
      snprintf (tmp, sizeof tmp, "%s.%d.tmp", path, (int) getpid ());
      mkdir (dir, 0700);
      int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      size_t bytes = (size_t) out->len * sizeof *out->filter;
      if (fd >= 0 && write (fd, out->filter, bytes) == (ssize_t) bytes && close (fd) == 0)
        {
          if (rename (tmp, path) < 0)
            unlink (tmp);
        }
      else
        {
          if (fd >= 0)
            close (fd);
          unlink (tmp);
        }
    }
  return 0;
}

/* One program per bounding set a process asks for (normally one). */
static pthread_mutex_t seccomp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct
{
  const struct seccomp_profile *profile;
  uint64_t caps;
  struct sock_fprog prog;
} seccomp_progs[4];
static size_t n_seccomp_progs;

const struct sock_fprog *
sandbox_seccomp_for (const char *store_root, const struct seccomp_profile *profile, uint64_t caps, struct kiln_err *err)
{
  pthread_mutex_lock (&seccomp_lock);
  const struct sock_fprog *r = NULL;
  for (size_t i = 0; i < n_seccomp_progs && r == NULL; i++)
    if (seccomp_progs[i].caps == caps && seccomp_progs[i].profile == profile)
      r = &seccomp_progs[i].prog;
  if (r == NULL)
    {
      /* Only docker's profile is kept in the store; a user's is compiled. */
      struct sock_fprog p;
      if ((profile ? seccomp_profile_compile (profile, caps, &p, err) : seccomp_cached (store_root, caps, &p, err)) == 0)
        {
          size_t slot = n_seccomp_progs < 4 ? n_seccomp_progs++ : 3;
          free (seccomp_progs[slot].prog.filter);
          seccomp_progs[slot].profile = profile;
          seccomp_progs[slot].caps = caps;
          seccomp_progs[slot].prog = p;
          r = &seccomp_progs[slot].prog;
        }
    }
  pthread_mutex_unlock (&seccomp_lock);
  return r;
}

static void
loopback_up (void)
{
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return;
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) == 0)
    {
      ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
      ioctl (s, SIOCSIFFLAGS, &ifr);
    }
  close (s);
}

/* ---------- the process tree ---------- */

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The spec's environment as execve wants it (a later K=V replaces an earlier K in
 * place, as docker keeps an image's Env), then PATH and HOSTNAME (unless the spec
 * says no) defaults, and
 * HOME: "HOME=/root" when the image sets none, which the child cuts to "HOME=/"
 * for a user other than root (*home points at it, NULL if the image sets HOME). */
void
sandbox_command_env (const struct sandbox_spec *s, struct strv *out, char **home)
{
  struct envmap m = ENVMAP_INIT;
  envmap_from_strv (&m, &s->env);
  if (envmap_get (&m, "PATH", 4) == NULL)
    envmap_set (&m, "PATH", DEFAULT_PATH);
  if (envmap_get (&m, "HOSTNAME", 8) == NULL && s->hostname && !s->no_hostname_env)
    envmap_set (&m, "HOSTNAME", s->hostname);
  bool has_home = envmap_get (&m, "HOME", 4) != NULL;
  envmap_to_strv (&m, out);
  envmap_free (&m);
  *home = NULL;
  if (!has_home)
    {
      strv_push (out, "HOME=/root");
      *home = out->v[out->n - 1];
    }
}

/* execvp with the command's own PATH (not kiln's), and no shell fallback for a
 * file that is not an executable (runc does not have one either). */
static void
exec_in_path (const char *file, char *const argv[], char *const envp[])
{
  if (strchr (file, '/'))
    {
      execve (file, argv, envp);
      return;
    }
  const char *path = DEFAULT_PATH;
  for (size_t i = 0; envp[i]; i++)
    if (strncmp (envp[i], "PATH=", 5) == 0)
      path = envp[i] + 5;
  int saved = ENOENT;
  for (const char *p = path;; p++)
    {
      const char *end = strchrnul (p, ':');
      char full[4096];
      size_t dlen = (size_t) (end - p);
      if (dlen + strlen (file) + 2 < sizeof full)
        {
          if (dlen == 0)
            snprintf (full, sizeof full, "%s", file);
          else
            snprintf (full, sizeof full, "%.*s/%s", (int) dlen, p, file);
          execve (full, argv, envp);
          if (errno == EACCES)
            saved = EACCES;
          else if (errno != ENOENT && errno != ENOTDIR)
            return;
        }
      if (*end == '\0')
        break;
      p = end;
    }
  errno = saved;
}


/* The command's stdin is the spec's or /dev/null, never kiln's own. */
static void
attach_stdio (const struct sandbox_spec *s)
{
  if (s->stdin_fd >= 0)
    dup2 (s->stdin_fd, 0);
  else
    {
      int n = open ("/dev/null", O_RDONLY);
      if (n >= 0)
        dup2 (n, 0);
    }
  if (s->stdout_fd >= 0)
    dup2 (s->stdout_fd, 1);
  if (s->stderr_fd >= 0)
    dup2 (s->stderr_fd, 2);
}

void __attribute__ ((noreturn))
sandbox_run_command (const struct child_args *a, const struct user_ids *ids)
{
  const struct sandbox_spec *s = a->s;
  int status_fd = a->status_fd;
  attach_stdio (s);
  if (a->console_fd >= 0)
    {
      /* After pivot_root: /dev/ptmx is the container's devpts. */
      int master, slave;
      char why[256];
      if (pty_open (&master, &slave, why, sizeof why) < 0)
        sandbox_die (status_fd, "%s", why);
      struct winsize ws = {.ws_row = s->pty_rows, .ws_col = s->pty_cols};
      if (ws.ws_row)
        pty_winsize_set (master, &ws);
      if (pty_send_fd (a->console_fd, master) < 0 || pty_make_controlling (slave, ids->uid) < 0)
        sandbox_die (status_fd, "setting up the container's terminal: %s", strerror (errno));
      close (master);
      close (a->console_fd);
    }
  else if (s->tty)
    {
      setsid ();
      ioctl (0, TIOCSCTTY, 0);
    }
  bool root = ids->uid == 0;
  /* While kiln may still raise a hard limit (CAP_SYS_RESOURCE). */
  for (size_t i = 0; i < s->n_rlimits; i++)
    {
      struct rlimit rl = {.rlim_cur = s->rlimits[i].soft, .rlim_max = s->rlimits[i].hard};
      if (setrlimit (s->rlimits[i].resource, &rl) < 0)
        sandbox_die (status_fd, "--ulimit %s: %s", limits_oci_name (s->rlimits[i].resource), strerror (errno));
    }
  if (drop_bounding_set (a->caps) < 0)
    sandbox_die (status_fd, "dropping capabilities: %s", strerror (errno));
  /* The filter goes on while kiln still holds CAP_SYS_ADMIN, so no_new_privs is
   * not needed for it (as runc does): setuid programs keep working, as in docker.
   * What follows (setgroups, setuid, capset, prctl, close_range, execve) is in
   * every profile's allow-list. */
  if (s->no_new_privs && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    sandbox_die (status_fd, "no_new_privs: %s", strerror (errno));
  if (a->seccomp && prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, a->seccomp, 0, 0) < 0)
    sandbox_die (status_fd, "seccomp: %s", strerror (errno));
  if (setgroups (ids->n_groups, ids->groups) < 0 || setgid (ids->gid) < 0)
    sandbox_die (status_fd, "setting groups: %s", strerror (errno));
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || setuid (ids->uid) < 0)
    sandbox_die (status_fd, "setting user %u: %s", (unsigned) ids->uid, strerror (errno));
  if (set_capabilities (root, a->caps) < 0)
    sandbox_die (status_fd, "dropping capabilities: %s", strerror (errno));
  /* setuid cleared the parent-death signal: a kiln killed outright must still
   * take the command (PID 1 of its namespace) with it. */
  if (!a->detached)
    prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (a->home && ids->uid != 0)
    a->home[sizeof "HOME=/" - 1] = '\0';
  /* Nothing of kiln's or its caller's reaches the command but stdio; the status
   * pipe stays open until the exec, for the reason it fails. */
  close_range (3, ~0U, CLOSE_RANGE_CLOEXEC);
  exec_in_path (s->argv.v[0], s->argv.v, a->envp);
  sandbox_die (status_fd, "exec %s: %s", s->argv.v[0], strerror (errno));
}

/* ---------- an OCI runtime instead of kiln's own confinement ---------- */

static json_t *
mount_json (const char *dest, const char *type, const char *source, const char *const *opts)
{
  json_t *o = json_pack ("{s:s, s:s, s:s, s:[]}", "destination", dest, "type", type, "source", source, "options");
  for (; opts && *opts; opts++)
    json_array_append_new (json_object_get (o, "options"), json_string (*opts));
  return o;
}

static json_t *
cap_names_json (uint64_t caps)
{
  json_t *a = json_array ();
  for (int v = 0; v <= CAP_LAST_CAP; v++)
    if (caps & (1ULL << v))
      {
        char *n = cap_to_name (v);
        if (n == NULL)
          continue;
        for (char *c = n; *c; c++)
          *c = (char) toupper ((unsigned char) *c);
        json_array_append_new (a, json_string (n));
        cap_free (n);
      }
  return a;
}

json_t *
sandbox_paths_json (const char *const *paths, size_t n)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, json_string (paths[i]));
  return a;
}

/* Writes BUNDLE/config.json for the spec with the same profile as kiln's own
 * sandbox (the root and the spec's mounts are already mounted: the runtime binds
 * the root recursively) and execs the runtime; runs as PID 1 of kiln's
 * namespaces, so the container shares kiln's network namespace (none, the
 * build's, or the host's). */
static void __attribute__ ((noreturn))
exec_runtime (const struct child_args *a, const struct user_ids *ids, const char *etc)
{
  const struct sandbox_spec *s = a->s;
  int status_fd = a->status_fd;
  char bundle[4300], cfgpath[4400];
  snprintf (bundle, sizeof bundle, "%s.bundle", s->merged);
  mkdir (bundle, 0700);
  snprintf (cfgpath, sizeof cfgpath, "%s/config.json", bundle);
  bool root = ids->uid == 0;
  json_t *gids = json_array ();
  for (size_t i = 0; i < ids->n_groups; i++)
    json_array_append_new (gids, json_integer (ids->groups[i]));
  json_t *env = json_array ();
  for (size_t i = 0; a->envp[i]; i++)
    json_array_append_new (env, json_string (a->envp[i]));
  json_t *args = json_array ();
  for (size_t i = 0; i < s->argv.n; i++)
    json_array_append_new (args, json_string (s->argv.v[i]));
  json_t *process = json_pack (
      "{s:b, s:{s:i, s:i, s:o}, s:o, s:o, s:s, s:{s:o, s:o, s:o, s:[], s:[]}, s:b}", "terminal", 0, "user", "uid",
      (int) ids->uid, "gid", (int) ids->gid, "additionalGids", gids, "args", args, "env", env, "cwd",
      s->cwd && *s->cwd ? s->cwd : "/", "capabilities", "bounding", cap_names_json (a->caps), "effective",
      cap_names_json (root ? a->caps : 0), "permitted", cap_names_json (root ? a->caps : 0), "inheritable",
      "ambient", "noNewPrivileges", s->no_new_privs);
  if (s->n_rlimits)
    {
      /* jansson's integers stop at 2^63: an unlimited one is left to the runtime's default. */
      json_t *rl = json_array ();
      for (size_t i = 0; i < s->n_rlimits; i++)
        if (s->rlimits[i].hard != RLIM_INFINITY)
          json_array_append_new (rl, json_pack ("{s:s, s:I, s:I}", "type", limits_oci_name (s->rlimits[i].resource),
                                                "hard", (json_int_t) s->rlimits[i].hard, "soft",
                                                (json_int_t) s->rlimits[i].soft));
      json_object_set_new (process, "rlimits", rl);
    }
  json_t *mounts = json_array ();
  static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
  static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
  static const char *const pts_o[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL};
  char shm_size[48];
  snprintf (shm_size, sizeof shm_size, "size=%lluk",
            (unsigned long long) ((s->shm_size ? s->shm_size : SANDBOX_SHM_DEFAULT) + 1023) / 1024);
  const char *const shm_o[] = {"nosuid", "noexec", "nodev", "mode=1777", shm_size, NULL};
  static const char *const mq_o[] = {"nosuid", "noexec", "nodev", NULL};
  static const char *const sys_o[] = {"nosuid", "noexec", "nodev", "ro", NULL};
  static const char *const sys_rw[] = {"nosuid", "noexec", "nodev", NULL};
  static const char *const bind_ro[] = {"rbind", "ro", NULL};
  static const char *const bind_rw[] = {"rbind", "rw", NULL};
  json_array_append_new (mounts, mount_json ("/proc", "proc", "proc", proc_o));
  json_array_append_new (mounts, mount_json ("/dev", "tmpfs", "tmpfs", dev_o));
  json_array_append_new (mounts, mount_json ("/dev/pts", "devpts", "devpts", pts_o));
  json_array_append_new (mounts, mount_json ("/dev/shm", "tmpfs", "shm", shm_o));
  json_array_append_new (mounts, mount_json ("/dev/mqueue", "mqueue", "mqueue", mq_o));
  json_array_append_new (mounts, mount_json ("/sys", "sysfs", "sysfs", s->privileged ? sys_rw : sys_o));
  char src[4500];
  snprintf (src, sizeof src, "%s/hosts", etc);
  json_array_append_new (mounts, mount_json ("/etc/hosts", "bind", src, s->readonly_root ? bind_ro : bind_rw));
  snprintf (src, sizeof src, "%s/resolv.conf", etc);
  json_array_append_new (mounts, mount_json ("/etc/resolv.conf", "bind", src, s->readonly_root ? bind_ro : bind_rw));
  json_t *linux_ = json_pack ("{s:[{s:s}, {s:s}, {s:s}, {s:s}]}", "namespaces", "type", "pid", "type", "ipc", "type",
                              "uts", "type", "mount");
  if (s->privileged)
    json_object_set_new (linux_, "resources",
                         json_pack ("{s:[{s:b, s:s}]}", "devices", "allow", 1, "access", "rwm"));
  else
    {
      json_object_set_new (linux_, "maskedPaths", sandbox_paths_json (rootfs_masked_paths, rootfs_n_masked_paths));
      json_object_set_new (linux_, "readonlyPaths", sandbox_paths_json (rootfs_readonly_paths, rootfs_n_readonly_paths));
      json_object_set_new (linux_, "resources", json_pack ("{s:o}", "devices", devices_oci ()));
      if (!s->seccomp_unconfined)
        json_object_set_new (linux_, "seccomp", seccomp_profile_oci (s->seccomp_profile ? s->seccomp_profile
                                                                                        : seccomp_default_profile (),
                                                                     a->caps));
    }
  const struct cgroup_limits *l = s->runtime_limits;
  json_t *res = json_object_get (linux_, "resources");
  if (l && res)
    {
      if (l->memory > 0)
        json_object_set_new (res, "memory", json_pack ("{s:I, s:I}", "limit", (json_int_t) l->memory, "swap",
                                                       (json_int_t) (l->memory_swap ? l->memory_swap : -1)));
      json_t *cpu = json_object ();
      if (l->nano_cpus > 0)
        {
          json_object_set_new (cpu, "quota", json_integer (cgroup_cpu_quota (l->nano_cpus)));
          json_object_set_new (cpu, "period", json_integer (CGROUP_CPU_PERIOD));
        }
      if (l->cpu_shares > 0)
        json_object_set_new (cpu, "shares", json_integer (l->cpu_shares));
      if (json_object_size (cpu))
        json_object_set (res, "cpu", cpu);
      json_decref (cpu);
      if (l->pids_limit > 0)
        json_object_set_new (res, "pids", json_pack ("{s:I}", "limit", (json_int_t) l->pids_limit));
    }
  json_t *cfg = json_pack ("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process", process,
                           "root", "path", s->merged, "readonly", s->readonly_root, "hostname",
                           s->hostname ? s->hostname : "kiln", "mounts", mounts, "linux", linux_);
  if (cfg == NULL || json_dump_file (cfg, cfgpath, JSON_INDENT (2)) < 0)
    sandbox_die (status_fd, "writing %s", cfgpath);
  json_decref (cfg);
  attach_stdio (s);
  /* The runtime looks at /proc of its own PID namespace (ours): mount it. */
  if (mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    sandbox_die (status_fd, "mounting /proc for %s: %s", s->runtime, strerror (errno));
  unsigned char rnd[8] = {0};
  int ur = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (ur >= 0)
    {
      if (read (ur, rnd, sizeof rnd) < 0)
        rnd[0] = 0;
      close (ur);
    }
  char id[64];
  snprintf (id, sizeof id, "kiln-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
            rnd[6], rnd[7]);
  close_range (3, ~0U, CLOSE_RANGE_CLOEXEC);
  execlp (s->runtime, s->runtime, "run", "--bundle", bundle, id, (char *) NULL);
  sandbox_die (status_fd, "exec %s: %s", s->runtime, strerror (errno));
}

/* ---------- passing signals on ---------- */

static volatile pid_t forward_to = -1;
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define N_FORWARDED (sizeof forwarded / sizeof *forwarded)
_Static_assert (N_FORWARDED == SANDBOX_N_FORWARDED, "sandbox_int.h counts the forwarded signals");

static volatile sig_atomic_t forward_as_kill;
static volatile sig_atomic_t forwarded_count;

static void
forward_signal (int sig)
{
  if (forward_to > 0)
    {
      kill (forward_to, forward_as_kill ? SIGKILL : sig);
      forwarded_count++;
    }
}

unsigned long
sandbox_signals_forwarded (void)
{
  return (unsigned long) forwarded_count;
}

void
sandbox_forward_signals_to (pid_t pid, struct sigaction *saved)
{
  forward_to = pid;
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = forward_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset (&sa.sa_mask);
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded[i], &sa, saved ? &saved[i] : NULL);
}

void
sandbox_signals_default (void)
{
  for (size_t i = 0; i < N_FORWARDED; i++)
    signal (forwarded[i], SIG_DFL);
}

void
sandbox_restore_signals (struct sigaction *saved)
{
  forward_to = -1;
  for (size_t i = 0; i < N_FORWARDED; i++)
    sigaction (forwarded[i], &saved[i], NULL);
}

/* The init is kiln's own process, and /proc/1/cmdline would show the container
 * kiln's command line (host paths, -e values): it is blanked to "kiln-init". */
static void
hide_command_line (void)
{
  int fd = open ("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  char buf[4096];
  size_t total = 0;
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    total += (size_t) n;
  close (fd);
  if (program_invocation_name == NULL || total < sizeof "kiln-init")
    return;
  memset (program_invocation_name, 0, total);
  memcpy (program_invocation_name, "kiln-init", sizeof "kiln-init");
}

/* PID 1 of the sandbox: builds the root, then becomes the command (or, with
 * an init, starts it, passes signals on and reaps). */
static void __attribute__ ((noreturn))
sandbox_init (struct child_args *a)
{
  const struct sandbox_spec *s = a->s;
  int status_fd = a->status_fd;
  /* docker's device allow-list holds kiln and what it starts (devices_join); a
   * privileged sandbox leaves it. */
  if (a->leave_devices)
    {
      int cg = open (a->leave_devices, O_WRONLY | O_CLOEXEC);
      if (cg < 0 || write (cg, "0", 1) != 1)
        sandbox_die (status_fd, "leaving the device cgroup for %s: %s", a->leave_devices, strerror (errno));
      close (cg);
    }
  for (const char *const *f = s->cgroup_procs; f && *f; f++)
    {
      int cg = open (*f, O_WRONLY | O_CLOEXEC);
      if (cg < 0 || write (cg, "0", 1) != 1)
        sandbox_die (status_fd, "joining the container's cgroup %s: %s", *f, strerror (errno));
      close (cg);
    }
  /* Namespaced sysctls: /proc/sys shows the namespaces of whoever reads it, so
   * the host's /proc, still mounted here, writes the sandbox's own. */
  for (const char *const *kv = s->sysctls; kv && *kv; kv++)
    {
      const char *eq = strchr (*kv, '=');
      char path[512];
      int k = snprintf (path, sizeof path, "/proc/sys/%.*s", eq ? (int) (eq - *kv) : 0, *kv);
      for (char *c = path + 10; c < path + k; c++)
        if (*c == '.')
          *c = '/';
      int fd = eq ? open (path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
      if (fd < 0 || write (fd, eq + 1, strlen (eq + 1)) < 0)
        sandbox_die (status_fd, "sysctl %s: %s", *kv, strerror (errno));
      close (fd);
    }
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    sandbox_die (status_fd, "making mounts private: %s", strerror (errno));
  if (s->hostname)
    sethostname (s->hostname, strlen (s->hostname));
  if (s->network != SANDBOX_NET_HOST)
    loopback_up ();

  /* The overlay root; lowerdirs are relative to snapshots/ so long chains fit. */
  char snapdir[4096];
  snprintf (snapdir, sizeof snapdir, "%s/snapshots", s->store_root);
  if (chdir (snapdir) < 0)
    sandbox_die (status_fd, "%s: %s", snapdir, strerror (errno));
  char empty[4200];
  snprintf (empty, sizeof empty, "%s.empty", s->merged);
  if (s->lowers.n == 0 || (s->upper == NULL && s->lowers.n < 2))
    mkdir (empty, 0755);
  struct buf opts = BUF_INIT;
  overlay_options (&opts, &s->lowers, empty, s->upper, s->work);
  if (mount ("overlay", s->merged, "overlay", s->upper ? 0 : MS_RDONLY, buf_str (&opts)) < 0)
    sandbox_die (status_fd, "mounting the root overlay: %s", strerror (errno));
  buf_free (&opts);
  int root_fd = open (s->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    sandbox_die (status_fd, "%s: %s", s->merged, strerror (errno));

  struct user_ids ids;
  char why[512] = "";
  if (users_resolve (root_fd, s->user, false, &ids, why, sizeof why) < 0
      || users_add_groups (root_fd, s->group_add, &ids, why, sizeof why) < 0)
    sandbox_die (status_fd, "%s", why);

  /* kiln's own directory beside the root: the generated /etc files, and mount
   * points and a tmpfs for the spec's mounts (seen only in this namespace). */
  char etc[4300], scratch[4400];
  snprintf (etc, sizeof etc, "%s.etc", s->merged);
  snprintf (scratch, sizeof scratch, "%s/mnt", etc);
  mkdir (etc, 0755);
  if (s->runtime == NULL)
    rootfs_kernel_mounts (s, root_fd, status_fd);
  rootfs_user_mounts (s, root_fd, scratch, status_fd);
  /* run --device: the node, made where the container names it. */
  for (size_t i = 0; i < s->n_devices; i++)
    {
      const struct sandbox_device *d = &s->devices[i];
      char dir[4096]; /* no allocation in the sandbox's first process */
      snprintf (dir, sizeof dir, "%s", d->path);
      char *slash = strrchr (dir, '/');
      const char *base = slash ? slash + 1 : dir;
      if (slash)
        *slash = '\0';
      int dfd = rootfs_mkdir_in_root (root_fd, *dir ? dir : "/", 0755);
      if (dfd < 0 || !*base)
        sandbox_die (status_fd, "device %s: %s", d->path, strerror (errno));
      unlinkat (dfd, base, 0);
      if (mknodat (dfd, base, d->mode, d->rdev) < 0 || fchmodat (dfd, base, d->mode & 07777, 0) < 0
          || fchownat (dfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
        sandbox_die (status_fd, "device %s: %s", d->path, strerror (errno));
      close (dfd);
    }

  /* /etc/hosts and /etc/resolv.conf: generated files bound over the image's. */
  int etc_fd = open (etc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct buf hosts = BUF_INIT;
  buf_puts (&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  if (s->hosts_extra)
    buf_puts (&hosts, s->hosts_extra);
  else if (s->hostname)
    buf_printf (&hosts, "127.0.1.1\t%s\n", s->hostname);
  write_file (etc_fd, "hosts", buf_str (&hosts), status_fd);
  buf_free (&hosts);
  if (s->resolv_conf)
    write_file (etc_fd, "resolv.conf", s->resolv_conf, status_fd);
  else if (s->network == SANDBOX_NET_DEFAULT)
    write_file (etc_fd, "resolv.conf", "nameserver 10.0.2.3\n", status_fd);
  else
    {
      _cleanup_free_ char *host_resolv = NULL;
      int hf = open ("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
      if (hf >= 0)
        {
          struct buf b = BUF_INIT;
          char chunk[4096];
          ssize_t n;
          while ((n = read (hf, chunk, sizeof chunk)) > 0 && b.len < 65536)
            buf_append (&b, chunk, (size_t) n);
          close (hf);
          host_resolv = buf_steal (&b);
        }
      write_file (etc_fd, "resolv.conf", host_resolv ? host_resolv : "", status_fd);
    }
  /* /etc/hostname too, as docker binds it, when there is a network of kiln's. */
  if (s->hosts_extra && s->hostname)
    {
      char hn[300];
      snprintf (hn, sizeof hn, "%s\n", s->hostname);
      write_file (etc_fd, "hostname", hn, status_fd);
    }
  close (etc_fd);
  static const char *const etc_files[] = {"hosts", "resolv.conf", "hostname"};
  for (size_t i = 0; i < (s->hosts_extra && s->hostname ? 3 : 2) && s->runtime == NULL; i++)
    {
      char target[64], src[4400], path[64];
      snprintf (path, sizeof path, "/etc/%s", etc_files[i]);
      snprintf (src, sizeof src, "%s/%s", etc, etc_files[i]);
      int t = rootfs_mount_target (root_fd, path, false, target, sizeof target);
      int from = open (src, O_PATH | O_CLOEXEC);
      if (t < 0 || from < 0 || rootfs_bind (from, t, s->readonly_root, false) < 0)
        sandbox_die (status_fd, "binding %s: %s", path, strerror (errno));
      close (from);
      close (t);
    }

  /* The working directory exists before the command runs, as docker makes it. */
  if (s->cwd && *s->cwd)
    {
      int w = rootfs_mkdir_in_root (root_fd, s->cwd, 0755);
      if (w < 0)
        sandbox_die (status_fd, "working directory %s: %s", s->cwd, strerror (errno));
      close (w);
    }

  if (s->runtime)
    {
      /* The mount points the runtime binds over must exist in the image. */
      char t[64];
      static const char *const points[] = {"/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf"};
      for (size_t i = 0; i < sizeof points / sizeof *points; i++)
        {
          int fd = rootfs_mount_target (root_fd, points[i], i < 3, t, sizeof t);
          if (fd >= 0)
            close (fd);
        }
      close (root_fd);
      exec_runtime (a, &ids, etc); /* status_fd closes on exec */
    }

  if (s->readonly_root && mount (NULL, s->merged, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    {
      /* The overlay is not a bind mount: remount it read-only directly. */
      mount (NULL, s->merged, NULL, MS_REMOUNT | MS_RDONLY, NULL);
    }

  /* pivot_root into the overlay without a directory for the old root. */
  if (fchdir (root_fd) < 0 || syscall (SYS_pivot_root, ".", ".") < 0 || umount2 (".", MNT_DETACH) < 0
      || chdir ("/") < 0)
    sandbox_die (status_fd, "pivot_root: %s", strerror (errno));
  close (root_fd);
  if (s->cwd && *s->cwd && chdir (s->cwd) < 0)
    sandbox_die (status_fd, "chdir %s: %s", s->cwd, strerror (errno));

  /* The command starts with default dispositions, whatever kiln had. */
  if (!s->init)
    {
      /* The command is PID 1 itself, as in BuildKit's steps: no init process to
       * fork from kiln's image, which cost ~1 ms a step. The namespace ends with
       * it (the kernel kills what it left running). */
      sandbox_signals_default ();
      sandbox_run_command (a, &ids);
    }
  pid_t cmd = fork ();
  if (cmd < 0)
    sandbox_die (status_fd, "fork: %s", strerror (errno));
  if (cmd == 0)
    {
      sandbox_signals_default ();
      sandbox_run_command (a, &ids);
    }
  /* The init keeps nothing of kiln's open, and the command cannot look into it
   * (/proc/1/fd, /proc/1/mem) even as the same user. */
  close_range (3, ~0U, 0);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  hide_command_line ();
  /* PID 1 ignores signals it has no handler for: pass them to the command, which
   * then stops on TERM or INT even without a handler of its own. */
  if (s->forward_signals)
    sandbox_forward_signals_to (cmd, NULL);
  /* Reap everything; leave when the command exits (the kernel then kills the rest). */
  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, 0);
      if (p < 0 && errno == EINTR)
        continue;
      if (p == cmd || p < 0)
        {
          if (p < 0)
            _exit (125);
          _exit (WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st));
        }
    }
}

int
sandbox_net_parse (const char *s, enum sandbox_net *out)
{
  if (strcmp (s, "default") == 0 || strcmp (s, "bridge") == 0)
    *out = SANDBOX_NET_DEFAULT;
  else if (strcmp (s, "none") == 0)
    *out = SANDBOX_NET_NONE;
  else if (strcmp (s, "host") == 0)
    *out = SANDBOX_NET_HOST;
  else
    return -1;
  return 0;
}

static bool slirp_checked, slirp_ok;

bool
sandbox_have_slirp (void)
{
  if (!slirp_checked)
    {
      slirp_checked = true;
      slirp_ok = access ("/usr/bin/slirp4netns", X_OK) == 0;
    }
  return slirp_ok;
}

/* Starts slirp4netns for the network namespace of `pid`; returns its pid. */
static pid_t
start_slirp (pid_t pid, struct kiln_err *err)
{
  int ready[2];
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  pid_t parent = getpid ();
  pid_t sp = fork ();
  if (sp < 0)
    return kiln_err_set (err, errno, "fork: %s", strerror (errno));
  if (sp == 0)
    {
      /* It goes when kiln goes, even killed (else it outlives the build, holding
       * whatever kiln inherited: a caller's pipe never reaches its end). */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != parent)
        _exit (127);
      close_range (3, ~0U, CLOSE_RANGE_CLOEXEC);
      char p[32], fd[16];
      snprintf (p, sizeof p, "%d", (int) pid);
      int w = dup (ready[1]); /* not close-on-exec */
      snprintf (fd, sizeof fd, "%d", w);
      int null = open ("/dev/null", O_RDWR);
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (null, 2);
      execl ("/usr/bin/slirp4netns", "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
             "--ready-fd", fd, p, "tap0", (char *) NULL);
      _exit (127);
    }
  close (ready[1]);
  char c;
  ssize_t n = read (ready[0], &c, 1);
  close (ready[0]);
  if (n != 1)
    {
      kill (sp, SIGKILL);
      waitpid (sp, NULL, 0);
      return kiln_err_set (err, EIO, "slirp4netns did not start");
    }
  return sp;
}

/* Runs in the new namespaces, as their PID 1. */
static int
sandbox_child (void *arg)
{
  struct child_args *a = arg;
  close (a->status_close);
  close (a->go_close);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  const struct sandbox_spec *s = a->s;
  if (s->network == SANDBOX_NET_DEFAULT && s->netns_fd >= 0 && setns (s->netns_fd, CLONE_NEWNET) < 0)
    sandbox_die (a->status_fd, "joining the build's network: %s", strerror (errno));
  if (a->go_fd >= 0)
    {
      char c;
      if (read (a->go_fd, &c, 1) != 1)
        _exit (125);
      close (a->go_fd);
    }
  sandbox_init (a);
}

/* Sharing the parent's memory until the exec (as posix_spawn does) spares
 * copying kiln's page tables and tearing them down again: ~1 ms a step with the
 * libraries kiln links. The child then touches nothing of the parent's but its
 * own stack and balanced allocations, and the parent's thread waits until the
 * exec. Not under AddressSanitizer, which does not follow a stack switch. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SHARE_VM 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SHARE_VM 0
#endif
#endif
#ifndef SANDBOX_SHARE_VM
#define SANDBOX_SHARE_VM 1
#endif

static pid_t
spawn_sandbox (int flags, struct child_args *a, bool share_vm)
{
  if (SANDBOX_SHARE_VM && share_vm)
    {
      const size_t size = 512 * 1024;
      void *stack = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                          -1, 0);
      if (stack != MAP_FAILED)
        {
          pid_t pid = clone (sandbox_child, (char *) stack + size, flags | CLONE_VM | CLONE_VFORK | SIGCHLD, a);
          int e = errno;
          munmap (stack, size);
          errno = e;
          return pid;
        }
    }
  /* Fork-like: the child is created in its namespaces and is their PID 1 at once,
   * on a copy of this stack. */
  pid_t pid = (pid_t) syscall (SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, 0UL);
  if (pid == 0)
    _exit (sandbox_child (a));
  return pid;
}

void
sandbox_warm_up (void)
{
  devices_join_start ();
}

/* The command's stdio as pipes kiln relays (pipe_stdio): `local` is the spec
 * with the command's ends, `child` those ends (closed by the caller once the
 * command has them). */
int
sandbox_relay_open (const struct sandbox_spec *s, struct sandbox_spec *local, struct relay *relay, int child[3],
            struct kiln_err *err)
{
  int pin[2] = {-1, -1}, pout[2], perr[2];
  if ((s->stdin_fd >= 0 && pipe2 (pin, O_CLOEXEC) < 0) || pipe2 (pout, O_CLOEXEC) < 0 || pipe2 (perr, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  *relay = (struct relay){.in_src = s->stdin_fd, .in_dst = pin[1], .out_src = pout[0], .err_src = perr[0],
                          .out_dst = s->stdout_fd >= 0 || s->on_stdio ? s->stdout_fd : 1,
                          .err_dst = s->stderr_fd >= 0 || s->on_stdio ? s->stderr_fd : 2,
                          .on_chunk = s->on_stdio, .ud = s->stdio_ud};
  child[0] = pin[0];
  child[1] = pout[1];
  child[2] = perr[1];
  *local = *s;
  local->stdin_fd = pin[0];
  local->stdout_fd = pout[1];
  local->stderr_fd = perr[1];
  return 0;
}

int
sandbox_run (const struct sandbox_spec *s, int *exit_code, struct kiln_err *err)
{
  if (s->argv.n == 0)
    return kiln_err_set (err, EINVAL, "nothing to run");
  int status[2], go[2], outp[2] = {-1, -1};
  if (pipe2 (status, O_CLOEXEC) < 0 || pipe2 (go, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  struct sandbox_spec local;
  if (s->on_output)
    {
      if (pipe2 (outp, O_CLOEXEC) < 0)
        return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
      local = *s;
      local.stdout_fd = local.stderr_fd = outp[1];
      s = &local;
    }
  struct relay relay = {.in_src = -1, .in_dst = -1, .out_src = -1, .err_src = -1};
  int relay_child[3] = {-1, -1, -1}; /* the command's ends */
  if (s->pipe_stdio && !s->on_output)
    {
      if (sandbox_relay_open (s, &local, &relay, relay_child, err) < 0)
        return -1;
      s = &local;
    }
  if (s->pty && s->runtime)
    return kiln_err_set (err, EINVAL, "a terminal (-t) with --runtime is not supported yet");
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  bool shared_net = s->network == SANDBOX_NET_DEFAULT && s->netns_fd >= 0;
  if (s->network != SANDBOX_NET_HOST && !shared_net)
    flags |= CLONE_NEWNET;
  /* A private network namespace is connected by the parent before the command
   * starts: the child waits for it on `go`. */
  bool needs_go = s->network == SANDBOX_NET_DEFAULT && s->netns_fd < 0 && sandbox_have_slirp ();
  /* docker's profile, made ready here: the child only loads and joins. */
  uint64_t caps = sandbox_bounding_caps (s);
  const struct sock_fprog *filter = NULL;
  const char *leave_devices = NULL;
  if (s->privileged)
    leave_devices = devices_outside_procs ();
  else
    {
      if (!s->seccomp_unconfined && (filter = sandbox_seccomp_for (s->store_root, s->seccomp_profile, caps, err)) == NULL)
        return -1;
      if (s->runtime == NULL && devices_join (err) < 0)
        return kiln_err_wrap (err, "kiln cannot keep the sandbox from the host's devices");
    }
  _cleanup_strv_ struct strv env = STRV_INIT;
  char *home;
  sandbox_command_env (s, &env, &home);
  int console[2] = {-1, -1};
  if (s->pty && socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, console) < 0)
    return kiln_err_set (err, errno, "socketpair: %s", strerror (errno));
  struct child_args args = {.s = s,
                            .status_fd = status[1],
                            .status_close = status[0],
                            .go_fd = needs_go ? go[0] : -1,
                            .go_close = go[1],
                            .envp = env.v,
                            .home = home,
                            .seccomp = filter,
                            .leave_devices = leave_devices,
                            .caps = caps,
                            .console_fd = console[1]};
  fflush (NULL);
  pid_t child = spawn_sandbox (flags, &args, !needs_go && s->runtime == NULL && !s->init);
  if (child < 0)
    {
      int e = errno;
      if (console[0] >= 0)
        close (console[0]), close (console[1]);
      close (status[0]);
      close (status[1]);
      close (go[0]);
      close (go[1]);
      if (outp[0] >= 0)
        close (outp[0]), close (outp[1]);
      for (int k = 0; k < 3; k++)
        if (relay_child[k] >= 0)
          close (relay_child[k]);
      relay.in_src = -1;
      relay_run (&relay); /* closes its ends: the writers are gone, it returns at once */
      return kiln_err_set (err, e, "creating the sandbox's namespaces: %s", strerror (e));
    }
  close (status[1]);
  close (go[0]);
  if (console[1] >= 0)
    close (console[1]);
  if (outp[1] >= 0)
    close (outp[1]);
  for (int k = 0; k < 3; k++)
    if (relay_child[k] >= 0)
      close (relay_child[k]);
  struct sigaction saved[N_FORWARDED];
  forward_as_kill = s->cancel_on_signal && s->runtime == NULL; /* runc passes signals on itself */
  if (s->forward_signals || s->cancel_on_signal)
    sandbox_forward_signals_to (child, saved);
  pid_t slirp = -1;
  int ret = 0;
  if (s->network == SANDBOX_NET_DEFAULT && s->netns_fd < 0 && sandbox_have_slirp ())
    {
      /* The child unshared before reading from `go`: its namespace exists once
       * /proc shows a different net namespace than ours. */
      char self[64], other[64], pth[64];
      for (int i = 0; i < 2000; i++)
        {
          snprintf (pth, sizeof pth, "/proc/%d/ns/net", (int) child);
          ssize_t a = readlink ("/proc/self/ns/net", self, sizeof self - 1);
          ssize_t b = readlink (pth, other, sizeof other - 1);
          if (a > 0 && b > 0 && (a != b || memcmp (self, other, (size_t) a) != 0))
            break;
          usleep (500);
        }
      slirp = start_slirp (child, err);
      if (slirp < 0)
        ret = -1;
    }
  if (ret == 0 && needs_go && write (go[1], "g", 1) != 1)
    ret = kiln_err_set (err, errno, "starting the sandbox: %s", strerror (errno));
  close (go[1]);
  /* The status pipe closes on exec (or carries the reason the sandbox failed). */
  char msg[1024];
  ssize_t n = 0, got;
  while ((got = read (status[0], msg + n, sizeof msg - 1 - (size_t) n)) > 0)
    n += got;
  close (status[0]);
  if (ret == 0 && n == 0 && s->on_start)
    s->on_start (s->start_ud, child);
  if (console[0] >= 0)
    {
      /* The command runs: its pty's master came before its exec. */
      int master = ret == 0 && n == 0 ? pty_recv_fd (console[0]) : -1;
      close (console[0]);
      if (master >= 0)
        {
          if (s->on_pty)
            s->on_pty (s->pty_ud, master);
          close (master);
        }
    }
  if (outp[0] >= 0)
    {
      /* The command's output, line by line, until every writer has gone. */
      struct buf line = BUF_INIT;
      char chunk[8192];
      ssize_t got2;
      while ((got2 = read (outp[0], chunk, sizeof chunk)) != 0)
        {
          if (got2 < 0)
            {
              if (errno == EINTR)
                continue;
              break;
            }
          for (ssize_t i = 0; i < got2; i++)
            {
              if (chunk[i] == '\n')
                {
                  s->on_output (s->output_ud, buf_str (&line), line.len);
                  buf_reset (&line);
                }
              else if (line.len < 65536)
                buf_putc (&line, chunk[i]);
            }
        }
      if (line.len)
        s->on_output (s->output_ud, buf_str (&line), line.len);
      buf_free (&line);
      close (outp[0]);
    }
  if (relay.out_src >= 0)
    {
      /* A reader that went away (kiln run | head) is the relay's to absorb. */
      struct sigaction ign = {.sa_handler = SIG_IGN}, old;
      sigaction (SIGPIPE, &ign, &old);
      relay_run (&relay);
      sigaction (SIGPIPE, &old, NULL);
    }
  int st = 0;
  while (waitpid (child, &st, 0) < 0 && errno == EINTR)
    ;
  if (slirp > 0)
    {
      kill (slirp, SIGTERM);
      waitpid (slirp, NULL, 0);
    }
  if (s->forward_signals || s->cancel_on_signal)
    sandbox_restore_signals (saved);
  if (ret < 0)
    return -1;
  if (n > 0)
    {
      msg[n] = '\0';
      return kiln_err_set (err, EIO, "%s", msg);
    }
  *exit_code = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
  return 0;
}

int
sandbox_net_start (struct sandbox_netns *n, struct kiln_err *err)
{
  n->holder = n->slirp = -1;
  n->fd = -1;
  int ready[2];
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  pid_t h = fork ();
  if (h < 0)
    return kiln_err_set (err, errno, "fork: %s", strerror (errno));
  if (h == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      close (ready[0]);
      /* It lives as long as the build and holds nothing of it (a cache mount's
       * lock held here would block the build's next step forever). */
      if (ready[1] != 3 && dup2 (ready[1], 3) < 0)
        _exit (1);
      ready[1] = 3;
      close_range (4, ~0U, 0);
      if (unshare (CLONE_NEWNET) < 0)
        _exit (1);
      loopback_up ();
      if (write (ready[1], "r", 1) != 1)
        _exit (1);
      close (ready[1]);
      for (;;)
        pause ();
    }
  close (ready[1]);
  char c;
  ssize_t r = read (ready[0], &c, 1);
  close (ready[0]);
  n->holder = h;
  if (r != 1)
    {
      sandbox_net_stop (n);
      return kiln_err_set (err, EIO, "could not create a network namespace");
    }
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int) h);
  n->fd = open (path, O_RDONLY | O_CLOEXEC);
  if (n->fd < 0)
    {
      sandbox_net_stop (n);
      return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
    }
  n->slirp = start_slirp (h, err);
  if (n->slirp < 0)
    {
      sandbox_net_stop (n);
      return -1;
    }
  return 0;
}

void
sandbox_net_stop (struct sandbox_netns *n)
{
  /* Neither keeps state worth a clean exit.  Their ends are not waited for: the
   * kernel tears down slirp4netns's tap device as it exits, ~20 ms that every build
   * with a RUN step paid at its end.  They are reaped here if already gone, else by
   * whoever inherits them when kiln exits (a build's process ends right after). */
  if (n->slirp > 0)
    kill (n->slirp, SIGKILL);
  if (n->holder > 0)
    kill (n->holder, SIGKILL);
  if (n->slirp > 0)
    waitpid (n->slirp, NULL, WNOHANG);
  if (n->holder > 0)
    waitpid (n->holder, NULL, WNOHANG);
  if (n->fd >= 0)
    close (n->fd);
  n->holder = n->slirp = -1;
  n->fd = -1;
}

void
sandbox_spec_clear (struct sandbox_spec *s)
{
  strv_free (&s->lowers);
  strv_free (&s->argv);
  strv_free (&s->env);
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      free (s->mounts[i].source);
      free (s->mounts[i].subpath);
      free (s->mounts[i].target);
      free (s->mounts[i].display);
      free (s->mounts[i].what);
      if (s->mounts[i].content)
        explicit_bzero (s->mounts[i].content, s->mounts[i].content_len);
      free (s->mounts[i].content);
      free (s->mounts[i].tmpfs_data);
      free (s->mounts[i].copy_up_mark);
    }
  free (s->mounts);
  s->mounts = NULL;
  s->n_mounts = 0;
}
