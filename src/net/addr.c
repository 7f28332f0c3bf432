/* net/addr.c — IPv4 parsing, the subnet chooser and the address allocator. */
#include "net/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
net_ip_parse (const char *s, uint32_t *out)
{
  struct in_addr a;
  if (s == NULL || strlen (s) > 15 || inet_pton (AF_INET, s, &a) != 1)
    return -1;
  *out = ntohl (a.s_addr);
  return 0;
}

void
net_ip_format (uint32_t ip, char out[16])
{
  snprintf (out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

uint32_t
net_cidr_mask (const struct net_cidr *c)
{
  return c->prefix == 0 ? 0 : ~0u << (32 - c->prefix);
}

void
net_mac_from_ip (uint32_t ip, uint8_t mac[6])
{
  mac[0] = 0x02;
  mac[1] = 0x42;
  for (int i = 0; i < 4; i++)
    mac[2 + i] = (uint8_t) (ip >> (24 - 8 * i));
}

void
net_mac_format (const uint8_t mac[6], char out[18])
{
  snprintf (out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int
net_cidr_parse (const char *s, bool strict, struct net_cidr *out, struct kiln_err *err)
{
  const char *slash = s ? strchr (s, '/') : NULL;
  char ip[16];
  if (slash == NULL || (size_t) (slash - s) >= sizeof ip || slash[1] == '\0' || strlen (slash + 1) > 2)
    return kiln_err_set (err, KILN_EUSAGE, "invalid CIDR address: %s", s ? s : "");
  memcpy (ip, s, (size_t) (slash - s));
  ip[slash - s] = '\0';
  char *end;
  long p = strtol (slash + 1, &end, 10);
  uint32_t a;
  if (*end || p < 0 || p > 32 || slash[1] < '0' || slash[1] > '9' || net_ip_parse (ip, &a) < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid CIDR address: %s", s);
  struct net_cidr c = {.addr = a, .prefix = (int) p};
  uint32_t m = net_cidr_mask (&c);
  if (strict && (a & ~m) != 0)
    {
      char want[20];
      c.addr = a & m;
      net_cidr_format (&c, want);
      return kiln_err_set (err, KILN_EUSAGE, "invalid subnet %s: it should be %s", s, want);
    }
  c.addr = a & m;
  *out = c;
  return 0;
}

void
net_cidr_format (const struct net_cidr *c, char out[20])
{
  char ip[16];
  net_ip_format (c->addr, ip);
  snprintf (out, 20, "%s/%d", ip, c->prefix);
}

bool
net_cidr_contains (const struct net_cidr *c, uint32_t ip)
{
  return (ip & net_cidr_mask (c)) == c->addr;
}

bool
net_cidr_overlap (const struct net_cidr *a, const struct net_cidr *b)
{
  /* Two prefixes overlap iff the shorter one contains the other's start. */
  const struct net_cidr *wide = a->prefix <= b->prefix ? a : b, *narrow = wide == a ? b : a;
  return net_cidr_contains (wide, narrow->addr);
}

int
net_subnet_choose (const struct net_cidr *pool, int size, const struct net_cidr *busy, size_t n_busy,
                   struct net_cidr *out)
{
  if (size < pool->prefix || size > 30)
    return -1;
  uint64_t count = 1ull << (size - pool->prefix);
  uint64_t step = 1ull << (32 - size);
  for (uint64_t i = 0; i < count; i++)
    {
      struct net_cidr c = {.addr = (uint32_t) (pool->addr + i * step), .prefix = size};
      bool clash = false;
      for (size_t k = 0; k < n_busy && !clash; k++)
        clash = busy[k].prefix > 0 && net_cidr_overlap (&c, &busy[k]);
      if (!clash)
        {
          *out = c;
          return 0;
        }
    }
  return -1;
}

static int
cmp_u32 (const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
  return x < y ? -1 : x > y;
}

int
net_addr_pick (const struct net_cidr *subnet, const struct net_cidr *range, uint32_t gateway, const uint32_t *used,
               size_t n_used, uint32_t *out)
{
  if (subnet->prefix > 30)
    return -1;
  uint32_t first = subnet->addr + 1, last = (subnet->addr | ~net_cidr_mask (subnet)) - 1;
  if (range)
    {
      uint32_t rf = range->addr, rl = range->addr | ~net_cidr_mask (range);
      first = rf > first ? rf : first;
      last = rl < last ? rl : last;
    }
  uint32_t *sorted = NULL;
  if (n_used)
    {
      sorted = malloc (n_used * sizeof *sorted);
      if (sorted == NULL)
        return -1;
      memcpy (sorted, used, n_used * sizeof *sorted);
      qsort (sorted, n_used, sizeof *sorted, cmp_u32);
    }
  size_t k = 0;
  int ret = -1;
  for (uint64_t ip = first; ip <= last; ip++)
    {
      while (k < n_used && sorted[k] < ip)
        k++;
      if (ip == gateway || (k < n_used && sorted[k] == ip))
        continue;
      *out = (uint32_t) ip;
      ret = 0;
      break;
    }
  free (sorted);
  return ret;
}
