/* container/health.h — docker's health checks, state machine and probes.
 *
 * What is checked: Config.Healthcheck of config.json, the image's HEALTHCHECK
 * merged with run's --health-* flags as docker's daemon merges them (a flag left
 * at zero takes the image's value; --no-healthcheck makes it {"Test":["NONE"]}).
 * Test ["CMD", argv...] runs argv, ["CMD-SHELL", cmd] runs /bin/sh -c cmd (or
 * Config.Shell), ["NONE"] or nothing: no checks.
 *
 * The state (State.Health in state.json, docker's shape):
 *
 *   {"Status": "starting"|"healthy"|"unhealthy", "FailingStreak": N,
 *    "Log": [{"Start", "End", "ExitCode", "Output"}, ... the last 5]}
 *
 *   start ──▶ starting ──probe exits 0──▶ healthy ◀──probe exits 0── unhealthy
 *               │                           │                          ▲
 *               └─ FailingStreak >= Retries ┴──────────────────────────┘
 *
 * - Every start of the container sets Status "starting" and FailingStreak 0;
 *   the Log is kept (docker's initHealthMonitor).
 * - A probe that exits 0 makes it healthy and FailingStreak 0, from any status.
 * - Any other result (a non-zero exit, a timeout: ExitCode -1, a probe that could
 *   not start: ExitCode -1 with the error as Output) counts one more failure,
 *   except while the status is still "starting" and the probe began within the
 *   start period after StartedAt (then nothing counts); FailingStreak reaching
 *   Retries makes it unhealthy.
 * - The next probe starts Interval after the last one ended; while "starting" and
 *   within the start period, StartInterval instead; the first one Interval (or
 *   StartInterval) after the start.  Defaults (a zero in the config): Interval
 *   30s, Timeout 30s, StartPeriod 0, StartInterval 5s, Retries 3.
 * - Output: stdout and stderr together, the first 4096 bytes, "..." after them
 *   if there was more; a timed-out probe's Output is
 *   "Health check exceeded timeout (DURATION)" [": " output so far].
 * - While the container is paused no probe runs (docker stops its checks).
 * - When the container stops, Status becomes "unhealthy" (docker does the same,
 *   "for compatibility"), the Log stays.
 *
 * Who runs it: the container's monitor forks a checker process once the command
 * runs (health_checker_start); it sleeps between probes, runs each through
 * container_exec_run (the path of `kiln exec`), and records each result under
 * containers.lock, reading state.json and writing it back whole: it holds
 * nothing of the store open while it waits.  It dies with the monitor
 * (PR_SET_PDEATHSIG) and the monitor kills it when the container ends. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/state.h"
#include "util/buf.h"
#include "util/err.h"

#define HEALTH_LOG_MAX 5
#define HEALTH_OUTPUT_MAX 4096

/* run's and create's --health-* and --no-healthcheck, as given. */
struct health_opts
{
  const char *cmd;
  int64_t interval, timeout, start_period, start_interval; /* ns */
  long retries;
  bool none; /* --no-healthcheck */
};

/* One flag ("health-interval", "no-healthcheck", ...) into `o`; -1 with docker's
 * message (`invalid argument "1x" for "--health-interval" flag: time: ...`). */
int health_opts_flag (struct health_opts *o, const char *flag, const char *value, struct kiln_err *err);

/* A new Healthcheck object with docker's field order (HealthConfig: Test, Interval,
 * Timeout, StartPeriod, StartInterval, Retries), whatever order `hc` has (an image's
 * config is stored with its keys sorted); NULL when hc is not an object.  The values
 * (Test's array) are shared with `hc`, not copied: change neither in place. */
json_t *health_config_ordered (const json_t *hc);

/* Config.Healthcheck from the image's (may be NULL) and the flags, checked as
 * docker's client and daemon check it; *out NULL when there is none.  -1 with
 * docker's message ("--no-healthcheck conflicts with --health-* options",
 * "Interval in Healthcheck cannot be less than 1ms"). */
int health_config_merge (const json_t *image_hc, const struct health_opts *o, json_t **out, struct kiln_err *err);

/* What the checker needs of Config.Healthcheck, defaults applied. */
struct health_config
{
  struct strv argv; /* the probe's command */
  int64_t interval, timeout, start_period, start_interval;
  int retries;
};

/* 1 and `hc` filled when config.json's Config has checks to run, 0 when not. */
int health_config_read (const json_t *config, struct health_config *hc);
void health_config_clear (struct health_config *hc);

/* One probe's result. */
struct health_result
{
  int64_t start, end; /* ns since the epoch */
  int exit_code;      /* -1: timed out or did not start */
  const char *output;
  size_t output_len;
};

/* A probe's output, capped as docker caps it. */
struct health_output
{
  struct buf b;
  bool truncated;
};
void health_output_add (struct health_output *o, const char *data, size_t len);
/* The Output text: the first 4096 bytes and "..." if more came; for a timed-out
 * probe docker's message before it.  The caller frees. */
char *health_output_text (const struct health_output *o, bool timed_out, int64_t timeout_ns);

/* State.Health for a (re)start: Status "starting", FailingStreak 0, the Log of
 * `old` kept (old may be NULL). */
json_t *health_starting (const json_t *old);
/* Records a result in `health` (State.Health) for a container started at `started`. */
void health_record (json_t *health, const struct health_config *hc, int64_t started, const struct health_result *r);
/* The wait before the next probe at `now`, for a container started at `started`. */
int64_t health_next_interval (const struct health_config *hc, int64_t started, int64_t now, const json_t *health);
/* The container stopped: Status "unhealthy". */
void health_stopped (json_t *health);
/* "starting", "healthy", "unhealthy" (docker: unhealthy when unset). */
const char *health_status (const json_t *health);
/* ps's suffix: "health: starting", "healthy", "unhealthy". */
const char *health_status_text (const json_t *health);

/* Forks the checker of container `id` (config.json `config`, running as `s`
 * says); its pid, or -1 when the container has no checks (or the fork failed). */
pid_t health_checker_start (const char *root, const char *id, const json_t *config,
                            const struct container_state *s);
/* Ends it (SIGKILL, reaped). */
void health_checker_stop (pid_t pid);
