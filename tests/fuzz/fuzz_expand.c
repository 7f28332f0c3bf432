/* libFuzzer: word expansion. The first byte picks the options; a few variables are set. */
/* fuzz-floor: 210: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 384; before the library was instrumented, 5. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "frontend/shell.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  struct shell_opts o = {
    .escape = (data[0] & 1) ? '`' : '\\',
    .raw_quotes = data[0] & 2,
    .raw_escapes = data[0] & 4,
    .skip_unset_env = data[0] & 8,
    .skip_process_quotes = data[0] & 16,
    .heredoc_glue = data[0] & 32,
  };
  struct envmap vars = ENVMAP_INIT;
  envmap_set (&vars, "A", "a b  c");
  envmap_set (&vars, "EMPTY", "");
  envmap_set (&vars, "P", "/usr/local/bin/x.tar.gz");
  struct shell_env env = {&vars, NULL};
  struct kiln_err err = {0};
  char *res = NULL;
  struct strv words = STRV_INIT;
  if (shell_expand (&o, (const char *) data + 1, size - 1, &env, &res, &words, &err) == 0)
    free (res);
  kiln_err_clear (&err);
  strv_free (&words);
  envmap_free (&vars);
  return 0;
}
