/* worker/limits.c — --ulimit and --shm-size values. */
#include "worker/limits.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

static const struct
{
  const char *name;
  int resource;
  const char *oci;
} names[] = {
  {"as", RLIMIT_AS, "RLIMIT_AS"},
  {"core", RLIMIT_CORE, "RLIMIT_CORE"},
  {"cpu", RLIMIT_CPU, "RLIMIT_CPU"},
  {"data", RLIMIT_DATA, "RLIMIT_DATA"},
  {"fsize", RLIMIT_FSIZE, "RLIMIT_FSIZE"},
  {"locks", RLIMIT_LOCKS, "RLIMIT_LOCKS"},
  {"memlock", RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"},
  {"msgqueue", RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
  {"nice", RLIMIT_NICE, "RLIMIT_NICE"},
  {"nofile", RLIMIT_NOFILE, "RLIMIT_NOFILE"},
  {"nproc", RLIMIT_NPROC, "RLIMIT_NPROC"},
  {"rss", RLIMIT_RSS, "RLIMIT_RSS"},
  {"rtprio", RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},
  {"rttime", RLIMIT_RTTIME, "RLIMIT_RTTIME"},
  {"sigpending", RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"},
  {"stack", RLIMIT_STACK, "RLIMIT_STACK"},
};

/* A limit value: a decimal number that fits Go's int64 (go-units' ParseInt), or -1
 * for unlimited. */
static int
limit_value (const char *s, size_t len, uint64_t *out)
{
  if (len == 2 && strncmp (s, "-1", 2) == 0)
    {
      *out = RLIM_INFINITY;
      return 0;
    }
  if (len == 0 || len > 20)
    return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++)
    {
      if (!isdigit ((unsigned char) s[i]))
        return -1;
      unsigned d = (unsigned) (s[i] - '0');
      if (v > ((uint64_t) INT64_MAX - d) / 10)
        return -1;
      v = v * 10 + d;
    }
  *out = v;
  return 0;
}

int
limits_parse_ulimit (const char *spec, struct sandbox_rlimit *out, struct kiln_err *err)
{
  const char *eq = strchr (spec, '=');
  if (eq == NULL)
    return kiln_err_set (err, KILN_EUSAGE, "invalid ulimit argument: %s", spec);
  size_t nl = (size_t) (eq - spec);
  int found = -1;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strlen (names[i].name) == nl && strncmp (names[i].name, spec, nl) == 0)
      found = (int) i;
  if (found < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid ulimit type: %.*s", (int) nl, spec);
  const char *v = eq + 1;
  const char *colon = strchr (v, ':');
  if (colon && strchr (colon + 1, ':'))
    return kiln_err_set (err, KILN_EUSAGE, "too many limit value arguments - %s, can only have up to two, `soft[:hard]`", v);
  if (limit_value (v, colon ? (size_t) (colon - v) : strlen (v), &out->soft) < 0
      || limit_value (colon ? colon + 1 : v, strlen (colon ? colon + 1 : v), &out->hard) < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid ulimit argument: %s (a number, or -1 for unlimited)", spec);
  if (out->soft > out->hard)
    return kiln_err_set (err, KILN_EUSAGE, "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                         out->soft == RLIM_INFINITY ? -1LL : (long long) out->soft,
                         out->hard == RLIM_INFINITY ? -1LL : (long long) out->hard); /* go-units' words */
  out->resource = names[found].resource;
  return 0;
}

const char *
limits_oci_name (int resource)
{
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (names[i].resource == resource)
      return names[i].oci;
  return "RLIMIT_NOFILE";
}

int
limits_parse_bytes (const char *s, uint64_t *out)
{
  /* go-units: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$, the number read by
   * ParseFloat (so one fraction at most: "1.2.3" is refused). strtod alone would
   * also take "1e3", "0x10" and "1.". */
  size_t n = strspn (s, "0123456789");
  if (n == 0)
    return -1;
  if (s[n] == '.')
    {
      size_t frac = strspn (s + n + 1, "0123456789");
      if (frac == 0)
        return -1;
      n += 1 + frac;
    }
  char num[64];
  if (n >= sizeof num)
    return -1;
  memcpy (num, s, n);
  num[n] = '\0';
  const char *end = s + n;
  if (*end == ' ') /* go-units allows one space before the unit ("6 MB") */
    end++;
  static const char units[] = "kmgtp";
  const char *u = *end ? strchr (units, tolower ((unsigned char) *end)) : NULL;
  uint64_t mul = 1;
  if (u != NULL)
    {
      for (const char *p = units; p <= u; p++)
        mul *= 1024;
      end++;
    }
  if (*end == 'i' || *end == 'I')
    end++;
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end)
    return -1;
  double bytes = strtod (num, NULL) * (double) mul;
  if (bytes >= 18446744073709551615.0)
    return -1;
  *out = (uint64_t) bytes;
  return 0;
}
