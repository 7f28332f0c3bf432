/* store/store.c — opening the store, its schema, locks and transactions. */
#include "store/store.h"
#include "store/store_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

/* Each entry upgrades the schema by one version; never edit a released entry. */
static const char *const migrations[] = {
  /* 0 → 1 */
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  /* One row per layer kiln has unpacked or built: its snapshot, and the blob it
   * came in (loaded/pulled layers) if any.  size is the uncompressed tar size. */
  "CREATE TABLE layers ("
  "  diff_id TEXT PRIMARY KEY,"
  "  snapshot TEXT NOT NULL UNIQUE,"
  "  size INTEGER NOT NULL,"
  "  created INTEGER NOT NULL);"
  /* Blobs that hold a layer, uncompressed or compressed (diff_id, compression). */
  "CREATE TABLE layer_blobs ("
  "  digest TEXT PRIMARY KEY,"
  "  diff_id TEXT NOT NULL,"
  "  media_type TEXT NOT NULL,"
  "  size INTEGER NOT NULL);"
  "CREATE INDEX layer_blobs_by_diff ON layer_blobs (diff_id, media_type);"
  /* An image: its config (id) and the manifest kiln keeps for it. */
  "CREATE TABLE images ("
  "  id TEXT PRIMARY KEY,"
  "  manifest TEXT NOT NULL,"
  "  created INTEGER NOT NULL);"
  "CREATE TABLE tags ("
  "  name TEXT PRIMARY KEY,"
  "  image TEXT NOT NULL REFERENCES images (id));"
  "CREATE TABLE repo_digests ("
  "  name TEXT NOT NULL,"
  "  image TEXT NOT NULL REFERENCES images (id),"
  "  PRIMARY KEY (name, image));"
  "CREATE TABLE cache ("
  "  key TEXT PRIMARY KEY,"
  "  result TEXT NOT NULL,"
  "  created INTEGER NOT NULL);",
  /* 1 → 2: content digests of context files, by (dev, inode, size, mtime, ctime). */
  "CREATE TABLE file_digests ("
  "  stat_key TEXT PRIMARY KEY,"
  "  digest TEXT NOT NULL);",
  /* 2 → 3: containers (store/containers.h): a record per container, its files in
   * containers/<id>/.  An image a container uses cannot be deleted under it. */
  "CREATE TABLE containers ("
  "  id TEXT PRIMARY KEY,"
  "  name TEXT UNIQUE NOT NULL,"
  "  image TEXT NOT NULL REFERENCES images (id),"
  "  created INTEGER NOT NULL);"
  "CREATE INDEX containers_by_image ON containers (image);",
  /* 3 → 4: volumes (store/volumes.h): a record per volume, its files in
   * volumes/<name>/_data; which containers use which volume, deleted with the
   * container, so a volume in use cannot be removed. */
  "CREATE TABLE volumes ("
  "  name TEXT PRIMARY KEY,"
  "  driver TEXT NOT NULL,"
  "  labels TEXT NOT NULL,"
  "  options TEXT NOT NULL,"
  "  anonymous INTEGER NOT NULL,"
  "  created INTEGER NOT NULL);"
  "CREATE TABLE container_volumes ("
  "  container TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,"
  "  volume TEXT NOT NULL REFERENCES volumes (name),"
  "  PRIMARY KEY (container, volume));"
  "CREATE INDEX container_volumes_by_volume ON container_volumes (volume);",
  /* 4 → 5: networks (store/networks.h): a network's settings as JSON, and one
   * endpoint per container on it; UNIQUE (network, ip) is the address allocator's
   * guard: two containers never get one address. */
  "CREATE TABLE networks ("
  "  id TEXT PRIMARY KEY,"
  "  name TEXT UNIQUE NOT NULL,"
  "  config TEXT NOT NULL,"
  "  created INTEGER NOT NULL);"
  "CREATE TABLE net_endpoints ("
  "  network TEXT NOT NULL REFERENCES networks (id),"
  "  container TEXT NOT NULL,"
  "  ip TEXT NOT NULL,"
  "  info TEXT NOT NULL,"
  "  PRIMARY KEY (network, container),"
  "  UNIQUE (network, ip));",
  /* What each cache key was made of (store/stepinfo.h), and the key each step of a
   * Dockerfile and target had last: a miss can say what changed since. */
  ("CREATE TABLE step_info (key TEXT PRIMARY KEY, info TEXT NOT NULL);"
   "CREATE TABLE step_files (key TEXT PRIMARY KEY, files TEXT NOT NULL);"
   "CREATE TABLE step_slots (slot TEXT PRIMARY KEY, key TEXT NOT NULL);"),
};
#define N_MIGRATIONS (sizeof migrations / sizeof *migrations)

int
store_db_error (struct kiln_store *st, struct kiln_err *err, const char *what)
{
  return kiln_err_set (err, EIO, "%s/kiln.db: %s: %s", st->root, what, sqlite3_errmsg (st->db));
}

static int
exec_plain (struct kiln_store *st, const char *sql, struct kiln_err *err)
{
  char *msg = NULL;
  if (sqlite3_exec (st->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      kiln_err_set (err, EIO, "%s/kiln.db: %s", st->root, msg ? msg : sqlite3_errmsg (st->db));
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

const char *
store_root (const struct kiln_store *st)
{
  return st->root;
}

int
store_root_fd (const struct kiln_store *st)
{
  return st->root_fd;
}

int
store_collect_text (struct kiln_store *st, const char *sql, const char *arg, struct strv *out, struct kiln_err *err)
{
  sqlite3_stmt *s = store_prepare (st, sql, err);
  if (s == NULL)
    return -1;
  if (arg)
    sqlite3_bind_text (s, 1, arg, -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW)
    {
      const char *v = (const char *) sqlite3_column_text (s, 0);
      strv_push (out, v ? v : "");
    }
  sqlite3_finalize (s);
  return rc == SQLITE_DONE ? 0 : store_db_error (st, err, "reading");
}

int
store_integrity_check (struct kiln_store *st, struct strv *out, struct kiln_err *err)
{
  return store_collect_text (st, "PRAGMA integrity_check", NULL, out, err);
}

int
store_begin (struct kiln_store *st, struct kiln_err *err)
{
  return exec_plain (st, "BEGIN IMMEDIATE", err);
}

int
store_commit (struct kiln_store *st, struct kiln_err *err)
{
  return exec_plain (st, "COMMIT", err);
}

void
store_rollback (struct kiln_store *st)
{
  sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *
store_prepare (struct kiln_store *st, const char *sql, struct kiln_err *err)
{
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2 (st->db, sql, -1, &s, NULL) != SQLITE_OK)
    {
      store_db_error (st, err, "prepare");
      return NULL;
    }
  return s;
}

int
store_exec (struct kiln_store *st, struct kiln_err *err, const char *sql, int n, ...)
{
  sqlite3_stmt *s = store_prepare (st, sql, err);
  if (s == NULL)
    return -1;
  va_list ap;
  va_start (ap, n);
  for (int i = 0; i < n; i++)
    {
      const char *v = va_arg (ap, const char *);
      if (v)
        sqlite3_bind_text (s, i + 1, v, -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null (s, i + 1);
    }
  va_end (ap);
  int rc = sqlite3_step (s);
  sqlite3_finalize (s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return store_db_error (st, err, "write");
  return 0;
}

static int
migrate (struct kiln_store *st, struct kiln_err *err)
{
  if (store_begin (st, err) < 0)
    return -1;
  int version = 0;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2 (st->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s, NULL)
      == SQLITE_OK)
    {
      if (sqlite3_step (s) == SQLITE_ROW)
        version = atoi ((const char *) sqlite3_column_text (s, 0));
      sqlite3_finalize (s);
    }
  if (version > (int) N_MIGRATIONS)
    {
      store_rollback (st);
      return kiln_err_set (err, EPROTO,
                           "%s/kiln.db has schema version %d, newer than this kiln understands (%zu): "
                           "upgrade kiln",
                           st->root, version, N_MIGRATIONS);
    }
  for (size_t v = (size_t) version; v < N_MIGRATIONS; v++)
    if (exec_plain (st, migrations[v], err) < 0)
      {
        store_rollback (st);
        return kiln_err_wrap (err, "upgrading the store schema to version %zu", v + 1);
      }
  if (version != (int) N_MIGRATIONS)
    {
      char buf[16];
      snprintf (buf, sizeof buf, "%zu", N_MIGRATIONS);
      if (store_exec (st, err, "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", 1, buf)
          < 0)
        {
          store_rollback (st);
          return -1;
        }
    }
  return store_commit (st, err);
}

/* WAL, as every connection sets it.  Switching a new database to WAL upgrades a
 * shared lock, which SQLite refuses at once (SQLITE_BUSY without the busy handler,
 * which could deadlock) when another process opening the same new store does the
 * same: the loser waits a moment and asks again (bounded: ~10 s). */
static int
set_journal_mode (struct kiln_store *st, struct kiln_err *err)
{
  static const char sql[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
  struct timespec start, now;
  clock_gettime (CLOCK_MONOTONIC, &start);
  for (int tries = 0;; tries++)
    {
      int rc = sqlite3_exec (st->db, sql, NULL, NULL, NULL);
      if (rc == SQLITE_OK)
        return 0;
      clock_gettime (CLOCK_MONOTONIC, &now);
      if ((rc & 0xff) != SQLITE_BUSY || now.tv_sec - start.tv_sec >= 10)
        return kiln_err_set (err, EIO, "%s/kiln.db: %s", st->root, sqlite3_errmsg (st->db));
      struct timespec ts = {0, (5 + tries % 16) * 1000000L};
      nanosleep (&ts, NULL);
    }
}

static int
mkdir_at (int dfd, const char *name, struct kiln_err *err, const char *root)
{
  if (mkdirat (dfd, name, 0700) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s/%s: %s", root, name, strerror (errno));
  return 0;
}

static int
mkdir_p (const char *path, struct kiln_err *err)
{
  _cleanup_free_ char *p = xstrdup (path);
  for (char *s = p + 1; *s; s++)
    if (*s == '/')
      {
        *s = '\0';
        if (mkdir (p, 0711) < 0 && errno != EEXIST)
          return kiln_err_set (err, errno, "%s: %s", p, strerror (errno));
        *s = '/';
      }
  if (mkdir (p, 0711) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s: %s", p, strerror (errno));
  return 0;
}

struct kiln_store *
store_open (const char *root, struct kiln_err *err)
{
  _cleanup_buf_ struct buf dbpath = BUF_INIT;
  struct kiln_store *st = xcalloc (1, sizeof *st);
  st->root_fd = -1;
  st->gc_lock_fd = -1;
  st->root = xstrdup (root);
  if (mkdir_p (root, err) < 0)
    goto fail;
  st->root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (st->root_fd < 0)
    {
      kiln_err_set (err, errno, "%s: %s", root, strerror (errno));
      goto fail;
    }
  if (mkdir_at (st->root_fd, "blobs", err, root) < 0 || mkdir_at (st->root_fd, "blobs/sha256", err, root) < 0
      || mkdir_at (st->root_fd, "snapshots", err, root) < 0 || mkdir_at (st->root_fd, "tmp", err, root) < 0)
    goto fail;
  st->gc_lock_fd = openat (st->root_fd, "gc.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (st->gc_lock_fd < 0)
    {
      kiln_err_set (err, errno, "%s/gc.lock: %s", root, strerror (errno));
      goto fail;
    }
  buf_printf (&dbpath, "%s/kiln.db", root);
  /* The metadata names every image, tag and context file digest: root's alone.
   * Made before SQLite opens it (its -wal and -shm files copy its mode). */
  int dbfd = open (buf_str (&dbpath), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (dbfd >= 0)
    {
      struct stat dst;
      if (fstat (dbfd, &dst) == 0 && (dst.st_mode & 077) && dst.st_uid == geteuid ())
        fchmod (dbfd, dst.st_mode & 0700);
      close (dbfd);
    }
  if (sqlite3_open_v2 (buf_str (&dbpath), &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL)
      != SQLITE_OK)
    {
      kiln_err_set (err, EIO, "%s: %s", buf_str (&dbpath), st->db ? sqlite3_errmsg (st->db) : "cannot open");
      goto fail;
    }
  sqlite3_busy_timeout (st->db, 60000);
  if (set_journal_mode (st, err) < 0 || migrate (st, err) < 0)
    goto fail;
  return st;
fail:
  store_close (st);
  return NULL;
}

void
store_keep_wal_on_close (struct kiln_store *st)
{
  if (st && st->db)
    sqlite3_db_config (st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *) NULL);
}

void
store_close (struct kiln_store *st)
{
  if (st == NULL)
    return;
  if (st->db)
    sqlite3_close (st->db);
  if (st->gc_lock_fd >= 0)
    close (st->gc_lock_fd);
  if (st->root_fd >= 0)
    close (st->root_fd);
  free (st->root);
  free (st);
}

/* The process that made a tmp/ entry: every name is PREFIX-PID[-...] (snap-, blob-,
 * trash-, run-, fetch-); 0 for any other name (tmp/locks, anything foreign). */
static pid_t
tmp_owner (const char *name)
{
  const char *p = name;
  while (*p >= 'a' && *p <= 'z')
    p++;
  if (p == name || *p != '-' || p[1] < '1' || p[1] > '9')
    return 0;
  long v = 0;
  for (p++; *p >= '0' && *p <= '9'; p++)
    if ((v = v * 10 + (*p - '0')) > INT32_MAX)
      return 0;
  return *p == '\0' || *p == '-' ? (pid_t) v : 0;
}

/* True only when no process `pid` runs: it does not exist, or is a zombie (a
 * SIGKILLed kiln whose parent has not waited for it yet). */
static bool
process_gone (pid_t pid)
{
  if (kill (pid, 0) < 0 && errno == ESRCH)
    return true;
  char path[40], stat[512];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT;
  ssize_t n = read (fd, stat, sizeof stat - 1);
  if (n <= 0)
    return false;
  stat[n] = '\0';
  const char *end = strrchr (stat, ')'); /* the command name may hold anything */
  return end && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

/* Removes the tmp/ entries of processes that are gone (a build killed half-way).
 * One readdir of tmp/; a live process's entries are never touched.  Names are
 * listed before their owners are looked at, so an entry made by a new process
 * that reuses a dead one's pid was made while that process lived: it is kept.
 * A pid reused before this runs keeps the dead one's leftovers for
 * `system check --repair`; that errs on the safe side.  Best effort: an entry
 * that cannot be removed now is tried again next time. */
static void
clean_dead_tmp (struct kiln_store *st)
{
  _cleanup_close_ int fd = openat (st->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  _cleanup_strv_ struct strv names = STRV_INIT;
  if (dir_sorted_names (fd, &names) < 0)
    return;
  pid_t self = getpid (), last = 0;
  bool last_gone = false;
  for (size_t i = 0; i < names.n; i++)
    {
      pid_t pid = tmp_owner (names.v[i]);
      if (pid == 0 || pid == self)
        continue;
      if (pid != last) /* sorted: one process's entries are mostly side by side */
        last = pid, last_gone = process_gone (pid);
      if (!last_gone)
        continue;
      struct kiln_err ignored = {0};
      store_remove_tree (fd, names.v[i], &ignored);
      kiln_err_clear (&ignored);
    }
}

static int
take_lock (struct kiln_store *st, int mode, struct kiln_err *err)
{
  if (st->gc_lock_mode == mode || (st->gc_lock_mode == LOCK_EX && mode == LOCK_SH))
    return 0;
  while (flock (st->gc_lock_fd, mode) < 0)
    if (errno != EINTR)
      return kiln_err_set (err, errno, "%s/gc.lock: %s", st->root, strerror (errno));
  /* A writer's first lock clears what killed writers left; collectors (prune,
   * check) sweep tmp/ themselves and report what they find. */
  if (st->gc_lock_mode == 0 && mode == LOCK_SH)
    clean_dead_tmp (st);
  st->gc_lock_mode = mode;
  return 0;
}

int
store_lock_shared (struct kiln_store *st, struct kiln_err *err)
{
  return take_lock (st, LOCK_SH, err);
}

int
store_lock_exclusive (struct kiln_store *st, struct kiln_err *err)
{
  return take_lock (st, LOCK_EX, err);
}

char *
store_tmp_dir (struct kiln_store *st, const char *prefix, struct kiln_err *err)
{
  static unsigned counter;
  for (int attempt = 0; attempt < 100; attempt++)
    {
      struct buf name = BUF_INIT;
      struct timespec ts;
      clock_gettime (CLOCK_MONOTONIC, &ts);
      buf_printf (&name, "tmp/%s-%d-%lx-%u", prefix, (int) getpid (), (unsigned long) ts.tv_nsec, counter++);
      if (mkdirat (st->root_fd, buf_str (&name), 0700) == 0)
        return buf_steal (&name);
      int e = errno;
      buf_free (&name);
      if (e != EEXIST)
        {
          kiln_err_set (err, e, "%s/tmp: %s", st->root, strerror (e));
          return NULL;
        }
    }
  kiln_err_set (err, EEXIST, "%s/tmp: cannot make a unique directory", st->root);
  return NULL;
}

static int remove_tree (int dirfd, const char *name, uint64_t *freed, unsigned depth, struct kiln_err *err);

static int
remove_children (int fd, const char *what, uint64_t *freed, unsigned depth, struct kiln_err *err)
{
  if (depth > 4096)
    return kiln_err_set (err, ELOOP, "%s: tree too deep to remove", what);
  DIR *d = dir_reopen (fd);
  if (d == NULL)
      return kiln_err_set (err, errno, "%s: %s", what, strerror (errno));
  struct dirent *de;
  int ret = 0;
  while ((de = readdir (d)) != NULL && ret == 0)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (freed == NULL)
        {
          if (unlinkat (fd, de->d_name, 0) == 0)
            continue;
          if (errno != EISDIR && errno != EPERM)
            {
              ret = kiln_err_set (err, errno, "%s/%s: %s", what, de->d_name, strerror (errno));
              break;
            }
        }
      /* Counting stats every entry first; only a directory's removal rewinds. */
      bool dir = freed == NULL || de->d_type == DT_DIR || de->d_type == DT_UNKNOWN;
      ret = remove_tree (fd, de->d_name, freed, depth + 1, err);
      if (ret == 0 && dir)
        rewinddir (d); /* the directory changed under readdir */
    }
  closedir (d);
  return ret;
}

/* Removes `name`; with `freed`, first adds the blocks each inode gives back (a
 * file also linked from elsewhere frees nothing yet). */
static int
remove_tree (int dirfd, const char *name, uint64_t *freed, unsigned depth, struct kiln_err *err)
{
  struct stat s;
  if (freed)
    {
      if (fstatat (dirfd, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : kiln_err_set (err, errno, "%s: %s", name, strerror (errno));
      if (!S_ISDIR (s.st_mode))
        {
          if (unlinkat (dirfd, name, 0) < 0)
            return errno == ENOENT ? 0 : kiln_err_set (err, errno, "%s: %s", name, strerror (errno));
          if (s.st_nlink <= 1)
            *freed += (uint64_t) s.st_blocks * 512;
          return 0;
        }
    }
  else if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT || unlinkat (dirfd, name, AT_REMOVEDIR) == 0)
    return 0;
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : kiln_err_set (err, errno, "%s: %s", name, strerror (errno));
  /* A directory made read-only by its layer must be writable to be emptied. */
  fchmod (fd, 0700);
  int r = remove_children (fd, name, freed, depth, err);
  close (fd);
  if (r < 0)
    return -1;
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0)
    return errno == ENOENT ? 0 : kiln_err_set (err, errno, "%s: %s", name, strerror (errno));
  if (freed)
    *freed += (uint64_t) s.st_blocks * 512;
  return 0;
}

int
store_remove_tree (int dirfd, const char *name, struct kiln_err *err)
{
  return remove_tree (dirfd, name, NULL, 0, err);
}

int
store_remove_tree_counted (int dirfd, const char *name, uint64_t *freed, struct kiln_err *err)
{
  return remove_tree (dirfd, name, freed, 0, err);
}

int
store_sync_dir (struct kiln_store *st, const char *rel_dir, struct kiln_err *err)
{
  _cleanup_close_ int fd = openat (st->root_fd, rel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync (fd) < 0)
    return kiln_err_set (err, errno, "%s/%s: %s", st->root, rel_dir, strerror (errno));
  return 0;
}

int64_t
store_now (void)
{
  const char *sde = getenv ("SOURCE_DATE_EPOCH");
  if (sde && *sde)
    {
      char *end;
      long long v = strtoll (sde, &end, 10);
      if (*end == '\0' && v >= 0)
        return v;
    }
  return (int64_t) time (NULL);
}
