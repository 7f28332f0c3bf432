/* container/stats.h — `kiln stats`: a container's usage, sampled from its
 * cgroup (worker/cgroup.h) and its network namespace, and docker's stats
 * context (cli/command/container/formatter_stats.go) for --format.
 *
 * A row is built in two steps, as docker's CLI does: the raw numbers (docker's
 * StatsEntry: CPUPercentage, Memory, MemoryLimit, MemoryPercentage, NetworkRx,
 * NetworkTx, BlockRead, BlockWrite, PidsCurrent, IsInvalid, plus Container, ID
 * and Name), then the fields a template names (CPUPerc "1.03%", MemUsage
 * "504KiB / 23.54GiB", NetIO "806B / 0B", …). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "worker/cgroup.h"

#define STATS_TYPE "*container.statsContext"
#define STATS_DEFAULT_FORMAT                                                                                          \
  "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

/* One reading of a running container. */
struct stats_sample
{
  struct cgroup_stats cg;
  uint64_t system_ns; /* the host's CPU time, all CPUs (/proc/stat), when read */
  uint64_t net_rx, net_tx;
};

/* Reads container's cgroup `cg` and the network of its process `pid` (0: none). */
int stats_sample_read (const struct cgroup *cg, pid_t pid, struct stats_sample *s, struct kiln_err *err);

/* docker's raw entry from two readings (`before` NULL: CPU % 0); the memory
 * limit is at most the host's memory. */
json_t *stats_entry (const struct stats_sample *before, const struct stats_sample *now, unsigned online_cpus,
                     uint64_t host_memory);

/* The fields a template names, from a raw entry; `trunc`: a 12-digit ID. */
json_t *stats_row (const json_t *entry, bool trunc);

/* The column titles (docker's header map). */
json_t *stats_header (void);

/* go-units BytesSize ("504KiB", "23.54GiB"). */
void stats_bytes_size (double bytes, char out[static 32]);

/* The host's CPU time and memory. */
uint64_t stats_system_ns (void);
uint64_t stats_host_memory (void);
