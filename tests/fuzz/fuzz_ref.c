/* libFuzzer: image reference parsing and printing. */
/* fuzz-floor: 95: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 171; before the library was instrumented, 3. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "image/ref.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = xstrndup ((const char *) data, size);
  struct image_ref r;
  struct kiln_err err = {0};
  if (ref_parse (s, true, &r, &err) == 0)
    {
      free (ref_string (&r));
      free (ref_familiar_repository (&r));
      ref_clear (&r);
    }
  kiln_err_clear (&err);
  free (ref_familiar (s));
  free (s);
  return 0;
}
