/* worker/cgroup.h — a container's own cgroup: its limits (run -m, --cpus,
 * --pids-limit, …), its counters (stats, top, OOMKilled) and its freezer
 * (pause).
 *
 * Where: kiln's own cgroup in each hierarchy (as /proc/self/cgroup says, a
 * trailing `kiln-sandbox` — devices.h's shared cgroup — cut), then a group
 * (the caller's: one per store, `kiln/<store key>`), then the name (the
 * container's id).  Nested under kiln's own rather than at the hierarchy's root, as
 * docker's cgroupfs driver puts `/docker/<id>`: a limit set on whoever started
 * kiln still holds its containers.
 *
 * - cgroup v1, where the host's controllers are on v1 (this project's CI
 *   machine; its unified hierarchy is empty): one directory per controller
 *   (memory, cpu, cpuacct, pids, freezer, blkio, devices), each found by its
 *   mount in /proc/self/mountinfo (several controllers on one mount share it).
 * - cgroup v2 (most hosts): one directory; the controllers it needs (memory,
 *   cpu, pids, io) are enabled in the parents' cgroup.subtree_control on the
 *   way down.  A parent that cannot delegate them (it holds processes: v2's
 *   "no internal processes" rule) only fails a container that asks for the
 *   limit: freezing and the core counters need no controller.
 *
 * The devices controller (v1) or device program (v2) of the container's cgroup
 * gets docker's rules from worker/devices.h (plus run --device), unless the
 * container is privileged.
 *
 * The cgroup's place is kept as a small text file (cgroup_save/cgroup_load), so
 * whoever looks later — stats, pause, the command that finds a dead monitor —
 * finds it whatever cgroup that command runs in.
 *
 * Every function takes the cgroupfs paths it works on: the unit tests run the v2
 * path against a fake tree in a temporary directory. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

struct device_rule;

enum cgroup_version
{
  CGROUP_NONE,
  CGROUP_V1,
  CGROUP_V2,
};

/* The v1 controllers a container's cgroup is made in, in this order. */
enum cgroup_ctrl
{
  CG_MEMORY,
  CG_CPU,
  CG_CPUACCT,
  CG_PIDS,
  CG_FREEZER,
  CG_BLKIO,
  CG_DEVICES,
  CG_N_CTRL,
};
extern const char *const cgroup_ctrl_names[CG_N_CTRL];

struct cgroup
{
  enum cgroup_version version;
  char *dir[CG_N_CTRL]; /* v1: per controller (NULL: not mounted); two controllers on one mount share a path */
  char *unified;        /* v2 */
};

void cgroup_clear (struct cgroup *cg);

/* The mount point of the v1 hierarchy with `controller`, or of cgroup2 (NULL),
 * whose root is "/", from the text of /proc/self/mountinfo. */
bool cgroup_mount_of (const char *mountinfo, const char *controller, char *out, size_t len);
/* The path ("/a/b") of the caller's cgroup in the v1 hierarchy with
 * `controller`, or in v2 (NULL), from the text of /proc/self/cgroup. */
bool cgroup_own_path (const char *self_cgroup, const char *controller, char *out, size_t len);

/* Where cgroup GROUP/NAME goes: v1 when the memory controller is on v1, else
 * v2; `prefer` ("v1", "v2", NULL) forces one (KILN_CGROUP in tests).  GROUP is
 * a relative path, NAME one name. */
int cgroup_locate (const char *mountinfo, const char *self_cgroup, const char *prefer, const char *group,
                   const char *name, struct cgroup *cg, struct kiln_err *err);
/* The same from /proc/self/mountinfo, /proc/self/cgroup and $KILN_CGROUP. */
int cgroup_locate_self (const char *group, const char *name, struct cgroup *cg, struct kiln_err *err);

struct cgroup_limits
{
  int64_t memory;      /* bytes; 0: none */
  int64_t memory_swap; /* memory + swap in bytes (docker's MemorySwap); 0: none, -1: unlimited swap */
  int64_t nano_cpus;   /* CPUs × 1e9; 0: none */
  int64_t cpu_shares;  /* 0: the default */
  int64_t pids_limit;  /* <= 0: none */
  bool privileged;     /* every device: no device rules */
  const struct device_rule *devices; /* allowed beyond docker's list (run --device) */
  size_t n_devices;
};

/* docker's CFS period for --cpus (runc's default), in µs. */
#define CGROUP_CPU_PERIOD 100000
/* --cpus as a CFS quota over CGROUP_CPU_PERIOD, in µs. */
int64_t cgroup_cpu_quota (int64_t nano_cpus);
/* --cpu-shares as v2's cpu.weight (runc's conversion). */
uint64_t cgroup_shares_to_weight (int64_t shares);

/* Makes the cgroup (and its parents) and writes the limits.  On failure nothing
 * of it is left. */
int cgroup_create (const struct cgroup *cg, const struct cgroup_limits *l, struct kiln_err *err);

/* Removes the cgroup, waiting briefly (at most ~1 s) for processes that are
 * still leaving it, and its parent (the group) when that is left empty; 0 also
 * when it is gone already. */
int cgroup_remove (const struct cgroup *cg, struct kiln_err *err);

/* The cgroup.procs files a process writes "0" to to join the cgroup (NULL
 * ended; the caller frees the array and strings with strv_free on `out`). */
void cgroup_procs_files (const struct cgroup *cg, struct strv *out);

/* Moves process `pid` into the cgroup (kiln exec's process: the container's
 * limits, counters and freezer hold it too). */
int cgroup_join (const struct cgroup *cg, pid_t pid, struct kiln_err *err);

/* Freezes or thaws every process of the cgroup and waits until the kernel says
 * it is done (v1 freezer.state, v2 cgroup.freeze and cgroup.events). */
int cgroup_freeze (const struct cgroup *cg, bool frozen, struct kiln_err *err);

struct cgroup_stats
{
  uint64_t cpu_ns;        /* CPU time used */
  uint64_t mem_usage;     /* bytes, without the inactive file cache (docker's CLI) */
  uint64_t mem_limit;     /* bytes; UINT64_MAX: none */
  uint64_t pids;
  uint64_t blk_read, blk_write;
  uint64_t oom_kills;     /* processes the kernel killed for memory */
};

/* Reads the counters; a counter whose file is missing stays 0. */
int cgroup_read_stats (const struct cgroup *cg, struct cgroup_stats *st, struct kiln_err *err);

/* The pids in the cgroup (host pids), ascending. */
int cgroup_pids (const struct cgroup *cg, pid_t **pids, size_t *n, struct kiln_err *err);

/* Keeps / reads the cgroup's place in a small text file. */
int cgroup_save (const struct cgroup *cg, const char *path, struct kiln_err *err);
int cgroup_load (const char *path, struct cgroup *cg, struct kiln_err *err);

/* The directories GROUP's cgroups are made in, one per hierarchy (shared
 * mounts once), as `cgroup_locate` would place them: `system check` looks there
 * for cgroups no running container owns. */
int cgroup_parents (const char *mountinfo, const char *self_cgroup, const char *prefer, const char *group,
                    struct strv *out);
/* The same from /proc/self and $KILN_CGROUP. */
void cgroup_parents_self (const char *group, struct strv *out);
