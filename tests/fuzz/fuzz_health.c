/* libFuzzer: Go durations (the --health-* flags, HEALTHCHECK's) and an image's
 * Healthcheck through the merge, the config reader and the state machine. */
/* fuzz-floor: 150: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 203. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/health.h"
#include "util/buf.h"
#include "util/godur.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = xstrndup ((const char *) data, size);
  char why[256];
  int64_t ns, again;
  /* What Go prints, Go parses back to the same value. */
  if (go_duration_parse (s, &ns, why, sizeof why) == 0)
    {
      char text[40];
      go_duration_format (ns, text);
      if (go_duration_parse (text, &again, why, sizeof why) < 0 || again != ns)
        abort ();
    }
  struct health_opts o = {0};
  struct kiln_err err = {0};
  static const char *const flags[] = {"health-interval", "health-timeout", "health-retries", "health-start-period",
                                      "health-cmd"};
  for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
    {
      if (health_opts_flag (&o, flags[i], s, &err) < 0)
        kiln_err_clear (&err);
    }
  /* The input as an image's Healthcheck. */
  json_t *image = json_loadb ((const char *) data, size, 0, NULL);
  json_t *hc = NULL;
  struct health_opts none = {0};
  if (health_config_merge (image, &none, &hc, &err) == 0 && hc)
    {
      json_t *config = json_pack ("{s:{s:O}}", "Config", "Healthcheck", hc);
      struct health_config c;
      if (health_config_read (config, &c))
        {
          json_t *h = health_starting (NULL);
          struct health_result r = {.start = 1, .end = 2, .exit_code = (int) (size % 3) - 1, .output = s,
                                    .output_len = size};
          for (int i = 0; i < 7; i++)
            health_record (h, &c, 0, &r);
          health_next_interval (&c, 0, 5, h);
          if (json_array_size (json_object_get (h, "Log")) > HEALTH_LOG_MAX)
            abort ();
          json_decref (h);
        }
      health_config_clear (&c);
      json_decref (config);
    }
  kiln_err_clear (&err);
  json_decref (hc);
  json_decref (image);
  free (s);
  return 0;
}
