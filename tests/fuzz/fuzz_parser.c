/* libFuzzer: the Dockerfile parser and dump on arbitrary bytes. */
/* fuzz-floor: 360: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 659; before the library was instrumented, 3. */
#include <stddef.h>
#include <stdint.h>

#include "frontend/parser.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct kiln_err err = {0};
  struct df_ast *ast = df_parse ("Dockerfile", (const char *) data, size, &err);
  if (ast)
    {
      struct buf b = BUF_INIT;
      df_dump (ast, &b);
      buf_free (&b);
      df_ast_free (ast);
    }
  kiln_err_clear (&err);
  return 0;
}
