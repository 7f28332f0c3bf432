/* Unit tests: image/ref (docker's reference normalisation) and image formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/ref.h"

static void
normalises_like_docker (void **state)
{
  (void) state;
  const char *cases[][2] = {
    {"busybox", "docker.io/library/busybox:latest"},
    {"busybox:1.36", "docker.io/library/busybox:1.36"},
    {"team/app", "docker.io/team/app:latest"},
    {"index.docker.io/library/x:1", "docker.io/library/x:1"},
    {"localhost/app", "localhost/app:latest"},
    {"localhost:5000/a/b:v1.2", "localhost:5000/a/b:v1.2"},
    {"192.168.2.201:32000/clock-server:0.0.1", "192.168.2.201:32000/clock-server:0.0.1"},
    {"ghcr.io/sos-app/auth-service:v1.0.0", "ghcr.io/sos-app/auth-service:v1.0.0"},
    {"gcr.io/distroless/static-debian12:nonroot", "gcr.io/distroless/static-debian12:nonroot"},
    {"a__b/c-d.e:T_1", "docker.io/a__b/c-d.e:T_1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      struct image_ref r;
      struct kiln_err err = {0};
      assert_int_equal (ref_parse (cases[i][0], true, &r, &err), 0);
      char *s = ref_string (&r);
      assert_string_equal (s, cases[i][1]);
      free (s);
      ref_clear (&r);
    }
}

static void
digests_and_familiar_names (void **state)
{
  (void) state;
  struct image_ref r;
  struct kiln_err err = {0};
  const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  char in[200];
  snprintf (in, sizeof in, "app@%s", d);
  assert_int_equal (ref_parse (in, true, &r, &err), 0);
  assert_null (r.tag);
  assert_string_equal (r.digest, d);
  ref_clear (&r);
  char *f = ref_familiar ("docker.io/library/busybox:latest");
  assert_string_equal (f, "busybox:latest");
  free (f);
  f = ref_familiar ("docker.io/team/app:1");
  assert_string_equal (f, "team/app:1");
  free (f);
  f = ref_familiar ("localhost:5000/app:1");
  assert_string_equal (f, "localhost:5000/app:1");
  free (f);
}

static void
rejects_bad_references (void **state)
{
  (void) state;
  const char *bad[] = {"", "UPPER", "a//b", "a/", "-a", "a:", "a:-tag", "a@sha256:xyz", "a..b", "a:t t",
                       "host:port/x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      struct image_ref r;
      struct kiln_err err = {0};
      assert_int_equal (ref_parse (bad[i], true, &r, &err), -1);
      assert_non_null (err.msg);
      kiln_err_clear (&err);
    }
}

static void
sizes_and_times_as_docker_prints_them (void **state)
{
  (void) state;
  char b[48];
  format_size (2131456, b);
  assert_string_equal (b, "2.13MB");
  format_size (512, b);
  assert_string_equal (b, "512B");
  format_size (1240000000, b);
  assert_string_equal (b, "1.24GB");
  format_ago (1000, 1000 + 90, b);
  assert_string_equal (b, "About a minute ago");
  format_ago (1000, 1000 + 3 * 86400, b);
  assert_string_equal (b, "3 days ago");
  assert_int_equal (parse_rfc3339 ("2023-11-14T22:13:20Z"), 1700000000);
  assert_int_equal (parse_rfc3339 ("2023-11-14T23:13:20.123456789+01:00"), 1700000000);
  assert_int_equal (parse_rfc3339 ("yesterday"), -1);
  format_rfc3339 (1700000000, b);
  assert_string_equal (b, "2023-11-14T22:13:20Z");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (normalises_like_docker),
    cmocka_unit_test (digests_and_familiar_names),
    cmocka_unit_test (rejects_bad_references),
    cmocka_unit_test (sizes_and_times_as_docker_prints_them),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
