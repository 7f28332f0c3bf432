/* container/logopts.h — `--log-opt` of the json-file driver, as docker takes them:
 *
 *   max-size=SIZE   rotate the log when the next write would pass SIZE (10k, 10m, 1g:
 *                   binary units, as docker's RAMInBytes; a plain number is bytes)
 *   max-file=N      keep N files: <id>-json.log and <id>-json.log.1 … .N-1 (default 1,
 *                   which means the log is emptied when it is full)
 *
 * kept in HostConfig.LogConfig ({"Type":"json-file","Config":{"max-size":"10m",...}}),
 * where the monitor reads them back.  Other options docker's driver knows (labels, env,
 * tag, compress) are refused with a message that says so. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Checks the K=V of `opts` (docker's messages, KILN_EINVAL). */
int log_opts_check (const struct strv *opts, struct kiln_err *err);
/* HostConfig.LogConfig for checked `opts`. */
json_t *log_opts_config (const struct strv *opts);
/* The rotation a HostConfig asks for: *max_size 0 for none. */
void log_opts_rotation (const json_t *host_config, int64_t *max_size, int *max_file);
/* docker's RAMInBytes ("10m" = 10 MiB); -1 when it is not a size. */
int64_t log_opts_size (const char *s);
