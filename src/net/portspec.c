/* net/portspec.c — docker's -p and --expose. */
#include "net/portspec.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/cleanup.h"

/* strconv.ParseUint(s, 10, 16): digits only, at most 65535. */
static int
parse_u16 (const char *s, size_t len, uint16_t *out)
{
  if (len == 0 || len > 5)
    return -1;
  unsigned v = 0;
  for (size_t i = 0; i < len; i++)
    {
      if (!isdigit ((unsigned char) s[i]))
        return -1;
      v = v * 10 + (unsigned) (s[i] - '0');
    }
  if (v > 65535)
    return -1;
  *out = (uint16_t) v;
  return 0;
}

int
port_range_parse (const char *s, uint16_t *lo, uint16_t *hi)
{
  if (*s == '\0')
    return -1;
  const char *dash = strchr (s, '-');
  if (dash == NULL)
    {
      if (parse_u16 (s, strlen (s), lo) < 0)
        return -1;
      *hi = *lo;
      return 0;
    }
  if (strchr (dash + 1, '-') || parse_u16 (s, (size_t) (dash - s), lo) < 0
      || parse_u16 (dash + 1, strlen (dash + 1), hi) < 0 || *hi < *lo)
    return -1;
  return 0;
}

static bool
proto_valid (const char *p)
{
  return strcmp (p, "tcp") == 0 || strcmp (p, "udp") == 0 || strcmp (p, "sctp") == 0;
}

/* nat.SplitProtoPort: "80/udp" → "udp", "80"; "80" → "tcp", "80". */
static void
split_proto (char *raw, char **port, const char **proto)
{
  char *slash = strchr (raw, '/');
  *port = raw;
  *proto = "tcp";
  if (*raw == '\0' || raw[0] == '/')
    {
      *port = raw + strlen (raw);
      *proto = "";
      return;
    }
  if (slash)
    {
      *slash = '\0';
      char *p = slash + 1, *more = strchr (p, '/');
      if (more)
        *more = '\0';
      if (*p)
        *proto = p;
    }
}

int
port_spec_parse (const char *spec, struct port_map **maps, size_t *n, struct kiln_err *err)
{
  if (strlen (spec) > 256)
    return kiln_err_set (err, KILN_EUSAGE, "invalid port specification: too long");
  _cleanup_free_ char *raw = xstrdup (spec);
  /* splitParts: the container port is the last ':' field, the host port the one
   * before, the address everything before that. */
  char *ip = raw, *host = NULL, *ctr = raw;
  char *last = strrchr (raw, ':');
  if (last)
    {
      *last = '\0';
      ctr = last + 1;
      char *prev = strrchr (raw, ':');
      if (prev)
        {
          *prev = '\0';
          host = prev + 1;
        }
      else
        {
          host = raw;
          ip = NULL;
        }
    }
  else
    ip = NULL;
  if (ip && *ip == '[')
    {
      size_t l = strlen (ip);
      if (l < 2 || ip[l - 1] != ']')
        return kiln_err_set (err, KILN_EUSAGE, "invalid IP address %s: address %s:: missing port in address", ip, ip);
      ip[l - 1] = '\0';
      ip++;
    }
  if (ip && *ip)
    {
      unsigned char a[16];
      if (inet_pton (AF_INET, ip, a) != 1 && inet_pton (AF_INET6, ip, a) != 1)
        return kiln_err_set (err, KILN_EUSAGE, "invalid IP address: %s", ip);
      /* Refused rather than accepted and never published. */
      if (inet_pton (AF_INET, ip, a) != 1)
        return kiln_err_set (err, KILN_EUSAGE,
                             "IPv6 host address %s in %s: kiln's networks are IPv4 only; publish on an IPv4 address "
                             "(or none: 0.0.0.0)",
                             ip, spec);
    }
  char *cport;
  const char *proto;
  split_proto (ctr, &cport, &proto);
  if (*cport == '\0')
    return kiln_err_set (err, KILN_EUSAGE, "no port specified: %s<empty>", spec);
  uint16_t clo, chi, hlo = 0, hhi = 0;
  if (port_range_parse (cport, &clo, &chi) < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid containerPort: %s", cport);
  if (host && *host && port_range_parse (host, &hlo, &hhi) < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid hostPort: %s", host);
  if (host && *host && chi - clo != hhi - hlo && chi != clo)
    return kiln_err_set (err, KILN_EUSAGE, "invalid ranges specified for container and host Ports: %s and %s", cport,
                         host);
  char lower[8];
  size_t pl = strlen (proto);
  if (pl >= sizeof lower)
    return kiln_err_set (err, KILN_EUSAGE, "invalid proto: %s", proto);
  for (size_t i = 0; i <= pl; i++)
    lower[i] = (char) tolower ((unsigned char) proto[i]);
  if (!proto_valid (lower))
    return kiln_err_set (err, KILN_EUSAGE, "invalid proto: %s", proto);
  if (chi - clo >= 4096)
    return kiln_err_set (err, KILN_EUSAGE, "invalid containerPort: %s: a range of at most 4096 ports", cport);
  for (unsigned i = 0; i <= (unsigned) (chi - clo); i++)
    {
      *maps = xrealloc (*maps, (*n + 1) * sizeof **maps);
      struct port_map *m = &(*maps)[(*n)++];
      memset (m, 0, sizeof *m);
      m->ctr_port = (uint16_t) (clo + i);
      memcpy (m->proto, lower, pl + 1); /* a valid proto: at most "sctp" */
      snprintf (m->host_ip, sizeof m->host_ip, "%s", ip ? ip : "");
      if (host && *host)
        {
          if (chi == clo)
            m->host_lo = hlo, m->host_hi = hhi; /* one container port: a host range to choose from */
          else
            m->host_lo = m->host_hi = (uint16_t) (hlo + i);
        }
    }
  return 0;
}

int
port_expose_parse (const char *spec, struct strv *keys, struct kiln_err *err)
{
  if (strlen (spec) > 64)
    return kiln_err_set (err, KILN_EUSAGE, "invalid range format for --expose: %s", spec);
  _cleanup_free_ char *raw = xstrdup (spec);
  char *port;
  const char *proto;
  split_proto (raw, &port, &proto);
  uint16_t lo, hi;
  if (strchr (raw, ':') || port_range_parse (port, &lo, &hi) < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid range format for --expose: %s, error: invalid port", spec);
  if (!proto_valid (proto))
    return kiln_err_set (err, KILN_EUSAGE, "invalid proto: %s", proto);
  if (hi - lo >= 4096)
    return kiln_err_set (err, KILN_EUSAGE, "invalid range format for --expose: %s: too many ports", spec);
  for (unsigned p = lo; p <= hi; p++)
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "%u/%s", p, proto);
      strv_push_owned (keys, buf_steal (&b));
    }
  return 0;
}

int
port_key_parse (const char *key, uint16_t *port, char proto[5])
{
  const char *slash = strchr (key, '/');
  const char *p = slash ? slash + 1 : "tcp";
  size_t len = slash ? (size_t) (slash - key) : strlen (key);
  if (parse_u16 (key, len, port) < 0 || !proto_valid (p))
    return -1;
  snprintf (proto, 5, "%s", p);
  return 0;
}
