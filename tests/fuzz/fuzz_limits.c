/* libFuzzer: docker's --ulimit and --shm-size values (worker/limits). */
/* fuzz-floor: 40: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 60 (13 million runs, under load). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/buf.h"
#include "worker/limits.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = xstrndup ((const char *) data, size);
  struct sandbox_rlimit rl;
  struct kiln_err err = {0};
  if (limits_parse_ulimit (s, &rl, &err) == 0 && rl.soft > rl.hard)
    abort (); /* never accepted */
  kiln_err_clear (&err);
  uint64_t v;
  limits_parse_bytes (s, &v);
  free (s);
  return 0;
}
