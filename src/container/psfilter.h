/* container/psfilter.h — `ps --filter`, with docker's meanings (daemon/list.go).
 *
 * Each --filter is KEY=VALUE.  A container is listed when, for every key given, at least
 * one of that key's values matches it (AND across keys, OR within one):
 *
 *   id=RE, name=RE      regular expressions (POSIX extended; docker's are RE2) matched
 *                       anywhere in the id, or the name with or without its "/"
 *   label=K, label=K=V  the label exists (with that value)
 *   status=S            created|restarting|running|removing|paused|exited|dead; listing
 *                       by status looks at every container, as -a does
 *   exited=N            exited with code N (a container that ran)
 *   health=H            starting|healthy|unhealthy|none (none: no health check)
 *   ancestor=IMAGE      made from IMAGE or from an image built on it (the caller decides:
 *                       psfilter_item.ancestor)
 *   before=C, since=C   made before / after container C (the caller resolves C to its
 *                       creation time into psfilter.before / .since)
 *   volume=V, network=N a mount's name or destination, a network's name
 *   publish=P, expose=P a published (public) or exposed (private) port, "80" or "80/tcp"
 *   is-task=true|false  kiln has no swarm tasks: true matches nothing
 *
 * A bad filter fails with docker's message ("invalid filter 'status=x'", "bad format of
 * filter (expected name=value)") and nothing is listed. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/regex.h"

struct psfilter
{
  json_t *keys;        /* KEY → array of VALUE, in the order given */
  int64_t before;      /* ns; INT64_MAX: no bound */
  int64_t since;       /* ns; INT64_MIN: no bound */
  struct regex_set res; /* the id= and name= patterns, compiled once by psfilter_add, not per container */
};

void psfilter_init (struct psfilter *f);
void psfilter_clear (struct psfilter *f);

/* Adds one --filter argument, checked (KILN_EINVAL with docker's message). */
int psfilter_add (struct psfilter *f, const char *arg, struct kiln_err *err);

/* The values given for `key` (NULL: none). */
const json_t *psfilter_values (const struct psfilter *f, const char *key);
bool psfilter_has (const struct psfilter *f, const char *key);

/* What is matched beyond the container's Summary (container/psfmt.h: ID, Names, Labels,
 * State, Health, Mounts, Ports, NetworkSettings). */
struct psfilter_item
{
  const json_t *summary;
  int64_t created;   /* ns */
  int exit_code;
  bool has_run;      /* started at least once (exited=N needs it) */
  bool ancestor;     /* for an ancestor= filter: the caller found the image is one of them */
};

bool psfilter_match (const struct psfilter *f, const struct psfilter_item *it);
