/* Unit tests: util/outfile. The file is built into this test with its O_TMPFILE
 * open replaced, so that the named fallback (file systems that refuse O_TMPFILE)
 * is exercised too. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

static bool refuse_unnamed;

static int
open_unnamed (int dirfd, mode_t mode)
{
  if (refuse_unnamed)
    {
      errno = EOPNOTSUPP;
      return -1;
    }
  return openat (dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
}
#define OUTFILE_OPEN_UNNAMED open_unnamed
#include "util/outfile.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

struct dir
{
  char path[64];
};

static int
setup (void **state)
{
  struct dir *d = xcalloc (1, sizeof *d);
  strcpy (d->path, "/tmp/kiln-outfile-test-XXXXXX");
  assert_non_null (mkdtemp (d->path));
  refuse_unnamed = false;
  *state = d;
  return 0;
}

static int
teardown (void **state)
{
  struct dir *d = *state;
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", d->path);
  assert_int_equal (system (cmd), 0);
  free (d);
  return 0;
}

static char *
at (const struct dir *d, const char *name)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s/%s", d->path, name);
  return buf_steal (&b);
}

/* The names in the directory, sorted, joined by spaces. */
static char *
listing (const struct dir *d)
{
  int fd = open (d->path, O_RDONLY | O_DIRECTORY);
  struct strv names = STRV_INIT;
  assert_int_equal (dir_sorted_names (fd, &names), 0);
  close (fd);
  struct buf b = BUF_INIT;
  for (size_t i = 0; i < names.n; i++)
    buf_printf (&b, "%s%s", i ? " " : "", names.v[i]);
  strv_free (&names);
  return buf_steal (&b);
}

static char *
contents (const char *path)
{
  int fd = open (path, O_RDONLY);
  assert_true (fd >= 0);
  struct buf b = BUF_INIT;
  assert_int_equal (read_all (fd, 1 << 20, &b, path, NULL), 0);
  close (fd);
  return buf_steal (&b);
}

static void
put (const char *path, const char *s)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, s, strlen (s)), (ssize_t) strlen (s));
  close (fd);
}

static void
expect_listing (const struct dir *d, const char *want)
{
  _cleanup_free_ char *got = listing (d);
  assert_string_equal (got, want);
}

static void
expect_contents (const char *path, const char *want)
{
  _cleanup_free_ char *got = contents (path);
  assert_string_equal (got, want);
}

static struct outfile *
open_and_write (const char *path, const char *s)
{
  struct kiln_err err = {0};
  struct outfile *f = outfile_open (path, 0, &err);
  assert_non_null (f);
  assert_int_equal (write_all (outfile_fd (f), s, strlen (s), path, &err), 0);
  return f;
}

static void
new_file_gets_its_name_at_commit (void **state)
{
  struct dir *d = *state;
  _cleanup_free_ char *p = at (d, "f");
  struct outfile *f = open_and_write (p, "new");
  expect_listing (d, "");
  assert_int_equal (outfile_commit (f, NULL), 0);
  expect_listing (d, "f");
  expect_contents (p, "new");
  struct stat sb;
  assert_int_equal (stat (p, &sb), 0);
  mode_t mask = umask (0);
  umask (mask);
  assert_int_equal (sb.st_mode & 07777, 0644 & ~mask);
}

static void
older_file_stays_whole_until_commit (void **state)
{
  struct dir *d = *state;
  _cleanup_free_ char *p = at (d, "f");
  put (p, "old");
  struct outfile *f = open_and_write (p, "new");
  expect_contents (p, "old");
  expect_listing (d, "f");
  assert_int_equal (outfile_commit (f, NULL), 0);
  expect_contents (p, "new");
  expect_listing (d, "f");
}

static void
abort_leaves_no_trace (void **state)
{
  struct dir *d = *state;
  _cleanup_free_ char *p = at (d, "f");
  outfile_abort (open_and_write (p, "new"));
  expect_listing (d, "");
  put (p, "old");
  outfile_abort (open_and_write (p, "new"));
  expect_listing (d, "f");
  expect_contents (p, "old");
}

static void
without_o_tmpfile_a_temporary_name_is_renamed (void **state)
{
  struct dir *d = *state;
  refuse_unnamed = true;
  _cleanup_free_ char *p = at (d, "f");
  put (p, "old");
  struct outfile *f = open_and_write (p, "new");
  char want[64];
  snprintf (want, sizeof want, "f f.kiln-tmp-%d-0", (int) getpid ());
  expect_listing (d, want);
  assert_int_equal (outfile_commit (f, NULL), 0);
  expect_listing (d, "f");
  expect_contents (p, "new");
  outfile_abort (open_and_write (p, "newer"));
  expect_listing (d, "f");
  expect_contents (p, "new");
}

static void
a_socket_is_refused_as_docker_does (void **state)
{
  struct dir *d = *state;
  _cleanup_free_ char *p = at (d, "s");
  int s = socket (AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", p);
  assert_int_equal (bind (s, (struct sockaddr *) &sa, sizeof sa), 0);
  close (s);
  struct kiln_err err = {0};
  assert_null (outfile_open (p, 0, &err));
  char want[128];
  snprintf (want, sizeof want, "invalid output path: \"%s\" must be a directory or a regular file: got a socket", p);
  assert_string_equal (err.msg, want);
  assert_int_equal (err.code, KILN_EINVAL);
  kiln_err_clear (&err);
  /* The same where a directory is wanted (build -o type=local, save --format oci-dir). */
  assert_int_equal (outfile_check (p, OUTFILE_DIR, &err), -1);
  assert_string_equal (err.msg, want);
  kiln_err_clear (&err);
  expect_listing (d, "s");
}

static void
a_directory_or_a_missing_one_is_refused (void **state)
{
  struct dir *d = *state;
  struct kiln_err err = {0};
  assert_null (outfile_open (d->path, 0, &err));
  char want[128];
  snprintf (want, sizeof want, "invalid output path: \"%s\" is a directory, not a file", d->path);
  assert_string_equal (err.msg, want);
  kiln_err_clear (&err);
  assert_int_equal (outfile_check (d->path, OUTFILE_DIR, NULL), 0);
  _cleanup_free_ char *p = at (d, "no/f");
  assert_null (outfile_open (p, 0, &err));
  snprintf (want, sizeof want, "invalid output path: directory \"%s/no\" does not exist", d->path);
  assert_string_equal (err.msg, want);
  kiln_err_clear (&err);
}

static void
a_named_pipe_is_written_in_place (void **state)
{
  struct dir *d = *state;
  _cleanup_free_ char *p = at (d, "pipe");
  assert_int_equal (mkfifo (p, 0600), 0);
  int reader = open (p, O_RDONLY | O_NONBLOCK);
  assert_true (reader >= 0);
  assert_int_equal (outfile_commit (open_and_write (p, "through"), NULL), 0);
  char buf[16] = {0};
  assert_int_equal (read (reader, buf, sizeof buf), 7);
  assert_string_equal (buf, "through");
  close (reader);
  struct stat sb;
  assert_int_equal (lstat (p, &sb), 0);
  assert_true (S_ISFIFO (sb.st_mode));
  expect_listing (d, "pipe");
  /* Where a directory is wanted, a pipe is refused. */
  struct kiln_err err = {0};
  assert_int_equal (outfile_check (p, OUTFILE_DIR, &err), -1);
  assert_non_null (strstr (err.msg, "got a named pipe"));
  kiln_err_clear (&err);
}

static void
a_symlink_is_followed_and_stays (void **state)
{
  struct dir *d = *state;
  _cleanup_free_ char *link = at (d, "link");
  _cleanup_free_ char *sub = at (d, "sub");
  _cleanup_free_ char *target = at (d, "sub/target");
  assert_int_equal (mkdir (sub, 0755), 0);
  assert_int_equal (symlink ("sub/target", link), 0); /* dangling: the target is made */
  assert_int_equal (outfile_commit (open_and_write (link, "one"), NULL), 0);
  expect_contents (target, "one");
  assert_int_equal (outfile_commit (open_and_write (link, "two"), NULL), 0);
  expect_contents (target, "two");
  struct stat sb;
  assert_int_equal (lstat (link, &sb), 0);
  assert_true (S_ISLNK (sb.st_mode));
  expect_listing (d, "link sub");
}

static void
put_writes_a_small_file_and_dash_is_a_name (void **state)
{
  struct dir *d = *state;
  _cleanup_free_ char *p = at (d, "iid");
  assert_int_equal (outfile_put (p, "sha256:x", 8, NULL), 0);
  expect_contents (p, "sha256:x");
  /* Without OUTFILE_STDOUT, "-" is a file name like any other. */
  assert_int_equal (chdir (d->path), 0);
  assert_int_equal (outfile_put ("-", "y", 1, NULL), 0);
  expect_listing (d, "- iid");
  assert_int_equal (chdir ("/"), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (new_file_gets_its_name_at_commit, setup, teardown),
    cmocka_unit_test_setup_teardown (older_file_stays_whole_until_commit, setup, teardown),
    cmocka_unit_test_setup_teardown (abort_leaves_no_trace, setup, teardown),
    cmocka_unit_test_setup_teardown (without_o_tmpfile_a_temporary_name_is_renamed, setup, teardown),
    cmocka_unit_test_setup_teardown (a_socket_is_refused_as_docker_does, setup, teardown),
    cmocka_unit_test_setup_teardown (a_directory_or_a_missing_one_is_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (a_named_pipe_is_written_in_place, setup, teardown),
    cmocka_unit_test_setup_teardown (a_symlink_is_followed_and_stays, setup, teardown),
    cmocka_unit_test_setup_teardown (put_writes_a_small_file_and_dash_is_a_name, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
