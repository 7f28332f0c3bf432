/* cli/prune_filter.h — the --filter of docker's prune commands (container, image,
 * volume prune), as docker's daemon reads it:
 *
 *   until=TIME        created before TIME (a duration before now, RFC 3339, Unix time:
 *                     container/logtime.h); not for volumes
 *   label=K[=V]       has every such label
 *   label!=K[=V]      does not have all of these labels (docker's MatchKVList, negated)
 *
 * Several filters all apply.  An unknown key is docker's "Invalid filter 'KEY'". */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct prune_filter
{
  int64_t until_ns; /* 0: no until= */
  struct strv labels, not_labels;
};

/* Adds one --filter KEY=VALUE; `until_ok` false refuses until= (volume prune). */
int prune_filter_add (struct prune_filter *f, const char *kv, bool until_ok, struct kiln_err *err);
/* True when an object created at `created_ns` with `labels` (an object of strings,
 * or NULL) is one the filters select for removal. */
bool prune_filter_selects (const struct prune_filter *f, int64_t created_ns, const json_t *labels);
void prune_filter_clear (struct prune_filter *f);
/* prune_filter_selects for a network (its Created, its Labels): net_networks_prune's
 * selector, `arg` the filter. */
struct net_rec;
bool prune_filter_selects_network (void *arg, const struct net_rec *r);

/* docker's MatchKVList: every KEY[=VALUE] of `want` is among `labels`. */
bool labels_match_all (const struct strv *want, const json_t *labels);
