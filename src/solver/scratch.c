/* solver/scratch.c — a step's scratch directories (upper, work, merged), its
 * snapshot, and the trash a cleaner process empties while the next step runs. */
#include "solver/builder.h"

#include <errno.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/syscall.h>

#include "image/layers.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "worker/overlay.h"

/* ---------- snapshots of steps ---------- */

int
lowers_of (struct builder *b, const struct layerlist *l, struct strv *out)
{
  /* Every step mounts its whole chain: a layer's snapshot is looked up once a
   * build (a prune cannot remove it meanwhile: the build holds the gc lock). */
  return overlay_lowers (b->st, l->d, l->n, &b->snapshot_ids, out, b->err);
}

/* The topmost lower's entry at `path` (a whiteout is no entry). */
static bool
exists_in_lowers (struct builder *b, const struct strv *lowers, const char *path, struct stat *st)
{
  for (size_t i = 0; i < lowers->n; i++)
    {
      _cleanup_buf_ struct buf p = BUF_INIT;
      buf_printf (&p, "snapshots/%s/%s", lowers->v[i], path);
      if (fstatat (store_root_fd (b->st), buf_str (&p), st, AT_SYMLINK_NOFOLLOW) == 0)
        return !(S_ISCHR (st->st_mode) && st->st_rdev == 0);
    }
  return false;
}

/* A directory overlayfs copied up only to hold a mount point: empty, not opaque,
 * and owned and moded as below.  Keeping it would make a step that changed
 * nothing leave a layer (BuildKit's `RUN true` has none). */
static bool
copied_up_only (int pfd, const char *base, const struct stat *up, const struct stat *low)
{
  if (!S_ISDIR (up->st_mode) || !S_ISDIR (low->st_mode) || up->st_mode != low->st_mode
      || up->st_uid != low->st_uid || up->st_gid != low->st_gid)
    return false;
  char opaque[2];
  int fd = openat (pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool plain = fgetxattr (fd, "trusted.overlay.opaque", opaque, sizeof opaque) < 0
               && fgetxattr (fd, "user.overlay.opaque", opaque, sizeof opaque) < 0;
  close (fd);
  return plain;
}

/* The parent directory of `rel` inside the upper, every component a real
 * directory there (no symlink followed: a step may have swapped one in, and
 * what it points at is the host's). */
static int
upper_parent (int fs_fd, const char *rel, const char **base)
{
  const char *slash = strrchr (rel, '/');
  *base = slash ? slash + 1 : rel;
  if (slash == NULL)
    return fcntl (fs_fd, F_DUPFD_CLOEXEC, 3);
  char parent[4096];
  snprintf (parent, sizeof parent, "%.*s", (int) (slash - rel), rel);
  return open_resolved (fs_fd, parent, O_PATH | O_DIRECTORY, 0,
                        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/* Removes mount points the sandbox created for itself from the step's upper. */
void
clean_mountpoints (struct builder *b, int fs_fd, const struct strv *lowers, const struct strv *paths)
{
  for (size_t i = 0; i < paths->n; i++)
    {
      char path[4096];
      snprintf (path, sizeof path, "%s", paths->v[i]);
      while (*path)
        {
          const char *rel = path[0] == '/' ? path + 1 : path;
          const char *base;
          struct stat st, low;
          if (*rel == '\0')
            break;
          int pfd = upper_parent (fs_fd, rel, &base);
          /* The upper first: most mount points were never copied up, and the
           * lowers are many stats each. */
          if (pfd < 0 || fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0
              || (exists_in_lowers (b, lowers, rel, &low) && !copied_up_only (pfd, base, &st, &low)))
            {
              if (pfd >= 0)
                close (pfd);
              break;
            }
          int r = -1;
          if (S_ISDIR (st.st_mode))
            r = unlinkat (pfd, base, AT_REMOVEDIR); /* fails if the step put something there */
          else if (S_ISREG (st.st_mode) && st.st_size == 0)
            r = unlinkat (pfd, base, 0);
          close (pfd);
          if (r < 0)
            break;
          char *slash = strrchr (path, '/');
          if (slash == NULL || slash == path)
            break;
          *slash = '\0';
        }
    }
}

static void
clamp_times (int dfd, int64_t epoch, unsigned depth)
{
  if (depth > 512)
    return;
  DIR *d = dir_reopen (dfd);
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
        continue;
      struct stat st;
      if (fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            {
              clamp_times (sub, epoch, depth + 1);
              close (sub);
            }
        }
      if (st.st_mtim.tv_sec > epoch)
        {
          struct timespec t[2] = {{epoch, 0}, {epoch, 0}};
          utimensat (dfd, de->d_name, t, AT_SYMLINK_NOFOLLOW);
        }
    }
  closedir (d);
}

int
step_begin (struct builder *b, struct step_dirs *sd)
{
  if (b->probing)
    return probe_miss (b);
  if (snapshot_begin (b->st, &sd->sn, b->err) < 0)
    return -1;
  snprintf (sd->upper, sizeof sd->upper, "%s/%s/fs", store_root (b->st), sd->sn.tmp);
  snprintf (sd->work, sizeof sd->work, "%s/%s/work", store_root (b->st), sd->sn.tmp);
  snprintf (sd->merged, sizeof sd->merged, "%s/%s/merged", store_root (b->st), sd->sn.tmp);
  snprintf (sd->merged_src, sizeof sd->merged_src, "%s/%s/src", store_root (b->st), sd->sn.tmp);
  if (mkdir (sd->work, 0700) < 0 || mkdir (sd->merged, 0755) < 0)
    {
      kiln_err_set (b->err, errno, "%s: %s", sd->work, strerror (errno));
      snapshot_abort (&sd->sn);
      return -1;
    }
  return 0;
}

/* Turns the step's upper into a snapshot: 1 (and the diff_id) if it changed
 * anything, 0 if not, -1 on error. */
/* ---------- scratch cleanup ---------- */

/* A finished step's scratch dirs (overlay work dir, mount points, /etc files) are
 * moved into tmp/trash-PID and removed by a helper process while the next step runs:
 * removing them in line cost every RUN one to two milliseconds.  Whatever is left
 * after a crash is in tmp/: the next writer to lock the store removes it once this
 * process is gone (store.c, clean_dead_tmp); `system check --repair` and prune too. */
static void
cleaner_start (struct builder *b)
{
  b->trash_pid = getpid ();
  b->trash_n = 0;
  b->cleaner_fd = -1;
  b->cleaner = -1;
  snprintf (b->trash, sizeof b->trash, "tmp/trash-%d", (int) b->trash_pid);
  if (mkdirat (store_root_fd (b->st), b->trash, 0700) < 0 && errno != EEXIST)
    return;
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return;
  fflush (NULL);
  pid_t c = fork ();
  if (c == 0)
    {
      /* It keeps only the store's root and its pipe: a lock, a cache mount's
       * flock or a caller's pipe held here would outlive the build. */
      close (p[1]);
      int pin = fcntl (p[0], F_DUPFD, 64), root = fcntl (store_root_fd (b->st), F_DUPFD, 64);
      if (pin < 0 || root < 0 || dup2 (pin, 3) < 0 || dup2 (root, 4) < 0)
        _exit (1);
      close_range (5, ~0U, 0);
      p[0] = 3;
      int root_fd = 4; /* the store's root, in this process */
      FILE *in = fdopen (p[0], "r");
      char line[128];
      /* An empty line ends the work: processes forked later (the build's network
       * holder, stages) also hold the pipe, so its end of file may come late. */
      while (in && fgets (line, sizeof line, in))
        {
          line[strcspn (line, "\n")] = '\0';
          if (line[0] == '\0')
            break;
          struct kiln_err e = {0};
          store_remove_tree (root_fd, line, &e);
          kiln_err_clear (&e);
        }
      _exit (0);
    }
  close (p[0]);
  if (c < 0)
    {
      close (p[1]);
      return;
    }
  b->cleaner = c;
  b->cleaner_fd = p[1];
}

static void
trash_tree (struct builder *b, const char *rel)
{
  if (b->trash_pid != getpid ())
    cleaner_start (b); /* first use in this process (a forked stage has its own) */
  char dest[96];
  snprintf (dest, sizeof dest, "%s/%u", b->trash, b->trash_n++);
  struct kiln_err e = {0};
  if (b->cleaner_fd < 0 || renameat (store_root_fd (b->st), rel, store_root_fd (b->st), dest) < 0)
    {
      if (errno != ENOENT)
        store_remove_tree (store_root_fd (b->st), rel, &e);
      kiln_err_clear (&e);
      return;
    }
  char line[100];
  int n = snprintf (line, sizeof line, "%s\n", dest);
  if (write_all (b->cleaner_fd, line, (size_t) n, "cleaner", &e) < 0)
    store_remove_tree (store_root_fd (b->st), dest, &e);
  kiln_err_clear (&e);
}

/* Waits for the helper, then removes the trash itself. */
void
trash_empty (struct builder *b)
{
  if (b->trash_pid != getpid ())
    return;
  if (b->cleaner_fd >= 0)
    {
      struct kiln_err ignored = {0};
      if (write_all (b->cleaner_fd, "\n", 1, "cleaner", &ignored) < 0 && b->cleaner > 0)
        kill (b->cleaner, SIGKILL);
      kiln_err_clear (&ignored);
      close (b->cleaner_fd);
    }
  if (b->cleaner > 0)
    while (waitpid (b->cleaner, NULL, 0) < 0 && errno == EINTR)
      ;
  struct kiln_err e = {0};
  store_remove_tree (store_root_fd (b->st), b->trash, &e);
  kiln_err_clear (&e);
  b->trash_pid = 0;
  b->cleaner_fd = -1;
  b->cleaner = -1;
}

static int
count_for_writeback (void *ud, const void *buf, size_t len, struct kiln_err *err)
{
  (void) buf;
  (void) err;
  struct builder *b = ud;
  snapshot_batch_saw (&b->pending, b->st, len);
  return 0;
}

int
step_finish (struct builder *b, struct step_dirs *sd, bool keep_empty, struct digest *diff_id)
{
  /* merged.bundle: an OCI runtime's config.json, which holds the step's environment
   * (secrets given as env=) and must never reach snapshots/. */
  static const char *const aux[] = {"work", "merged", "src", "merged.etc", "merged.empty", "src.empty", "merged.bundle"};
  for (size_t i = 0; i < sizeof aux / sizeof *aux; i++)
    {
      _cleanup_buf_ struct buf p = BUF_INIT;
      buf_printf (&p, "%s/%s", sd->sn.tmp, aux[i]);
      trash_tree (b, buf_str (&p));
    }
  const char *sde = getenv ("SOURCE_DATE_EPOCH");
  if (sde && *sde)
    clamp_times (sd->sn.fs_fd, b->now, 0);
  DIR *d = dir_reopen (sd->sn.fs_fd);
  bool empty = true;
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      {
        empty = false;
        break;
      }
  if (d)
    closedir (d);
  if (empty && !keep_empty)
    {
      snapshot_abort (&sd->sn);
      return 0;
    }
  struct layer_write_opts o = {.clamp_mtime = -1};
  uint64_t size;
  struct layer_sink count = {.write = count_for_writeback, .ud = b};
  if (layer_write_tar (sd->sn.fs_fd, &o, &count, diff_id, &size, b->err) < 0)
    {
      snapshot_abort (&sd->sn);
      return -1;
    }
  const char *lower = snapshot_batch_add (&b->pending, &sd->sn, diff_id, size);
  envmap_set (&b->snapshot_ids, diff_id->str, lower);
  return 1;
}
