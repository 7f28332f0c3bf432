/* libFuzzer: what a user types at ps, logs and run that kiln parses itself: --filter
 * (parsed and matched against a container), logs --since/--until times, --log-opt
 * values, and ps's port display over a JSON port list.  The first byte picks one. */
/* fuzz-floor: 200: scripts/test fails a run whose final cov is lower.  A 50 s run with
 * the committed seeds reached 346. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/logopts.h"
#include "container/logtime.h"
#include "container/psfilter.h"
#include "container/psfmt.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  int which = data[0] & 3;
  char *s = xstrndup ((const char *) data + 1, size - 1);
  struct kiln_err err = {0};
  switch (which)
    {
    case 0:
      {
        /* filters, one a line, then matched */
        struct psfilter f;
        psfilter_init (&f);
        char *save = NULL;
        for (char *l = strtok_r (s, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
          {
            psfilter_add (&f, l, &err);
            kiln_err_clear (&err);
          }
        json_t *sum = json_pack ("{s:s, s:[s], s:s, s:{s:s}, s:[{s:s, s:s}], s:[{s:i, s:i, s:s}]}", "ID", "abc123",
                                 "Names", "/web", "State", "exited", "Labels", "tier", "front", "Mounts", "Name",
                                 "vol", "Destination", "/data", "Ports", "PrivatePort", 80, "PublicPort", 8080,
                                 "Type", "tcp");
        struct psfilter_item it = {.summary = sum, .created = 5, .exit_code = 3, .has_run = true};
        psfilter_match (&f, &it);
        json_decref (sum);
        psfilter_clear (&f);
        break;
      }
    case 1:
      {
        int64_t ns;
        log_time_parse (s, 1764594240LL * 1000000000LL, &ns, &err);
        break;
      }
    case 2:
      {
        struct strv opts = STRV_INIT;
        char *save = NULL;
        for (char *l = strtok_r (s, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
          strv_push (&opts, l);
        if (log_opts_check (&opts, &err) == 0)
          {
            json_t *lc = log_opts_config (&opts);
            json_t *h = json_pack ("{s:o}", "LogConfig", lc);
            int64_t max_size;
            int max_files;
            log_opts_rotation (h, &max_size, &max_files);
            json_decref (h);
          }
        strv_free (&opts);
        break;
      }
    default:
      {
        json_t *ports = json_loads (s, JSON_DECODE_ANY, NULL);
        struct buf out = BUF_INIT;
        psfmt_ports (ports, &out);
        buf_free (&out);
        json_decref (ports);
        break;
      }
    }
  kiln_err_clear (&err);
  free (s);
  return 0;
}
