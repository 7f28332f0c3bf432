/* image/config.h — the OCI image config: a new one, and the changes Dockerfile
 * instructions make to it (ENV, USER, CMD, HEALTHCHECK, ...), exactly as docker
 * records them, history included. */
#pragma once
#include <jansson.h>

#include "frontend/instructions.h"
#include "util/err.h"

/* A config with no layers: architecture/os/variant from `platform` (NULL: host). */
json_t *config_new (const char *platform, int64_t created);
/* What `FROM scratch` starts from: config_new plus BuildKit's default PATH and
 * WorkingDir "/". */
json_t *config_new_scratch (const char *platform, int64_t created);

/* Applies a config-only instruction (expanded) to cfg["config"]. RUN, COPY, ADD,
 * FROM and ARG change no config and are accepted as no-ops here. */
int config_apply (json_t *cfg, const struct inst *in, struct kiln_err *err);

/* Appends a history entry; `empty_layer` for steps that wrote no layer. */
void config_add_history (json_t *cfg, int64_t created, const char *created_by, const char *comment,
                         bool empty_layer);
/* Appends a layer's diff_id to rootfs.diff_ids. */
void config_add_layer (json_t *cfg, const char *diff_id);

/* The "created_by" text BuildKit records for an instruction. */
char *config_created_by (const struct inst *in);
