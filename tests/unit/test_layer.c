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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "store/layer.h"
#include "store/store.h"
#include "util/buf.h"

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

static int
collect (void *ud, const void *buf, size_t len, struct kiln_err *err)
{
  (void) err;
  buf_append (ud, buf, len);
  return 0;
}

/* Keeps names ending in "k"; "p*" directories are parents only; skips the rest
 * of "p*" and everything named "s". */
static enum layer_pick
pick_test (void *arg, const char *path, const struct stat *st)
{
  (void) arg;
  const char *base = strrchr (path, '/') ? strrchr (path, '/') + 1 : path;
  if (S_ISDIR (st->st_mode) && base[0] == 'p')
    return LAYER_PARENT_ONLY;
  if (strcmp (base, "s") == 0)
    return LAYER_SKIP;
  return LAYER_KEEP;
}

/* A parents-only directory is written just before the first entry kept below it
 * (with its own mode), and not at all when nothing below is kept. */
static void
pick_writes_parents_only_when_needed (void **state)
{
  (void) state;
  char tmpl[] = "/tmp/kiln-layer-test-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  int root = open (tmpl, O_RDONLY | O_DIRECTORY);
  mkdirat (root, "p1", 0750);
  mkdirat (root, "p1/p2", 0755);
  mkdirat (root, "p3", 0755);
  make_file (root, "p1/p2/k", "keep\n", 0644);
  make_file (root, "p1/s", "skip\n", 0644);
  make_file (root, "p3/s", "skip\n", 0644);
  make_file (root, "s", "skip\n", 0644);
  make_file (root, "zk", "keep\n", 0644);
  fchmodat (root, "p1", 0750, 0);
  /* p4 holds only a socket, which a tar cannot hold: p4 is not written either. */
  mkdirat (root, "p4", 0755);
  int sock = socket (AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s/p4/sock", tmpl);
  assert_int_equal (bind (sock, (struct sockaddr *) &sa, sizeof sa), 0);
  close (sock);
  struct layer_write_opts o = {.clamp_mtime = -1, .pick = pick_test};
  struct buf out = BUF_INIT;
  struct layer_sink sink = {collect, &out};
  struct digest d;
  uint64_t size;
  struct kiln_err err = {0};
  assert_int_equal (layer_write_tar (root, &o, &sink, &d, &size, &err), 0);

  struct archive *a = archive_read_new ();
  archive_read_support_format_tar (a);
  assert_int_equal (archive_read_open_memory (a, out.data, out.len), ARCHIVE_OK);
  struct buf names = BUF_INIT;
  struct archive_entry *e;
  while (archive_read_next_header (a, &e) == ARCHIVE_OK)
    {
      buf_printf (&names, "%s %o\n", archive_entry_pathname (e), (unsigned) archive_entry_perm (e));
      if (strcmp (archive_entry_pathname (e), "p1/p2/k") == 0)
        assert_int_equal (archive_entry_size (e), 5);
    }
  archive_read_free (a);
  assert_string_equal (buf_str (&names), "p1/ 750\np1/p2/ 755\np1/p2/k 644\nzk 644\n");
  buf_free (&names);
  buf_free (&out);
  close (root);
  store_remove_tree (AT_FDCWD, tmpl, &err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (tar_of_a_fixed_tree_never_changes),
    cmocka_unit_test (pick_writes_parents_only_when_needed),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
