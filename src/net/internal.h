/* net/internal.h — what net/net.c and net/network.c share (not for others). */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "net/addr.h"
#include "store/networks.h"

/* A hash of two strings: bridge names from the store's path and a network's id. */
uint32_t net_fnv1a (const char *a, const char *b);
/* The pool new subnets come from (kiln's configuration file, or the default). */
void net_address_pool (struct net_cidr *pool, int *size);
/* A string member of a JSON object, "" when missing. */
const char *net_cfg_str (const json_t *config, const char *key);
/* The default network's record ("bridge"), made on first use with "host" and
 * "none" beside it. */
int net_default_network (struct kiln_store *st, const char *root, struct net_rec *rec, struct kiln_err *err);
