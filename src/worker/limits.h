/* worker/limits.h — the resource limits a sandbox's command gets, from docker's
 * flags: `--ulimit NAME=SOFT[:HARD]` (setrlimit before the exec) and
 * `--shm-size SIZE` (the /dev/shm tmpfs). */
#pragma once
#include <stdint.h>

#include "util/err.h"

struct sandbox_rlimit
{
  int resource;     /* RLIMIT_* */
  uint64_t soft;    /* RLIM_INFINITY for -1 / unlimited */
  uint64_t hard;
};

#define SANDBOX_MAX_RLIMITS 16
#define SANDBOX_SHM_DEFAULT (64ull << 20) /* docker's */

/* docker's `--ulimit` (go-units ParseUlimit): NAME=SOFT[:HARD], a name of
 * `ulimit -a` (core cpu data fsize locks memlock msgqueue nice nofile nproc rss
 * rtprio rttime sigpending stack as), -1 for unlimited, HARD defaulting to SOFT
 * and never below it.  -1 and a docker-style message on a bad spec. */
int limits_parse_ulimit (const char *spec, struct sandbox_rlimit *out, struct kiln_err *err);

/* The OCI name of a resource ("RLIMIT_NOFILE"), for a runtime's bundle. */
const char *limits_oci_name (int resource);

/* docker's RAMInBytes (go-units): a decimal number, one optional space, an
 * optional unit k m g t p (binary, any case), then an optional i and b ("64m",
 * "1gb", "2KiB", "6 MB", "512", "10b").  -1 when it is not one. */
int limits_parse_bytes (const char *s, uint64_t *out);
