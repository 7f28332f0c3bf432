/* worker/devices.c — docker's device allow-list and the cgroup that enforces it. */
#include "worker/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "worker/cgroup.h"

const struct device_rule devices_default[] = {
  /* docker's spec (moby daemon/pkg/oci/defaults.go) */
  {'a', -1, -1, "rwm", false},
  {'c', 1, 5, "rwm", true},    /* /dev/zero */
  {'c', 1, 3, "rwm", true},    /* /dev/null */
  {'c', 1, 9, "rwm", true},    /* /dev/urandom */
  {'c', 1, 8, "rwm", true},    /* /dev/random */
  {'c', 5, 0, "rwm", true},    /* /dev/tty */
  {'c', 5, 1, "rwm", true},    /* /dev/console */
  {'c', 10, 229, "rwm", false}, /* /dev/fuse */
  /* runc's AllowedDevices, appended for every container */
  {'c', -1, -1, "m", true},
  {'b', -1, -1, "m", true},
  {'c', 1, 3, "rwm", true},
  {'c', 1, 8, "rwm", true},
  {'c', 1, 7, "rwm", true},    /* /dev/full */
  {'c', 5, 0, "rwm", true},
  {'c', 1, 5, "rwm", true},
  {'c', 1, 9, "rwm", true},
  {'c', 136, -1, "rwm", true}, /* the pty slaves */
  {'c', 5, 2, "rwm", true},    /* /dev/ptmx */
  {'c', 10, 200, "rwm", true}, /* /dev/net/tun */
};
const size_t devices_default_n = sizeof devices_default / sizeof *devices_default;

void
devices_rule_v1 (const struct device_rule *r, char *out, size_t len)
{
  char maj[24], min[24];
  if (r->major < 0)
    snprintf (maj, sizeof maj, "*");
  else
    snprintf (maj, sizeof maj, "%lld", (long long) r->major);
  if (r->minor < 0)
    snprintf (min, sizeof min, "*");
  else
    snprintf (min, sizeof min, "%lld", (long long) r->minor);
  if (r->type == 'a')
    snprintf (out, len, "a");
  else
    snprintf (out, len, "%c %s:%s %s", r->type, maj, min, r->access);
}

json_t *
devices_oci (void)
{
  json_t *a = json_array ();
  /* Only docker's own rules: runc appends its AllowedDevices itself. */
  for (size_t i = 0; i < 8; i++)
    {
      const struct device_rule *r = &devices_default[i];
      json_t *o = json_pack ("{s:b, s:s}", "allow", r->allow, "access", r->access);
      if (r->type != 'a')
        {
          char t[2] = {r->type, 0};
          json_object_set_new (o, "type", json_string (t));
          json_object_set_new (o, "major", json_integer (r->major));
          json_object_set_new (o, "minor", json_integer (r->minor));
        }
      json_array_append_new (a, o);
    }
  return a;
}

/* ---------- where ---------- */

enum devices_cgroup_version
devices_find_parent (const char *mountinfo, const char *self_cgroup, const char *prefer, char *dir, size_t len)
{
  char mnt[4096], own[4096];
  bool want_v2 = prefer && strcmp (prefer, "v2") == 0;
  for (int round = 0; round < 2; round++, want_v2 = !want_v2)
    {
      if (prefer && round == 1)
        break;
      const char *ctrl = want_v2 ? NULL : "devices";
      if (cgroup_mount_of (mountinfo, ctrl, mnt, sizeof mnt) && cgroup_own_path (self_cgroup, ctrl, own, sizeof own))
        {
          snprintf (dir, len, "%s%s", mnt, strcmp (own, "/") == 0 ? "" : own);
          return want_v2 ? DEVCG_V2 : DEVCG_V1;
        }
    }
  return DEVCG_NONE;
}

/* ---------- cgroup v1 ---------- */

static int
write_rule (const char *dir, const char *file, const char *rule)
{
  char path[4200];
  snprintf (path, sizeof path, "%s/%s", dir, file);
  /* O_APPEND: a cgroup file takes each write whole; a test's plain file keeps them all. */
  int fd = open (path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t w = write (fd, rule, strlen (rule));
  int e = errno;
  close (fd);
  errno = e;
  return w < 0 ? -1 : 0;
}

/* True when the cgroup's list is exactly the allows of the default rules (a fresh
 * v1 cgroup inherits its parent's list, "a *:* rwm" on most hosts). */
static bool
v1_configured (const char *dir)
{
  char path[4200];
  snprintf (path, sizeof path, "%s/devices.list", dir);
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return false;
  char line[128];
  size_t n = 0;
  while (fgets (line, sizeof line, f))
    {
      line[strcspn (line, "\n")] = '\0';
      bool known = false;
      for (size_t i = 0; i < devices_default_n && !known; i++)
        {
          char want[64];
          if (!devices_default[i].allow)
            continue;
          devices_rule_v1 (&devices_default[i], want, sizeof want);
          known = strcmp (line, want) == 0;
        }
      if (!known)
        return false;
      n++;
    }
  return n > 0;
}

/* Writes `rules` (a deny-all first) into a v1 devices cgroup. */
static int
configure_v1_rules (const char *dir, const struct device_rule *rules, size_t n, struct kiln_err *err)
{
  if (write_rule (dir, "devices.deny", "a") < 0)
    return kiln_err_set (err, errno, "%s/devices.deny: %s", dir, strerror (errno));
  for (size_t i = 0; i < n; i++)
    {
      char r[64];
      devices_rule_v1 (&rules[i], r, sizeof r);
      if (rules[i].type != 'a' && write_rule (dir, rules[i].allow ? "devices.allow" : "devices.deny", r) < 0)
        return kiln_err_set (err, errno, "%s: %s: %s", dir, r, strerror (errno));
    }
  return 0;
}

int
devices_configure_v1 (const char *dir, struct kiln_err *err)
{
  if (v1_configured (dir))
    return 0;
  return configure_v1_rules (dir, devices_default, devices_default_n, err);
}

/* ---------- cgroup v2: a device program ---------- */

#define INSN(c, d, s_, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s_), .off = (o), .imm = (i)})

size_t
devices_bpf_program (const struct device_rule *rules, size_t n, struct bpf_insn *out, size_t max)
{
  size_t k = 0;
#define EMIT(x)                                                                                                        \
  do                                                                                                                   \
    {                                                                                                                  \
      if (k >= max)                                                                                                    \
        return 0;                                                                                                      \
      out[k++] = (x);                                                                                                  \
    }                                                                                                                  \
  while (0)
  /* r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx). */
  EMIT (INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));
  EMIT (INSN (BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
  EMIT (INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0));
  EMIT (INSN (BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
  EMIT (INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0));
  EMIT (INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0));
  /* The last rule that matches decides, as the rules are layered (docker's
   * deny-all first); none: denied. */
  for (size_t r = n; r-- > 0;)
    {
      const struct device_rule *d = &rules[r];
      size_t jumps[4], nj = 0;
      if (d->type != 'a')
        {
          jumps[nj++] = k;
          EMIT (INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
        }
      int acc = 0;
      for (const char *a = d->access; *a; a++)
        acc |= *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE : *a == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
      if (acc != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD))
        {
          /* What is asked must all be in the rule's access. */
          EMIT (INSN (BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
          EMIT (INSN (BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, ~acc & 7));
          jumps[nj++] = k;
          EMIT (INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, 0, 0));
        }
      if (d->type != 'a' && d->major >= 0)
        {
          jumps[nj++] = k;
          EMIT (INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t) d->major));
        }
      if (d->type != 'a' && d->minor >= 0)
        {
          jumps[nj++] = k;
          EMIT (INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t) d->minor));
        }
      EMIT (INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, d->allow ? 1 : 0));
      EMIT (INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
      for (size_t j = 0; j < nj; j++)
        out[jumps[j]].off = (int16_t) (k - jumps[j] - 1);
      if (nj == 0)
        return k; /* it matches everything: the rules before it never decide (the verifier refuses dead code) */
    }
  EMIT (INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
  EMIT (INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
#undef EMIT
  return k;
}

static int
bpf_call (int cmd, union bpf_attr *attr)
{
  return (int) syscall (SYS_bpf, cmd, attr, sizeof *attr);
}

static int
attach_v2_rules (const char *dir, const struct device_rule *rules, size_t n_rules, struct kiln_err *err)
{
  struct bpf_insn prog[2048];
  size_t n = devices_bpf_program (rules, n_rules, prog, sizeof prog / sizeof *prog);
  if (n == 0)
    return kiln_err_set (err, E2BIG, "device program: too many rules");
  char log[4096] = "";
  union bpf_attr load;
  memset (&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t) (uintptr_t) prog;
  load.insn_cnt = (uint32_t) n;
  load.license = (uint64_t) (uintptr_t) "Apache";
  int pfd = bpf_call (BPF_PROG_LOAD, &load);
  int load_errno = errno;
  if (pfd < 0)
    {
      /* Again with the verifier's words, for the error (a log that does not fit
       * fails the load by itself: only asked for when needed). */
      load.log_buf = (uint64_t) (uintptr_t) log;
      load.log_size = sizeof log;
      load.log_level = 1;
      errno = 0;
      int again = bpf_call (BPF_PROG_LOAD, &load);
      if (again >= 0)
        close (again);
      log[sizeof log - 1] = '\0';
    }
  if (pfd < 0)
    return kiln_err_set (err, load_errno, "loading the device program: %s %s", strerror (load_errno), log);
  int cg = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0)
    {
      close (pfd);
      return kiln_err_set (err, errno, "%s: %s", dir, strerror (errno));
    }
  /* Without flags an attach replaces the cgroup's program: one, whoever made it. */
  union bpf_attr at;
  memset (&at, 0, sizeof at);
  at.target_fd = (uint32_t) cg;
  at.attach_bpf_fd = (uint32_t) pfd;
  at.attach_type = BPF_CGROUP_DEVICE;
  int r = bpf_call (BPF_PROG_ATTACH, &at);
  int e = errno;
  close (cg);
  close (pfd);
  if (r < 0)
    return kiln_err_set (err, e, "attaching the device program to %s: %s", dir, strerror (e));
  return 0;
}

static int
attach_v2 (const char *dir, struct kiln_err *err)
{
  return attach_v2_rules (dir, devices_default, devices_default_n, err);
}

int
devices_configure (const char *dir, bool v2, const struct device_rule *extra, size_t n_extra, struct kiln_err *err)
{
  if (n_extra > 64)
    return kiln_err_set (err, E2BIG, "%zu devices: at most 64", n_extra);
  struct device_rule rules[sizeof devices_default / sizeof *devices_default + 64];
  memcpy (rules, devices_default, sizeof devices_default);
  if (n_extra)
    memcpy (rules + devices_default_n, extra, n_extra * sizeof *extra);
  size_t n = devices_default_n + n_extra;
  return v2 ? attach_v2_rules (dir, rules, n, err) : configure_v1_rules (dir, rules, n, err);
}

/* ---------- the shared cgroup ---------- */

static char *
read_text (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct buf b = BUF_INIT;
  char chunk[4096];
  ssize_t n;
  while ((n = read (fd, chunk, sizeof chunk)) > 0 && b.len < (1u << 20))
    buf_append (&b, chunk, (size_t) n);
  close (fd);
  return buf_steal (&b);
}

static char *outside_path;
static bool joined;
static pid_t joiner = -1, joiner_owner = -1;
static pthread_mutex_t join_lock = PTHREAD_MUTEX_INITIALIZER;

/* The cgroup kiln is in and the sandbox cgroup beside it (DIR = PARENT/kiln-sandbox). */
static enum devices_cgroup_version
find_dirs (char *parent, size_t plen, char *dir, size_t dlen)
{
  _cleanup_free_ char *mi = read_text ("/proc/self/mountinfo");
  _cleanup_free_ char *cg = read_text ("/proc/self/cgroup");
  const char *prefer = getenv ("KILN_DEVICE_CGROUP");
  enum devices_cgroup_version v
      = mi && cg ? devices_find_parent (mi, cg, prefer && *prefer ? prefer : NULL, parent, plen) : DEVCG_NONE;
  snprintf (dir, dlen, "%s/kiln-sandbox", parent);
  return v;
}

/* Makes the cgroup ready and moves process `who` (0: the caller) into it. */
static int
join_now (pid_t who, struct kiln_err *err)
{
  char parent[4096], dir[4200];
  enum devices_cgroup_version v = find_dirs (parent, sizeof parent, dir, sizeof dir);
  if (v == DEVCG_NONE)
    return kiln_err_set (err, ENOTSUP, "no devices cgroup (v1) or cgroup2 mount");
  size_t pl = strlen (parent);
  if (pl >= 13 && strcmp (parent + pl - 13, "/kiln-sandbox") == 0)
    return 0; /* already in it (a kiln started by a kiln, or joined before) */
  if (mkdir (dir, 0755) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s: %s", dir, strerror (errno));
  if ((v == DEVCG_V1 ? devices_configure_v1 (dir, err) : attach_v2 (dir, err)) < 0)
    return -1;
  char pid[24];
  snprintf (pid, sizeof pid, "%d", (int) who);
  if (write_rule (dir, "cgroup.procs", pid) < 0)
    return kiln_err_set (err, errno, "joining %s: %s", dir, strerror (errno));
  return 0;
}

static void
remember_outside (void)
{
  if (outside_path)
    return;
  char parent[4096], dir[4200];
  if (find_dirs (parent, sizeof parent, dir, sizeof dir) == DEVCG_NONE)
    return;
  size_t pl = strlen (parent);
  if (pl >= 13 && strcmp (parent + pl - 13, "/kiln-sandbox") == 0)
    return;
  struct buf p = BUF_INIT;
  buf_printf (&p, "%s/cgroup.procs", parent);
  outside_path = buf_steal (&p);
}

void
devices_join_start (void)
{
  pthread_mutex_lock (&join_lock);
  if (!joined && joiner_owner != getpid ())
    {
      remember_outside ();
      pid_t self = getpid ();
      fflush (NULL);
      pid_t c = fork ();
      if (c == 0)
        {
          /* It needs nothing of kiln's: a lock or a pipe held here would be held
           * for as long as the kernel makes it wait. */
          close_range (3, ~0U, 0);
          struct kiln_err e = {0};
          _exit (join_now (self, &e) == 0 ? 0 : 1);
        }
      joiner = c;
      joiner_owner = self;
    }
  pthread_mutex_unlock (&join_lock);
}

int
devices_join (struct kiln_err *err)
{
  pthread_mutex_lock (&join_lock);
  int r = 0;
  if (!joined)
    {
      remember_outside ();
      int st = 0;
      bool done = false;
      if (joiner > 0 && joiner_owner == getpid ())
        {
          pid_t w;
          while ((w = waitpid (joiner, &st, 0)) < 0 && errno == EINTR)
            ;
          done = w == joiner && WIFEXITED (st) && WEXITSTATUS (st) == 0;
          joiner = -1;
        }
      /* Not started here, failed, or reaped by someone else: now, with the reason. */
      if (!done && join_now (0, err) < 0)
        {
          kiln_err_wrap (err, "device cgroup");
          r = -1;
        }
      joined = r == 0;
    }
  pthread_mutex_unlock (&join_lock);
  return r;
}

const char *
devices_outside_procs (void)
{
  return outside_path;
}
