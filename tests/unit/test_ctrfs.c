/* Unit tests: container/ctrfs's docker cp rule (where SRC lands at DEST). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "container/ctrfs.h"

static void
plan (const char *src, bool src_dir, const char *dst, bool exists, bool is_dir, const char *want_dir,
      const char *want_name, const char *want_err)
{
  char *dir, *name;
  struct kiln_err err = {0};
  int r = ctr_cp_plan (src, src_dir, dst, exists, is_dir, &dir, &name, &err);
  if (want_err)
    {
      assert_int_equal (r, -1);
      assert_string_equal (err.msg, want_err);
      kiln_err_clear (&err);
      return;
    }
  assert_int_equal (r, 0);
  assert_string_equal (dir, want_dir);
  assert_string_equal (name, want_name);
  free (dir);
  free (name);
}

static void
dockers_cp_rules (void **state)
{
  (void) state;
  /* a file */
  plan ("/etc/hosts", false, "/tmp/out", false, false, "/tmp", "out", NULL);          /* a new name */
  plan ("/etc/hosts", false, "/tmp/out", true, false, "/tmp", "out", NULL);           /* overwritten */
  plan ("/etc/hosts", false, "/tmp", true, true, "/tmp", "hosts", NULL);              /* into a directory */
  plan ("/etc/hosts", false, "out", false, false, ".", "out", NULL);                  /* relative */
  plan ("/etc/hosts", false, "/tmp/new/", false, false, NULL, NULL, "no such directory");
  plan ("/etc/hosts/", false, "/tmp", true, true, NULL, NULL, "not a directory");
  plan ("/etc/hosts/.", false, "/tmp", true, true, NULL, NULL, "not a directory");
  /* a directory */
  plan ("/etc", true, "/tmp/x", false, false, "/tmp", "x", NULL);                    /* becomes DEST */
  plan ("/etc", true, "/tmp", true, true, "/tmp", "etc", NULL);                      /* lands under its name */
  plan ("/etc/", true, "/tmp/", true, true, "/tmp/", "etc", NULL);
  plan ("/etc/.", true, "/tmp", true, true, "/tmp", "", NULL);                       /* its contents */
  plan ("/etc/.", true, "/tmp/x", false, false, "/tmp", "x", NULL);
  plan ("/etc", true, "/tmp/file", true, false, NULL, NULL, "cannot copy directory");
  plan ("/", true, "/tmp", true, true, "/tmp", "", NULL);                            /* the root: contents */
  plan ("/etc", true, "/", true, true, "/", "etc", NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test (dockers_cp_rules)};
  return cmocka_run_group_tests (tests, NULL, NULL);
}
