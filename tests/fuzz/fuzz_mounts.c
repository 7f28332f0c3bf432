/* libFuzzer: the --mount, -v and --tmpfs parsers (container/mounts.h), and the
 * mount points a container keeps from them. */
/* fuzz-floor: 190: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 382 (664k runs), 423 with volume-subpath (1.04M runs), under load. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "container/mounts.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = xstrndup ((const char *) data, size);
  struct mount_spec m = {.tmpfs_mode = -1};
  struct kiln_err err = {0};
  mount_parse_mount_flag (s, &m, &err);
  kiln_err_clear (&err);
  mount_parse_volume_flag (s, &m, &err);
  kiln_err_clear (&err);
  mount_parse_tmpfs_flag (s, &m, &err);
  kiln_err_clear (&err);
  mount_spec_clear (&m);
  struct strv one = STRV_INIT;
  strv_push (&one, s);
  json_t *host = json_object (), *vols = json_object (), *points = json_array ();
  if (mounts_config (NULL, &one, NULL, host, vols, points, &err) == 0)
    {
      json_t *cfg = json_pack ("{s:O}", "MountPoints", points);
      json_decref (mounts_inspect_json (cfg));
      json_decref (cfg);
    }
  kiln_err_clear (&err);
  json_decref (host);
  json_decref (vols);
  json_decref (points);
  strv_free (&one);
  free (s);
  return 0;
}
