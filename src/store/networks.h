/* store/networks.h — network records and their endpoints in kiln.db.
 *
 *   networks       (id, name UNIQUE, config JSON, created)
 *   net_endpoints  (network, container, ip, info JSON), UNIQUE (network, ip)
 *
 * `config` holds what net/ needs to make the network (Subnet, Gateway, IPRange,
 * Bridge, Internal, Labels, MTU, ...); `info` what an endpoint holds while its
 * container runs (veth, ports, aliases).  An endpoint exists only while its
 * container runs (or until the next command that finds its monitor dead). */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

struct net_rec
{
  char *id;
  char *name;
  json_t *config;
  int64_t created;
};

struct endpoint_rec
{
  char *network;
  char *container;
  char *ip;
  json_t *info;
};

void net_rec_clear (struct net_rec *r);
void net_recs_free (struct net_rec *r, size_t n);
void endpoint_recs_free (struct endpoint_rec *r, size_t n);

/* By name, full id or a unique id prefix: 1 found, 0 not, -1 error. */
int networks_get (struct kiln_store *st, const char *ref, struct net_rec *out, struct kiln_err *err);
/* EEXIST with docker's message when the name is taken. */
int networks_add (struct kiln_store *st, const struct net_rec *r, struct kiln_err *err);
int networks_update (struct kiln_store *st, const char *id, const json_t *config, struct kiln_err *err);
int networks_list (struct kiln_store *st, struct net_rec **out, size_t *n, struct kiln_err *err);
int networks_remove (struct kiln_store *st, const char *id, struct kiln_err *err);

/* Endpoints of a network and/or a container (NULL: any). */
int endpoints_list (struct kiln_store *st, const char *network, const char *container, struct endpoint_rec **out,
                    size_t *n, struct kiln_err *err);
/* EEXIST when the address is taken on that network (or the container is on it). */
int endpoint_add (struct kiln_store *st, const char *network, const char *container, const char *ip,
                  const json_t *info, struct kiln_err *err);
int endpoint_update (struct kiln_store *st, const char *network, const char *container, const json_t *info,
                     struct kiln_err *err);
int endpoint_remove (struct kiln_store *st, const char *network, const char *container, struct kiln_err *err);

/* The name of container `id` (for docker's messages), NULL if there is none. */
char *endpoint_container_name (struct kiln_store *st, const char *id);
