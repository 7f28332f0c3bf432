/* container/state.h — a container's State (state.json), and the rule that keeps
 * it from lying.
 *
 * States and who moves between them:
 *
 *   created ──start──▶ running ──the command ends──▶ exited ──start──▶ running …
 *                        ▲  │ its restart policy says again
 *                        │  ▼
 *                     restarting (running, pid 0, the backoff; docker's Restarting)
 *
 * `created` is written when the record is made; `running` by the container's
 * monitor (container/monitor.h) right after the command started, while the
 * process that asked for the start holds containers.lock; `exited` by the monitor
 * when the command ends, under containers.lock.  A start that fails leaves the
 * status it found and records the error (ExitCode 125, 126 or 127, as docker).
 *
 * A state that says `running` names its monitor (pid and start time, field 22
 * of /proc/PID/stat).  A monitor that is gone without recording the end was
 * killed, and its container with it (the sandbox's init dies with its parent):
 * the first command that looks (container_state_get) records `exited`,
 * ExitCode 137 and the cause, under containers.lock, after reading the state
 * again, so that a monitor that recorded the end in the meantime wins.
 *
 * state.json is written whole to a temporary file and renamed over the old one:
 * a reader sees the old state or the new one, never a mix. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

enum container_status
{
  CONTAINER_CREATED,
  CONTAINER_RUNNING,
  CONTAINER_EXITED,
};

struct container_state
{
  enum container_status status;
  pid_t pid;              /* the container's first process (kiln's init) on the host; 0 when not running */
  uint64_t pid_start;     /* its start time, to signal only that process */
  int exit_code;
  char *error;            /* NULL: none */
  int64_t started;        /* ns since the epoch; 0: never */
  int64_t finished;
  bool oom_killed;        /* the kernel killed in its cgroup for memory (container/resources.h) */
  bool paused;            /* running, its cgroup frozen (kiln pause): Status "paused" */
  json_t *health;         /* State.Health (container/health.h), owned; NULL: no checks.
                             Whoever writes a state it read keeps it. */
  pid_t monitor_pid;      /* the process that records the end */
  uint64_t monitor_start;
  /* Restart policies (container/restart.h): while the monitor waits out the
   * backoff the status stays running (docker's Running and Restarting both
   * true), pid 0; restarts made by the policy, never by a user's restart. */
  bool restarting;
  int restart_count;      /* docker's RestartCount */
  bool stopped_by_user;   /* a user's stop or kill ended it: no restart (docker's HasBeenManuallyStopped) */
};

void container_state_clear (struct container_state *s);
const char *container_status_name (enum container_status st);

/* Reads and writes ROOT/containers/<id>/state.json (the write is atomic). */
int container_state_read (const char *root, const char *id, struct container_state *s, struct kiln_err *err);
int container_state_write (const char *root, const char *id, const struct container_state *s, struct kiln_err *err);
/* The same into directory `dir` (a new container's, before it is recorded). */
int container_state_write_dir (const char *dir, const struct container_state *s, struct kiln_err *err);

/* The state as it really is: read, and a running state whose monitor is gone
 * recorded as exited (137) first.  Every command that looks uses this. */
int container_state_get (const char *root, const char *id, struct container_state *s, struct kiln_err *err);
/* The same, for a caller that holds containers.lock already. */
int container_state_get_locked (const char *root, const char *id, struct container_state *s, struct kiln_err *err);

/* True if the state says running and its monitor is alive. */
bool container_state_live (const struct container_state *s);

/* The time now, ns since the epoch (what StartedAt and FinishedAt record). */
int64_t container_now (void);

/* docker's State object, for inspect. */
json_t *container_state_json (const struct container_state *s);

/* Marks the container stopped by a user (or not) in state.json, under
 * containers.lock held by the caller; the monitor reads it before restarting. */
int container_state_mark_stopped (const char *root, const char *id, bool by_user, struct kiln_err *err);

/* The message recorded when a monitor died without recording the end. */
#define CONTAINER_MONITOR_DIED "the container's monitor died"
