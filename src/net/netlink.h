/* net/netlink.h — the links, addresses and routes kiln's networks need, through
 * rtnetlink (libmnl): never by running `ip`.
 *
 * A `struct nl` is a netlink socket of the network namespace it was opened in;
 * nl_open_in opens one in another namespace (the socket stays bound to it). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "net/addr.h"
#include "util/buf.h"
#include "util/err.h"

struct nl;

struct nl *nl_open (struct kiln_err *err);
/* A socket in the network namespace `netns_fd` (the caller's namespace is left
 * as it was). */
struct nl *nl_open_in (int netns_fd, struct kiln_err *err);
void nl_close (struct nl *nl);

/* The interface's index in the socket's namespace, 0 if there is none. */
unsigned nl_link_index (struct nl *nl, const char *name);
/* A bridge `name` with `mtu` (0: the kernel's). EEXIST if there is one. */
int nl_bridge_add (struct nl *nl, const char *name, unsigned mtu, struct kiln_err *err);
/* A veth pair, the host's end up: `host` in this namespace, a port of bridge
 * `master`, and `peer` moved into `peer_netns_fd` as `peer_name` with MAC
 * address `peer_mac` (NULL: the kernel's random one). */
int nl_veth_add (struct nl *nl, const char *host, unsigned master, unsigned mtu, int peer_netns_fd,
                 const char *peer_name, const uint8_t *peer_mac, struct kiln_err *err);
int nl_link_up (struct nl *nl, unsigned index, struct kiln_err *err);
int nl_link_del (struct nl *nl, const char *name, struct kiln_err *err);
/* `ip/prefix` on the link (an existing one is fine). */
int nl_addr_add (struct nl *nl, unsigned index, uint32_t ip, int prefix, struct kiln_err *err);
/* The default route through `gateway` on `index`. */
int nl_route_default (struct nl *nl, unsigned index, uint32_t gateway, struct kiln_err *err);
/* Every IPv4 route's destination in the main table (the subnet chooser's input). */
int nl_routes (struct nl *nl, struct net_cidr **out, size_t *n, struct kiln_err *err);
/* The names of every link whose name starts with `prefix`. */
int nl_links (struct nl *nl, const char *prefix, struct strv *names, struct kiln_err *err);
