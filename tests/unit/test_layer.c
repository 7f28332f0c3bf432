/* Unit tests: store/layer_write's tar format is frozen. Built layers exist only as
 * snapshots and are regenerated when they leave the machine: if the bytes of the
 * tar ever changed, stored images could no longer be exported. This pins them. */
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
#include <unistd.h>

#include "store/layer.h"
#include "store/store.h"

#define GOLDEN "sha256:dc4b54fdb7882b0606916a2f94d37254b5a2a00a9fe0b4335f9216854404b9e9"
#define GOLDEN_SIZE 5632

static void
make_file (int dfd, const char *name, const char *content, mode_t mode)
{
  int fd = openat (dfd, name, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  fchmod (fd, mode);
  close (fd);
}

static void
tar_of_a_fixed_tree_never_changes (void **state)
{
  (void) state;
  char tmpl[] = "/tmp/kiln-layer-test-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  int root = open (tmpl, O_RDONLY | O_DIRECTORY);
  mkdirat (root, "etc", 0755);
  mkdirat (root, "etc/app", 0700);
  int etc = openat (root, "etc", O_RDONLY | O_DIRECTORY);
  make_file (etc, "greeting", "hello\n", 0644);
  make_file (etc, "app/run", "#!/bin/sh\necho run\n", 0755);
  symlinkat ("greeting", etc, "link");
  linkat (etc, "greeting", etc, "hard", 0);
  mkfifoat (etc, "fifo", 0600);
  /* Fixed owners and times everywhere. */
  const char *paths[] = {"etc", "etc/app", "etc/greeting", "etc/app/run", "etc/link", "etc/fifo"};
  struct timespec t[2] = {{1700000000, 0}, {1700000000, 0}};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
    {
      fchownat (root, paths[i], i == 1 ? 1000 : 0, i == 1 ? 1000 : 0, AT_SYMLINK_NOFOLLOW);
      utimensat (root, paths[i], t, AT_SYMLINK_NOFOLLOW);
    }
  utimensat (root, "etc", t, 0);
  struct layer_write_opts o = {.clamp_mtime = -1};
  struct digest d;
  uint64_t size;
  struct kiln_err err = {0};
  assert_int_equal (layer_write_tar (root, &o, NULL, &d, &size, &err), 0);
  assert_string_equal (d.str, GOLDEN);
  assert_int_equal (size, GOLDEN_SIZE);
  close (etc);
  close (root);
  store_remove_tree (AT_FDCWD, tmpl, &err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (tar_of_a_fixed_tree_never_changes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
