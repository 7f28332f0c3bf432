/* util/duration.c — Go duration strings, as time.ParseDuration reads them. */
#include "util/duration.h"
#include "util/godur.h"

int64_t
parse_go_duration (const char *s)
{
  /* Go's rules and their messages live in util/godur; here only the value. */
  int64_t ns;
  char why[160];
  if (s == NULL || go_duration_parse (s, &ns, why, sizeof why) < 0 || ns < 0)
    return -1;
  return ns;
}
