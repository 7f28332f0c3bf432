/* util/duration.c — Go duration strings, as time.ParseDuration reads them. */
#include "util/duration.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int64_t
parse_go_duration (const char *s)
{
  if (s == NULL || *s == '\0')
    return -1;
  if (strcmp (s, "0") == 0)
    return 0;
  long double total = 0;
  const char *p = s;
  while (*p)
    {
      if (!isdigit ((unsigned char) *p) && *p != '.')
        return -1;
      char *end;
      errno = 0;
      long double v = strtold (p, &end);
      if (end == p || errno)
        return -1;
      p = end;
      long double unit;
      if (strncmp (p, "ns", 2) == 0)
        unit = 1, p += 2;
      else if (strncmp (p, "us", 2) == 0)
        unit = 1e3, p += 2;
      else if (strncmp (p, "\xc2\xb5s", 3) == 0 || strncmp (p, "\xce\xbcs", 3) == 0)
        unit = 1e3, p += 3;
      else if (strncmp (p, "ms", 2) == 0)
        unit = 1e6, p += 2;
      else if (*p == 's')
        unit = 1e9, p++;
      else if (*p == 'm')
        unit = 60e9, p++;
      else if (*p == 'h')
        unit = 3600e9, p++;
      else
        return -1;
      total += v * unit;
      if (total > (long double) INT64_MAX)
        return -1;
    }
  return (int64_t) total;
}
