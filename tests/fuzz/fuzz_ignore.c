/* libFuzzer: .dockerignore parsing and matching. Input: pattern file, NUL, paths by '\n'. */
/* fuzz-floor: 160: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 293; before the library was instrumented, 10. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context/ignore.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *s = (const char *) data;
  const char *nul = memchr (s, '\0', size);
  size_t plen = nul ? (size_t) (nul - s) : size;
  struct kiln_err err = {0};
  struct ignore_rules *r = ignore_parse ("fuzz", s, plen, &err);
  kiln_err_clear (&err);
  if (r == NULL)
    return 0;
  if (nul)
    {
      char *paths = xstrndup (nul + 1, size - plen - 1);
      for (char *save = NULL, *p = strtok_r (paths, "\n", &save); p; p = strtok_r (NULL, "\n", &save))
        {
          ignore_excluded (r, p);
          ignore_may_include_below (r, p);
        }
      free (paths);
    }
  ignore_free (r);
  return 0;
}
