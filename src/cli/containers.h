/* cli/containers.h — what the container commands of cli/ share, besides cli.h's
 * cli_find_container, cli_open_container and cli_container_config. */
#pragma once

struct kiln_err;
struct logs_opts;

/* Prints docker's "Error: No such container: REF"; returns EXIT_FAIL
 * (cli/cmd_container.c). */
int cli_no_such_container (const char *ref);

/* The size of container `id`'s json-file log now: where the output of a start about
 * to happen begins (cli/cmd_logs.c). */
long long cli_container_log_size (const char *root, const char *id);
/* Prints container `id`'s log as `lo` says: its stdout to ours, its stderr to ours. */
int cli_container_print_logs (const char *root, const char *id, const struct logs_opts *lo, struct kiln_err *err);
