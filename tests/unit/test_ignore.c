/* Unit tests: context/ignore (the full table runs in tests/conformance/dockerignore.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "context/ignore.h"
#include "util/buf.h"
#include "util/path.h"

static struct ignore_rules *
rules (const char *text)
{
  struct kiln_err err = {0};
  struct ignore_rules *r = ignore_parse (".dockerignore", text, strlen (text), &err);
  kiln_err_clear (&err);
  return r;
}

static void
file_syntax (void **state)
{
  (void) state;
  /* Comments only at column 0, leading '/' and './' dropped, '! x' trimmed. */
  struct ignore_rules *r = rules ("\xEF\xBB\xBF# c\n  # x\n/build\n./node_modules/\n*.log\n! keep.log\n");
  assert_int_equal (ignore_count (r), 5);
  assert_true (ignore_excluded (r, "# x"));
  assert_true (ignore_excluded (r, "build/out.o"));
  assert_true (ignore_excluded (r, "node_modules/a/b"));
  assert_true (ignore_excluded (r, "debug.log"));
  assert_false (ignore_excluded (r, "keep.log"));
  assert_false (ignore_excluded (r, "."));
  assert_false (ignore_excluded (r, "src/main.c"));
  ignore_free (r);
}

static void
exceptions_decide_whether_to_descend (void **state)
{
  (void) state;
  struct ignore_rules *r = rules ("docs\n!docs/README.md\nvendor\n");
  assert_true (ignore_may_include_below (r, "docs"));
  assert_false (ignore_may_include_below (r, "vendor"));
  ignore_free (r);
  r = rules ("*\n!**/keep\n");
  assert_true (ignore_may_include_below (r, "any/dir"));
  ignore_free (r);
}

static void
errors_name_the_line (void **state)
{
  (void) state;
  struct kiln_err err = {0};
  assert_null (ignore_parse ("x.ignore", "ok\n\n[z-a]\n", 10, &err));
  assert_int_equal (err.line, 3);
  assert_string_equal (err.file, "x.ignore");
  kiln_err_clear (&err);
}

static void
path_clean_is_lexical (void **state)
{
  (void) state;
  const char *cases[][2] = {{"", "."},          {"a//b/./c/", "a/b/c"}, {"a/../../b", "../b"},
                            {"/../a", "/a"},     {"./", "."},            {"a/b/../..", "."}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char *c = path_clean (cases[i][0]);
      assert_string_equal (c, cases[i][1]);
      free (c);
    }
}

/* Hostile patterns (a fuzzer found the first): runs of stars, many `**`, a star
 * per rune, against long paths. Matching is memoized with constant work a state;
 * before, these took minutes and recursed once per star. */
static void
hostile_patterns_match_quickly (void **state)
{
  (void) state;
  struct buf text = BUF_INIT;
  for (int i = 0; i < 4000; i++)
    buf_putc (&text, '*');
  buf_puts (&text, "b\n");
  for (int i = 0; i < 1300; i++)
    buf_puts (&text, "**/");
  buf_puts (&text, "x\n");
  for (int i = 0; i < 2000; i++)
    buf_puts (&text, "*a");
  buf_puts (&text, "c\n");
  struct kiln_err err = {0};
  struct ignore_rules *r = ignore_parse (".dockerignore", buf_str (&text), text.len, &err);
  assert_non_null (r);
  struct buf path = BUF_INIT;
  for (int i = 0; i < 3000; i++)
    buf_putc (&path, 'a');
  assert_false (ignore_excluded (r, buf_str (&path)));
  buf_reset (&path);
  for (int i = 0; i < 1500; i++)
    buf_puts (&path, "a/");
  buf_puts (&path, "y");
  assert_false (ignore_excluded (r, buf_str (&path)));
  assert_true (ignore_excluded (r, "a/a/x"));
  ignore_free (r);
  /* And a pattern longer than any path is refused. */
  buf_reset (&text);
  for (int i = 0; i < 5000; i++)
    buf_putc (&text, 'q');
  assert_null (ignore_parse (".dockerignore", buf_str (&text), text.len, &err));
  assert_non_null (strstr (err.msg, "longer than"));
  kiln_err_clear (&err);
  buf_free (&text);
  buf_free (&path);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (file_syntax),
    cmocka_unit_test (exceptions_decide_whether_to_descend),
    cmocka_unit_test (errors_name_the_line),
    cmocka_unit_test (path_clean_is_lexical),
    cmocka_unit_test (hostile_patterns_match_quickly),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
