/* Unit tests: docker's health-check state machine with a fake clock and made-up
 * probe results (container/health), Go's durations (util/godur), and the
 * cgroups kiln exec joins, from fake /proc texts (worker/join). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "container/health.h"
#include "container/names.h"
#include "util/godur.h"
#include "worker/join.h"

#define S INT64_C (1000000000)
#define MS INT64_C (1000000)

/* ---------- Go durations ---------- */

static void
durations_parse_as_go_does (void **state)
{
  (void) state;
  int64_t ns;
  char why[160];
  assert_int_equal (go_duration_parse ("1.5s", &ns, why, sizeof why), 0);
  assert_true (ns == 1500 * MS);
  assert_int_equal (go_duration_parse ("1h2m3.5s", &ns, why, sizeof why), 0);
  assert_true (ns == 3723 * S + 500 * MS);
  assert_int_equal (go_duration_parse ("-300ms", &ns, why, sizeof why), 0);
  assert_true (ns == -300 * MS);
  assert_int_equal (go_duration_parse ("0", &ns, why, sizeof why), 0);
  assert_true (ns == 0);
  assert_int_equal (go_duration_parse (".5s", &ns, why, sizeof why), 0);
  assert_true (ns == 500 * MS);
  assert_int_equal (go_duration_parse ("10us", &ns, why, sizeof why), 0);
  assert_true (ns == 10000);
  assert_int_equal (go_duration_parse ("1x", &ns, why, sizeof why), -1);
  assert_string_equal (why, "time: unknown unit \"x\" in duration \"1x\"");
  assert_int_equal (go_duration_parse ("1", &ns, why, sizeof why), -1);
  assert_string_equal (why, "time: missing unit in duration \"1\"");
  assert_int_equal (go_duration_parse ("", &ns, why, sizeof why), -1);
  assert_string_equal (why, "time: invalid duration \"\"");
  assert_int_equal (go_duration_parse ("s", &ns, why, sizeof why), -1);
  assert_string_equal (why, "time: invalid duration \"s\"");
  assert_int_equal (go_duration_parse ("3000000h", &ns, why, sizeof why), -1);
  assert_string_equal (why, "time: invalid duration \"3000000h\"");
}

static void
durations_print_as_go_does (void **state)
{
  (void) state;
  char out[40];
  static const struct
  {
    int64_t ns;
    const char *text;
  } cases[] = {{0, "0s"},          {100, "100ns"},           {1500, "1.5\xc2\xb5s"},  {200 * MS, "200ms"},
               {1500 * MS, "1.5s"}, {30 * S, "30s"},         {90 * S, "1m30s"},       {7200 * S, "2h0m0s"},
               {-S, "-1s"},         {3723 * S + 1, "1h2m3.000000001s"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      go_duration_format (cases[i].ns, out);
      assert_string_equal (out, cases[i].text);
    }
}

/* ---------- the state machine ---------- */

static struct health_config
config (int64_t interval, int64_t start_period, int retries)
{
  struct health_config hc = {.interval = interval, .timeout = 30 * S, .start_period = start_period,
                             .start_interval = 5 * S, .retries = retries};
  return hc;
}

/* A probe that began `at` ns after the start and exited `code`. */
static void
probe_at (json_t *h, const struct health_config *hc, int64_t started, int64_t at, int code)
{
  struct health_result r = {.start = started + at, .end = started + at + MS, .exit_code = code, .output = ""};
  health_record (h, hc, started, &r);
}

static int
streak (const json_t *h)
{
  return (int) json_integer_value (json_object_get (h, "FailingStreak"));
}

static void
failures_make_it_unhealthy_after_retries_and_a_success_heals (void **state)
{
  (void) state;
  const int64_t t0 = 1700000000 * S;
  struct health_config hc = config (S, 0, 3);
  json_t *h = health_starting (NULL);
  assert_string_equal (health_status (h), "starting");
  probe_at (h, &hc, t0, 1 * S, 1);
  probe_at (h, &hc, t0, 2 * S, 1);
  assert_string_equal (health_status (h), "starting");
  assert_int_equal (streak (h), 2);
  probe_at (h, &hc, t0, 3 * S, 1);
  assert_string_equal (health_status (h), "unhealthy");
  assert_int_equal (streak (h), 3);
  probe_at (h, &hc, t0, 4 * S, 2);
  assert_int_equal (streak (h), 4);
  probe_at (h, &hc, t0, 5 * S, 0);
  assert_string_equal (health_status (h), "healthy");
  assert_int_equal (streak (h), 0);
  /* Healthy stays healthy until Retries failures in a row. */
  probe_at (h, &hc, t0, 6 * S, 1);
  probe_at (h, &hc, t0, 7 * S, -1); /* a timeout is a failure too */
  assert_string_equal (health_status (h), "healthy");
  probe_at (h, &hc, t0, 8 * S, 1);
  assert_string_equal (health_status (h), "unhealthy");
  json_decref (h);
}

static void
failures_in_the_start_period_do_not_count_until_a_success (void **state)
{
  (void) state;
  const int64_t t0 = 1700000000 * S;
  struct health_config hc = config (S, 10 * S, 1);
  json_t *h = health_starting (NULL);
  for (int i = 1; i <= 5; i++)
    probe_at (h, &hc, t0, i * S, 1);
  assert_string_equal (health_status (h), "starting");
  assert_int_equal (streak (h), 0);
  /* Past the start period, the first failure counts (Retries 1). */
  probe_at (h, &hc, t0, 10 * S, 1);
  assert_string_equal (health_status (h), "unhealthy");
  assert_int_equal (streak (h), 1);

  /* A success ends the start period: then failures count at once. */
  json_decref (h);
  h = health_starting (NULL);
  probe_at (h, &hc, t0, 1 * S, 0);
  assert_string_equal (health_status (h), "healthy");
  probe_at (h, &hc, t0, 2 * S, 1);
  assert_string_equal (health_status (h), "unhealthy");
  assert_int_equal (streak (h), 1);
  json_decref (h);
}

static void
the_log_keeps_the_last_five (void **state)
{
  (void) state;
  const int64_t t0 = 1700000000 * S;
  struct health_config hc = config (S, 0, 3);
  json_t *h = health_starting (NULL);
  for (int i = 1; i <= 8; i++)
    probe_at (h, &hc, t0, i * S, i % 2);
  json_t *log = json_object_get (h, "Log");
  assert_int_equal (json_array_size (log), 5);
  /* The oldest kept is the 4th probe (exit 0), the newest the 8th (exit 0). */
  assert_string_equal (json_string_value (json_object_get (json_array_get (log, 0), "Start")),
                       "2023-11-14T22:13:24Z");
  assert_int_equal (json_integer_value (json_object_get (json_array_get (log, 4), "ExitCode")), 0);
  assert_int_equal (json_integer_value (json_object_get (json_array_get (log, 3), "ExitCode")), 1);
  /* A restart starts over, keeping the Log; a stop says unhealthy. */
  json_t *again = health_starting (h);
  assert_string_equal (health_status (again), "starting");
  assert_int_equal (streak (again), 0);
  assert_int_equal (json_array_size (json_object_get (again, "Log")), 5);
  health_stopped (again);
  assert_string_equal (health_status (again), "unhealthy");
  assert_string_equal (health_status_text (again), "unhealthy");
  json_object_set_new (again, "Status", json_string ("starting"));
  assert_string_equal (health_status_text (again), "health: starting");
  json_decref (again);
  json_decref (h);
}

static void
the_next_probe_waits_start_interval_only_while_starting_in_the_start_period (void **state)
{
  (void) state;
  const int64_t t0 = 1700000000 * S;
  struct health_config hc = config (30 * S, 60 * S, 3);
  hc.start_interval = 2 * S;
  json_t *h = health_starting (NULL);
  assert_true (health_next_interval (&hc, t0, t0, h) == 2 * S);
  assert_true (health_next_interval (&hc, t0, t0 + 59 * S, h) == 2 * S);
  assert_true (health_next_interval (&hc, t0, t0 + 60 * S, h) == 30 * S);
  probe_at (h, &hc, t0, S, 0);
  assert_true (health_next_interval (&hc, t0, t0 + 2 * S, h) == 30 * S);
  json_decref (h);
}

static void
output_is_capped_as_docker_caps_it (void **state)
{
  (void) state;
  struct health_output o = {.b = BUF_INIT};
  char big[5000];
  memset (big, 'a', sizeof big);
  health_output_add (&o, big, 4000);
  health_output_add (&o, big, 1000);
  char *t = health_output_text (&o, false, 0);
  assert_int_equal (strlen (t), 4096 + 3);
  assert_string_equal (t + 4096, "...");
  free (t);
  buf_free (&o.b);

  struct health_output small = {.b = BUF_INIT};
  t = health_output_text (&small, true, 1500 * MS);
  assert_string_equal (t, "Health check exceeded timeout (1.5s)");
  free (t);
  health_output_add (&small, "start\n", 6);
  t = health_output_text (&small, true, 200 * MS);
  assert_string_equal (t, "Health check exceeded timeout (200ms): start\n");
  free (t);
  buf_free (&small.b);

  /* Invalid UTF-8 becomes U+FFFD, as Go's encoder writes it. */
  const int64_t t0 = 1700000000 * S;
  struct health_config hc = config (S, 0, 3);
  json_t *h = health_starting (NULL);
  struct health_result r = {.start = t0, .end = t0, .exit_code = 1, .output = "a\xff" "b", .output_len = 3};
  health_record (h, &hc, t0, &r);
  assert_string_equal (json_string_value (json_object_get (json_array_get (json_object_get (h, "Log"), 0), "Output")),
                       "a\xef\xbf\xbd" "b");
  json_decref (h);
}

static void
config_reads_test_kinds_and_defaults (void **state)
{
  (void) state;
  struct health_config hc;
  json_t *c = json_loads ("{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"test -f /ok\"],"
                          "\"Interval\":1000000000}}}",
                          0, NULL);
  assert_int_equal (health_config_read (c, &hc), 1);
  assert_int_equal (hc.argv.n, 3);
  assert_string_equal (hc.argv.v[0], "/bin/sh");
  assert_string_equal (hc.argv.v[1], "-c");
  assert_string_equal (hc.argv.v[2], "test -f /ok");
  assert_true (hc.interval == S && hc.timeout == 30 * S && hc.start_period == 0 && hc.start_interval == 5 * S);
  assert_int_equal (hc.retries, 3);
  health_config_clear (&hc);
  json_decref (c);
  c = json_loads ("{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\",\"x\"],\"Retries\":7}}}", 0, NULL);
  assert_int_equal (health_config_read (c, &hc), 1);
  assert_int_equal (hc.argv.n, 2);
  assert_string_equal (hc.argv.v[0], "true");
  assert_int_equal (hc.retries, 7);
  health_config_clear (&hc);
  json_decref (c);
  static const char *const none[] = {"{\"Config\":{\"Healthcheck\":{\"Test\":[\"NONE\"]}}}", "{\"Config\":{}}",
                                     "{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\"]}}}",
                                     "{\"Config\":{\"Healthcheck\":{\"Test\":[\"WHAT\",\"x\"]}}}"};
  for (size_t i = 0; i < sizeof none / sizeof *none; i++)
    {
      c = json_loads (none[i], 0, NULL);
      assert_int_equal (health_config_read (c, &hc), 0);
      health_config_clear (&hc);
      json_decref (c);
    }
}

static void
flags_merge_over_the_images_check_as_docker (void **state)
{
  (void) state;
  json_t *image = json_loads ("{\"Test\":[\"CMD\",\"true\"],\"Interval\":5000000000,\"Retries\":4}", 0, NULL);
  struct health_opts o = {0};
  struct kiln_err err = {0};
  json_t *out;
  /* No flags: the image's. */
  assert_int_equal (health_config_merge (image, &o, &out, &err), 0);
  assert_true (json_equal (out, image));
  json_decref (out);
  /* A flag replaces its field only. */
  assert_int_equal (health_opts_flag (&o, "health-interval", "2s", &err), 0);
  assert_int_equal (health_config_merge (image, &o, &out, &err), 0);
  char *s = json_dumps (out, JSON_COMPACT | JSON_PRESERVE_ORDER);
  assert_string_equal (s, "{\"Test\":[\"CMD\",\"true\"],\"Interval\":2000000000,\"Retries\":4}");
  free (s);
  json_decref (out);
  assert_int_equal (health_opts_flag (&o, "health-cmd", "exit 0", &err), 0);
  assert_int_equal (health_config_merge (NULL, &o, &out, &err), 0);
  s = json_dumps (out, JSON_COMPACT | JSON_PRESERVE_ORDER);
  assert_string_equal (s, "{\"Test\":[\"CMD-SHELL\",\"exit 0\"],\"Interval\":2000000000}");
  free (s);
  json_decref (out);
  /* --no-healthcheck: NONE, and alone. */
  struct health_opts none = {.none = true};
  assert_int_equal (health_config_merge (image, &none, &out, &err), 0);
  s = json_dumps (out, JSON_COMPACT);
  assert_string_equal (s, "{\"Test\":[\"NONE\"]}");
  free (s);
  json_decref (out);
  o.none = true;
  assert_int_equal (health_config_merge (image, &o, &out, &err), -1);
  assert_string_equal (err.msg, "--no-healthcheck conflicts with --health-* options");
  kiln_err_clear (&err);
  /* docker's messages for bad values. */
  struct health_opts bad = {0};
  assert_int_equal (health_opts_flag (&bad, "health-timeout", "1x", &err), -1);
  assert_string_equal (err.msg,
                       "invalid argument \"1x\" for \"--health-timeout\" flag: time: unknown unit \"x\" in duration \"1x\"");
  kiln_err_clear (&err);
  assert_int_equal (health_opts_flag (&bad, "health-retries", "two", &err), -1);
  assert_string_equal (err.msg, "invalid argument \"two\" for \"--health-retries\" flag: strconv.ParseInt: parsing "
                                "\"two\": invalid syntax");
  kiln_err_clear (&err);
  assert_int_equal (health_opts_flag (&bad, "health-start-period", "-1s", &err), 0);
  assert_int_equal (health_config_merge (NULL, &bad, &out, &err), -1);
  assert_string_equal (err.msg, "--health-start-period cannot be negative");
  kiln_err_clear (&err);
  struct health_opts tiny = {0};
  assert_int_equal (health_opts_flag (&tiny, "health-interval", "100us", &err), 0);
  assert_int_equal (health_config_merge (NULL, &tiny, &out, &err), -1);
  assert_string_equal (err.msg, "Interval in Healthcheck cannot be less than 1ms");
  kiln_err_clear (&err);
  json_decref (image);
}

static void
ps_shows_the_health_after_up (void **state)
{
  (void) state;
  const int64_t now = 1700000000 * S;
  char out[96];
  struct container_state st = {.status = CONTAINER_RUNNING, .started = now - 14 * S};
  st.health = health_starting (NULL);
  container_status_text (&st, now, out);
  assert_string_equal (out, "Up 14 seconds (health: starting)");
  json_object_set_new (st.health, "Status", json_string ("healthy"));
  container_status_text (&st, now, out);
  assert_string_equal (out, "Up 14 seconds (healthy)"); /* docker-shapes/errors-and-formats.txt */
  health_stopped (st.health);
  container_status_text (&st, now, out);
  assert_string_equal (out, "Up 14 seconds (unhealthy)");
  /* An exited container shows no health, as docker. */
  st.status = CONTAINER_EXITED;
  st.finished = now - 2 * S;
  container_status_text (&st, now, out);
  assert_string_equal (out, "Exited (0) 2 seconds ago");
  container_state_clear (&st);
}

/* ---------- the cgroups exec joins ---------- */

static void
exec_joins_the_cgroups_it_is_not_in (void **state)
{
  (void) state;
  const char *mountinfo = "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
                          "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                          "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
                          "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
                          "37 31 0:34 /kube /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
                          "38 31 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
                          "39 31 0:36 / /sys/fs/cgroup/my\\040systemd rw - cgroup cgroup rw,xattr,name=systemd\n";
  const char *target = "9:name=systemd:/kiln\n5:devices:/kiln-sandbox\n4:memory:/kube/c1\n"
                       "2:cpu,cpuacct:/\n0::/kiln/c1\n3:pids:/x\n";
  const char *self = "9:name=systemd:/\n5:devices:/\n4:memory:/kube\n2:cpu,cpuacct:/\n0::/\n3:pids:/\n";
  struct strv procs = STRV_INIT;
  join_cgroup_procs (mountinfo, target, self, &procs);
  assert_int_equal (procs.n, 4); /* cpu is shared; pids has no mount here */
  assert_string_equal (procs.v[0], "/sys/fs/cgroup/my systemd/kiln/cgroup.procs");
  assert_string_equal (procs.v[1], "/sys/fs/cgroup/devices/kiln-sandbox/cgroup.procs");
  assert_string_equal (procs.v[2], "/sys/fs/cgroup/memory/c1/cgroup.procs");
  assert_string_equal (procs.v[3], "/sys/fs/cgroup/unified/kiln/c1/cgroup.procs");
  strv_free (&procs);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (durations_parse_as_go_does),
    cmocka_unit_test (durations_print_as_go_does),
    cmocka_unit_test (failures_make_it_unhealthy_after_retries_and_a_success_heals),
    cmocka_unit_test (failures_in_the_start_period_do_not_count_until_a_success),
    cmocka_unit_test (the_log_keeps_the_last_five),
    cmocka_unit_test (the_next_probe_waits_start_interval_only_while_starting_in_the_start_period),
    cmocka_unit_test (output_is_capped_as_docker_caps_it),
    cmocka_unit_test (config_reads_test_kinds_and_defaults),
    cmocka_unit_test (flags_merge_over_the_images_check_as_docker),
    cmocka_unit_test (ps_shows_the_health_after_up),
    cmocka_unit_test (exec_joins_the_cgroups_it_is_not_in),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
