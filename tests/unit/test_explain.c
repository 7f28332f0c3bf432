/* Unit tests: solver/explain's diff of two steps' key material — which change a
 * cache miss is put down to, and how plain progress words it. */
#include "solver/explain.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static json_t *
info (const char *text)
{
  json_t *j = json_loads (text, 0, NULL);
  assert_non_null (j);
  return j;
}

/* The reasons of diffing old and new, each as its text, joined by "\n". */
static char *
diff_text (const char *old, const char *new, bool *differs)
{
  json_t *o = info (old), *n = info (new), *r = json_array ();
  *differs = explain_diff (o, n, r);
  struct buf out = BUF_INIT;
  size_t i;
  json_t *x;
  json_array_foreach (r, i, x)
  {
    if (i)
      buf_putc (&out, '\n');
    explain_text (x, &out);
  }
  json_decref (o);
  json_decref (n);
  json_decref (r);
  return buf_steal (&out);
}

static void
same_material_is_the_parents_business (void **state)
{
  (void) state;
  bool d;
  char *t = diff_text ("{\"parent\":\"p1\",\"text\":\"RUN x\",\"material\":\"m\"}",
                       "{\"parent\":\"p2\",\"text\":\"RUN x\",\"material\":\"m\"}", &d);
  assert_false (d);
  assert_string_equal (t, "");
  free (t);
}

static void
context_file_changed_added_removed (void **state)
{
  (void) state;
  bool d;
  char *t = diff_text (
      "{\"text\":\"COPY . /\",\"material\":\"a\",\"files\":{\"a\":\"sha256:1\",\"b\":\"sha256:2\",\"keep\":\"sha256:k\"}}",
      "{\"text\":\"COPY . /\",\"material\":\"b\",\"files\":{\"a\":\"sha256:9\",\"c\":\"sha256:3\",\"keep\":\"sha256:k\"}}", &d);
  assert_true (d);
  assert_string_equal (t, "context file a changed: sha256:1 -> sha256:9\n"
                          "context file b removed: was sha256:2\n"
                          "context file c added: sha256:3");
  free (t);
}

static void
many_files_are_cut_short (void **state)
{
  (void) state;
  struct buf o = BUF_INIT, n = BUF_INIT;
  buf_puts (&o, "{\"text\":\"COPY . /\",\"material\":\"a\",\"files\":{");
  buf_puts (&n, "{\"text\":\"COPY . /\",\"material\":\"b\",\"files\":{");
  for (int i = 0; i < EXPLAIN_MAX_FILES + 5; i++)
    {
      buf_printf (&o, "%s\"f%02d\":\"sha256:old\"", i ? "," : "", i);
      buf_printf (&n, "%s\"f%02d\":\"sha256:new\"", i ? "," : "", i);
    }
  buf_puts (&o, "}}");
  buf_puts (&n, "}}");
  bool d;
  char *t = diff_text (buf_str (&o), buf_str (&n), &d);
  assert_true (d);
  assert_non_null (strstr (t, "context file f09 changed"));
  assert_null (strstr (t, "context file f10 changed"));
  assert_non_null (strstr (t, "and 5 more context files changed"));
  free (t);
  buf_free (&o);
  buf_free (&n);
}

static void
build_arg_changed_set_unset (void **state)
{
  (void) state;
  bool d;
  char *t = diff_text ("{\"text\":\"RUN make\",\"material\":\"1\",\"args\":{\"V\":\"1\",\"GONE\":\"x\"}}",
                       "{\"text\":\"RUN make\",\"material\":\"2\",\"args\":{\"V\":\"2\",\"NEW\":\"y\"}}", &d);
  assert_true (d);
  assert_string_equal (t, "build arg GONE changed: \"x\" -> (unset)\n"
                          "build arg NEW changed: (unset) -> \"y\"\n"
                          "build arg V changed: \"1\" -> \"2\"");
  free (t);
}

static void
instruction_changed_hides_args (void **state)
{
  (void) state;
  bool d;
  char *t = diff_text ("{\"text\":\"RUN echo hi\",\"material\":\"1\",\"args\":{\"V\":\"1\"}}",
                       "{\"text\":\"RUN echo ho\",\"material\":\"2\",\"args\":{\"V\":\"2\"}}", &d);
  assert_true (d);
  assert_string_equal (t, "instruction changed: RUN echo hi -> RUN echo ho");
  free (t);
}

static void
other_inputs_named_by_field (void **state)
{
  (void) state;
  bool d;
  char *t = diff_text ("{\"text\":\"RUN x\",\"material\":\"{\\\"argv\\\":[\\\"x\\\"],\\\"user\\\":\\\"root\\\"}\"}",
                       "{\"text\":\"RUN x\",\"material\":\"{\\\"argv\\\":[\\\"x\\\"],\\\"user\\\":\\\"app\\\"}\"}", &d);
  assert_true (d);
  assert_string_equal (t, "step input changed: user");
  free (t);
  t = diff_text ("{\"text\":\"WORKDIR /a\",\"material\":\"mkdir\\n/a\\nroot\"}",
                 "{\"text\":\"WORKDIR /a\",\"material\":\"mkdir\\n/a\\napp\"}", &d);
  assert_true (d);
  assert_string_equal (t, "step input changed: material");
  free (t);
}

static void
reason_texts (void **state)
{
  (void) state;
  struct
  {
    const char *json, *text;
  } cases[] = {
      {"{\"type\":\"base\",\"name\":\"busybox\",\"old\":\"sha256:a\",\"new\":\"sha256:b\"}",
       "base image busybox changed: sha256:a -> sha256:b"},
      {"{\"type\":\"arg\",\"name\":\"V\",\"old\":\"1\",\"new\":\"2\",\"at\":\"RUN a\"}",
       "build arg V changed: \"1\" -> \"2\" (at RUN a)"},
      {"{\"type\":\"gone\"}", "the earlier result's layer is no longer in the store"},
      {"{\"type\":\"unknown\"}", "the earlier build's record has no key material (made by an older kiln)"},
      {"{}", "the earlier build's record has no key material (made by an older kiln)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      json_t *r = info (cases[i].json);
      struct buf out = BUF_INIT;
      explain_text (r, &out);
      assert_string_equal (buf_str (&out), cases[i].text);
      buf_free (&out);
      json_decref (r);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test (same_material_is_the_parents_business),
      cmocka_unit_test (context_file_changed_added_removed),
      cmocka_unit_test (many_files_are_cut_short),
      cmocka_unit_test (build_arg_changed_set_unset),
      cmocka_unit_test (instruction_changed_hides_args),
      cmocka_unit_test (other_inputs_named_by_field),
      cmocka_unit_test (reason_texts),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
