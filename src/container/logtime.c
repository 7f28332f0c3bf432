/* container/logtime.c — docker's --since/--until times (see the header). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container/logtime.h"
#include "util/duration.h"

/* `n` digits at *p into *v; advances. */
static bool
digits (const char **p, int n, int *v)
{
  *v = 0;
  for (int i = 0; i < n; i++)
    {
      if (!isdigit ((unsigned char) (*p)[i]))
        return false;
      *v = *v * 10 + ((*p)[i] - '0');
    }
  *p += n;
  return true;
}

/* YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM] */
static int
parse_rfc3339ish (const char *s, int64_t *out)
{
  const char *p = s;
  struct tm tm = {0};
  int y, mo, d, h = 0, mi = 0, sec = 0;
  int64_t frac = 0;
  if (!digits (&p, 4, &y) || *p++ != '-' || !digits (&p, 2, &mo) || *p++ != '-' || !digits (&p, 2, &d))
    return -1;
  if (*p == 'T')
    {
      p++;
      if (!digits (&p, 2, &h))
        return -1;
      if (*p == ':')
        {
          p++;
          if (!digits (&p, 2, &mi))
            return -1;
          if (*p == ':')
            {
              p++;
              if (!digits (&p, 2, &sec))
                return -1;
              if (*p == '.')
                {
                  p++;
                  int n = 0;
                  while (isdigit ((unsigned char) *p))
                    {
                      if (n < 9)
                        frac = frac * 10 + (*p - '0'), n++;
                      p++;
                    }
                  if (n == 0)
                    return -1;
                  for (; n < 9; n++)
                    frac *= 10;
                }
            }
        }
    }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t;
  if (*p == 'Z' || *p == 'z')
    {
      p++;
      t = timegm (&tm);
    }
  else if (*p == '+' || *p == '-')
    {
      int sign = *p++ == '+' ? 1 : -1, oh, om;
      if (!digits (&p, 2, &oh) || *p++ != ':' || !digits (&p, 2, &om))
        return -1;
      t = timegm (&tm) - sign * (oh * 3600 + om * 60);
    }
  else
    {
      tm.tm_isdst = -1;
      t = mktime (&tm); /* no zone: local time, as docker's ParseInLocation */
    }
  if (*p || t < -9000000000LL || t > 9000000000LL) /* what ns since the epoch can hold */
    return -1;
  *out = (int64_t) t * 1000000000 + frac;
  return 0;
}

/* seconds[.nanoseconds] */
static int
parse_unix (const char *s, int64_t *out)
{
  const char *p = s;
  int64_t secs = 0, frac = 0;
  if (!isdigit ((unsigned char) *p))
    return -1;
  while (isdigit ((unsigned char) *p))
    {
      if (secs > (INT64_MAX / 1000000000 - 9) / 10)
        return -1;
      secs = secs * 10 + (*p++ - '0');
    }
  if (*p == '.')
    {
      p++;
      int n = 0;
      while (isdigit ((unsigned char) *p))
        {
          if (n < 9)
            frac = frac * 10 + (*p - '0'), n++;
          p++;
        }
      for (; n < 9; n++)
        frac *= 10;
    }
  if (*p)
    return -1;
  *out = secs * 1000000000 + frac;
  return 0;
}

int
log_time_parse (const char *value, int64_t now_ns, int64_t *out_ns, struct kiln_err *err)
{
  if (strcmp (value, "0") != 0)
    {
      const char *d = value;
      int sign = 1;
      if (*d == '-' || *d == '+')
        sign = *d++ == '-' ? -1 : 1;
      int64_t ns = parse_go_duration (d);
      if (ns >= 0 && *d && !__builtin_sub_overflow (now_ns, sign * ns, out_ns))
        return 0;
    }
  if (parse_rfc3339ish (value, out_ns) == 0 || parse_unix (value, out_ns) == 0)
    return 0;
  return kiln_err_set (err, KILN_EINVAL, "failed to parse value as time or duration: \"%s\"", value);
}
