/* net/network.h — `kiln network create|ls|inspect|rm|prune`: user networks, in
 * docker's shapes.  A network is a record (store/networks.h) until its first
 * container starts; its bridge lives while containers are on it (net/net.h). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "store/networks.h"
#include "util/buf.h"
#include "util/err.h"

struct net_create_opts
{
  const char *name;
  const char *driver;   /* NULL or "bridge" */
  const char *subnet, *gateway, *ip_range;
  bool internal;
  struct strv labels;   /* K=V */
  struct strv options;  /* -o K=V (com.docker.network.driver.mtu) */
  unsigned mtu;
};

/* Checks the options as docker does (subnet, gateway in it, range in it, no
 * overlap with this store's other networks) and records the network; its id in
 * `id`. */
int net_network_create (struct kiln_store *st, const struct net_create_opts *o, char id[65], struct kiln_err *err);
/* Makes the predefined ones (bridge, host, none) if they are not recorded yet. */
int net_networks_predefined (struct kiln_store *st, struct kiln_err *err);
/* docker network inspect's object. */
json_t *net_network_inspect (struct kiln_store *st, const struct net_rec *r);
/* A row for `network ls` (ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt). */
json_t *net_network_row (const struct net_rec *r, bool trunc);
json_t *net_network_header (void);
/* Removes a user network; a predefined one, or one with containers on it, is
 * refused with docker's message. */
int net_network_remove (struct kiln_store *st, const struct net_rec *r, struct kiln_err *err);
/* Every user network no container uses and `selects` (NULL: any) chooses: removed,
 * their names in `removed`. */
int net_networks_prune (struct kiln_store *st, bool (*selects) (void *arg, const struct net_rec *r), void *arg,
                        struct strv *removed, struct kiln_err *err);
