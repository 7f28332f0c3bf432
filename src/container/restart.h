/* container/restart.h — restart policies (docker's --restart) and the backoff the
 * container's monitor applies between two runs.
 *
 * The monitor keeps one restart manager for as long as it lives (a user's start
 * makes a new monitor, so a new manager: the backoff starts over, as docker resets
 * its restart manager on `docker start`).  After each run of the command it asks
 * restart_decide() whether to run it again and after how long: docker's
 * restartmanager, with the clock passed in (the caller's durations), so the unit
 * tests need no sleeping.
 *
 *   delay: 100 ms after the first end, doubled at every restart, at most 1 min;
 *          back to 100 ms when the command had run for 10 s or more.
 *   no              never
 *   always          every end, unless a user stopped it (stop, kill -9)
 *   unless-stopped  the same
 *   on-failure[:N]  a non-zero exit code, at most N restarts (0: no limit)
 *
 * At boot (`kiln system boot`, which does what dockerd does when it starts) a
 * container comes back when restart_at_boot() says so: `always` even when a user
 * stopped it, `unless-stopped` only when no user did, `on-failure` when its last
 * exit code was not 0. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

enum restart_mode
{
  RESTART_NO,
  RESTART_ON_FAILURE,
  RESTART_ALWAYS,
  RESTART_UNLESS_STOPPED,
};

struct restart_policy
{
  enum restart_mode mode;
  int max_retries; /* on-failure:N; 0 no limit */
};

#define RESTART_FIRST_DELAY_NS (100LL * 1000000)
#define RESTART_MAX_DELAY_NS (60LL * 1000000000)
#define RESTART_RESET_AFTER_NS (10LL * 1000000000)

/* `--restart VALUE` with docker's messages (KILN_EUSAGE). */
int restart_policy_parse (const char *value, struct restart_policy *out, struct kiln_err *err);
/* "no", "on-failure", "always", "unless-stopped". */
const char *restart_mode_name (enum restart_mode m);
/* HostConfig.RestartPolicy: {"Name": …, "MaximumRetryCount": N}. */
json_t *restart_policy_json (const struct restart_policy *p);
/* From a container's config.json (absent: "no"). */
void restart_policy_from_config (const json_t *config, struct restart_policy *out);

struct restart_manager
{
  struct restart_policy policy;
  int64_t delay_ns; /* the last delay; 0 before the first restart */
  int restarts;     /* restarts this manager made (on-failure's N counts these) */
};

/* The command ended with `exit_code` after running `ran_ns`; `stopped_by_user`
 * when a user's stop or kill ended it.  True when it runs again after *delay_ns. */
bool restart_decide (struct restart_manager *m, int exit_code, bool stopped_by_user, int64_t ran_ns,
                     int64_t *delay_ns);

/* Whether `kiln system boot` starts a container that is not running. */
bool restart_at_boot (const struct restart_policy *p, int exit_code, bool stopped_by_user);
