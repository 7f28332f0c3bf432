/* net/nft.h — kiln's nftables rules, through libnftables (never by running nft or
 * iptables).
 *
 * Everything of kiln's is in one table, `ip kiln`, shared by every store on the
 * host (`nft list table ip kiln` shows exactly kiln's rules):
 *
 *   map ports_any   proto . host port            : container ip . port   (-p PORT:CPORT)
 *   map ports_ip    host ip . proto . host port  : container ip . port   (-p IP:PORT:CPORT)
 *   set subnets     every kiln network's subnet  (outbound NAT, hairpin)
 *   set internal    the --internal ones          (no way out)
 *   prerouting/output  DNAT through the maps (output: the host's own connections,
 *                      127.0.0.1 included: route_localnet is set on kiln's bridges)
 *   postrouting     masquerade out of the subnets; the source of a DNATed
 *                   connection from 127.0.0.0/8 or from a container (hairpin)
 *   forward/input   an internal network reaches nothing but itself; networks do
 *                   not reach each other but through published ports (set
 *                   same_bridge: "BR . BR" for every bridge)
 *
 * Rules are made once (the table's chains are fixed); a container adds and
 * removes only elements, so two containers never race on a rule's handle.
 *
 * Other firewalls: docker's `filter FORWARD` has policy drop, and a drop in any
 * base chain wins; nft_foreign_accept adds accept rules for a kiln bridge to
 * DOCKER-USER (or to filter FORWARD when there is no DOCKER-USER), each with the
 * comment "kiln:BRIDGE", and nft_foreign_unaccept removes exactly those. */
#pragma once
#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"

/* Runs nftables commands (the syntax `nft -f` reads). */
/* Frees this process's kept contexts (~2 MiB of libnftables's caches): a monitor
 * does so once its container runs and it only waits. */
void nft_release (void);
int nft_run (const char *cmds, struct kiln_err *err);
/* A list command's JSON output. */
json_t *nft_list_json (const char *cmd, struct kiln_err *err);
/* Makes kiln's table if it is not there. The caller holds the host's network
 * lock (net_host_lock), so two stores do not both make it. */
int nft_setup (struct kiln_err *err);
/* `also`: more commands for the same transaction (kiln's own elements), or NULL. */
int nft_foreign_accept (const char *bridge, const char *also, struct kiln_err *err);
int nft_foreign_unaccept (const char *bridge, const char *also, struct kiln_err *err);
/* Forward base chains of other firewalls whose policy drops what kiln's accept
 * rules cannot reach (every one but the filter FORWARD that kiln adds to), as
 * "FAMILY TABLE CHAIN" lines: kiln's forwarded traffic dies there. */
int nft_foreign_drops (struct strv *found, struct kiln_err *err);
/* Every "kiln:*" rule in the foreign chains, as "CHAIN kiln:BRIDGE" lines. */
int nft_foreign_list (struct strv *found, struct kiln_err *err);
