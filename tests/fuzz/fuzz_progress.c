/* libFuzzer: the build's progress views — solver/ttyview's SolveStatus lines (a
 * step's output and names reach them) and solver/explain's diff of two stored
 * step records (read back from kiln.db).
 * Input: lines for the view; after a NUL, two info objects split by another NUL. */
/* fuzz-floor: 150: scripts/test fails a run whose final cov is lower.  A 45 s run with
 * the seed reached 258 (460,000 runs, under load). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "solver/explain.h"
#include "solver/ttyview.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *p = (const char *) data, *end = p + size;
  const char *nul = memchr (p, '\0', size);
  const char *lines_end = nul ? nul : end;
  struct ttyview *v = ttyview_new ();
  double t = 0;
  for (const char *l = p; l < lines_end;)
    {
      const char *nl = memchr (l, '\n', (size_t) (lines_end - l));
      size_t len = nl ? (size_t) (nl - l) : (size_t) (lines_end - l);
      ttyview_feed (v, l, len, t += 0.5);
      l += len + 1;
    }
  struct buf out = BUF_INIT;
  int cols = size ? (int) (data[0] % 200) : 80;
  ttyview_render (v, t + 1, cols, cols % 7, false, &out);
  ttyview_render (v, t + 1, cols, 0, true, &out);
  buf_free (&out);
  ttyview_free (v);
  if (nul)
    {
      const char *a = nul + 1;
      const char *mid = memchr (a, '\0', (size_t) (end - a));
      if (mid)
        {
          json_t *o = json_loadb (a, (size_t) (mid - a), 0, NULL);
          json_t *n = json_loadb (mid + 1, (size_t) (end - mid - 1), 0, NULL);
          json_t *r = json_array ();
          if (o && n)
            explain_diff (o, n, r);
          size_t i;
          json_t *x;
          struct buf text = BUF_INIT;
          json_array_foreach (r, i, x) explain_text (x, &text);
          buf_free (&text);
          json_decref (o);
          json_decref (n);
          json_decref (r);
        }
    }
  return 0;
}
