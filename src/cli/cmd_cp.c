/* cli/cmd_cp.c — files in and out of a container: cp (both directions, docker's archive
 * rules) and export (the whole filesystem as a tar).  Every container path is resolved
 * inside the container's root (container/ctrfs.h). */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/ctrfs.h"
#include "store/containers.h"
#include "store/layer.h"
#include "store/store.h"
#include "util/fsutil.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/outfile.h"

const char cmd_cp_usage[]
    = "Usage: kiln cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
      "       kiln cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n"
      "\n"
      "Copies files between a container and the host, as docker cp does: a directory\n"
      "into an existing directory lands under its own name, SRC/. copies its contents;\n"
      "\"-\" is a tar stream on standard input or output.  Container paths are resolved\n"
      "inside the container's root: no symlink in it leads out.\n"
      "\n"
      "  -a, --archive       keep owners (default: files copied in belong to root)\n"
      "  -L, --follow-link   follow a symlink at SRC_PATH\n"
      "  -q, --quiet         (accepted; kiln prints no progress)\n";

/* openat2 inside the container's root */
static int
open_in_root (int root, const char *path, int flags)
{
  return open_resolved (root, *path ? path : "/", flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* docker's split of a cp argument: a path that starts with "/" or "." is local, else
 * CONTAINER:PATH when it has a colon. */
static bool
split_arg (const char *arg, char **ctr, const char **path)
{
  const char *colon = strchr (arg, ':');
  if (arg[0] == '/' || arg[0] == '.' || colon == NULL)
    {
      *ctr = NULL;
      *path = arg;
      return false;
    }
  *ctr = xstrndup (arg, (size_t) (colon - arg));
  *path = colon + 1;
  return true;
}

/* A path with a trailing "/." (or "/") cut to what it names: "a/." → "a". */
static char *
target_of (const char *p)
{
  size_t n = strlen (p);
  if (n >= 2 && strcmp (p + n - 2, "/.") == 0)
    n -= 2;
  while (n > 1 && p[n - 1] == '/')
    n--;
  return xstrndup (p, n ? n : 1);
}

static void
not_found_in (const char *path, const char *ctr)
{
  fprintf (stderr, "Error: Could not find the file %s in container %s\n", path, ctr);
}

/* ---------- out: CONTAINER:SRC → DEST */

static int
copy_out (struct kiln_store *st, const char *ref, const char *src, const char *dst, bool archive_mode, bool follow)
{
  struct container_rec rec;
  if (cli_find_container (st, ref, &rec) < 0)
    return EXIT_FAIL;
  struct kiln_err err = {0};
  struct ctr_root root;
  int rc = EXIT_FAIL;
  if (ctr_root_open (st, rec.id, &root, &err) < 0)
    {
      container_rec_clear (&rec);
      return cli_fail (&err);
    }
  _cleanup_free_ char *what = target_of (src), *dir = NULL, *name = NULL;
  _cleanup_close_ int dfd = -1;
  bool contents = strlen (src) >= 2 && strcmp (src + strlen (src) - 2, "/.") == 0;
  _cleanup_close_ int sfd = open_in_root (root.fd, what, O_PATH | (follow ? 0 : O_NOFOLLOW));
  struct stat sst;
  if (sfd < 0 || fstat (sfd, &sst) < 0)
    {
      not_found_in (src, ref);
      goto out;
    }
  if (strcmp (dst, "-") == 0)
    {
      if (isatty (1))
        {
          fprintf (stderr, "Error: cowardly refusing to write a tar to a terminal; redirect it\n");
          goto out;
        }
      char *base = strrchr (what, '/');
      const char *as = contents || strcmp (what, "/") == 0 ? "" : base ? base + 1 : what;
      struct archive *a = ctr_tar_writer (1, &err);
      struct ctr_tar_opts o = {.as = as, .follow = follow, .no_mounts = true};
      if (a == NULL || ctr_tar_tree (a, sfd, NULL, &o, &err) < 0)
        {
          if (a)
            archive_write_free (a);
          rc = cli_fail (&err);
        }
      else
        rc = ctr_tar_close (a, &err) < 0 ? cli_fail (&err) : EXIT_OK;
      goto out;
    }
  struct stat dst_st;
  bool dst_exists = stat (dst, &dst_st) == 0;
  if (!dst_exists && errno != ENOENT)
    {
      fprintf (stderr, "Error: %s: %s\n", dst, strerror (errno));
      goto out;
    }
  if (ctr_cp_plan (src, S_ISDIR (sst.st_mode), dst, dst_exists, dst_exists && S_ISDIR (dst_st.st_mode), &dir, &name,
                   &err)
      < 0)
    {
      fprintf (stderr, "Error: %s\n", err.msg);
      kiln_err_clear (&err);
      goto out;
    }
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      fprintf (stderr, "Error: %s: %s\n", dir, strerror (errno));
      goto out;
    }
  /* the host side is the user's: libarchive writes it, relative to the destination,
   * never through a symlink it made itself or out by ".." */
  int cwd = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct archive *a = archive_write_disk_new ();
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS
              | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK;
  if (archive_mode)
    flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options (a, flags);
  struct ctr_tar_opts o = {.as = name, .follow = follow, .no_mounts = true};
  if (fchdir (dfd) < 0)
    rc = (kiln_err_set (&err, errno, "%s: %s", dir, strerror (errno)), cli_fail (&err));
  else if (ctr_tar_tree (a, sfd, NULL, &o, &err) < 0)
    rc = cli_fail (&err);
  else if (archive_write_close (a) != ARCHIVE_OK)
    {
      fprintf (stderr, "Error: %s\n", archive_error_string (a));
      rc = EXIT_FAIL;
    }
  else
    rc = EXIT_OK;
  archive_write_free (a);
  if (cwd >= 0)
    {
      if (fchdir (cwd) < 0)
        rc = EXIT_FAIL;
      close (cwd);
    }
out:
  ctr_root_close (&root);
  container_rec_clear (&rec);
  return rc;
}

/* ---------- in: SRC → CONTAINER:DEST */

static bool
readonly_rootfs (struct kiln_store *st, const char *id)
{
  _cleanup_free_ char *p = container_path (store_root (st), id, "config.json");
  json_t *cfg = json_load_file (p, 0, NULL);
  bool ro = json_is_true (json_object_get (json_object_get (cfg, "HostConfig"), "ReadonlyRootfs"));
  json_decref (cfg);
  return ro;
}

struct producer
{
  int out;              /* the pipe's write end */
  int src_fd;           /* a host tree (O_PATH), or -1: the tar on standard input */
  const char *as;
  bool follow, as_root;
  int ret;
  bool reader_gone; /* it failed because the applier stopped reading (its error says why) */
  struct kiln_err err;
};

static void *
produce (void *arg)
{
  struct producer *p = arg;
  /* the applier stops reading at a bad entry: a write then fails with EPIPE here
   * instead of SIGPIPE ending kiln without a word */
  sigset_t pipe_sig;
  sigemptyset (&pipe_sig);
  sigaddset (&pipe_sig, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_sig, NULL);
  struct archive *a = ctr_tar_writer (p->out, &p->err);
  p->ret = -1;
  if (a)
    {
      struct ctr_tar_opts o = {.as = p->as, .follow = p->follow, .as_root = p->as_root, .no_whiteouts = true};
      int r = p->src_fd >= 0 ? ctr_tar_tree (a, p->src_fd, NULL, &o, &p->err) : ctr_tar_copy (0, a, p->as_root, &p->err);
      if (r == 0)
        /* every entry went through: only the trailer can fail, when the applier is gone */
        p->reader_gone = (p->ret = ctr_tar_close (a, &p->err)) < 0;
      else
        {
          p->reader_gone = archive_errno (a) == EPIPE;
          archive_write_free (a);
        }
    }
  close (p->out);
  return NULL;
}

static int
copy_in (struct kiln_store *st, const char *src, const char *ref, const char *dst, bool archive_mode, bool follow)
{
  struct kiln_err err = {0};
  bool from_stdin = strcmp (src, "-") == 0;
  _cleanup_free_ char *what = from_stdin ? NULL : target_of (src);
  _cleanup_close_ int sfd = -1;
  struct stat sst = {0};
  if (!from_stdin)
    {
      sfd = open (what, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
      if (sfd < 0 || fstat (sfd, &sst) < 0)
        {
          fprintf (stderr, "Error: lstat %s: %s\n", what, strerror (errno));
          return EXIT_FAIL;
        }
    }
  else if (isatty (0))
    {
      fprintf (stderr, "Error: cowardly refusing to read a tar from a terminal\n");
      return EXIT_FAIL;
    }
  struct container_rec rec;
  if (cli_find_container (st, ref, &rec) < 0)
    return EXIT_FAIL;
  if (readonly_rootfs (st, rec.id))
    {
      /* docker's check; what is mounted rw in it (volumes) is not told apart yet */
      fprintf (stderr, "Error: container rootfs is marked read-only\n");
      container_rec_clear (&rec);
      return EXIT_FAIL;
    }
  struct ctr_root root;
  if (ctr_root_open (st, rec.id, &root, &err) < 0)
    {
      container_rec_clear (&rec);
      return cli_fail (&err);
    }
  int rc = EXIT_FAIL;
  _cleanup_free_ char *dir = NULL, *name = NULL;
  _cleanup_close_ int dst_fd = open_in_root (root.fd, dst, O_PATH);
  struct stat dst_st;
  bool dst_exists = dst_fd >= 0 && fstat (dst_fd, &dst_st) == 0;
  if (from_stdin)
    {
      if (!dst_exists || !S_ISDIR (dst_st.st_mode))
        {
          fprintf (stderr, dst_exists ? "Error: extraction point is not a directory\n"
                                      : "Error: Could not find the file %s in container %s\n",
                   dst, ref);
          goto out;
        }
      dir = xstrdup (dst);
      name = xstrdup ("");
    }
  else if (ctr_cp_plan (src, S_ISDIR (sst.st_mode), dst, dst_exists, dst_exists && S_ISDIR (dst_st.st_mode), &dir,
                        &name, &err)
           < 0)
    {
      fprintf (stderr, "Error: %s\n", err.msg);
      kiln_err_clear (&err);
      goto out;
    }
  {
    _cleanup_close_ int into = open_in_root (root.fd, dir, O_RDONLY | O_DIRECTORY);
    if (into < 0)
      {
        not_found_in (dir, ref);
        goto out;
      }
    int p[2];
    if (pipe2 (p, O_CLOEXEC) < 0)
      {
        kiln_err_set (&err, errno, "pipe: %s", strerror (errno));
        rc = cli_fail (&err);
        goto out;
      }
    /* the tar is made by a thread and applied as it comes, every path of it resolved
     * inside the destination (store/layer.h) */
    struct producer pr = {.out = p[1], .src_fd = sfd, .as = name, .follow = follow, .as_root = !archive_mode};
    pthread_t t;
    if (pthread_create (&t, NULL, produce, &pr) != 0)
      {
        close (p[0]);
        close (p[1]);
        fprintf (stderr, "Error: cannot start a thread\n");
        goto out;
      }
    int r = layer_apply_tar (into, p[0], NULL, NULL, NULL, &err);
    close (p[0]);
    pthread_join (t, NULL);
    if (pr.ret < 0 && !(pr.reader_gone && r < 0))
      rc = cli_fail (&pr.err);
    else if (r < 0)
      rc = cli_fail (&err);
    else
      rc = EXIT_OK;
    kiln_err_clear (&pr.err);
    kiln_err_clear (&err);
  }
out:
  ctr_root_close (&root);
  container_rec_clear (&rec);
  return rc;
}

int
cmd_cp (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"archive", no_argument, NULL, 'a'},
                                       {"follow-link", no_argument, NULL, 'L'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {0}};
  bool archive_mode = false, follow = false;
  int c;
  while ((c = getopt_long (argc, argv, "aLq", opts, NULL)) != -1)
    switch (c)
      {
      case 'a': archive_mode = true; break;
      case 'L': follow = true; break;
      case 'q': break;
      default: return cli_usage_error ("cp", "unknown option");
      }
  if (optind + 2 != argc)
    return cli_usage_error ("cp", "requires exactly 2 arguments");
  _cleanup_free_ char *sctr = NULL, *dctr = NULL;
  const char *spath, *dpath;
  bool s_in = split_arg (argv[optind], &sctr, &spath), d_in = split_arg (argv[optind + 1], &dctr, &dpath);
  if (s_in && d_in)
    return fprintf (stderr, "Error: copying between containers is not supported\n"), EXIT_FAIL;
  if (!s_in && !d_in)
    return fprintf (stderr, "Error: must specify at least one container source\n"), EXIT_FAIL;
  if ((s_in && *spath == 0) || (d_in && *dpath == 0))
    return fprintf (stderr, "Error: filepath can not be empty\n"), EXIT_FAIL;
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  return s_in ? copy_out (st, sctr, spath, dpath, archive_mode, follow)
              : copy_in (st, spath, dctr, dpath, archive_mode, follow);
}

/* ---------- export */

const char cmd_export_usage[] = "Usage: kiln export [-o FILE] CONTAINER\n"
                                "\n"
                                "Writes the container's filesystem (its image's layers with its own changes,\n"
                                "without what is mounted in it) as a tar, to FILE or standard output.\n"
                                "\n"
                                "  -o, --output FILE   write to FILE instead of standard output\n";

int
cmd_export (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"output", required_argument, NULL, 'o'}, {0}};
  const char *output = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "o:", opts, NULL)) != -1)
    if (c == 'o')
      output = optarg;
    else
      return cli_usage_error ("export", "unknown option");
  if (optind + 1 != argc)
    return cli_usage_error ("export", "requires exactly 1 argument");
  if ((output == NULL || strcmp (output, "-") == 0) && isatty (1))
    return fprintf (stderr, "Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n"),
           EXIT_FAIL;
  struct kiln_err err = {0};
  if (output && outfile_check (output, OUTFILE_STDOUT, &err) < 0)
    return cli_fail (&err);
  _cleanup_store_ struct kiln_store *st = NULL;
  struct container_rec rec;
  int opened = cli_open_container (ctx, argv[optind], &st, &rec);
  if (opened != EXIT_OK)
    return opened;
  struct ctr_root root;
  int rc = EXIT_FAIL;
  if (ctr_root_open (st, rec.id, &root, &err) < 0)
    {
      container_rec_clear (&rec);
      return cli_fail (&err);
    }
  struct outfile *of = output ? outfile_open (output, OUTFILE_STDOUT, &err) : NULL;
  if (output == NULL || of)
    {
      struct archive *a = ctr_tar_writer (of ? outfile_fd (of) : 1, &err);
      struct ctr_tar_opts o = {.as = "", .no_mounts = true};
      if (a && ctr_tar_tree (a, root.fd, NULL, &o, &err) == 0 && ctr_tar_close (a, &err) == 0)
        {
          a = NULL;
          rc = of && outfile_commit (of, &err) < 0 ? cli_fail (&err) : EXIT_OK;
          of = NULL;
        }
      else
        {
          if (a)
            archive_write_free (a);
          rc = cli_fail (&err);
        }
    }
  else
    rc = cli_fail (&err);
  outfile_abort (of);
  ctr_root_close (&root);
  container_rec_clear (&rec);
  return rc;
}
