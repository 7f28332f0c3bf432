/* container/health.c — docker's health checks (the state machine is in the
 * header; the facts are moby's daemon/health.go). */
#include "container/health.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/exec.h"
#include "image/image.h"
#include "store/containers.h"
#include "util/cleanup.h"
#include "util/godur.h"
#include "util/proc.h"
#include "util/utf8.h"

#define NS_PER_SEC INT64_C (1000000000)
#define DEFAULT_INTERVAL (30 * NS_PER_SEC)
#define DEFAULT_TIMEOUT (30 * NS_PER_SEC)
#define DEFAULT_START_INTERVAL (5 * NS_PER_SEC)
#define DEFAULT_RETRIES 3
#define MIN_DURATION INT64_C (1000000) /* docker's MinimumDuration, 1ms */

/* ---------- the flags and Config.Healthcheck ---------- */

static const struct
{
  const char *flag;
  size_t offset;
} duration_flags[] = {
  {"health-interval", offsetof (struct health_opts, interval)},
  {"health-timeout", offsetof (struct health_opts, timeout)},
  {"health-start-period", offsetof (struct health_opts, start_period)},
  {"health-start-interval", offsetof (struct health_opts, start_interval)},
};

int
health_opts_flag (struct health_opts *o, const char *flag, const char *value, struct kiln_err *err)
{
  if (strcmp (flag, "no-healthcheck") == 0)
    return o->none = true, 0;
  if (strcmp (flag, "health-cmd") == 0)
    return o->cmd = value, 0;
  if (strcmp (flag, "health-retries") == 0)
    {
      char *end;
      errno = 0;
      long r = strtol (value, &end, 10);
      if (*value == '\0' || *end != '\0' || errno == ERANGE || r > INT_MAX || r < INT_MIN)
        return kiln_err_set (err, KILN_EUSAGE,
                             "invalid argument \"%s\" for \"--health-retries\" flag: strconv.ParseInt: parsing "
                             "\"%s\": %s",
                             value, value, errno == ERANGE || (*end == '\0' && *value) ? "value out of range"
                                                                                      : "invalid syntax");
      o->retries = r;
      return 0;
    }
  for (size_t i = 0; i < sizeof duration_flags / sizeof *duration_flags; i++)
    if (strcmp (flag, duration_flags[i].flag) == 0)
      {
        char why[256];
        int64_t ns;
        if (go_duration_parse (value, &ns, why, sizeof why) < 0)
          return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--%s\" flag: %s", value, flag, why);
        *(int64_t *) ((char *) o + duration_flags[i].offset) = ns;
        return 0;
      }
  return kiln_err_set (err, KILN_EUSAGE, "unknown flag: --%s", flag);
}

static int64_t
hc_int (const json_t *hc, const char *key)
{
  const json_t *v = json_object_get (hc, key);
  return json_is_integer (v) ? (int64_t) json_integer_value (v) : 0;
}

json_t *
health_config_ordered (const json_t *hc)
{
  if (!json_is_object (hc))
    return NULL;
  static const char *const fields[] = {"Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"};
  json_t *o = json_object ();
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    if (json_object_get (hc, fields[i]))
      json_object_set (o, fields[i], json_object_get (hc, fields[i]));
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) hc, k, v)
  if (json_object_get (o, k) == NULL)
    json_object_set (o, k, v);
  return o;
}

int
health_config_merge (const json_t *image_hc, const struct health_opts *o, json_t **out, struct kiln_err *err)
{
  *out = NULL;
  bool any = o->cmd || o->interval || o->timeout || o->start_period || o->start_interval || o->retries;
  if (o->none)
    {
      if (any)
        return kiln_err_set (err, KILN_EUSAGE, "--no-healthcheck conflicts with --health-* options");
      *out = json_pack ("{s:[s]}", "Test", "NONE");
      return 0;
    }
  if (!any)
    {
      *out = health_config_ordered (image_hc);
      return 0;
    }
  /* docker's client, then its daemon's checks. */
  const int64_t durs[] = {o->interval, o->timeout, o->start_period, o->start_interval};
  if (o->interval < 0)
    return kiln_err_set (err, KILN_EUSAGE, "--health-interval cannot be negative");
  if (o->timeout < 0)
    return kiln_err_set (err, KILN_EUSAGE, "--health-timeout cannot be negative");
  if (o->retries < 0)
    return kiln_err_set (err, KILN_EUSAGE, "--health-retries cannot be negative");
  if (o->start_period < 0)
    return kiln_err_set (err, KILN_EUSAGE, "--health-start-period cannot be negative");
  if (o->start_interval < 0)
    return kiln_err_set (err, KILN_EUSAGE, "--health-start-interval cannot be negative");
  static const char *const keys[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
  json_t *hc = json_object ();
  if (o->cmd)
    json_object_set_new (hc, "Test", json_pack ("[s, s]", "CMD-SHELL", o->cmd));
  else if (json_is_array (json_object_get (image_hc, "Test")))
    json_object_set (hc, "Test", json_object_get (image_hc, "Test"));
  for (size_t i = 0; i < 4; i++)
    {
      int64_t v = durs[i] ? durs[i] : hc_int (image_hc, keys[i]);
      if (v != 0 && v < MIN_DURATION)
        {
          json_decref (hc);
          return kiln_err_set (err, EINVAL, "%s in Healthcheck cannot be less than 1ms", keys[i]);
        }
      if (v)
        json_object_set_new (hc, keys[i], json_integer (v));
    }
  int64_t retries = o->retries ? o->retries : hc_int (image_hc, "Retries");
  if (retries)
    json_object_set_new (hc, "Retries", json_integer (retries));
  *out = hc;
  return 0;
}

int
health_config_read (const json_t *config, struct health_config *hc)
{
  memset (hc, 0, sizeof *hc);
  const json_t *c = json_object_get (config, "Config");
  const json_t *h = json_object_get (c, "Healthcheck");
  const json_t *test = json_object_get (h, "Test");
  const char *kind = json_string_value (json_array_get (test, 0));
  if (kind == NULL || json_array_size (test) < 2)
    return 0;
  bool shell = strcmp (kind, "CMD-SHELL") == 0;
  if (!shell && strcmp (kind, "CMD") != 0)
    return 0; /* NONE, or a kind docker does not know either */
  if (shell)
    {
      const json_t *sh = json_object_get (c, "Shell");
      size_t i;
      const json_t *v;
      if (json_array_size (sh) > 0)
        json_array_foreach (sh, i, v) strv_push (&hc->argv, json_string_value (v) ? json_string_value (v) : "");
      else
        {
          strv_push (&hc->argv, "/bin/sh");
          strv_push (&hc->argv, "-c");
        }
    }
  for (size_t i = 1; i < json_array_size (test); i++)
    {
      const char *a = json_string_value (json_array_get (test, i));
      strv_push (&hc->argv, a ? a : "");
    }
  int64_t v;
  hc->interval = (v = hc_int (h, "Interval")) > 0 ? v : DEFAULT_INTERVAL;
  hc->timeout = (v = hc_int (h, "Timeout")) > 0 ? v : DEFAULT_TIMEOUT;
  hc->start_period = (v = hc_int (h, "StartPeriod")) > 0 ? v : 0;
  hc->start_interval = (v = hc_int (h, "StartInterval")) > 0 ? v : DEFAULT_START_INTERVAL;
  hc->retries = (v = hc_int (h, "Retries")) > 0 && v <= INT_MAX ? (int) v : DEFAULT_RETRIES;
  return 1;
}

void
health_config_clear (struct health_config *hc)
{
  strv_free (&hc->argv);
}

/* ---------- the state machine ---------- */

const char *
health_status (const json_t *health)
{
  const char *s = json_string_value (json_object_get (health, "Status"));
  return s && *s ? s : "unhealthy";
}

const char *
health_status_text (const json_t *health)
{
  const char *s = health_status (health);
  return strcmp (s, "starting") == 0 ? "health: starting" : s;
}

json_t *
health_starting (const json_t *old)
{
  json_t *log = json_object_get (old, "Log");
  return json_pack ("{s:s, s:i, s:o}", "Status", "starting", "FailingStreak", 0, "Log",
                    json_is_array (log) ? json_incref (log) : json_array ());
}

void
health_stopped (json_t *health)
{
  if (health)
    json_object_set_new (health, "Status", json_string ("unhealthy"));
}

/* Output as JSON keeps it: Go's encoder turns invalid UTF-8 into U+FFFD. */
static json_t *
output_json (const char *s, size_t len)
{
  struct buf b = BUF_INIT;
  for (size_t at = 0; at < len;)
    {
      size_t w;
      uint32_t r = utf8_decode (s + at, len - at, &w);
      if (r == RUNE_ERROR && w == 1)
        buf_put_rune (&b, RUNE_ERROR);
      else
        buf_append (&b, s + at, w);
      at += w;
    }
  json_t *j = json_stringn (b.data ? b.data : "", b.len);
  buf_free (&b);
  return j ? j : json_string ("");
}

static json_t *
time_json (int64_t ns)
{
  char t[40];
  format_rfc3339_nano (ns, t);
  return json_string (t);
}

void
health_record (json_t *health, const struct health_config *hc, int64_t started, const struct health_result *r)
{
  json_t *log = json_object_get (health, "Log");
  if (!json_is_array (log))
    {
      log = json_array ();
      json_object_set_new (health, "Log", log);
    }
  while (json_array_size (log) >= HEALTH_LOG_MAX)
    json_array_remove (log, 0);
  json_array_append_new (log, json_pack ("{s:o, s:o, s:i, s:o}", "Start", time_json (r->start), "End",
                                         time_json (r->end), "ExitCode", r->exit_code, "Output",
                                         output_json (r->output ? r->output : "", r->output ? r->output_len : 0)));
  json_int_t streak = json_integer_value (json_object_get (health, "FailingStreak"));
  const char *status = health_status (health);
  if (r->exit_code == 0)
    {
      streak = 0;
      status = "healthy";
    }
  else if (!(strcmp (status, "starting") == 0 && r->start - started < hc->start_period))
    {
      /* Failures within the start period, before any success, do not count. */
      if (++streak >= hc->retries)
        status = "unhealthy";
    }
  json_object_set_new (health, "Status", json_string (status));
  json_object_set_new (health, "FailingStreak", json_integer (streak));
}

int64_t
health_next_interval (const struct health_config *hc, int64_t started, int64_t now, const json_t *health)
{
  if (now - started >= hc->start_period)
    return hc->interval;
  return strcmp (health_status (health), "starting") == 0 ? hc->start_interval : hc->interval;
}

void
health_output_add (struct health_output *o, const char *data, size_t len)
{
  size_t room = HEALTH_OUTPUT_MAX - o->b.len;
  size_t keep = len < room ? len : room;
  if (keep)
    buf_append (&o->b, data, keep);
  if (keep < len)
    o->truncated = true;
}

char *
health_output_text (const struct health_output *o, bool timed_out, int64_t timeout_ns)
{
  struct buf t = BUF_INIT;
  if (timed_out)
    {
      char d[40];
      go_duration_format (timeout_ns, d);
      buf_printf (&t, "Health check exceeded timeout (%s)%s", d, o->b.len || o->truncated ? ": " : "");
    }
  buf_append (&t, o->b.data ? o->b.data : "", o->b.len);
  if (o->truncated)
    buf_puts (&t, "...");
  return buf_steal (&t);
}

/* ---------- the checker process ---------- */

static void
on_probe_output (void *ud, int stream, const char *buf, size_t len)
{
  (void) stream;
  health_output_add (ud, buf, len);
}

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static void
sleep_ns (int64_t ns)
{
  struct timespec ts = {.tv_sec = ns / NS_PER_SEC, .tv_nsec = ns % NS_PER_SEC};
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* Runs one probe. */
static void
probe (const char *root, const char *id, const json_t *config, const struct container_state *s,
       const struct health_config *hc, struct health_result *r, char **text)
{
  struct health_output out = {.b = BUF_INIT};
  struct container_exec e = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .on_stdio = on_probe_output,
                             .ud = &out};
  const json_t *c = json_object_get (config, "Config");
  for (size_t i = 0; i < hc->argv.n; i++)
    strv_push (&e.argv, hc->argv.v[i]);
  e.user = json_string_value (json_object_get (c, "User"));
  e.workdir = json_string_value (json_object_get (c, "WorkingDir"));
  if (e.workdir && !*e.workdir)
    e.workdir = NULL;
  int64_t ms = hc->timeout / 1000000;
  e.timeout_ms = ms > INT_MAX ? INT_MAX : ms < 1 ? 1 : (int) ms;
  struct kiln_err err = {0};
  int code;
  r->start = now_ns ();
  if (container_exec_run (root, id, config, s, &e, &code, &err) < 0)
    {
      /* As docker: a probe that could not run is a failure with the reason. */
      *text = xstrdup (err.msg ? err.msg : "the health check did not start");
      r->exit_code = -1;
    }
  else
    {
      *text = health_output_text (&out, e.timed_out, hc->timeout);
      r->exit_code = e.timed_out ? -1 : code;
    }
  r->end = now_ns ();
  r->output = *text;
  r->output_len = strlen (*text);
  kiln_err_clear (&err);
  buf_free (&out.b);
  container_exec_clear (&e);
}

/* Records `r` in state.json; false when the container is no longer this run. */
static bool
record (const char *root, const char *id, pid_t init, const struct health_config *hc, const struct health_result *r,
        int64_t *started, json_t **health)
{
  struct kiln_err err = {0};
  int lock = containers_lock (root, &err);
  if (lock < 0)
    {
      kiln_err_clear (&err);
      return true; /* tried again at the next probe */
    }
  struct container_state st;
  bool ours = container_state_read (root, id, &st, &err) == 0 && st.status == CONTAINER_RUNNING && st.pid == init;
  if (ours)
    {
      if (st.health == NULL)
        st.health = health_starting (NULL);
      health_record (st.health, hc, st.started, r);
      container_state_write (root, id, &st, &err);
      *started = st.started;
      json_decref (*health);
      *health = json_incref (st.health);
    }
  container_state_clear (&st);
  containers_unlock (lock);
  kiln_err_clear (&err);
  return ours;
}

static void __attribute__ ((noreturn))
checker_main (const char *root, const char *id, const json_t *config, const struct container_state *s,
              struct health_config *hc)
{
  int64_t started = s->started;
  json_t *health = json_incref (s->health);
  for (;;)
    {
      sleep_ns (health_next_interval (hc, started, now_ns (), health));
      if (!proc_is (s->pid, s->pid_start))
        _exit (0);
      /* A paused container is not probed (docker stops its monitor while paused):
       * a probe would only freeze with it until its timeout. */
      struct container_state now;
      struct kiln_err ignored = {0};
      bool paused = container_state_read (root, id, &now, &ignored) == 0 && now.paused;
      container_state_clear (&now);
      kiln_err_clear (&ignored);
      if (paused)
        continue;
      struct health_result r = {0};
      char *text = NULL;
      probe (root, id, config, s, hc, &r, &text);
      bool go_on = record (root, id, s->pid, hc, &r, &started, &health);
      free (text);
      if (!go_on)
        _exit (0);
    }
}

pid_t
health_checker_start (const char *root, const char *id, const json_t *config, const struct container_state *s)
{
  struct health_config hc;
  if (health_config_read (config, &hc) == 0)
    return -1;
  pid_t monitor = getpid ();
  fflush (NULL);
  pid_t pid = fork ();
  if (pid != 0)
    {
      health_config_clear (&hc);
      return pid;
    }
  /* It goes with the monitor, holds nothing of it, and takes no signal meant
   * for the container (the monitor passes those on to the init). */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != monitor)
    _exit (0);
  /* Out of the foreground run's process group: a ^C at its terminal is for the
   * container (the monitor passes it on), not for the checks. */
  setsid ();
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0)
    {
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (null, 2);
    }
  close_range (3, ~0U, 0);
  prctl (PR_SET_NAME, "kiln-health", 0, 0, 0);
  checker_main (root, id, config, s, &hc);
}

void
health_checker_stop (pid_t pid)
{
  if (pid <= 0)
    return;
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}
