/* net/net.h — container networks for root: bridges, veth pairs, addresses,
 * published ports.  No daemon: the container's monitor attaches it before the
 * sandbox starts and detaches it at the end; whoever finds a monitor dead
 * releases what it held (net_release), and `system check` finds the rest.
 *
 *   store       networks + net_endpoints (store/networks.h): one endpoint per
 *               running container on a network; UNIQUE (network, ip) allocates
 *   ROOT/net.lock  serialises attach/detach of one store (a bridge is made by the
 *               first container on it and removed with the last)
 *   /run/kiln/net.lock  host-wide: choosing a subnet and making kiln's nftables
 *               table, so stores on one host never choose the same subnet
 *   kiln-XXXXXXXX   a bridge per (store, network): XXXXXXXX from the store's path
 *               and the network's id; its subnet is chosen from the pool (default
 *               10.210.0.0/16 in /24s; `default-address-pools` in /etc/kiln/kiln.json
 *               or $KILN_CONFIG) among those no host route covers
 *   vkIIIIIIIINNNN  the host end of a container's veth on a network (I: the
 *               container's id, N: a hash of the network's); the other end is eth0
 *               (ethN for networks connected later) in the container's network
 *               namespace, which the monitor makes and the sandbox joins
 *   ip kiln     nftables (net/nft.h): DNAT elements per published port
 *
 * Lock order: containers.lock, then ROOT/net.lock, then the host's, then kiln.db. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

struct kiln_store;
struct container_opts;

/* What a running container holds. */
struct net_attachment
{
  int netns_fd;    /* the namespace for the sandbox; -1: none made */
  int *port_fds;   /* the host ports, bound (and listening, TCP) while it runs */
  size_t n_port_fds;
  char *hosts;     /* lines for /etc/hosts beyond localhost */
  char *resolv;    /* /etc/resolv.conf */
  bool attached;   /* an endpoint is recorded */
  pid_t resolver_pid; /* the network's resolver on 127.0.0.11 (user networks), 0: none */
};

/* True if NetworkMode (config.json's) is a kiln network ("default" as root,
 * "bridge", a network's name): the monitor attaches it. */
bool net_mode_is_bridge (const char *mode);
/* --add-host's "HOST:IP" (IP: a dotted quad or host-gateway): 0, or -1 with
 * docker's message (run, create and build). */
int net_add_host_check (const char *h, struct kiln_err *err);
/* The host's address its default route leaves from (what a step on
 * slirp4netns, which keeps the host's loopback out, reaches the host at) into
 * out[16]; `fallback` when there is no route. */
void net_host_address (char out[16], const char *fallback);
/* Appends the /etc/hosts line of a checked "HOST:IP", host-gateway being `gateway`. */
void net_add_host_line (struct buf *out, const char *h, const char *gateway);
/* The same, or "container:NAME" (the namespace of a running container): the
 * monitor hands the sandbox a namespace through net_attach. */
bool net_mode_attaches (const char *mode);
/* The network a container's NetworkMode names ("default" or none: "bridge"). */
const char *net_mode_name (const char *mode);

/* Checks the network flags of `o` (-p, --expose, -P, --ip, --network-alias,
 * --add-host, --dns*) and puts them into config.json (`top`), in docker's shapes:
 * Config.ExposedPorts, HostConfig.PortBindings, PublishAllPorts, ExtraHosts, Dns,
 * DnsSearch, DnsOptions, and NetworkingConfig.EndpointsConfig.<net> (Aliases,
 * IPAMConfig.IPv4Address) as docker's create request has them. */
int net_config_into (const struct container_opts *o, const json_t *image_config, json_t *top, struct kiln_err *err);

/* Makes container `id`'s network as `config` says; on failure nothing stays. */
int net_attach (const char *root, const char *id, const json_t *config, struct net_attachment *a,
                struct kiln_err *err);
/* `network connect` of a running container: a new endpoint on `network` (its
 * NetworkingConfig.EndpointsConfig entry in `config` gives aliases and address),
 * the next ethN inside.  0 and nothing done when it is not running (its next
 * start attaches it). */
int net_connect (const char *root, const char *id, const json_t *config, const char *network, struct kiln_err *err);
/* `network disconnect`: the container's endpoint on network `network_id`, if any, goes. */
int net_disconnect (const char *root, const char *id, const char *network_id, struct kiln_err *err);
/* Undoes net_attach (the container has ended). */
void net_detach (const char *root, const char *id, struct net_attachment *a);
/* What container `id` still holds though its monitor is gone: endpoints, port
 * rules, a bridge nobody uses. */
void net_release (const char *root, const char *id);

/* NetworkSettings for inspect (docker's shape) of a container, running or not. */
json_t *net_settings_json (struct kiln_store *st, const char *id, const json_t *config);
/* The published ports: "80/tcp -> 0.0.0.0:8080" lines, as `docker port`. */
int net_port_lines (struct kiln_store *st, const char *id, const char *filter, struct strv *lines,
                    struct kiln_err *err);

/* `system check`: stale endpoints, port elements, veths and bridges of this store
 * and kiln's marked rules in foreign chains without a bridge; with `repair`
 * removed. */
int net_check (struct kiln_store *st, bool repair, struct strv *found, struct kiln_err *err);
/* What `system check` can only point at: another firewall's forward chain that
 * drops kiln's traffic (a line each in `notes`). */
void net_check_firewall (struct strv *notes);

/* Gives back what attaching cached for the next attach (libnftables's contexts): for
 * a process that now only waits, such as a container's monitor. */
void net_drop_caches (void);
