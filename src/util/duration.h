/* util/duration.h — Go's time.ParseDuration, for flags and Dockerfile values that
 * docker reads with it (HEALTHCHECK --interval, logs --since 10m, ...). */
#pragma once
#include <stdint.h>

/* Parses a Go duration ("30s", "1m30s", "500ms", "1.5h"; units ns, us, µs, ms,
 * s, m, h; "0" alone without a unit) into nanoseconds; -1 on error or overflow. */
int64_t parse_go_duration (const char *s);
