/* net/internal.h — what the files of src/net/ share (not for others): net.c
 * (attach and detach), net_config.c (config.json), net_bridge.c (locks, bridges,
 * teardown), net_ports.c (published ports), net_show.c (inspect, ps, port),
 * net_check.c (system check) and network.c (the network commands). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/addr.h"
#include "net/net.h"
#include "store/networks.h"

#define DEFAULT_NETWORK "bridge"

struct nl;

/* A hash of two strings: bridge names from the store's path and a network's id. */
uint32_t net_fnv1a (const char *a, const char *b);
/* The host's /etc/resolv.conf (at most 64 KiB), "" when unreadable; the caller frees it. */
char *net_host_resolv_conf (void);
/* CLOCK_MONOTONIC in ns (the idle teardown's deadlines, the resolver's). */
uint64_t net_monotonic_ns (void);
/* The pool new subnets come from (kiln's configuration file, or the default). */
void net_address_pool (struct net_cidr *pool, int *size);
/* A string member of a JSON object, "" when missing. */
const char *net_cfg_str (const json_t *config, const char *key);
/* Tears the network's bridge down now if no container is on it (network rm,
 * prune: an idle one would otherwise wait for its teardown, see net_bridge.c). */
void net_bridge_drop_idle (struct kiln_store *st, const char *network_id);
/* An attach onto `bridge` marks it busy for the process waiting to tear it down. */
int net_bridge_mark_busy (const char *root, const char *bridge, struct kiln_err *err);
/* Whether a live process waits to tear `bridge` down (system check: not left over). */
bool net_bridge_idle_pending (const char *root, const char *bridge);
/* The default network's record ("bridge"), made on first use with "host" and
 * "none" beside it. */
int net_default_network (struct kiln_store *st, const char *root, struct net_rec *rec, struct kiln_err *err);
/* The store's network lock (held across an attach or a teardown); a descriptor, -1 on error. */
int net_store_lock (const char *root, struct kiln_err *err);
void net_unlock_fd (int fd);
/* The bridge of `rec`, made (with its subnet chosen, kiln's table, the accept
 * rules in foreign chains) when it is not there.  Its index, 0 on error. */
unsigned net_ensure_bridge (struct kiln_store *st, struct nl *nl, struct net_rec *rec, struct kiln_err *err);
/* The network's bridge and rules once no endpoint uses it (hold_fd: the lock held). */
void net_teardown_network (struct kiln_store *st, struct nl *nl, const char *network_id, int hold_fd);
/* An endpoint's veth (if delete_veth), addresses and row; then its network's bridge
 * if it was the last. */
void net_release_endpoint (struct kiln_store *st, struct nl *nl, const struct endpoint_rec *e, bool delete_veth,
                           int hold_fd);
/* Every published port of `config`: binds it, adds its DNAT element, and records
 * both in `info` (Ports in docker's NetworkSettings shape, Elements to delete). */
int net_publish_ports (struct kiln_store *st, const char *id, const json_t *config, uint32_t cip,
                       struct net_attachment *a, json_t *info, struct kiln_err *err);
