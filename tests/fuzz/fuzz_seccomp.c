/* libFuzzer: seccomp profiles in docker's JSON (run --security-opt seccomp=FILE):
 * parsed, then turned into the OCI form and compiled for a bounding set as a
 * sandbox would. */
/* fuzz-floor: 100: scripts/test fails a run whose final cov is lower.  A 30 s run with
 * the seeds reached 192. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/err.h"
#include "worker/seccomp.h"

/* libseccomp 2.5.4 leaks inside its rule database for some rule sets (three
 * `socket` rules comparing different arguments are enough: found by the
 * hour-long run, the input is in the corpus); kiln releases every context it
 * makes. Its own leaks are not kiln's to fix. */
const char *__lsan_default_suppressions (void);
const char *
__lsan_default_suppressions (void)
{
  return "leak:libseccomp.so\n";
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct kiln_err err = {0};
  struct seccomp_profile *p = seccomp_profile_parse ((const char *) data, size, &err);
  kiln_err_clear (&err);
  if (p == NULL)
    return 0;
  json_decref (seccomp_profile_oci (p, size & 1 ? ~0ULL : 0xa80425fbULL));
  /* Compiling is libseccomp's work and slow; only small profiles. */
  if (p->n_rules < 16)
    {
      struct sock_fprog prog;
      if (seccomp_profile_compile (p, 0xa80425fbULL, &prog, &err) == 0)
        free (prog.filter);
      kiln_err_clear (&err);
    }
  seccomp_profile_free (p);
  return 0;
}
