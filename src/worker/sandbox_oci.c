/* worker/sandbox_oci.c — `--runtime`: an OCI bundle (config.json) with kiln's own
 * profile for the sandbox's root, then the runtime's exec in kiln's namespaces. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/cgroup.h"
#include "worker/devices.h"
#include "worker/rootfs.h"
#include "worker/sandbox_private.h"
#include "worker/seccomp.h"

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
void __attribute__ ((noreturn))
sandbox_exec_runtime (const struct child_args *a, const struct user_ids *ids, const char *etc)
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
  sandbox_attach_stdio (s);
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
