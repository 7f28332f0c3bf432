/* Unit tests: frontend/inst_config (instructions and --change lines as config
 * deltas) and image/config's config_apply of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/inst_config.h"

/* Applies `lines` as --change lines to an empty config; returns cfg["config"] dumped. */
static char *
changes_dump (const char *const *lines, size_t n, json_t **cfg_out)
{
  struct strv v = STRV_INIT;
  for (size_t i = 0; i < n; i++)
    strv_push (&v, lines[i]);
  struct config_changes c = {0};
  struct kiln_err err = {0};
  assert_int_equal (df_changes_parse (&v, "import", &c, &err), 0);
  json_t *cfg = json_object ();
  assert_int_equal (config_apply_changes (cfg, &c, &err), 0);
  config_changes_free (&c);
  strv_free (&v);
  char *s = json_dumps (json_object_get (cfg, "config"), JSON_COMPACT | JSON_SORT_KEYS);
  if (cfg_out)
    *cfg_out = cfg;
  else
    json_decref (cfg);
  return s;
}

static void
changes_apply_in_order (void **state)
{
  (void) state;
  /* The SHELL given before a shell-form CMD wraps it; a later ENV replaces an earlier one in place;
   * an empty exec form is left out (BuildKit's omitempty). */
  const char *lines[] = {"SHELL [\"/bin/bash\", \"-c\"]", "CMD echo hi", "ENV A=1 B=2", "ENV A=3",
                         "EXPOSE 80 53/udp", "WORKDIR /a", "WORKDIR b", "LABEL k=v", "ENTRYPOINT [\"x\"]", "ENTRYPOINT []"};
  char *s = changes_dump (lines, sizeof lines / sizeof *lines, NULL);
  assert_string_equal (s, "{\"Cmd\":[\"/bin/bash\",\"-c\",\"echo hi\"],\"Env\":[\"A=3\",\"B=2\"],"
                          "\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{}},\"Labels\":{\"k\":\"v\"},"
                          "\"Shell\":[\"/bin/bash\",\"-c\"],\"WorkingDir\":\"/a/b\"}");
  free (s);
}

static void
changes_healthcheck_and_author (void **state)
{
  (void) state;
  const char *lines[] = {"HEALTHCHECK --interval=5s --retries=2 CMD [\"true\"]", "MAINTAINER me", "STOPSIGNAL 9",
                         "ONBUILD RUN make", "USER 1:2", "VOLUME /v"};
  json_t *cfg = NULL;
  char *s = changes_dump (lines, sizeof lines / sizeof *lines, &cfg);
  assert_string_equal (s, "{\"Healthcheck\":{\"Interval\":5000000000,\"Retries\":2,\"Test\":[\"CMD\",\"true\"]},"
                          "\"OnBuild\":[\"RUN make\"],\"StopSignal\":\"9\",\"User\":\"1:2\",\"Volumes\":{\"/v\":{}}}");
  assert_string_equal (json_string_value (json_object_get (cfg, "author")), "me");
  json_decref (cfg);
  free (s);
}

static void
changes_refuse_build_steps (void **state)
{
  (void) state;
  struct strv v = STRV_INIT;
  strv_push (&v, "ENV A=1");
  strv_push (&v, "RUN true");
  struct config_changes c = {0};
  struct kiln_err err = {0};
  assert_int_equal (df_changes_parse (&v, "commit", &c, &err), -1);
  assert_non_null (strstr (err.msg, "--change \"RUN true\": RUN cannot be used with commit"));
  assert_int_equal (c.n, 0); /* nothing half-made is left */
  kiln_err_clear (&err);
  strv_free (&v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (changes_apply_in_order),
    cmocka_unit_test (changes_healthcheck_and_author),
    cmocka_unit_test (changes_refuse_build_steps),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
