/* frontend/inst_config.h — what a Dockerfile instruction does to an image config,
 * in image/config's neutral terms: the config delta of an instruction, the history
 * text BuildKit records for it, and `--change` lines (import, commit) read as
 * instructions. */
#pragma once
#include <jansson.h>

#include "frontend/instructions.h"
#include "image/config.h"

/* Fills `d` (zeroed first) with the config change of an expanded instruction.
 * RUN, COPY, ADD, FROM and ARG change no config: `d` stays empty. */
void inst_config_delta (const struct inst *in, struct config_delta *d);
/* inst_config_delta, then config_apply. */
int inst_config_apply (json_t *cfg, const struct inst *in, struct kiln_err *err);

/* The "created_by" text BuildKit records for an instruction. */
char *inst_created_by (const struct inst *in);

/* Reads `--change` lines as Dockerfile instructions (CMD, ENV, LABEL, ... — not RUN,
 * COPY, ADD, FROM or ARG: "--change \"X\": RUN cannot be used with CMD", CMD being
 * "import" or "commit"), as docker import and commit do, one delta a line. */
int df_changes_parse (const struct strv *lines, const char *cmd, struct config_changes *out, struct kiln_err *err);
