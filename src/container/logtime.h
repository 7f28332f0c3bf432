/* container/logtime.h — the times `logs --since/--until` take, as docker reads them
 * (api/types/time GetTimestamp):
 *
 *   10m, 1h30m, 1.5h, -5s   a Go duration before `now` ("0" is the Unix time 0)
 *   2026-12-01T13:04:00Z, 2026-12-01T13:04:00.5+01:00, 2026-12-01T13:04, 2026-12-01T13,
 *   2026-12-01, 2026-12-01Z  RFC 3339 and its shorter forms; without a zone, local time
 *   1764594240, 1764594240.123456789   Unix seconds[.nanoseconds]
 *
 * A pure function of its inputs (the clock is an argument). */
#pragma once
#include <stdint.h>

#include "util/err.h"

/* The time `value` means, in ns since the epoch, `now` being now; -1 and docker's
 * "failed to parse value as time or duration: \"X\"" (KILN_EINVAL) if none. */
int log_time_parse (const char *value, int64_t now_ns, int64_t *out_ns, struct kiln_err *err);
