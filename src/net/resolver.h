/* net/resolver.h — a user network's names, answered inside each container.
 *
 * No daemon: each container on a user network gets its own resolver, a child
 * of its monitor (it dies with it: PR_SET_PDEATHSIG), listening on
 * 127.0.0.11:53 (UDP, and TCP for answers too large for it) inside the
 * container's network namespace, as docker's
 * embedded DNS does.  A question for a name on one of the container's user
 * networks (a container's name, hostname or --network-alias) is answered from the store's endpoints at the
 * moment it is asked, so a container started or restarted later resolves at
 * once; anything else goes on to the host's resolvers (or --dns) through a
 * socket opened in the host's namespace before the resolver moved into the
 * container's (an --internal network's containers resolve too). */
#pragma once
#include <jansson.h>
#include <sys/types.h>

#include "util/err.h"

/* Starts it and returns once it listens: its pid, -1 on error. */
pid_t net_resolver_start (const char *root, const char *container_id, int netns_fd, const json_t *config,
                          struct kiln_err *err);
