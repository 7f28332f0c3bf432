/* Unit tests: container/psfilter (ps --filter: parsing, docker's messages, AND across
 * keys and OR within one) and container/changes (diff and size of an upper dir). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/changes.h"
#include "container/psfilter.h"
#include "util/cleanup.h"
#include "util/regex.h"

static void
expect_error (const char *arg, const char *msg)
{
  struct psfilter f;
  psfilter_init (&f);
  struct kiln_err err = {0};
  assert_int_equal (psfilter_add (&f, arg, &err), -1);
  assert_string_equal (err.msg, msg);
  kiln_err_clear (&err);
  psfilter_clear (&f);
}

static void
bad_filters_get_dockers_messages (void **state)
{
  (void) state;
  expect_error ("status", "bad format of filter (expected name=value)");
  expect_error ("=x", "bad format of filter (expected name=value)");
  expect_error ("colour=red", "invalid filter 'colour'");
  expect_error ("status=rubbish", "invalid filter 'status=rubbish'");
  expect_error ("health=fine", "invalid filter 'health=fine'");
  expect_error ("exited=abc", "invalid filter 'exited=abc'");
  expect_error ("exited=", "invalid filter 'exited='");
  expect_error ("is-task=maybe", "invalid filter 'is-task=maybe'");
}

static json_t *
container (const char *id, const char *name, const char *state, const char *labels_json, const char *health)
{
  json_t *s = json_pack ("{s:s, s:[s], s:s, s:o}", "ID", id, "Names", name, "State", state, "Labels",
                         json_loads (labels_json, 0, NULL));
  if (health)
    json_object_set_new (s, "Health", json_pack ("{s:s}", "Status", health));
  return s;
}

static bool
matches (const char *const *args, const json_t *summary, int exit_code, int64_t created)
{
  struct psfilter f;
  psfilter_init (&f);
  struct kiln_err err = {0};
  for (; *args; args++)
    assert_int_equal (psfilter_add (&f, *args, &err), 0);
  struct psfilter_item it = {.summary = summary, .created = created, .exit_code = exit_code, .has_run = true};
  bool m = psfilter_match (&f, &it);
  psfilter_clear (&f);
  return m;
}

#define M(s, code, ...) matches ((const char *const[]){__VA_ARGS__, NULL}, s, code, 100)

static void
and_across_keys_or_within_one (void **state)
{
  (void) state;
  _cleanup_json_ json_t *web = container ("abc123", "/web-1", "running", "{\"tier\":\"front\",\"x\":\"\"}", "healthy");
  _cleanup_json_ json_t *job = container ("def456", "/job", "exited", "{}", NULL);
  assert_true (M (web, 0, "status=running"));
  assert_true (M (web, 0, "status=exited", "status=running")); /* OR within status */
  assert_false (M (web, 0, "status=running", "name=job"));     /* AND across keys */
  assert_true (M (web, 0, "name=web"));                        /* a regexp, anywhere */
  assert_true (M (web, 0, "name=^web"));                       /* the name without its "/" */
  assert_true (M (web, 0, "name=^/web-1$"));
  assert_false (M (web, 0, "name=^eb"));
  assert_false (M (web, 0, "name=["));                         /* a bad regexp matches nothing */
  assert_true (M (web, 0, "id=abc"));
  assert_false (M (web, 0, "id=def"));
  assert_true (M (web, 0, "label=tier"));
  assert_true (M (web, 0, "label=tier=front"));
  assert_false (M (web, 0, "label=tier=back"));
  assert_true (M (web, 0, "label=x="));                        /* an empty value is a value */
  assert_true (M (web, 0, "label=tier", "label=nope"));
  assert_true (M (web, 0, "health=healthy"));
  assert_false (M (web, 0, "health=none"));
  assert_true (M (job, 0, "health=none"));
  assert_true (M (job, 3, "exited=3"));
  assert_true (M (job, 3, "exited=0", "exited=3"));
  assert_false (M (job, 3, "exited=0"));
  assert_false (M (web, 0, "exited=0"));                       /* running: not exited */
  assert_true (M (web, 0, "is-task=false"));
  assert_false (M (web, 0, "is-task=true"));
  assert_true (M (web, 0, "STATUS=running"));                  /* keys are case-insensitive */
}

static void
before_and_since_are_strict_bounds (void **state)
{
  (void) state;
  _cleanup_json_ json_t *c = container ("abc", "/c", "running", "{}", NULL);
  struct psfilter f;
  psfilter_init (&f);
  struct psfilter_item it = {.summary = c, .created = 100};
  assert_true (psfilter_match (&f, &it));
  f.before = 100;
  assert_false (psfilter_match (&f, &it));
  f.before = 101;
  assert_true (psfilter_match (&f, &it));
  f.since = 100;
  assert_false (psfilter_match (&f, &it));
  f.since = 99;
  assert_true (psfilter_match (&f, &it));
  psfilter_clear (&f);
}

static void
write_file (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

static void
changes_of_an_upper_dir (void **state)
{
  (void) state;
  char tmpl[] = "/tmp/kiln-changes-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  char lower[4096], upper[4096], p[4200];
  snprintf (lower, sizeof lower, "%s/lower", tmpl);
  snprintf (upper, sizeof upper, "%s/upper", tmpl);
  assert_int_equal (mkdir (lower, 0755), 0);
  assert_int_equal (mkdir (upper, 0755), 0);
  snprintf (p, sizeof p, "%s/etc", lower), mkdir (p, 0755);
  snprintf (p, sizeof p, "%s/etc/passwd", lower), write_file (p, "root\n");
  snprintf (p, sizeof p, "%s/gone", lower), write_file (p, "x");
  snprintf (p, sizeof p, "%s/etc", upper), mkdir (p, 0755);
  snprintf (p, sizeof p, "%s/etc/passwd", upper), write_file (p, "root\nme\n");       /* 8 bytes */
  snprintf (p, sizeof p, "%s/etc/new", upper), write_file (p, "abc");               /* 3 */
  char hard[4200];
  snprintf (hard, sizeof hard, "%s/etc/new2", upper);
  assert_int_equal (link (p, hard), 0);                                             /* counted once */
  /* the sandbox's mount points are not changes (docker's init layer) */
  snprintf (p, sizeof p, "%s/etc/resolv.conf", upper), write_file (p, "");
  snprintf (p, sizeof p, "%s/proc", upper), mkdir (p, 0755);
  snprintf (p, sizeof p, "%s/gone", upper);
  int have_whiteout = mknod (p, S_IFCHR | 0000, makedev (0, 0)) == 0;
  _cleanup_strv_ struct strv lowers = STRV_INIT, lines = STRV_INIT;
  strv_push (&lowers, lower);
  struct kiln_err err = {0};
  assert_int_equal (container_changes (upper, &lowers, &lines, &err), 0);
  size_t k = 0;
  assert_string_equal (lines.v[k++], "C /etc");
  assert_string_equal (lines.v[k++], "A /etc/new");
  assert_string_equal (lines.v[k++], "A /etc/new2");
  assert_string_equal (lines.v[k++], "C /etc/passwd");
  if (have_whiteout)
    assert_string_equal (lines.v[k++], "D /gone");
  assert_int_equal (lines.n, k);
  uint64_t size = 0;
  assert_int_equal (container_rw_size (upper, &size, &err), 0);
  assert_int_equal (size, 11);
  char missing[4200];
  snprintf (missing, sizeof missing, "%s/none", tmpl);
  assert_int_equal (container_rw_size (missing, &size, &err), 0);
  assert_int_equal (size, 0);
  char cmd[4300];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpl);
  assert_int_equal (system (cmd), 0);
}

/* A filter's pattern is compiled with a bound: what would make glibc copy a tree
 * into gigabytes is refused at once (fuzz_psflags found "na+++…" taking 2 GB). */
static void
hostile_patterns_are_refused_before_regcomp (void **state)
{
  (void) state;
  static const char *const ok[] = {"^web", "shp-(run|exit)$", "a+b*c?", "a+?", "x{2,5}", "[a-z]+[]x]", "(ab)+"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    {
      regex_t r;
      assert_int_equal (regex_compile (&r, ok[i]), 0);
      regfree (&r);
    }
  char nested[200] = "na";
  memset (nested + 2, '+', 150);
  char groups[300] = "";
  for (int i = 0; i < 40; i++)
    strcat (groups, "(");
  strcat (groups, "a");
  for (int i = 0; i < 40; i++)
    strcat (groups, ")+");
  /* A repeat count strtol saturates (fuzz_psflags: "Z{6666…6," overflowed m + 1). */
  static const char *const refused[] = {"a{1000}{1000}", "a{1001}",   "a++",
                                        "a*+",           "(a",        "a)",
                                        "[ab",           "Z{66666666666666666666666666666,",
                                        "Z{66666666666666666666666666666,}", "Z{-9223372036854775808,}"};
  regex_t r;
  assert_int_equal (regex_compile (&r, nested), -1);
  assert_int_equal (regex_compile (&r, groups), -1);
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    assert_int_equal (regex_compile (&r, refused[i]), -1);
}

static void
a_regex_set_compiles_each_pattern_once (void **state)
{
  (void) state;
  struct regex_set s = REGEX_SET_INIT;
  regex_set_add (&s, "^web");
  regex_set_add (&s, "^web");
  regex_set_add (&s, "a++");
  assert_int_equal (s.n, 2);
  assert_int_equal (regex_set_match (&s, "^web", "web-1"), 1);
  assert_int_equal (regex_set_match (&s, "^web", "db"), 0);
  assert_int_equal (regex_set_match (&s, "a++", "aa"), -1);   /* refused: the caller decides */
  assert_int_equal (regex_set_match (&s, "never", "never"), -1); /* not added */
  regex_set_clear (&s);
  assert_int_equal (s.n, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (bad_filters_get_dockers_messages),
    cmocka_unit_test (hostile_patterns_are_refused_before_regcomp),
    cmocka_unit_test (a_regex_set_compiles_each_pattern_once),
    cmocka_unit_test (and_across_keys_or_within_one),
    cmocka_unit_test (before_and_since_are_strict_bounds),
    cmocka_unit_test (changes_of_an_upper_dir),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
