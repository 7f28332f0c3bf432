/* image/config.h — the OCI image config: a new one, and the changes made to it
 * (ENV, USER, CMD, HEALTHCHECK, ...), exactly as docker records them, history
 * included.
 *
 * The changes come as a config delta, plain data with no Dockerfile in it: the
 * frontend turns an instruction or a `--change` into one (frontend/inst_config.h). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* A config with no layers: architecture/os/variant from `platform` (NULL: host). */
json_t *config_new (const char *platform, int64_t created);
/* What `FROM scratch` starts from: config_new plus BuildKit's default PATH and
 * WorkingDir "/". */
json_t *config_new_scratch (const char *platform, int64_t created);

/* Cmd or Entrypoint. */
struct config_command
{
  bool set;
  bool null;        /* set to null (a shell form with no command) */
  bool shell_form;  /* argv.v[0] runs through the config's Shell (default /bin/sh -c) */
  struct strv argv; /* the exec form (empty: the key is left out), or the shell form's one command */
};

struct config_healthcheck
{
  bool set;
  struct strv test; /* "NONE", or "CMD" / "CMD-SHELL" followed by the command */
  int64_t interval_ns; /* 0: left out */
  int64_t timeout_ns;
  int64_t start_period_ns;
  int64_t start_interval_ns;
  int retries;
};

/* Changes to an image config; what is unset (NULL, empty, !set) stays as it is. */
struct config_delta
{
  struct strv env;     /* KEY, VALUE pairs: each replaces KEY's entry in Env or is appended */
  struct strv labels;  /* KEY, VALUE pairs into Labels */
  char *user;
  char *workdir;       /* joined to the current WorkingDir when relative */
  struct strv expose;  /* "port/proto" keys of ExposedPorts */
  struct strv volumes;
  char *stopsignal;
  struct config_command cmd;
  struct config_command entrypoint;
  struct strv shell;   /* non-empty: replaces Shell */
  struct config_healthcheck healthcheck;
  struct strv onbuild; /* triggers appended to OnBuild */
  char *author;        /* the top-level "author" */
};

void config_delta_free (struct config_delta *d);

/* Applies `d` to cfg["config"] (and "author"). */
int config_apply (json_t *cfg, const struct config_delta *d, struct kiln_err *err);

/* Appends a history entry; `empty_layer` for steps that wrote no layer. */
void config_add_history (json_t *cfg, int64_t created, const char *created_by, const char *comment,
                         bool empty_layer);
/* Appends a layer's diff_id to rootfs.diff_ids. */
void config_add_layer (json_t *cfg, const char *diff_id);

/* What a step runs with: config.User ("" when unset), config.WorkingDir ("/" when
 * unset or empty), config.Env (NULL when not an array). */
char *config_user (const json_t *cfg);
char *config_workdir (const json_t *cfg);
json_t *config_env (const json_t *cfg);

/* Several deltas applied in order (`--change` lines: a SHELL then a shell-form CMD
 * wraps the CMD in the new shell). */
struct config_changes
{
  struct config_delta *v;
  size_t n;
};

void config_changes_free (struct config_changes *c);
int config_apply_changes (json_t *cfg, const struct config_changes *c, struct kiln_err *err);
