/* container/stats.c — a container's usage and docker's stats context. */
#include "container/stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/formatter.h"

uint64_t
stats_system_ns (void)
{
  /* docker's getSystemCPUUsage: the first line of /proc/stat, its first seven
   * fields in clock ticks. */
  _cleanup_fclose_ FILE *f = fopen ("/proc/stat", "re");
  char line[512];
  if (f == NULL || fgets (line, sizeof line, f) == NULL || strncmp (line, "cpu ", 4) != 0)
    return 0;
  uint64_t total = 0;
  char *p = line + 4;
  for (int i = 0; i < 7; i++)
    {
      char *end;
      unsigned long long v = strtoull (p, &end, 10);
      if (end == p)
        break;
      total += v;
      p = end;
    }
  long hz = sysconf (_SC_CLK_TCK);
  return total * (1000000000ULL / (uint64_t) (hz > 0 ? hz : 100));
}

uint64_t
stats_host_memory (void)
{
  struct sysinfo si;
  if (sysinfo (&si) < 0)
    return 0;
  return (uint64_t) si.totalram * si.mem_unit;
}

/* The bytes every interface but lo received and sent (/proc/PID/net/dev). */
static void
net_bytes (pid_t pid, uint64_t *rx, uint64_t *tx)
{
  *rx = *tx = 0;
  if (pid <= 0)
    return;
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/net/dev", (int) pid);
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  char line[512];
  for (int n = 0; f && fgets (line, sizeof line, f) && n < 4096; n++)
    {
      char *colon = strchr (line, ':');
      if (colon == NULL)
        continue;
      *colon = '\0';
      char *name = line + strspn (line, " ");
      if (strcmp (name, "lo") == 0)
        continue;
      unsigned long long v[9];
      if (sscanf (colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &v[6], &v[7], &v[8])
          == 9)
        {
          *rx += v[0];
          *tx += v[8];
        }
    }
}

int
stats_sample_read (const struct cgroup *cg, pid_t pid, struct stats_sample *s, struct kiln_err *err)
{
  memset (s, 0, sizeof *s);
  s->system_ns = stats_system_ns ();
  if (cgroup_read_stats (cg, &s->cg, err) < 0)
    return -1;
  net_bytes (pid, &s->net_rx, &s->net_tx);
  return 0;
}

json_t *
stats_entry (const struct stats_sample *before, const struct stats_sample *now, unsigned online_cpus,
             uint64_t host_memory)
{
  double cpu = 0;
  /* docker's calculateCPUPercentUnix. */
  if (before && now->cg.cpu_ns > before->cg.cpu_ns && now->system_ns > before->system_ns)
    cpu = (double) (now->cg.cpu_ns - before->cg.cpu_ns) / (double) (now->system_ns - before->system_ns)
          * (double) online_cpus * 100.0;
  uint64_t limit = now->cg.mem_limit;
  if (host_memory && limit > host_memory)
    limit = host_memory;
  double mem_pct = limit ? (double) now->cg.mem_usage / (double) limit * 100.0 : 0;
  return json_pack ("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:b}", "CPUPercentage", cpu, "Memory",
                    (double) now->cg.mem_usage, "MemoryLimit", (double) limit, "MemoryPercentage", mem_pct,
                    "NetworkRx", (double) now->net_rx, "NetworkTx", (double) now->net_tx, "BlockRead",
                    (double) now->cg.blk_read, "BlockWrite", (double) now->cg.blk_write, "PidsCurrent",
                    (json_int_t) now->cg.pids, "IsInvalid", 0);
}

void
stats_bytes_size (double bytes, char out[static 32])
{
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  size_t u = 0;
  while (bytes >= 1024 && u + 1 < sizeof units / sizeof *units)
    bytes /= 1024, u++;
  snprintf (out, 32, "%.4g%s", bytes, units[u]);
}

static double
num (const json_t *o, const char *k)
{
  return json_number_value (json_object_get (o, k));
}

json_t *
stats_row (const json_t *e, bool trunc)
{
  bool invalid = json_is_true (json_object_get (e, "IsInvalid"));
  const char *container = json_string_value (json_object_get (e, "Container"));
  const char *id = json_string_value (json_object_get (e, "ID"));
  const char *name = json_string_value (json_object_get (e, "Name"));
  char cpu[48], mem[80], memp[48], net[80], blk[80], pids[32], a[32], b[32];
  if (invalid)
    {
      snprintf (cpu, sizeof cpu, "--");
      snprintf (mem, sizeof mem, "-- / --");
      snprintf (memp, sizeof memp, "--");
      snprintf (net, sizeof net, "--");
      snprintf (blk, sizeof blk, "--");
      snprintf (pids, sizeof pids, "--");
    }
  else
    {
      snprintf (cpu, sizeof cpu, "%.2f%%", num (e, "CPUPercentage"));
      stats_bytes_size (num (e, "Memory"), a);
      stats_bytes_size (num (e, "MemoryLimit"), b);
      snprintf (mem, sizeof mem, "%s / %s", a, b);
      snprintf (memp, sizeof memp, "%.2f%%", num (e, "MemoryPercentage"));
      format_size_prec (num (e, "NetworkRx"), 3, a);
      format_size_prec (num (e, "NetworkTx"), 3, b);
      snprintf (net, sizeof net, "%s / %s", a, b);
      format_size_prec (num (e, "BlockRead"), 3, a);
      format_size_prec (num (e, "BlockWrite"), 3, b);
      snprintf (blk, sizeof blk, "%s / %s", a, b);
      snprintf (pids, sizeof pids, "%lld", (long long) json_integer_value (json_object_get (e, "PidsCurrent")));
    }
  _cleanup_free_ char *short_id = trunc ? formatter_truncate_id (id ? id : "") : NULL;
  /* docker's Name(): the name after its "/", "--" when there is none. */
  const char *shown = name && strlen (name) > 1 ? name + 1 : "--";
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container", container ? container : "", "ID",
                    trunc ? short_id : (id ? id : ""), "Name", shown, "CPUPerc", cpu, "MemUsage", mem, "MemPerc",
                    memp, "NetIO", net, "BlockIO", blk, "PIDs", pids);
}

json_t *
stats_header (void)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container", "CONTAINER", "ID", "CONTAINER ID",
                    "Name", "NAME", "CPUPerc", "CPU %", "MemUsage", "MEM USAGE / LIMIT", "MemPerc", "MEM %", "NetIO",
                    "NET I/O", "BlockIO", "BLOCK I/O", "PIDs", "PIDS");
}
