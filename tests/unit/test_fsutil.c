/* Unit tests: util/fsutil's open_resolved, the one openat2 of kiln.  The kernel
 * answers EAGAIN to a RESOLVE_IN_ROOT walk through ".." whenever any rename on the
 * host races with it; CI saw a build fail with "Resource temporarily unavailable"
 * on a --mount source of ../.. links while other work renamed files. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fsutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static char dir[64];
static atomic_bool stop;

static void *
renamer (void *arg)
{
  (void) arg;
  char a[96], b[96];
  snprintf (a, sizeof a, "%s/x1", dir);
  snprintf (b, sizeof b, "%s/x2", dir);
  while (!atomic_load (&stop))
    {
      (void) rename (a, b);
      (void) rename (b, a);
    }
  return NULL;
}

static int
root_open (void)
{
  char p[96];
  strcpy (dir, "/tmp/kiln-fsutil-test-XXXXXX");
  assert_non_null (mkdtemp (dir));
  snprintf (p, sizeof p, "%s/root", dir);
  assert_int_equal (mkdir (p, 0755), 0);
  snprintf (p, sizeof p, "%s/root/a", dir);
  assert_int_equal (mkdir (p, 0755), 0);
  snprintf (p, sizeof p, "%s/root/a/b", dir);
  assert_int_equal (mkdir (p, 0755), 0);
  snprintf (p, sizeof p, "%s/x1", dir);
  int fd = open (p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  close (fd);
  snprintf (p, sizeof p, "%s/root", dir);
  fd = open (p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  return fd;
}

static void
root_remove (int root)
{
  close (root);
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal (system (cmd), 0);
}

/* With renames racing, the raw syscall fails with EAGAIN now and then (the
 * control: the race is real here) and open_resolved never does. */
static void
test_rename_race_is_retried (void **state)
{
  (void) state;
  int root = root_open ();
  pthread_t t;
  atomic_store (&stop, false);
  assert_int_equal (pthread_create (&t, NULL, renamer, NULL), 0);

  const char *path = "a/b/../../a/b/../..";
  long raw_eagain = 0;
  for (long i = 0; i < 500000 && raw_eagain == 0; i++)
    {
      struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
      int fd = (int) syscall (SYS_openat2, root, path, &how, sizeof how);
      if (fd >= 0)
        close (fd);
      else if (errno == EAGAIN)
        raw_eagain++;
    }
  long failed = 0;
  for (long i = 0; i < 100000; i++)
    {
      int fd = open_resolved (root, path, O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
      if (fd >= 0)
        close (fd);
      else
        failed++;
    }
  atomic_store (&stop, true);
  pthread_join (t, NULL);
  root_remove (root);
  assert_int_equal (failed, 0);
  /* The control needs the renamer and the walk on two CPUs at once. */
  if (raw_eagain == 0)
    {
      fprintf (stderr, "no EAGAIN from the raw syscall here (one CPU?): the retry was not exercised\n");
      skip ();
    }
}

/* The retry changes nothing else: ".." stays in the root, RESOLVE_BENEATH refuses
 * to leave, a missing name is ENOENT at once, O_CLOEXEC is set. */
static void
test_semantics_kept (void **state)
{
  (void) state;
  int root = root_open ();
  int fd = open_resolved (root, "../../../a", O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT);
  assert_true (fd >= 0);
  assert_true (fcntl (fd, F_GETFD) & FD_CLOEXEC);
  struct stat in, got;
  assert_int_equal (fstatat (root, "a", &in, 0), 0);
  assert_int_equal (fstat (fd, &got), 0);
  assert_true (in.st_ino == got.st_ino);
  close (fd);

  errno = 0;
  assert_int_equal (open_resolved (root, "../x1", O_PATH, 0, RESOLVE_BENEATH), -1);
  assert_int_equal (errno, EXDEV);
  errno = 0;
  assert_int_equal (open_resolved (root, "a/missing", O_RDONLY, 0, RESOLVE_IN_ROOT), -1);
  assert_int_equal (errno, ENOENT);

  fd = open_resolved (root, "/a/new", O_CREAT | O_EXCL | O_WRONLY, 0600, RESOLVE_IN_ROOT);
  assert_true (fd >= 0);
  assert_int_equal (fstat (fd, &got), 0);
  assert_int_equal (got.st_mode & 07777, 0600 & ~0u);
  close (fd);
  root_remove (root);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_rename_race_is_retried),
    cmocka_unit_test (test_semantics_kept),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
