/* cli/create_opts.h — the flags of `kiln run` and `kiln create` (cli/create_opts.c);
 * their help is cmd_run_usage and cmd_create_usage (cli/cli.h). */
#pragma once
#include <stdbool.h>

struct container_opts;

/* The flags of run (`run`: -d too) or create, from argv, into `o` and *name (both
 * pointing into argv); the image and its command after them.  0; 1 when --help was
 * printed; -2 (after printing) when there is no image; -1 or -125 (after printing) for
 * a flag or value docker refuses, which docker's run and create exit 125 for (its
 * flag errors and its config's). */
int cli_parse_create_opts (const char *cmd, int argc, char **argv, bool run, struct container_opts *o,
                           const char **name);
