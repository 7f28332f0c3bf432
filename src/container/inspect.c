/* container/inspect.c — `kiln inspect` of a container, in docker's shape. */
#include "container/inspect.h"

#include <string.h>

#include "container/config.h"
#include "container/mounts.h"
#include "image/image.h"
#include "store/containers.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "worker/rootfs.h"
#include "worker/sandbox.h"

/* docker's HostConfig for a container it made with no flags: the keys kiln keeps
 * in config.json replace these values. */
static const char host_config_defaults[] =
"{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{}},\"NetworkMode\":\"defau"
  "lt\",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":false,\"Volume"
  "Driver\":\"\",\"VolumesFrom\":null,\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"host\",\"Dns\":[],\"DnsOption"
  "s\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"private\",\"Cgroup\":\"\",\"Links\":null,"
  "\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"Secu"
  "rityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":67108864,\"Runtime\":\"runc\",\"ConsoleSize\":[0,0],\""
  "Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDe"
  "vice\":[],\"BlkioDeviceReadBps\":null,\"BlkioDeviceWriteBps\":null,\"BlkioDeviceReadIOps\":null,\"BlkioDevic"
  "eWriteIOps\":null,\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus"
  "\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"KernelMemory\":0,\"K"
  "ernelMemoryTCP\":0,\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":null,\"OomKillDisable\":fals"
  "e,\"PidsLimit\":null,\"Ulimits\":null,\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\""
  ":0,\"MaskedPaths\":[\"/proc/asound\",\"/proc/acpi\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\",\"/pro"
  "c/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/proc/scsi\",\"/sys/firmware\"],\"ReadonlyPaths\":"
  "[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}";

/* docker's NetworkSettings with nothing attached: kiln's containers have the
 * host's network, none, or a private one of slirp4netns, and no endpoint. */
static const char network_settings_defaults[] =
"{\"Bridge\":\"\",\"SandboxID\":\"\",\"HairpinMode\":false,\"LinkLocalIPv6Address\":\"\",\"LinkLocalIPv6PrefixLen\":0"
  ",\"Ports\":{},\"SandboxKey\":\"\",\"SecondaryIPAddresses\":null,\"SecondaryIPv6Addresses\":null,\"EndpointID\":\""
  "\",\"Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Ga"
  "teway\":\"\",\"MacAddress\":\"\",\"Networks\":{}}";

static json_t *
host_config (const json_t *kept)
{
  json_t *h = json_loads (host_config_defaults, JSON_DECODE_ANY, NULL);
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) kept, k, v) json_object_set (h, k, v);
  bool privileged = json_is_true (json_object_get (kept, "Privileged"));
  json_object_set_new (h, "MaskedPaths",
                       privileged ? json_null () : sandbox_paths_json (rootfs_masked_paths, rootfs_n_masked_paths));
  json_object_set_new (h, "ReadonlyPaths",
                       privileged ? json_null () : sandbox_paths_json (rootfs_readonly_paths, rootfs_n_readonly_paths));
  return h;
}

static json_t *
mounts (const json_t *binds)
{
  json_t *a = json_array ();
  size_t i;
  json_t *b;
  json_array_foreach (binds, i, b)
  {
    const char *s = json_string_value (b);
    const char *c1 = s ? strchr (s, ':') : NULL;
    if (c1 == NULL)
      continue;
    const char *c2 = strchr (c1 + 1, ':');
    _cleanup_free_ char *src = strndup (s, (size_t) (c1 - s));
    _cleanup_free_ char *dst = c2 ? strndup (c1 + 1, (size_t) (c2 - c1 - 1)) : strdup (c1 + 1);
    const char *mode = c2 ? c2 + 1 : "";
    json_array_append_new (a, json_pack ("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source", src,
                                         "Destination", dst, "Mode", mode, "RW", strcmp (mode, "ro") != 0,
                                         "Propagation", "rprivate"));
  }
  return a;
}

json_t *
container_inspect_json (const char *root, const struct container_rec *rec, const json_t *config,
                        const struct container_state *s, const struct strv *lowers)
{
  _cleanup_strv_ struct strv argv = STRV_INIT;
  container_config_argv (config, &argv);
  json_t *args = json_array ();
  for (size_t i = 1; i < argv.n; i++)
    json_array_append_new (args, json_string (argv.v[i]));
  char created[40];
  format_rfc3339_nano (rec->created, created);
  _cleanup_buf_ struct buf log = BUF_INIT;
  buf_printf (&log, "%s-json.log", rec->id);
  _cleanup_free_ char *log_path = container_path (root, rec->id, buf_str (&log));
  _cleanup_free_ char *resolv = container_path (root, rec->id, "merged.etc/resolv.conf");
  _cleanup_free_ char *hosts = container_path (root, rec->id, "merged.etc/hosts");
  _cleanup_free_ char *upper = container_path (root, rec->id, "upper");
  _cleanup_free_ char *work = container_path (root, rec->id, "work");
  _cleanup_free_ char *merged = container_path (root, rec->id, "merged");
  _cleanup_buf_ struct buf lower = BUF_INIT;
  for (size_t i = 0; i < lowers->n; i++)
    buf_printf (&lower, "%s%s/snapshots/%s", i ? ":" : "", root, lowers->v[i]);
  _cleanup_buf_ struct buf name = BUF_INIT;
  buf_printf (&name, "/%s", rec->name);
  const json_t *h = json_object_get (config, "HostConfig");
  json_t *o = json_object ();
  json_object_set_new (o, "Id", json_string (rec->id));
  json_object_set_new (o, "Created", json_string (created));
  json_object_set_new (o, "Path", json_string (argv.n ? argv.v[0] : ""));
  json_object_set_new (o, "Args", args);
  json_object_set_new (o, "State", container_state_json (s));
  json_object_set_new (o, "Image", json_string (rec->image));
  json_object_set_new (o, "ResolvConfPath", json_string (resolv));
  json_object_set_new (o, "HostnamePath", json_string (""));
  json_object_set_new (o, "HostsPath", json_string (hosts));
  json_object_set_new (o, "LogPath", json_string (log_path));
  json_object_set_new (o, "Name", json_string (buf_str (&name)));
  json_object_set_new (o, "RestartCount", json_integer (s->restart_count));
  json_object_set_new (o, "Driver", json_string ("overlay"));
  json_object_set_new (o, "Platform", json_string ("linux"));
  json_object_set_new (o, "MountLabel", json_string (""));
  json_object_set_new (o, "ProcessLabel", json_string (""));
  json_object_set_new (o, "AppArmorProfile", json_string (""));
  json_object_set_new (o, "ExecIDs", json_null ());
  json_object_set_new (o, "HostConfig", host_config (h));
  json_object_set_new (o, "GraphDriver",
                       json_pack ("{s:{s:s, s:s, s:s, s:s}, s:s}", "Data", "LowerDir", buf_str (&lower), "MergedDir",
                                  merged, "UpperDir", upper, "WorkDir", work, "Name", "overlay"));
  json_object_set_new (o, "Mounts", json_object_get (config, "MountPoints") ? mounts_inspect_json (config)
                                                                             : mounts (json_object_get (h, "Binds")));
  json_t *c = json_object_get (config, "Config");
  json_object_set (o, "Config", c ? c : json_object ());
  json_object_set_new (o, "NetworkSettings", json_loads (network_settings_defaults, 0, NULL));
  return o;
}
