/* A sandbox probe for tests/integration/sandbox.bats: runs inside a RUN step or
 * a `kiln run` container and prints what the process may do, one "PROBE key=value"
 * line each, for sandbox_expect.py to compare with docker's defaults.
 *
 * It must never harm the host even where the sandbox under test is broken: it
 * only OPENS device nodes (never reads, writes or ioctls them), writes a /proc/sys
 * file only with the value it just read from it, and makes every syscall that
 * could change its own state (personality, unshare) in a child that exits.
 *
 *   probe status            capabilities, Seccomp, NoNewPrivs, uid/euid
 *   probe euid              uid and euid only (for the setuid check)
 *   probe syscalls          the result of each probed syscall (OK or errno name)
 *   probe fds [DIR]         open descriptors of this process, or those listed in DIR
 *                           (e.g. /proc/1/fd), with their targets
 *   probe devices SPEC...   SPEC = NAME:c|b:MAJOR:MINOR: mknod it in /tmp, then open it
 *   probe nodes PATH...     each PATH: its type and numbers, and the result of opening it
 *   probe paths m:P|r:P...  m: masked (bytes read or entries listed), r: read-only;
 *                           both report the mount's read-only flag and fs type
 *   probe sysctl PATH...    write each /proc/sys file with the value just read from it
 *   probe all ...           status, syscalls and fds, then the words after it as above
 *                           (each group introduced by its name: devices, nodes, paths, sysctl)
 * Built with gcc -static so that it runs in a busybox image.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static const char *
ename (int e)
{
  switch (e)
    {
#define E(x) case x: return #x
      E (EPERM); E (ENOENT); E (ESRCH); E (EINTR); E (EIO); E (ENXIO); E (E2BIG); E (EBADF);
      E (EAGAIN); E (ENOMEM); E (EACCES); E (EFAULT); E (EBUSY); E (EEXIST); E (ENODEV);
      E (ENOTDIR); E (EISDIR); E (EINVAL); E (ENFILE); E (EMFILE); E (ENOTTY); E (ENOSPC);
      E (EROFS); E (ENOSYS); E (EOPNOTSUPP); E (EAFNOSUPPORT); E (EPROTONOSUPPORT);
      E (ESOCKTNOSUPPORT); E (ENOKEY); E (EKEYREVOKED); E (EUSERS); E (ELOOP); E (ENAMETOOLONG);
      E (EPROTOTYPE);
#undef E
    default:
      {
        static char b[32];
        snprintf (b, sizeof b, "E%d", e);
        return b;
      }
    }
}

#define OUT(...) (printf ("PROBE " __VA_ARGS__), putchar ('\n'))

static void
result (const char *key, long r)
{
  if (r < 0)
    OUT ("%s=%s", key, ename (errno));
  else
    OUT ("%s=OK", key);
}

/* Runs fn in a child and reports what it returned there (as OK or an errno name). */
static void
in_child (const char *key, long (*fn) (void))
{
  int p[2];
  if (pipe (p) < 0)
    {
      OUT ("%s=PROBE_ERROR", key);
      return;
    }
  fflush (stdout);
  pid_t c = fork ();
  if (c == 0)
    {
      close (p[0]);
      long r = fn ();
      int e = r < 0 ? errno : 0;
      if (write (p[1], &e, sizeof e) < 0)
        _exit (2);
      _exit (0);
    }
  close (p[1]);
  int e = -1;
  if (c < 0 || read (p[0], &e, sizeof e) != sizeof e)
    e = -1;
  close (p[0]);
  if (c > 0)
    waitpid (c, NULL, 0);
  if (e < 0)
    OUT ("%s=PROBE_ERROR", key);
  else if (e == 0)
    OUT ("%s=OK", key);
  else
    OUT ("%s=%s", key, ename (e));
}

static void
status (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[512];
  static const char *const keys[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:"};
  while (f && fgets (line, sizeof line, f))
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
      if (strncmp (line, keys[i], strlen (keys[i])) == 0)
        {
          char *v = line + strlen (keys[i]);
          v += strspn (v, " \t");
          v[strcspn (v, "\n")] = '\0';
          OUT ("status.%.*s=%s", (int) strlen (keys[i]) - 1, keys[i], v);
        }
  if (f)
    fclose (f);
  OUT ("uid=%d", (int) getuid ());
  OUT ("euid=%d", (int) geteuid ());
}

/* A clone that creates a process: the child exits at once. */
static long
clone_flags (unsigned long flags)
{
  long r = syscall (SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (r == 0)
    _exit (0);
  if (r > 0)
    waitpid ((pid_t) r, NULL, 0);
  return r < 0 ? -1 : 0;
}

static long c_unshare_user (void) { return unshare (CLONE_NEWUSER); }
static long c_personality (void) { return personality (0x1234) < 0 ? -1 : 0; }

static void
syscalls (void)
{
  /* Keep in step with PROBES in sandbox_expect.py: the name, the syscall and the
   * arguments it is made with there are the same. */
  result ("sys.clone_plain", clone_flags (0));
  result ("sys.clone_newuser", clone_flags (CLONE_NEWUSER));
  errno = 0;
  result ("sys.clone3", syscall (SYS_clone3, NULL, 0)); /* EINVAL when allowed */
  result ("sys.unshare_0", unshare (0));
  in_child ("sys.unshare_newuser", c_unshare_user);
  result ("sys.setns", setns (-1, 0)); /* EBADF when allowed */
  long s;
  result ("sys.socket_inet", s = socket (AF_INET, SOCK_DGRAM, 0));
  if (s >= 0)
    close ((int) s);
  result ("sys.socket_alg", s = socket (38 /* AF_ALG */, SOCK_SEQPACKET, 0));
  if (s >= 0)
    close ((int) s);
  result ("sys.socket_vsock", s = socket (40 /* AF_VSOCK */, SOCK_STREAM, 0));
  if (s >= 0)
    close ((int) s);
  /* KEYCTL_GET_KEYRING_ID of the thread keyring, not created: ENOKEY when allowed. */
  result ("sys.keyctl", syscall (SYS_keyctl, 0, -1, 0));
  /* A key type that does not exist: ENODEV when allowed; nothing is added. */
  result ("sys.add_key", syscall (SYS_add_key, "kiln_probe_no_such_type", "d", NULL, 0, -1));
  result ("sys.request_key", syscall (SYS_request_key, "kiln_probe_no_such_type", "d", NULL, 0));
  result ("sys.personality_query", personality (0xffffffff) < 0 ? -1 : 0);
  in_child ("sys.personality_1234", c_personality);
  result ("sys.perf_event_open", syscall (SYS_perf_event_open, NULL, 0, -1, -1, 0)); /* EFAULT when allowed */
  result ("sys.io_uring_setup", syscall (SYS_io_uring_setup, 0, NULL));          /* EINVAL/EFAULT when allowed */
  result ("sys.chroot", chroot ("/nonexistent-kiln-probe"));                      /* ENOENT when allowed */
  result ("sys.name_to_handle_at", syscall (SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0)); /* EFAULT */
  result ("sys.open_tree", syscall (SYS_open_tree, AT_FDCWD, "/nonexistent-kiln-probe", 0));       /* ENOENT */
  result ("sys.kcmp", syscall (SYS_kcmp, getpid (), getpid (), 1 /* KCMP_VM */, 0, 0));
  result ("sys.process_vm_readv", syscall (SYS_process_vm_readv, getpid (), NULL, 0, NULL, 0, 0));
  result ("sys.uname", syscall (SYS_uname, NULL) < 0 && errno == EFAULT ? 0 : -1); /* EFAULT = allowed */
}

static void
fds (const char *dir)
{
  const char *d = dir ? dir : "/proc/self/fd";
  const char *key = dir ? "fdlist" : "fds";
  DIR *dp = opendir (d);
  if (dp == NULL)
    {
      OUT ("%s=UNREADABLE:%s", key, ename (errno));
      return;
    }
  int self = dirfd (dp);
  char list[4096] = "";
  size_t off = 0;
  int nums[1024];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir (dp)) != NULL && n < 1024)
    {
      if (de->d_name[0] == '.')
        continue;
      int fd = atoi (de->d_name);
      if (!dir && fd == self)
        continue;
      nums[n++] = fd;
    }
  /* sorted, for a stable line */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (nums[j] < nums[i])
        {
          int t = nums[i];
          nums[i] = nums[j];
          nums[j] = t;
        }
  for (size_t i = 0; i < n && off < sizeof list - 16; i++)
    off += (size_t) snprintf (list + off, sizeof list - off, "%s%d", i ? "," : "", nums[i]);
  OUT ("%s=%s", key, list);
  for (size_t i = 0; i < n; i++)
    {
      char p[4200], t[4096];
      snprintf (p, sizeof p, "%s/%d", d, nums[i]);
      ssize_t l = readlink (p, t, sizeof t - 1);
      t[l < 0 ? 0 : l] = '\0';
      OUT ("%s.%d=%s", dir ? "fdlink" : "fd", nums[i], l < 0 ? ename (errno) : t);
    }
  closedir (dp);
}

static void
devices (char **spec, int n)
{
  char dir[] = "/tmp/kiln-probe-XXXXXX";
  if (mkdtemp (dir) == NULL)
    {
      OUT ("devices=PROBE_ERROR:%s", ename (errno));
      return;
    }
  for (int i = 0; i < n; i++)
    {
      char name[64], type;
      unsigned maj, min;
      if (sscanf (spec[i], "%63[^:]:%c:%u:%u", name, &type, &maj, &min) != 4)
        continue;
      char key[96], path[128];
      snprintf (key, sizeof key, "%c.%u.%u", type, maj, min);
      snprintf (path, sizeof path, "%s/%s", dir, name);
      long r = mknod (path, (type == 'b' ? S_IFBLK : S_IFCHR) | 0600, makedev (maj, min));
      char k[128];
      snprintf (k, sizeof k, "mknod.%s", key);
      result (k, r);
      if (r < 0)
        continue;
      /* Only opened: block devices read-only, character devices read-write as the
       * attack does (`exec 3<>/tmp/kvm`); never read, written or ioctl'd. */
      int fd = open (path, (type == 'b' ? O_RDONLY : O_RDWR) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
      snprintf (k, sizeof k, "open.%s", key);
      result (k, fd);
      if (fd >= 0)
        close (fd);
      unlink (path);
    }
  rmdir (dir);
}

static void
nodes (char **paths, int n)
{
  for (int i = 0; i < n; i++)
    {
      struct stat st;
      char k[300];
      snprintf (k, sizeof k, "node.%s", paths[i]);
      if (lstat (paths[i], &st) < 0)
        {
          OUT ("%s=%s", k, ename (errno));
          continue;
        }
      if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
        OUT ("%s=%c:%u:%u", k, S_ISCHR (st.st_mode) ? 'c' : 'b', major (st.st_rdev), minor (st.st_rdev));
      else
        OUT ("%s=%s", k, S_ISLNK (st.st_mode) ? "link" : S_ISDIR (st.st_mode) ? "dir" : "other");
      int fd = open (paths[i], O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
      snprintf (k, sizeof k, "nodeopen.%s", paths[i]);
      result (k, fd);
      if (fd >= 0)
        close (fd);
    }
}

static void
mountinfo (const char *path)
{
  struct statvfs sv;
  struct statfs sf;
  if (statvfs (path, &sv) == 0 && statfs (path, &sf) == 0)
    {
      OUT ("ro.%s=%d", path, (sv.f_flag & ST_RDONLY) ? 1 : 0);
      OUT ("fstype.%s=0x%lx", path, (unsigned long) sf.f_type);
    }
}

static void
paths (char **spec, int n)
{
  for (int i = 0; i < n; i++)
    {
      char kind = spec[i][0];
      const char *p = spec[i] + 2;
      if ((kind != 'm' && kind != 'r') || spec[i][1] != ':')
        continue;
      struct stat st;
      char k[300];
      snprintf (k, sizeof k, "path.%s", p);
      if (stat (p, &st) < 0)
        {
          OUT ("%s=%s", k, ename (errno));
          continue;
        }
      mountinfo (p);
      if (kind == 'r')
        {
          OUT ("%s=%s", k, S_ISDIR (st.st_mode) ? "dir" : "file");
          continue;
        }
      if (S_ISDIR (st.st_mode))
        {
          DIR *dp = opendir (p);
          int entries = 0;
          struct dirent *de;
          while (dp && (de = readdir (dp)) != NULL)
            entries += strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0;
          if (dp)
            closedir (dp);
          OUT ("%s=dir:%d", k, entries);
        }
      else
        {
          /* The bytes a read gives (at most 64 KiB): counted, never printed. */
          int fd = open (p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
          if (fd < 0)
            {
              OUT ("%s=open:%s", k, ename (errno));
              continue;
            }
          static char buf[65536];
          ssize_t r = read (fd, buf, sizeof buf);
          if (r < 0)
            OUT ("%s=read:%s", k, ename (errno));
          else
            OUT ("%s=bytes:%zd", k, r);
          close (fd);
        }
    }
}

static void
sysctl (char **p, int n)
{
  for (int i = 0; i < n; i++)
    {
      char k[300], v[4096];
      snprintf (k, sizeof k, "sysctl.%s", p[i]);
      int fd = open (p[i], O_RDONLY | O_CLOEXEC);
      ssize_t l = fd < 0 ? -1 : read (fd, v, sizeof v);
      if (fd >= 0)
        close (fd);
      if (l <= 0)
        {
          OUT ("%s=PROBE_ERROR:read", k);
          continue;
        }
      /* The value just read, written back as it was: no change even if it works. */
      fd = open (p[i], O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        {
          OUT ("%s=%s", k, ename (errno));
          continue;
        }
      ssize_t w = write (fd, v, (size_t) l);
      int e = errno;
      close (fd);
      if (w < 0)
        OUT ("%s=%s", k, ename (e));
      else
        OUT ("%s=OK", k);
    }
}

/* Runs the group named by argv[0] on the words after it, up to the next group name. */
static int
group (char **argv, int argc)
{
  static const char *const names[] = {"status", "euid", "syscalls", "fds", "devices", "nodes", "paths", "sysctl"};
  int n = 1;
  while (n < argc)
    {
      int is_name = 0;
      for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        is_name |= strcmp (argv[n], names[i]) == 0;
      if (is_name)
        break;
      n++;
    }
  const char *g = argv[0];
  if (strcmp (g, "status") == 0)
    status ();
  else if (strcmp (g, "euid") == 0)
    OUT ("uid=%d", (int) getuid ()), OUT ("euid=%d", (int) geteuid ());
  else if (strcmp (g, "syscalls") == 0)
    syscalls ();
  else if (strcmp (g, "fds") == 0)
    fds (n > 1 ? argv[1] : NULL);
  else if (strcmp (g, "devices") == 0)
    devices (argv + 1, n - 1);
  else if (strcmp (g, "nodes") == 0)
    nodes (argv + 1, n - 1);
  else if (strcmp (g, "paths") == 0)
    paths (argv + 1, n - 1);
  else if (strcmp (g, "sysctl") == 0)
    sysctl (argv + 1, n - 1);
  else
    {
      fprintf (stderr, "probe: unknown group %s\n", g);
      exit (2);
    }
  fflush (stdout);
  return n;
}

int
main (int argc, char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc < 2)
    {
      fprintf (stderr, "usage: probe all|GROUP [ARGS] [GROUP [ARGS]]...\n");
      return 2;
    }
  int i = 1;
  if (strcmp (argv[1], "all") == 0)
    {
      /* fds first: before this process opens anything of its own. */
      char *f[] = {"fds"}, *s[] = {"status"}, *y[] = {"syscalls"};
      group (f, 1);
      group (s, 1);
      group (y, 1);
      i = 2;
    }
  while (i < argc)
    i += group (argv + i, argc - i);
  OUT ("end=1");
  return 0;
}
