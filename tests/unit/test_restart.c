/* Unit tests: container/restart (docker's --restart parsing and messages, the
 * policies, the backoff with a fake clock: durations are passed in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "container/restart.h"

#define MS (1000000LL)
#define S (1000000000LL)

static void
parse_accepts_dockers_forms (void **state)
{
  (void) state;
  struct restart_policy p;
  struct kiln_err err = {0};
  assert_int_equal (restart_policy_parse ("no", &p, &err), 0);
  assert_int_equal (p.mode, RESTART_NO);
  assert_int_equal (restart_policy_parse ("always", &p, &err), 0);
  assert_int_equal (p.mode, RESTART_ALWAYS);
  assert_int_equal (restart_policy_parse ("unless-stopped", &p, &err), 0);
  assert_int_equal (p.mode, RESTART_UNLESS_STOPPED);
  assert_int_equal (restart_policy_parse ("on-failure", &p, &err), 0);
  assert_int_equal (p.mode, RESTART_ON_FAILURE);
  assert_int_equal (p.max_retries, 0);
  assert_int_equal (restart_policy_parse ("on-failure:3", &p, &err), 0);
  assert_int_equal (p.max_retries, 3);
  assert_int_equal (restart_policy_parse ("always:0", &p, &err), 0);
  assert_int_equal (p.mode, RESTART_ALWAYS);
  assert_false (kiln_err_is_set (&err));
}

static void
expect_error (const char *value, const char *msg)
{
  struct restart_policy p;
  struct kiln_err err = {0};
  assert_int_equal (restart_policy_parse (value, &p, &err), -1);
  assert_int_equal (err.code, KILN_EUSAGE);
  assert_string_equal (err.msg, msg);
  kiln_err_clear (&err);
}

static void
parse_refuses_with_dockers_messages (void **state)
{
  (void) state;
  expect_error (":3", "invalid restart policy format: no policy provided before colon");
  expect_error ("on-failure:x", "invalid restart policy format: maximum retry count must be an integer");
  expect_error ("sometimes",
                "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or "
                "'unless-stopped'");
  expect_error ("always:2", "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  expect_error ("no:-1",
                "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative");
  expect_error ("on-failure:-1", "invalid restart policy: maximum retry count cannot be negative");
}

static void
policy_round_trips_through_config (void **state)
{
  (void) state;
  struct restart_policy p = {RESTART_ON_FAILURE, 3}, q;
  json_t *cfg = json_pack ("{s:{s:o}}", "HostConfig", "RestartPolicy", restart_policy_json (&p));
  restart_policy_from_config (cfg, &q);
  assert_int_equal (q.mode, RESTART_ON_FAILURE);
  assert_int_equal (q.max_retries, 3);
  json_decref (cfg);
  restart_policy_from_config (NULL, &q);
  assert_int_equal (q.mode, RESTART_NO);
}

static void
on_failure_stops_after_n (void **state)
{
  (void) state;
  struct restart_manager m = {.policy = {RESTART_ON_FAILURE, 3}};
  int64_t d = 0;
  assert_true (restart_decide (&m, 1, false, 5 * MS, &d));
  assert_int_equal (d, 100 * MS);
  assert_true (restart_decide (&m, 1, false, 5 * MS, &d));
  assert_int_equal (d, 200 * MS);
  assert_true (restart_decide (&m, 1, false, 5 * MS, &d));
  assert_int_equal (d, 400 * MS);
  assert_false (restart_decide (&m, 1, false, 5 * MS, &d));
  assert_int_equal (m.restarts, 3);
  /* A success is no failure. */
  struct restart_manager ok = {.policy = {RESTART_ON_FAILURE, 0}};
  assert_false (restart_decide (&ok, 0, false, 5 * MS, &d));
  assert_true (restart_decide (&ok, 2, false, 5 * MS, &d));
}

static void
backoff_doubles_caps_and_resets_after_ten_seconds (void **state)
{
  (void) state;
  struct restart_manager m = {.policy = {RESTART_ALWAYS, 0}};
  int64_t d = 0, expect = 100 * MS;
  for (int i = 0; i < 12; i++)
    {
      assert_true (restart_decide (&m, 0, false, 1 * S, &d));
      assert_int_equal (d, expect);
      expect = expect * 2 > 60 * S ? 60 * S : expect * 2;
    }
  assert_int_equal (d, 60 * S); /* 100 ms · 2^11 > 1 min: capped */
  /* Ran 10 s: back to the first delay. */
  assert_true (restart_decide (&m, 0, false, 10 * S, &d));
  assert_int_equal (d, 100 * MS);
  assert_true (restart_decide (&m, 0, false, 9999 * MS, &d));
  assert_int_equal (d, 200 * MS);
}

static void
a_user_stop_is_not_a_failure (void **state)
{
  (void) state;
  int64_t d = 0;
  for (enum restart_mode mode = RESTART_NO; mode <= RESTART_UNLESS_STOPPED; mode++)
    {
      struct restart_manager m = {.policy = {mode, 0}};
      assert_false (restart_decide (&m, 137, true, 1 * S, &d));
    }
  struct restart_manager no = {.policy = {RESTART_NO, 0}};
  assert_false (restart_decide (&no, 1, false, 1 * S, &d));
}

static void
boot_brings_back_what_docker_does (void **state)
{
  (void) state;
  struct restart_policy always = {RESTART_ALWAYS, 0}, unless = {RESTART_UNLESS_STOPPED, 0},
                        onf = {RESTART_ON_FAILURE, 0}, no = {RESTART_NO, 0};
  assert_true (restart_at_boot (&always, 0, true));
  assert_true (restart_at_boot (&unless, 137, false));
  assert_false (restart_at_boot (&unless, 0, true));
  assert_true (restart_at_boot (&onf, 137, false));
  assert_false (restart_at_boot (&onf, 0, false));
  assert_false (restart_at_boot (&no, 137, false));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (parse_accepts_dockers_forms),
    cmocka_unit_test (parse_refuses_with_dockers_messages),
    cmocka_unit_test (policy_round_trips_through_config),
    cmocka_unit_test (on_failure_stops_after_n),
    cmocka_unit_test (backoff_doubles_caps_and_resets_after_ten_seconds),
    cmocka_unit_test (a_user_stop_is_not_a_failure),
    cmocka_unit_test (boot_brings_back_what_docker_does),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
