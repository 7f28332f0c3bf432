/* util/godur.c — Go's ParseDuration and Duration.String, rule for rule (Go's
 * src/time/format.go): the same accepted texts, overflow checks and messages. */
#include "util/godur.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int
invalid (const char *s, char *why, size_t why_len)
{
  snprintf (why, why_len, "time: invalid duration \"%s\"", s);
  return -1;
}

/* Leading decimal digits as an integer; *overflow when past 1<<63. */
static const char *
leading_int (const char *p, uint64_t *x, bool *overflow)
{
  *x = 0;
  *overflow = false;
  for (; *p >= '0' && *p <= '9'; p++)
    {
      if (*x > (UINT64_C (1) << 63) / 10)
        *overflow = true;
      *x = *x * 10 + (uint64_t) (*p - '0');
      if (*x > UINT64_C (1) << 63)
        *overflow = true;
    }
  return p;
}

int
go_duration_parse (const char *s, int64_t *ns, char *why, size_t why_len)
{
  static const struct
  {
    const char *name;
    uint64_t ns;
  } units[] = {{"ns", 1},          {"us", 1000},          {"\xc2\xb5s", 1000},       {"\xce\xbcs", 1000},
               {"ms", 1000000},    {"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL}};
  const char *p = s;
  bool neg = false;
  uint64_t d = 0;
  if (*p == '-' || *p == '+')
    neg = *p++ == '-';
  if (strcmp (p, "0") == 0)
    return *ns = 0, 0;
  if (*p == '\0')
    return invalid (s, why, why_len);
  while (*p)
    {
      if (!(*p == '.' || (*p >= '0' && *p <= '9')))
        return invalid (s, why, why_len);
      uint64_t v, f = 0;
      double scale = 1;
      bool overflow;
      const char *q = leading_int (p, &v, &overflow);
      if (overflow)
        return invalid (s, why, why_len);
      bool pre = q != p;
      p = q;
      bool post = false;
      if (*p == '.')
        {
          p++;
          const char *start = p;
          for (; *p >= '0' && *p <= '9'; p++)
            if (f < UINT64_C (1) << 60)
              {
                f = f * 10 + (uint64_t) (*p - '0');
                scale *= 10;
              }
          post = p != start;
        }
      if (!pre && !post)
        return invalid (s, why, why_len);
      const char *u = p;
      while (*p && *p != '.' && !(*p >= '0' && *p <= '9'))
        p++;
      size_t ulen = (size_t) (p - u);
      if (ulen == 0)
        {
          snprintf (why, why_len, "time: missing unit in duration \"%s\"", s);
          return -1;
        }
      uint64_t unit = 0;
      for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strlen (units[i].name) == ulen && memcmp (units[i].name, u, ulen) == 0)
          unit = units[i].ns;
      if (unit == 0)
        {
          snprintf (why, why_len, "time: unknown unit \"%.*s\" in duration \"%s\"", (int) ulen, u, s);
          return -1;
        }
      if (v > (UINT64_C (1) << 63) / unit)
        return invalid (s, why, why_len);
      v *= unit;
      if (f > 0)
        {
          v += (uint64_t) ((double) f * ((double) unit / scale));
          if (v > UINT64_C (1) << 63)
            return invalid (s, why, why_len);
        }
      d += v;
      if (d > UINT64_C (1) << 63)
        return invalid (s, why, why_len);
    }
  if (neg)
    {
      *ns = d == UINT64_C (1) << 63 ? INT64_MIN : -(int64_t) d;
      return 0;
    }
  if (d > (uint64_t) INT64_MAX)
    return invalid (s, why, why_len);
  *ns = (int64_t) d;
  return 0;
}

/* v / 10^prec as digits with the fraction's trailing zeros cut, written before
 * `end`, as Go's fmtFrac; returns the new start, v becomes the integer part. */
static char *
frac (char *end, uint64_t *v, int prec)
{
  bool print = false;
  for (int i = 0; i < prec; i++)
    {
      int digit = (int) (*v % 10);
      print = print || digit != 0;
      if (print)
        *--end = (char) ('0' + digit);
      *v /= 10;
    }
  if (print)
    *--end = '.';
  return end;
}

static char *
integer (char *end, uint64_t v)
{
  if (v == 0)
    *--end = '0';
  for (; v > 0; v /= 10)
    *--end = (char) ('0' + v % 10);
  return end;
}

void
go_duration_format (int64_t ns, char out[static 40])
{
  char buf[40];
  char *w = buf + sizeof buf;
  *--w = '\0';
  uint64_t u = ns < 0 ? (uint64_t) 0 - (uint64_t) ns : (uint64_t) ns;
  if (u < 1000000000ULL)
    {
      /* Under a second: "ns", "µs" or "ms" with a fraction. */
      int prec;
      if (u == 0)
        {
          snprintf (out, 40, "0s");
          return;
        }
      if (u < 1000)
        {
          *--w = 's';
          *--w = 'n';
          prec = 0;
        }
      else if (u < 1000000)
        {
          w -= 3; /* "µs": µ is two bytes */
          w[0] = '\xc2';
          w[1] = '\xb5';
          w[2] = 's';
          prec = 3;
        }
      else
        {
          *--w = 's';
          *--w = 'm';
          prec = 6;
        }
      w = frac (w, &u, prec);
      w = integer (w, u);
    }
  else
    {
      *--w = 's';
      w = frac (w, &u, 9);
      w = integer (w, u % 60);
      u /= 60;
      if (u > 0)
        {
          *--w = 'm';
          w = integer (w, u % 60);
          u /= 60;
          if (u > 0)
            {
              *--w = 'h';
              w = integer (w, u);
            }
        }
    }
  if (ns < 0)
    *--w = '-';
  snprintf (out, 40, "%s", w);
}
