/* Unit tests: frontend/shell (the full tables run in tests/conformance/shell.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/shell.h"

static char *
expand (const char *word, const char *const *vars, char **errmsg)
{
  struct strv sv = STRV_INIT;
  for (; vars && *vars; vars++)
    strv_push (&sv, *vars);
  struct envmap map = ENVMAP_INIT;
  envmap_from_strv (&map, &sv);
  struct shell_env env = {&map, NULL};
  struct kiln_err err = {0};
  char *r = shell_expand_word (word, '\\', &env, &err);
  if (r == NULL && errmsg)
    *errmsg = strdup (err.msg);
  kiln_err_clear (&err);
  strv_free (&sv);
  envmap_free (&map);
  return r;
}

static void
pattern_operators (void **state)
{
  (void) state;
  const char *vars[] = {"P=/usr/local/bin/app.tar.gz", NULL};
  char *r;
  r = expand ("${P#*/}", vars, NULL);
  assert_string_equal (r, "usr/local/bin/app.tar.gz");
  free (r);
  r = expand ("${P##*/}", vars, NULL);
  assert_string_equal (r, "app.tar.gz");
  free (r);
  r = expand ("${P%.*}", vars, NULL);
  assert_string_equal (r, "/usr/local/bin/app.tar");
  free (r);
  r = expand ("${P%%.*}", vars, NULL);
  assert_string_equal (r, "/usr/local/bin/app");
  free (r);
  r = expand ("${P/local/opt}", vars, NULL);
  assert_string_equal (r, "/usr/opt/bin/app.tar.gz");
  free (r);
  r = expand ("${P//a/A}", vars, NULL);
  assert_string_equal (r, "/usr/locAl/bin/App.tAr.gz");
  free (r);
}

static void
required_variable_message (void **state)
{
  (void) state;
  char *msg = NULL;
  assert_null (expand ("${TOKEN:?set TOKEN first}", NULL, &msg));
  assert_string_equal (msg, "failed to process \"${TOKEN:?set TOKEN first}\": TOKEN: set TOKEN first");
  free (msg);
}

static void
last_definition_wins (void **state)
{
  (void) state;
  const char *vars[] = {"A=1", "A=2", NULL};
  char *r = expand ("$A-${A}", vars, NULL);
  assert_string_equal (r, "2-2");
  free (r);
}

static void
deep_nesting_is_bounded (void **state)
{
  (void) state;
  struct buf b = BUF_INIT;
  for (int i = 0; i < 1000; i++)
    buf_puts (&b, "${X:-");
  for (int i = 0; i < 1000; i++)
    buf_putc (&b, '}');
  char *msg = NULL;
  assert_null (expand (buf_str (&b), NULL, &msg));
  assert_non_null (strstr (msg, "nested more than"));
  free (msg);
  buf_free (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (pattern_operators),
    cmocka_unit_test (required_variable_message),
    cmocka_unit_test (last_definition_wins),
    cmocka_unit_test (deep_nesting_is_bounded),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
