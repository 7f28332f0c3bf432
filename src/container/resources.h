/* container/resources.h — what a container may use, and what it uses.
 *
 * run/create's resource flags (-m/--memory, --memory-swap, --cpus, -c/--cpu-shares,
 * --pids-limit, --ulimit, --shm-size, --sysctl, --device, --group-add) are parsed
 * and checked here with docker's messages, kept in config.json's HostConfig with
 * docker's keys (Memory, MemorySwap, NanoCpus, CpuShares, PidsLimit, Ulimits,
 * ShmSize, Sysctls, Devices, GroupAdd), and turned back into the container's
 * cgroup (worker/cgroup.h) and sandbox settings at every start.
 *
 * The cgroup's life: the monitor makes it (containers/<id>/cgroup records where)
 * before the sandbox starts, the sandbox's first process joins it, and the
 * monitor reads the OOM counter and removes it when the command ends.  A monitor
 * that was killed leaves it: container_state_get, which records such a container
 * as exited, calls container_cgroup_cleanup; `system check` names leftovers,
 * `--repair` removes them (container_cgroup_stale). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"
#include "worker/cgroup.h"

struct sandbox_spec;

/* The flags as given. */
struct container_resources
{
  int64_t memory, memory_swap, nano_cpus, cpu_shares, pids_limit, shm_size;
  bool memory_swap_set, pids_limit_set, shm_size_set;
  json_t *ulimits;    /* docker's [{"Name","Hard","Soft"}], NULL: none */
  json_t *sysctls;    /* {"K":"V"}, NULL: none */
  json_t *devices;    /* [{"PathOnHost","PathInContainer","CgroupPermissions"}], NULL: none */
  struct strv group_add;
};

void container_resources_clear (struct container_resources *r);

/* getopt values of the flags (the short ones are -m and -c). */
enum
{
  RES_OPT_MEMORY = 'm',
  RES_OPT_CPU_SHARES = 'c',
  RES_OPT_FIRST = 0x1300, /* apart from cli/create_opts.c's own codes (0x100…, 0x1001…, 0x1101, 0x1201, 0x1401…) */
  RES_OPT_MEMORY_SWAP = RES_OPT_FIRST,
  RES_OPT_CPUS,
  RES_OPT_PIDS_LIMIT,
  RES_OPT_ULIMIT,
  RES_OPT_SHM_SIZE,
  RES_OPT_SYSCTL,
  RES_OPT_DEVICE,
  RES_OPT_GROUP_ADD,
  RES_OPT_LAST = RES_OPT_GROUP_ADD,
};
#define CONTAINER_RESOURCES_SHORTOPTS "m:c:"
#define CONTAINER_RESOURCES_OPTIONS                                                                                    \
  {"memory", required_argument, NULL, RES_OPT_MEMORY}, {"cpu-shares", required_argument, NULL, RES_OPT_CPU_SHARES},    \
      {"memory-swap", required_argument, NULL, RES_OPT_MEMORY_SWAP},                                                   \
      {"cpus", required_argument, NULL, RES_OPT_CPUS}, {"pids-limit", required_argument, NULL, RES_OPT_PIDS_LIMIT},    \
      {"ulimit", required_argument, NULL, RES_OPT_ULIMIT}, {"shm-size", required_argument, NULL, RES_OPT_SHM_SIZE},    \
      {"sysctl", required_argument, NULL, RES_OPT_SYSCTL}, {"device", required_argument, NULL, RES_OPT_DEVICE},        \
      {"group-add", required_argument, NULL, RES_OPT_GROUP_ADD}
#define CONTAINER_RESOURCES_USAGE                                                                                      \
  "  -m, --memory BYTES       memory limit (docker's sizes: 32m, 1g; at least 6MiB)\n"                                  \
  "      --memory-swap BYTES  memory + swap limit (-1: unlimited swap; default twice --memory)\n"                       \
  "      --cpus N             CPUs (1.5: a quota of 150ms every 100ms)\n"                                              \
  "  -c, --cpu-shares N       relative CPU weight\n"                                                                   \
  "      --pids-limit N       at most N processes (-1: unlimited)\n"                                                   \
  "      --ulimit NAME=SOFT[:HARD]  a resource limit (nofile, nproc, core, ...)\n"                                     \
  "      --shm-size BYTES     size of /dev/shm (default 64m)\n"                                                        \
  "      --sysctl K=V         a namespaced kernel parameter (net.*, kernel.shm*, kernel.msg*, fs.mqueue.*)\n"          \
  "      --device HOST[:CTR][:rwm]  a host device in the container\n"                                                  \
  "      --group-add GROUP    an additional group for the container's user\n"

/* One flag (its getopt value `opt`) into `r`; -1 with docker's message
 * ("invalid argument \"x\" for \"-m, --memory\" flag: invalid size: 'x'"). */
int container_resources_flag (struct container_resources *r, int opt, const char *value, struct kiln_err *err);
static inline bool
container_resources_is_opt (int opt)
{
  return opt == RES_OPT_MEMORY || opt == RES_OPT_CPU_SHARES || (opt >= RES_OPT_FIRST && opt <= RES_OPT_LAST);
}

/* docker's RAMInBytes ("32m", "1.5GiB", "512"; worker/limits's parser) as an
 * int64: -1 if invalid or too large. */
int64_t container_parse_size (const char *s);

/* Checks what docker's daemon checks (minimum memory 6MB, swap >= memory, the
 * CPU range, a sysctl in host network mode) and sets HostConfig's keys. */
int container_resources_host_config (const struct container_resources *r, json_t *host_config,
                                     struct kiln_err *err);

/* The limits a HostConfig asks for; true if any needs a cgroup. */
bool container_cgroup_limits (const json_t *host_config, struct cgroup_limits *l, struct device_rule **devices);

/* What a start needs beyond the cgroup: ulimits, /dev/shm's size, sysctls,
 * devices and groups into the sandbox spec (pointing into `host_config`, which
 * must outlive it). */
struct container_sandbox_extras
{
  struct sandbox_device *devices;
  struct strv sysctls;   /* "K=V" */
  struct strv group_add;
};
int container_resources_spec (const json_t *host_config, struct sandbox_spec *sb, struct container_sandbox_extras *x,
                              struct kiln_err *err);
void container_sandbox_extras_clear (struct container_sandbox_extras *x);

/* ---------- the container's cgroup ---------- */

struct container_cgroup
{
  struct cgroup cg;
  struct strv procs; /* cgroup.procs files, for sandbox_spec.cgroup_procs */
  bool made;
  pid_t maker;       /* container_cgroup_start's child, -1: none */
  int maker_fd;
  struct cgroup_limits runtime_limits; /* --runtime: handed to the runtime instead */
  struct device_rule *runtime_devices;
};

/* Starts making container `id`'s cgroup in a short-lived child process while
 * the caller goes on building the spec: making a memory cgroup and the first
 * migration in a while each cost the kernel several milliseconds. Optional:
 * container_cgroup_enter waits for it, or does the work itself. */
void container_cgroup_start (const char *root, const char *id, const json_t *config, struct container_cgroup *cc);

/* Makes container `id`'s cgroup as `config` asks (or takes what
 * container_cgroup_start made) and points the spec at it.  Without limits a
 * host with no usable cgroup is no error (the container runs in kiln's); with
 * them it is. */
int container_cgroup_enter (const char *root, const char *id, const json_t *config, struct sandbox_spec *sb,
                            struct container_cgroup *cc, struct kiln_err *err);
/* After the command ended: true if the kernel killed in it for memory; the
 * cgroup and its record are removed. */
bool container_cgroup_leave (const char *root, const char *id, struct container_cgroup *cc);

/* The cgroup of a running container (from its record); -1 if it has none. */
int container_cgroup_of (const char *root, const char *id, struct cgroup *cg, struct kiln_err *err);

/* Moves `pid` into container `id`'s cgroup (kiln exec): 0 also when the
 * container has no cgroup of its own. */
int container_cgroup_join (const char *root, const char *id, pid_t pid, struct kiln_err *err);

/* For a container whose monitor is gone: removes what its cgroup left; true
 * if the kernel had killed in it for memory. */
bool container_cgroup_cleanup (const char *root, const char *id);

/* Container cgroups of store `root` (its group under kiln's parents,
 * cgroup_parents) whose container is not `live` (a callback over the id): named
 * in `stale`, removed with `repair`. */
int container_cgroup_stale (const char *root, bool (*live) (void *ud, const char *id), void *ud, bool repair,
                            struct strv *stale, struct kiln_err *err);

/* `system check`: the stale container cgroups as "cgroup PATH" lines in
 * `garbage` (removed with `repair`), under containers.lock. */
int container_cgroups_check (const char *root, bool repair, struct strv *garbage, struct kiln_err *err);

/* Thaws container `id`'s cgroup: a SIGKILL sent to a paused container takes
 * effect (stop, kill, rm -f of a paused container, as docker's daemon). */
void container_cgroup_thaw (const char *root, const char *id);
