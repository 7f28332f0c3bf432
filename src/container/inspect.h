/* container/inspect.h — a container as `docker inspect` shows one: docker's
 * top-level keys, its State, Config and HostConfig (docker's defaults for what
 * kiln does not have: no ports, no restart policy, no network endpoint). */
#pragma once
#include <jansson.h>

#include "container/state.h"
#include "store/containers.h"
#include "util/buf.h"

/* `lowers` are the image's snapshots ("<id>/fs", topmost first), for GraphDriver. */
json_t *container_inspect_json (const char *root, const struct container_rec *rec, const json_t *config,
                                const struct container_state *s, const struct strv *lowers);
