/* cli/cli.h — the command-line front door: global options and command handlers.
 *
 * Handlers return the process exit code: 0 ok, 1 the operation failed, 2 bad usage.
 * Only the CLI prints errors; everything below it fills a struct kiln_err. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum
{
  EXIT_OK = 0,
  EXIT_FAIL = 1,
  EXIT_USAGE = 2,
};

struct kiln_ctx
{
  const char *root; /* store location (--root, KILN_ROOT, or the default) */
};

struct kiln_command
{
  const char *name;
  const char *summary;
  const char *usage; /* full help text for `kiln NAME --help` */
  int (*run) (struct kiln_ctx *ctx, int argc, char **argv);
};

/* Prints the error and returns the exit code that goes with it. */
int cli_fail (struct kiln_err *err);
/* Prints "kiln NAME: msg" plus a hint to use --help, returns EXIT_USAGE. */
int cli_usage_error (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* True if argv holds -h/--help before any "--". */
bool cli_wants_help (int argc, char **argv);

/* A table as docker prints one: a header row, then `nrows` rows of `ncol` cells. */
struct strv;
void cli_print_table (const char *const *headers, size_t ncol, const struct strv *cells, size_t nrows);

struct kiln_store;
struct kiln_store *cli_open_store (struct kiln_ctx *ctx, struct kiln_err *err);
void cli_store_freep (struct kiln_store **st);
#define _cleanup_store_ __attribute__ ((cleanup (cli_store_freep)))

/* Prints the rows (an array of objects) through a --format, docker's way (util/formatter),
 * with the column titles in `header`; `root_type` names the rows' type in errors.  Returns
 * the exit code. */
int cli_print_format (const char *format, json_t *rows, json_t *header, const char *root_type);

/* `kiln system boot` (cli/cmd_boot.c). */
int cli_system_boot (struct kiln_store *st, int argc, char **argv);
/* The container `ref` names (id, name, unique id prefix) into *out (the caller
 * clears it); 0, or -1 after printing docker's message. */
struct container_rec;
int cli_find_container (struct kiln_store *st, const char *ref, struct container_rec *out);
/* The store (into *st) and the container `ref` names in it (into *rec, the caller clears
 * it): EXIT_OK, or the exit code after saying why on stderr. */
int cli_open_container (struct kiln_ctx *ctx, const char *ref, struct kiln_store **st, struct container_rec *rec);

/* What the container commands share: -e and --env-file (cli/env.c), a container's
 * config.json (cli/cmd_container.c, as cli_find_container below). */
int cli_read_env_file (const char *path, struct strv *env, struct kiln_err *err);
/* -e K=V as docker takes it: K alone takes K's value from kiln's environment (none: skipped). */
void cli_env_flag (struct strv *env, const char *arg);
json_t *cli_container_config (const char *root, const char *id, struct kiln_err *err);

#define DECLARE_COMMAND(name)                                                                      \
  int cmd_##name (struct kiln_ctx *ctx, int argc, char **argv);                                  \
  extern const char cmd_##name##_usage[]

DECLARE_COMMAND (debug);
DECLARE_COMMAND (import);
DECLARE_COMMAND (images);
DECLARE_COMMAND (image);
DECLARE_COMMAND (inspect);
DECLARE_COMMAND (history);
DECLARE_COMMAND (tag);
DECLARE_COMMAND (rmi);
DECLARE_COMMAND (system);
DECLARE_COMMAND (save);
DECLARE_COMMAND (load);
DECLARE_COMMAND (build);
DECLARE_COMMAND (run);
DECLARE_COMMAND (pull);
DECLARE_COMMAND (push);
DECLARE_COMMAND (login);
DECLARE_COMMAND (logout);
DECLARE_COMMAND (manifest);
DECLARE_COMMAND (create);
DECLARE_COMMAND (start);
DECLARE_COMMAND (stop);
DECLARE_COMMAND (kill);
DECLARE_COMMAND (restart);
DECLARE_COMMAND (attach);
DECLARE_COMMAND (rm);
DECLARE_COMMAND (wait);
DECLARE_COMMAND (logs);
DECLARE_COMMAND (exec);
DECLARE_COMMAND (port);
DECLARE_COMMAND (network);
DECLARE_COMMAND (stats);
DECLARE_COMMAND (top);
DECLARE_COMMAND (pause);
DECLARE_COMMAND (unpause);
DECLARE_COMMAND (ps);
DECLARE_COMMAND (container);
DECLARE_COMMAND (container_monitor);
DECLARE_COMMAND (diff);
DECLARE_COMMAND (rename);
DECLARE_COMMAND (cp);
DECLARE_COMMAND (export);
DECLARE_COMMAND (commit);
DECLARE_COMMAND (volume);

/* Asks "Are you sure you want to continue? [y/N]" after `warning`; false (and says
 * nothing was removed) unless a terminal answers yes. */
bool cli_confirm (const char *warning);
/* Parses the one option of the commands that take only -f/--force (rm, rmi, prune) into
 * *force: EXIT_OK, or EXIT_USAGE after saying so. */
int cli_force_flag (const char *cmd, int argc, char **argv, bool *force);
struct prune_filter; /* cli/prune_filter.h */
/* The start of a prune that takes -f and --filter (into `filter`):
 * without -f a yes to `warning`, then the store.  EXIT_OK with *st open; EXIT_OK with
 * *st NULL when not confirmed (nothing to do); else the exit code after saying why. */
int cli_prune_begin (struct kiln_ctx *ctx, const char *cmd, int argc, char **argv, const char *warning,
                     struct prune_filter *filter, struct kiln_store **st);
/* A prune's "Deleted WHAT:" block as docker prints it: the ids, then an empty line;
 * nothing when `ids` is empty. */
void cli_print_deleted (const char *what, const struct strv *ids);

/* `container inspect` and `image inspect`: `inspect --type container|image`. */
int cli_container_inspect_cmd (struct kiln_ctx *ctx, int argc, char **argv);
int cli_image_inspect_cmd (struct kiln_ctx *ctx, int argc, char **argv);

/* Appends `kiln inspect` of container `ref` to `into`: 1, or 0 when no container
 * has that name, id or id prefix (containers come before images, as in docker). */
struct json_t;
int cli_container_inspect (struct kiln_store *st, const char *ref, struct json_t *into, struct kiln_err *err);
/* Appends `kiln inspect` of volume `name` to `into`: 1, or 0 when there is none. */
int cli_volume_inspect (struct kiln_store *st, const char *name, struct json_t *into, struct kiln_err *err);
/* The ids of the containers made from an image, running and not. */
int cli_containers_of_image (struct kiln_store *st, const char *image_id, struct strv *running, struct strv *stopped,
                             struct kiln_err *err);
/* Removes the images no container was made from, untagged ones only unless `all`,
 * that `f` (NULL: any) selects.  `report` gets docker's lines, image by image
 * ("untagged: NAME"..., "deleted: ID"); `*n_deleted` the number removed.  An image
 * that cannot be removed is named on stderr and skipped, as docker's daemon does.
 * Layers and blobs stay for image_gc. */
int cli_images_prune (struct kiln_store *st, bool all, const struct prune_filter *f, struct strv *report,
                      size_t *n_deleted, struct kiln_err *err);
/* A prune's "Deleted Images:" block from cli_images_prune's report (nothing when it
 * is empty), then nothing else: the caller prints the total. */
void cli_print_images_report (const struct strv *report);
/* Removes every container that is not running and that `f` (NULL: any) selects;
 * their ids in `removed`. */
int cli_containers_prune (struct kiln_store *st, const struct prune_filter *f, struct strv *removed,
                          struct kiln_err *err);
