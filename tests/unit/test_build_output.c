/* Unit tests: cli/build_output, `kiln build -o` parsed once (the CLI's file is built
 * into this test: the CLI is not in libkiln). */
#include "cli/build_output.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* type, dest (NULL: none) and push of SPEC. */
static void
expect_parse (const char *spec, const char *type, const char *dest, bool push)
{
  struct build_output_flag o;
  build_output_parse (spec, &o);
  assert_string_equal (o.out.type, type);
  if (dest)
    assert_string_equal (o.out.dest, dest);
  else
    assert_null (o.out.dest);
  assert_int_equal (o.push, push);
  build_output_clear (&o);
}

static void
test_fields_and_shorthands (void **state)
{
  (void) state;
  expect_parse ("type=tar,dest=out.tar", "tar", "out.tar", false);
  expect_parse ("dest=d,type=oci", "oci", "d", false);
  expect_parse ("", "local", NULL, false);           /* the build refuses it: no dest */
  expect_parse ("type=foo", "foo", NULL, false);     /* likewise: an unknown type */
  expect_parse ("-", "tar", "-", false);             /* docker: a tar on stdout */
  expect_parse ("out", "local", "out", false);       /* docker: -o DIR */
  expect_parse ("out,type=tar", "tar", "out", false); /* a later type= wins */
  expect_parse ("type=oci,out", "oci", NULL, false);  /* no shorthand once typed */
  expect_parse ("push", "local", "push", true);      /* both, as the two parsers read it */
  expect_parse ("type=image,push=true", "image", NULL, true);
}

/* What build_output_push makes of SPEC: its result and the tags it added. */
static int
push_of (const char *spec, struct strv *tags, struct kiln_err *err)
{
  struct build_output_flag o;
  build_output_parse (spec, &o);
  int r = build_output_push (&o, tags, err);
  build_output_clear (&o);
  return r;
}

static void
test_push (void **state)
{
  (void) state;
  struct kiln_err err = {0};
  struct strv tags = STRV_INIT;
  assert_int_equal (push_of ("type=image", &tags, &err), 0);
  assert_int_equal (push_of ("type=local,dest=x,name=a:1,push", &tags, &err), 0);
  assert_int_equal (tags.n, 0);
  assert_int_equal (push_of ("type=registry", &tags, &err), 1);
  assert_int_equal (tags.n, 0);
  assert_int_equal (push_of ("type=image,push=true,name=x:1,name=", &tags, &err), 1);
  assert_int_equal (push_of ("foo,type=image,push,name=reg.example:5000/y", &tags, &err), 1);
  assert_int_equal (tags.n, 2);
  assert_string_equal (tags.v[0], "docker.io/library/x:1");
  assert_string_equal (tags.v[1], "reg.example:5000/y:latest");
  strv_free (&tags);

  assert_int_equal (push_of ("type=registry,name=Up", &tags, &err), -1);
  assert_int_equal (err.code, KILN_EUSAGE);
  assert_non_null (strstr (err.msg, "--output: invalid name \"Up\": "));
  kiln_err_clear (&err);
  assert_int_equal (push_of ("type=registry,name=a@sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                             &tags, &err),
                    -1);
  assert_non_null (strstr (err.msg, "a tag cannot hold a digest"));
  kiln_err_clear (&err);
  assert_int_equal (tags.n, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_fields_and_shorthands),
    cmocka_unit_test (test_push),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
