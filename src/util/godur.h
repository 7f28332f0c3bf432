/* util/godur.h — Go's time.Duration as text: time.ParseDuration (with its error
 * messages, which docker's flags print as they are) and Duration.String (which
 * docker's messages print: "Health check exceeded timeout (1.5s)"). */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Parses "300ms", "-1.5h", "2h45m", "0" as Go does into nanoseconds.  -1 on
 * error with Go's message in `why` (`time: unknown unit "x" in duration "1x"`,
 * `time: missing unit in duration "1"`, `time: invalid duration "x"`). */
int go_duration_parse (const char *s, int64_t *ns, char *why, size_t why_len);

/* Go's Duration.String: "0s", "1.5s", "500ms", "1m30s", "2h0m0s", "1µs". */
void go_duration_format (int64_t ns, char out[static 40]);
