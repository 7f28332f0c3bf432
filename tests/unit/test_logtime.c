/* Unit tests: container/logtime (logs --since/--until, docker's GetTimestamp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container/logtime.h"

#define NOW (1764594240LL * 1000000000LL) /* 2025-12-01T13:04:00Z, a fixed clock */
#define S 1000000000LL

static int64_t
at (const char *v)
{
  int64_t ns = 0;
  struct kiln_err err = {0};
  assert_int_equal (log_time_parse (v, NOW, &ns, &err), 0);
  return ns;
}

static void
dockers_forms (void **state)
{
  (void) state;
  setenv ("TZ", "UTC", 1);
  tzset ();
  assert_int_equal (at ("10m"), NOW - 600 * S);
  assert_int_equal (at ("1h30m"), NOW - 5400 * S);
  assert_int_equal (at ("1.5h"), NOW - 5400 * S);
  assert_int_equal (at ("500ms"), NOW - S / 2);
  assert_int_equal (at ("-5s"), NOW + 5 * S);               /* a negative duration: the future */
  assert_int_equal (at ("0"), 0);                           /* "0" is the Unix time 0, not a duration */
  assert_int_equal (at ("1764594240"), NOW);
  assert_int_equal (at ("1764594240.5"), NOW + S / 2);
  assert_int_equal (at ("1764594240.000000001"), NOW + 1);
  assert_int_equal (at ("2025-12-01T13:04:00Z"), NOW);
  assert_int_equal (at ("2025-12-01T13:04:00.25Z"), NOW + S / 4);
  assert_int_equal (at ("2025-12-01T14:04:00+01:00"), NOW);
  assert_int_equal (at ("2025-12-01T12:04:00-01:00"), NOW);
  assert_int_equal (at ("2025-12-01T13:04:00"), NOW);       /* no zone: local (UTC here) */
  assert_int_equal (at ("2025-12-01T13:04"), NOW);
  assert_int_equal (at ("2025-12-01T13"), NOW - 240 * S);
  assert_int_equal (at ("2025-12-01"), NOW - (13 * 3600 + 240) * S);
  assert_int_equal (at ("2025-12-01Z"), NOW - (13 * 3600 + 240) * S);
  setenv ("TZ", "Europe/Berlin", 1);
  tzset ();
  assert_int_equal (at ("2025-12-01T14:04:00"), NOW);       /* local time: CET is UTC+1 in December */
  setenv ("TZ", "UTC", 1);
  tzset ();
}

static void
bad_values_get_dockers_message (void **state)
{
  (void) state;
  static const char *const bad[] = {"xyz", "10x", "", "2025-13-01", "2025-12-01T25:00", "1.2.3", "12abc",
                                    "2025-12-01T13:04:00+0100", "--5s"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      int64_t ns;
      struct kiln_err err = {0};
      assert_int_equal (log_time_parse (bad[i], NOW, &ns, &err), -1);
      char want[128];
      snprintf (want, sizeof want, "failed to parse value as time or duration: \"%s\"", bad[i]);
      assert_string_equal (err.msg, want);
      kiln_err_clear (&err);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test (dockers_forms), cmocka_unit_test (bad_values_get_dockers_message)};
  return cmocka_run_group_tests (tests, NULL, NULL);
}
