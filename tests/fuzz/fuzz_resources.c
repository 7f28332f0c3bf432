/* libFuzzer: run/create's resource flags (-m, --memory-swap, --cpus, -c,
 * --pids-limit, --ulimit, --shm-size, --sysctl, --device, --group-add) and the
 * HostConfig checks after them.  The first byte picks the flag. */
/* fuzz-floor: 150: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 219 (and found 2 × a huge -m overflowing MemorySwap). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "container/resources.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  static const int opts[] = {RES_OPT_MEMORY,     RES_OPT_CPU_SHARES, RES_OPT_MEMORY_SWAP, RES_OPT_CPUS,
                             RES_OPT_PIDS_LIMIT, RES_OPT_ULIMIT,     RES_OPT_SHM_SIZE,    RES_OPT_SYSCTL,
                             RES_OPT_DEVICE,     RES_OPT_GROUP_ADD};
  int opt = opts[data[0] % (sizeof opts / sizeof *opts)];
  char *s = xstrndup ((const char *) data + 1, size - 1);
  struct container_resources r = {0};
  struct kiln_err err = {0};
  if (container_resources_flag (&r, opt, s, &err) == 0)
    {
      json_t *h = json_object ();
      if (container_resources_host_config (&r, h, &err) == 0)
        {
          struct cgroup_limits l;
          struct device_rule *devs = NULL;
          container_cgroup_limits (h, &l, &devs);
          free (devs);
        }
      json_decref (h);
    }
  kiln_err_clear (&err);
  container_resources_clear (&r);
  free (s);
  return 0;
}
