/* container/state.c — state.json: docker's State plus what tells kiln who records
 * it (the monitor's pid and start time, the init's start time). */
#include "container/state.h"
#include "container/health.h"
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container/resources.h"
#include "image/image.h"
#include "store/containers.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/proc.h"

void
container_state_clear (struct container_state *s)
{
  free (s->error);
  json_decref (s->health);
  memset (s, 0, sizeof *s);
}

const char *
container_status_name (enum container_status st)
{
  switch (st)
    {
    case CONTAINER_RUNNING: return "running";
    case CONTAINER_EXITED: return "exited";
    default: return "created";
    }
}

json_t *
container_state_json (const struct container_state *s)
{
  char started[40], finished[40];
  format_rfc3339_nano (s->started, started);
  format_rfc3339_nano (s->finished, finished);
  bool running = s->status == CONTAINER_RUNNING;
  bool restarting = running && s->restarting;
  bool paused = running && s->paused && !restarting;
  json_t *j = json_pack ("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
                    restarting ? "restarting" : paused ? "paused" : container_status_name (s->status), "Running",
                    running, "Paused", paused, "Restarting", restarting, "OOMKilled", s->oom_killed, "Dead", 0,
                    "Pid", running ? (int) s->pid : 0, "ExitCode", s->exit_code, "Error",
                    s->error ? s->error : "", "StartedAt", started, "FinishedAt", finished);
  if (s->health)
    json_object_set (j, "Health", s->health);
  return j;
}

int
container_state_read (const char *root, const char *id, struct container_state *s, struct kiln_err *err)
{
  memset (s, 0, sizeof *s);
  _cleanup_free_ char *path = container_path (root, id, "state.json");
  json_error_t je;
  json_t *j = json_load_file (path, 0, &je);
  if (j == NULL)
    return kiln_err_set (err, access (path, F_OK) < 0 && errno == ENOENT ? ENOENT : EIO, "%s: %s", path, je.text);
  const char *status = json_string_value (json_object_get (j, "Status"));
  /* "restarting" is docker's name for a running state waiting out its backoff;
   * "paused" for a running one whose cgroup is frozen. */
  s->paused = status && strcmp (status, "paused") == 0;
  s->oom_killed = json_is_true (json_object_get (j, "OOMKilled"));
  s->status = status && (strcmp (status, "running") == 0 || strcmp (status, "restarting") == 0 || s->paused)
                  ? CONTAINER_RUNNING
              : status && strcmp (status, "exited") == 0 ? CONTAINER_EXITED
                                                         : CONTAINER_CREATED;
  s->pid = (pid_t) json_integer_value (json_object_get (j, "Pid"));
  s->exit_code = (int) json_integer_value (json_object_get (j, "ExitCode"));
  const char *e = json_string_value (json_object_get (j, "Error"));
  s->error = e && *e ? xstrdup (e) : NULL;
  s->started = parse_rfc3339_nano (json_string_value (json_object_get (j, "StartedAt")));
  s->finished = parse_rfc3339_nano (json_string_value (json_object_get (j, "FinishedAt")));
  if (s->started < 0)
    s->started = 0;
  if (s->finished < 0)
    s->finished = 0;
  if (json_is_object (json_object_get (j, "Health")))
    s->health = json_incref (json_object_get (j, "Health"));
  json_t *k = json_object_get (j, "Kiln");
  s->pid_start = (uint64_t) json_integer_value (json_object_get (k, "PidStartTime"));
  s->monitor_pid = (pid_t) json_integer_value (json_object_get (k, "MonitorPid"));
  s->monitor_start = (uint64_t) json_integer_value (json_object_get (k, "MonitorStartTime"));
  s->restarting = s->status == CONTAINER_RUNNING && json_is_true (json_object_get (j, "Restarting"));
  s->restart_count = (int) json_integer_value (json_object_get (k, "RestartCount"));
  s->stopped_by_user = json_is_true (json_object_get (k, "StoppedByUser"));
  json_decref (j);
  return 0;
}

int
container_state_write_dir (const char *dir, const struct container_state *s, struct kiln_err *err)
{
  json_t *j = container_state_json (s);
  /* Who records the state, and the init's start time, for kiln alone. */
  json_object_set_new (j, "Kiln",
                       json_pack ("{s:I, s:I, s:I, s:i, s:b}", "PidStartTime", (json_int_t) s->pid_start, "MonitorPid",
                                  (json_int_t) s->monitor_pid, "MonitorStartTime", (json_int_t) s->monitor_start,
                                  "RestartCount", s->restart_count, "StoppedByUser", s->stopped_by_user));
  char *text = json_dumps (j, JSON_PRESERVE_ORDER | JSON_INDENT (2));
  json_decref (j);
  _cleanup_buf_ struct buf path = BUF_INIT, tmp = BUF_INIT;
  buf_printf (&path, "%s/state.json", dir);
  buf_printf (&tmp, "%s.tmp-%d", buf_str (&path), (int) getpid ());
  int fd = open (buf_str (&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  int ret = 0;
  if (fd < 0)
    ret = kiln_err_set (err, errno, "%s: %s", buf_str (&tmp), strerror (errno));
  else
    {
      ret = write_all (fd, text, strlen (text), buf_str (&tmp), err);
      if (close (fd) < 0 && ret == 0)
        ret = kiln_err_set (err, errno, "%s: %s", buf_str (&tmp), strerror (errno));
      if (ret == 0 && rename (buf_str (&tmp), buf_str (&path)) < 0)
        ret = kiln_err_set (err, errno, "%s: %s", buf_str (&path), strerror (errno));
      if (ret < 0)
        unlink (buf_str (&tmp));
    }
  free (text);
  return ret;
}

int
container_state_write (const char *root, const char *id, const struct container_state *s, struct kiln_err *err)
{
  _cleanup_free_ char *dir = container_path (root, id, NULL);
  return container_state_write_dir (dir, s, err);
}

int64_t
container_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool
container_state_live (const struct container_state *s)
{
  return s->status == CONTAINER_RUNNING && proc_is (s->monitor_pid, s->monitor_start);
}

/* A running state whose monitor is gone becomes exited (137); the caller holds
 * containers.lock. */
static int
reap_locked (const char *root, const char *id, struct container_state *s, struct kiln_err *err)
{
  container_state_clear (s);
  if (container_state_read (root, id, s, err) < 0)
    return -1;
  if (s->status != CONTAINER_RUNNING || container_state_live (s))
    return 0;
  struct buf msg = BUF_INIT;
  buf_printf (&msg, "%s (pid %d); the container was killed with it", CONTAINER_MONITOR_DIED, (int) s->monitor_pid);
  free (s->error);
  s->error = buf_steal (&msg);
  s->status = CONTAINER_EXITED;
  health_stopped (s->health);
  s->restarting = false;
  s->paused = false;
  s->oom_killed = container_cgroup_cleanup (root, id);
  s->exit_code = 137;
  s->finished = container_now ();
  s->pid = 0;
  s->pid_start = 0;
  /* What its network held goes too (net/net.h): nobody else would remove it. */
  int ret = container_state_write (root, id, s, err);
  net_release (root, id);
  return ret;
}

int
container_state_get_locked (const char *root, const char *id, struct container_state *s, struct kiln_err *err)
{
  memset (s, 0, sizeof *s);
  return reap_locked (root, id, s, err);
}

int
container_state_get (const char *root, const char *id, struct container_state *s, struct kiln_err *err)
{
  if (container_state_read (root, id, s, err) < 0)
    return -1;
  if (s->status != CONTAINER_RUNNING || container_state_live (s))
    return 0;
  /* Its monitor is gone: decided again under the lock, on the state as it is
   * then (the monitor may have recorded the end just before it exited). */
  int lock = containers_lock (root, err);
  if (lock < 0)
    return -1;
  int ret = reap_locked (root, id, s, err);
  containers_unlock (lock);
  return ret;
}

int
container_state_mark_stopped (const char *root, const char *id, bool by_user, struct kiln_err *err)
{
  struct container_state s;
  if (container_state_read (root, id, &s, err) < 0)
    return -1;
  int ret = 0;
  if (s.stopped_by_user != by_user)
    {
      s.stopped_by_user = by_user;
      ret = container_state_write (root, id, &s, err);
    }
  container_state_clear (&s);
  return ret;
}
