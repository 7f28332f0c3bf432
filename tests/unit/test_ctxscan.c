/* Unit tests: context/ctxscan — the context tree read by several threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context/ctxscan.h"
#include "context/ignore.h"

static char root[64];

static void
put (const char *rel, const char *content)
{
  char p[256];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (content, f);
  fclose (f);
}

static void
mk (const char *rel)
{
  char p[256];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  assert_int_equal (mkdir (p, 0755), 0);
}

static struct ctx_node *
scan (const struct ignore_rules *ignore)
{
  int fd = open (root, O_RDONLY | O_DIRECTORY);
  assert_true (fd >= 0);
  struct kiln_err err = {0};
  struct ctx_node *n = ctx_scan (fd, "", ignore, NULL, &err);
  close (fd);
  if (n == NULL)
    print_error ("%s\n", err.msg);
  kiln_err_clear (&err);
  return n;
}

static int
setup (void **state)
{
  (void) state;
  snprintf (root, sizeof root, "/tmp/kiln-ctxscan-XXXXXX");
  assert_non_null (mkdtemp (root));
  /* Enough directories that helper threads take some of them. */
  for (int d = 0; d < 40; d++)
    {
      char dir[32], file[48];
      snprintf (dir, sizeof dir, "d%02d", d);
      mk (dir);
      for (int f = 0; f < 5; f++)
        {
          snprintf (file, sizeof file, "%s/f%d", dir, f);
          put (file, dir);
        }
    }
  mk ("d07/deep");
  put ("d07/deep/x", "x");
  put ("top", "top");
  return 0;
}

static int
teardown (void **state)
{
  (void) state;
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf %s", root);
  return system (cmd);
}

static void
tree_is_whole_and_sorted (void **state)
{
  (void) state;
  struct ctx_node *n = scan (NULL);
  assert_non_null (n);
  assert_int_equal (n->n, 41);
  assert_string_equal (n->ents[0].name, "d00");
  assert_string_equal (n->ents[40].name, "top");
  struct ctx_node *d07 = n->ents[7].sub;
  assert_non_null (d07);
  assert_string_equal (d07->rel, "d07");
  assert_int_equal (d07->n, 6);
  assert_string_equal (d07->ents[0].name, "deep");
  assert_string_equal (d07->ents[0].sub->rel, "d07/deep");
  assert_int_equal (d07->ents[0].sub->n, 1);
  assert_null (n->ents[40].sub);
  ctx_node_free (n);
}

static void
keys_follow_changes_deep_down (void **state)
{
  (void) state;
  struct ctx_node *a = scan (NULL), *b = scan (NULL);
  assert_string_equal (a->key.str, b->key.str);
  ctx_node_free (b);
  usleep (10000);
  put ("d07/deep/x", "y"); /* same size, new mtime */
  b = scan (NULL);
  assert_string_not_equal (a->key.str, b->key.str);
  assert_string_equal (a->ents[8].sub->key.str, b->ents[8].sub->key.str); /* a sibling is unchanged */
  assert_string_not_equal (a->ents[7].sub->key.str, b->ents[7].sub->key.str);
  ctx_node_free (a);
  ctx_node_free (b);
}

static void
ignored_entries_are_left_out (void **state)
{
  (void) state;
  struct kiln_err err = {0};
  const char *text = "d0*\n!d05\ntop\n";
  struct ignore_rules *r = ignore_parse (".dockerignore", text, strlen (text), &err);
  assert_non_null (r);
  struct ctx_node *n = scan (r);
  assert_non_null (n);
  assert_int_equal (n->n, 31); /* d05, d10..d39 */
  assert_string_equal (n->ents[0].name, "d05");
  assert_string_equal (n->ents[1].name, "d10");
  ctx_node_free (n);
  ignore_free (r);
}

static void
an_unreadable_directory_is_an_error_naming_it (void **state)
{
  (void) state;
  if (geteuid () == 0)
    {
      /* root reads anything: a dangling fd instead. */
      struct kiln_err err = {0};
      assert_null (ctx_scan (-1, "ctx", NULL, NULL, &err));
      assert_non_null (strstr (err.msg, "ctx: Bad file descriptor"));
      kiln_err_clear (&err);
      return;
    }
  char p[256];
  snprintf (p, sizeof p, "%s/d03", root);
  chmod (p, 0);
  struct kiln_err err = {0};
  int fd = open (root, O_RDONLY | O_DIRECTORY);
  assert_null (ctx_scan (fd, "", NULL, NULL, &err));
  close (fd);
  assert_non_null (strstr (err.msg, "d03"));
  kiln_err_clear (&err);
  chmod (p, 0755);
}

static void
a_tree_too_deep_is_refused_while_others_scan (void **state)
{
  (void) state;
  int fd = open (root, O_RDONLY | O_DIRECTORY);
  mkdirat (fd, "z", 0755);
  int cur = openat (fd, "z", O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 520; i++)
    {
      mkdirat (cur, "a", 0755);
      int next = openat (cur, "a", O_RDONLY | O_DIRECTORY);
      close (cur);
      cur = next;
    }
  close (cur);
  struct kiln_err err = {0};
  assert_null (ctx_scan (fd, "", NULL, NULL, &err));
  assert_non_null (strstr (err.msg, "z/a/a/a/"));
  assert_non_null (strstr (err.msg, ": too deep"));
  kiln_err_clear (&err);
  close (fd);
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf %s/z", root);
  assert_int_equal (system (cmd), 0);
}

static void
a_wide_tree_needs_few_descriptors (void **state)
{
  (void) state;
  /* 40 directories waiting to be scanned, 24 descriptors in all: waiting ones hold none. */
  struct rlimit old, low;
  assert_int_equal (getrlimit (RLIMIT_NOFILE, &old), 0);
  low = old;
  low.rlim_cur = 24;
  assert_int_equal (setrlimit (RLIMIT_NOFILE, &low), 0);
  struct ctx_node *n = scan (NULL);
  setrlimit (RLIMIT_NOFILE, &old);
  assert_non_null (n);
  assert_int_equal (n->n, 41);
  ctx_node_free (n);
}

/* `d07` + `!d07/deep/x`: d07 stays only as the parent of what the exception keeps;
 * `d08` + `!d08/none` keeps nothing, so d08 goes (BuildKit sends no empty parent). */
static void
an_excluded_directory_is_kept_only_for_what_an_exception_keeps (void **state)
{
  (void) state;
  static const char rules[] = "d07\n!d07/deep/x\nd08\n!d08/none\n";
  struct kiln_err err = {0};
  struct ignore_rules *ign = ignore_parse ("t", rules, sizeof rules - 1, &err);
  assert_non_null (ign);
  struct ctx_node *n = scan (ign);
  assert_non_null (n);
  struct ctx_selection sel = {0};
  ctx_selection_add (&sel, ".", n);
  assert_null (ctx_node_entry (n, "d08"));
  const struct ctx_entry *d07 = ctx_node_entry (n, "d07");
  assert_non_null (d07);
  assert_true (d07->parent_only);
  assert_int_equal (d07->sub->n, 1); /* deep, and none of f0..f4 */
  const struct ctx_node *deep = ctx_selection_find (&sel, "d07/deep");
  assert_non_null (deep);
  assert_int_equal (deep->n, 1);
  assert_string_equal (deep->ents[0].name, "x");
  assert_null (ctx_selection_find (&sel, "d08"));
  assert_non_null (ctx_selection_find (&sel, "./d09/"));
  assert_true (ctx_excluded (ign, NULL, "d07/f0"));
  assert_false (ctx_excluded (ign, NULL, "d07/deep/x"));
  ctx_selection_clear (&sel); /* frees n */
  ignore_free (ign);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (tree_is_whole_and_sorted),
    cmocka_unit_test (keys_follow_changes_deep_down),
    cmocka_unit_test (ignored_entries_are_left_out),
    cmocka_unit_test (an_excluded_directory_is_kept_only_for_what_an_exception_keeps),
    cmocka_unit_test (an_unreadable_directory_is_an_error_naming_it),
    cmocka_unit_test (a_tree_too_deep_is_refused_while_others_scan),
    cmocka_unit_test (a_wide_tree_needs_few_descriptors),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
