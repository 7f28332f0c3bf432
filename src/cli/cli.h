/* cli/cli.h — the command-line front door: global options and command handlers.
 *
 * Handlers return the process exit code: 0 ok, 1 the operation failed, 2 bad usage.
 * Only the CLI prints errors; everything below it fills a struct kiln_err. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

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

struct kiln_store;
struct kiln_store *cli_open_store (struct kiln_ctx *ctx, struct kiln_err *err);
void cli_store_freep (struct kiln_store **st);
#define _cleanup_store_ __attribute__ ((cleanup (cli_store_freep)))

/* Prints the rows (an array of objects) through a --format, docker's way (util/formatter),
 * with the column titles in `header`; `root_type` names the rows' type in errors.  Returns
 * the exit code. */
int cli_print_format (const char *format, json_t *rows, json_t *header, const char *root_type);

#define DECLARE_COMMAND(name)                                                                      \
  int cmd_##name (struct kiln_ctx *ctx, int argc, char **argv);                                  \
  extern const char cmd_##name##_usage[]

DECLARE_COMMAND (debug);
DECLARE_COMMAND (import);
DECLARE_COMMAND (images);
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
