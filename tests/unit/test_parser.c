/* Unit tests: frontend/parser. The corpus is checked end to end by
 * tests/conformance/parser.py; these pin down single rules and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"

static char *
dump_of (const char *text)
{
  struct kiln_err err = {0};
  struct df_ast *ast = df_parse ("Dockerfile", text, strlen (text), &err);
  if (ast == NULL)
    {
      char *m = strdup (err.msg);
      kiln_err_clear (&err);
      return m;
    }
  struct buf b = BUF_INIT;
  df_dump (ast, &b);
  df_ast_free (ast);
  return buf_steal (&b);
}

#define assert_dump(text, want)                                                                    \
  do                                                                                               \
    {                                                                                              \
      char *got_ = dump_of (text);                                                                 \
      assert_string_equal (got_, want);                                                            \
      free (got_);                                                                                 \
    }                                                                                              \
  while (0)

static void
continuation_keeps_indent_and_skips_comments (void **state)
{
  (void) state;
  assert_dump ("RUN a \\\n  # note \\\n\n   b\n", "(run \"a    b\")\n");
  /* An escaped escape at the end is not a continuation. */
  assert_dump ("ENV C x\\\\\nRUN y\n", "(env \"C\" \"x\\\\\\\\\" \"\")\n(run \"y\")\n");
}

static void
escape_directive_switches_continuation (void **state)
{
  (void) state;
  assert_dump ("# escape=`\nRUN a `\n b\n", "(run \"a  b\")\n");
  /* After a blank line the directive section has ended: just a comment. */
  assert_dump ("\n# escape=`\nRUN a \\\n b\n", "(run \"a  b\")\n");
}

static void
flags_and_json_forms (void **state)
{
  (void) state;
  assert_dump ("COPY --from=build --chmod=755 [\"a b\", \"c\"]\n", "(copy [\"--from=build\" \"--chmod=755\"] \"a b\" \"c\")\n");
  assert_dump ("CMD ['single']\n", "(cmd \"['single']\")\n");
  assert_dump ("onbuild run echo hi\n", "(onbuild (run \"echo hi\"))\n");
  assert_dump ("HEALTHCHECK --interval=5s CMD [\"true\"]\n", "(healthcheck [\"--interval=5s\"] \"CMD\" \"true\")\n");
}

static void
errors_name_the_line (void **state)
{
  (void) state;
  struct kiln_err err = {0};
  const char *text = "FROM a\n\nENV PATH\n";
  assert_null (df_parse ("Dockerfile", text, strlen (text), &err));
  assert_int_equal (err.line, 3);
  assert_string_equal (err.msg, "ENV must have two arguments");
  assert_string_equal (err.source_line, "ENV PATH");
  kiln_err_clear (&err);

  text = "# syntax=a\n# syntax=b\nFROM x\n";
  assert_null (df_parse ("Dockerfile", text, strlen (text), &err));
  assert_int_equal (err.line, 2);
  assert_string_equal (err.msg, "only one syntax parser directive can be used");
  kiln_err_clear (&err);

  text = "FROM x\nRUN <<EOF\nno end\n";
  assert_null (df_parse ("Dockerfile", text, strlen (text), &err));
  assert_int_equal (err.line, 2);
  assert_string_equal (err.msg, "unterminated heredoc \"EOF\"");
  kiln_err_clear (&err);

  /* Directives and nothing else: an error, and the directives' values are freed (ASan). */
  text = "# syntax=docker/dockerfile:1\n# check=skip=all\n";
  assert_null (df_parse ("Dockerfile", text, strlen (text), &err));
  assert_string_equal (err.msg, "the Dockerfile has no instructions");
  kiln_err_clear (&err);
}

static void
long_inputs_parse_in_linear_time (void **state)
{
  (void) state;
  /* 10,000 continuation lines in one RUN, and a ~1 MB file of instructions. */
  struct buf b = BUF_INIT;
  buf_puts (&b, "FROM scratch\nRUN true");
  for (int i = 0; i < 10000; i++)
    buf_puts (&b, " \\\n && echo line");
  buf_puts (&b, "\n");
  for (int i = 0; i < 40000; i++)
    buf_puts (&b, "ENV KEY_NUMBER=value_number\n");
  struct kiln_err err = {0};
  struct df_ast *ast = df_parse ("Dockerfile", buf_str (&b), b.len, &err);
  assert_non_null (ast);
  assert_int_equal (ast->n_nodes, 40002);
  assert_int_equal (ast->nodes[1].end_line, 10002);
  df_ast_free (ast);
  buf_free (&b);
}

static void
line_too_long_is_an_error (void **state)
{
  (void) state;
  struct buf b = BUF_INIT;
  buf_puts (&b, "FROM scratch\nRUN ");
  for (int i = 0; i < 70000; i++)
    buf_putc (&b, 'x');
  struct kiln_err err = {0};
  assert_null (df_parse ("Dockerfile", buf_str (&b), b.len, &err));
  assert_int_equal (err.line, 2);
  kiln_err_clear (&err);
  buf_free (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (continuation_keeps_indent_and_skips_comments),
    cmocka_unit_test (escape_directive_switches_continuation),
    cmocka_unit_test (flags_and_json_forms),
    cmocka_unit_test (errors_name_the_line),
    cmocka_unit_test (long_inputs_parse_in_linear_time),
    cmocka_unit_test (line_too_long_is_an_error),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
