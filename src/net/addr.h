/* net/addr.h — IPv4 addresses and subnets: parsing, the subnet chooser and the
 * address allocator.  Pure functions (no system calls): the callers hand in the
 * host's routes and the addresses in use, so the tests give fake ones.
 *
 * Addresses are in host byte order here; net/netlink converts at the edge. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct net_cidr
{
  uint32_t addr; /* the network's first address (host bits cleared) */
  int prefix;    /* 0..32 */
};

/* "10.1.2.3": 0 and *out, -1 if it is not a dotted quad. */
int net_ip_parse (const char *s, uint32_t *out);
/* "10.1.2.3" into out[16]. */
void net_ip_format (uint32_t ip, char out[16]);
/* "10.1.0.0/16" (docker: "invalid CIDR address: X" for anything else; host bits
 * set are refused as docker's network create refuses them when `strict`). */
int net_cidr_parse (const char *s, bool strict, struct net_cidr *out, struct kiln_err *err);
/* The MAC address docker gives an endpoint with address `ip`: 02:42 and the
 * address's four bytes (locally administered, unique per network). */
void net_mac_from_ip (uint32_t ip, uint8_t mac[6]);
/* "02:42:0a:d2:00:02" into out[18]. */
void net_mac_format (const uint8_t mac[6], char out[18]);
/* "10.1.0.0/16" into out[20]. */
void net_cidr_format (const struct net_cidr *c, char out[20]);
uint32_t net_cidr_mask (const struct net_cidr *c);
bool net_cidr_contains (const struct net_cidr *c, uint32_t ip);
bool net_cidr_overlap (const struct net_cidr *a, const struct net_cidr *b);

/* The first subnet of size /`size` inside `pool` that overlaps none of `busy`
 * (the host's routes, other networks' subnets).  0 and *out, -1 when the pool is
 * full.  A default route (prefix 0) overlaps nothing here: every private range
 * would clash with it otherwise. */
int net_subnet_choose (const struct net_cidr *pool, int size, const struct net_cidr *busy, size_t n_busy,
                       struct net_cidr *out);

/* The first address of `range` (NULL: the whole subnet) inside `subnet` that is
 * not the network's own address, its broadcast, the gateway or in `used`.  0 and
 * *out, -1 when none is left. */
int net_addr_pick (const struct net_cidr *subnet, const struct net_cidr *range, uint32_t gateway, const uint32_t *used,
                   size_t n_used, uint32_t *out);
