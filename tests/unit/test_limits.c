/* Unit tests: worker/limits (docker's --ulimit and --shm-size values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "worker/limits.h"

static void
ulimit_soft_and_hard (void **state)
{
  (void) state;
  struct sandbox_rlimit rl;
  struct kiln_err err = {0};
  assert_int_equal (limits_parse_ulimit ("nofile=100:200", &rl, &err), 0);
  assert_int_equal (rl.resource, RLIMIT_NOFILE);
  assert_int_equal (rl.soft, 100);
  assert_int_equal (rl.hard, 200);
  /* HARD defaults to SOFT; -1 is unlimited */
  assert_int_equal (limits_parse_ulimit ("nproc=50", &rl, &err), 0);
  assert_int_equal (rl.soft, 50);
  assert_int_equal (rl.hard, 50);
  assert_int_equal (limits_parse_ulimit ("core=-1", &rl, &err), 0);
  assert_true (rl.soft == RLIM_INFINITY && rl.hard == RLIM_INFINITY);
  assert_int_equal (limits_parse_ulimit ("stack=8192:-1", &rl, &err), 0);
  assert_true (rl.soft == 8192 && rl.hard == RLIM_INFINITY);
  assert_int_equal (limits_parse_ulimit ("fsize=9223372036854775807", &rl, &err), 0);
  assert_true (rl.soft == 9223372036854775807ull);
  assert_string_equal (limits_oci_name (RLIMIT_STACK), "RLIMIT_STACK");
}

static void
ulimit_refusals_say_why (void **state)
{
  (void) state;
  static const struct
  {
    const char *spec, *msg;
  } bad[] = {
    {"nofile", "invalid ulimit argument: nofile"},
    {"bogus=1", "invalid ulimit type: bogus"},
    {"nofile=3:2", "ulimit soft limit must be less than or equal to hard limit: 3 > 2"},
    {"nofile=1:2:3", "too many limit value arguments"},
    {"nofile=abc", "invalid ulimit argument"},
    {"nofile=", "invalid ulimit argument"},
    {"nofile=-2", "invalid ulimit argument"},
    {"nofile=99999999999999999999999", "invalid ulimit argument"},
    {"nofile=9223372036854775808", "invalid ulimit argument"}, /* over int64, as go-units */
    {"-1:2", "invalid ulimit argument"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      struct sandbox_rlimit rl;
      struct kiln_err err = {0};
      assert_int_equal (limits_parse_ulimit (bad[i].spec, &rl, &err), -1);
      assert_non_null (strstr (err.msg, bad[i].msg));
      kiln_err_clear (&err);
    }
}

static void
bytes_as_docker_reads_them (void **state)
{
  (void) state;
  uint64_t v;
  assert_int_equal (limits_parse_bytes ("512", &v), 0);
  assert_int_equal (v, 512);
  assert_int_equal (limits_parse_bytes ("64m", &v), 0);
  assert_int_equal (v, 64ull << 20);
  assert_int_equal (limits_parse_bytes ("1GB", &v), 0);
  assert_int_equal (v, 1ull << 30);
  assert_int_equal (limits_parse_bytes ("2kib", &v), 0);
  assert_int_equal (v, 2048);
  assert_int_equal (limits_parse_bytes ("1.5k", &v), 0);
  assert_int_equal (v, 1536);
  assert_int_equal (limits_parse_bytes ("10b", &v), 0);
  assert_int_equal (v, 10);
  assert_int_equal (limits_parse_bytes ("64mi", &v), 0); /* go-units' [iI]?[bB]? */
  assert_int_equal (v, 64ull << 20);
  /* strtod's other forms are not docker's numbers */
  const char *bad[] = {"", "m", "-1m", "12x", "1mm", "1bb", "99999999999p", " 1m", "1e3", "0x10", "1.", "1.2.3k", "1m "};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal (limits_parse_bytes (bad[i], &v), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (ulimit_soft_and_hard),
    cmocka_unit_test (ulimit_refusals_say_why),
    cmocka_unit_test (bytes_as_docker_reads_them),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
