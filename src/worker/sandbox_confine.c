/* worker/sandbox_confine.c — the sandbox's capabilities (docker's default set, the
 * bounding set) and its seccomp program, compiled once and kept in the store. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util/digest.h"
#include "worker/sandbox_private.h"
#include "worker/seccomp.h"

/* ---------- confinement ---------- */

/* docker's default capability set (moby daemon/pkg/oci/caps/defaults.go). */
static const cap_value_t default_caps[] = {
  CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,         CAP_FOWNER,     CAP_MKNOD,
  CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,         CAP_SETFCAP,    CAP_SETPCAP,
  CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,   CAP_AUDIT_WRITE,
};
#define N_DEFAULT_CAPS (sizeof default_caps / sizeof *default_caps)

uint64_t
sandbox_default_caps (void)
{
  uint64_t m = 0;
  for (size_t i = 0; i < N_DEFAULT_CAPS; i++)
    m |= 1ULL << default_caps[i];
  return m;
}

/* The bounding set (1 << CAP_X): the spec's, docker's default, or all for a
 * privileged sandbox; never more than kiln's own (a host may withhold some). */
uint64_t
sandbox_bounding_caps (const struct sandbox_spec *s)
{
  uint64_t own = 0;
  for (int c = 0; c < 64; c++)
    if (prctl (PR_CAPBSET_READ, c, 0, 0, 0) == 1)
      own |= 1ULL << c;
  if (s->privileged)
    return own;
  return (s->caps_given ? s->caps : sandbox_default_caps ()) & own;
}

/* Must run while still privileged (before setuid): dropping from the bounding
 * set needs CAP_SETPCAP. Capabilities the running kernel has beyond kiln's
 * headers are dropped too. */
int
sandbox_drop_bounding_set (uint64_t keep)
{
  for (int c = 0; c < 64; c++)
    if (!(keep & (1ULL << c)) && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return -1;
  return 0;
}

/* After setuid: root keeps the bounding set as effective and permitted; any
 * other user has none (setuid without KEEPCAPS cleared them). Inheritable and
 * ambient are empty for everyone, as in docker. */
int
sandbox_set_capabilities (bool root, uint64_t caps)
{
  cap_t c = cap_init ();
  if (root)
    for (int v = 0; v < 64; v++)
      if (caps & (1ULL << v))
        {
          cap_value_t one = v;
          cap_set_flag (c, CAP_EFFECTIVE, 1, &one, CAP_SET);
          cap_set_flag (c, CAP_PERMITTED, 1, &one, CAP_SET);
        }
  int r = cap_set_proc (c);
  cap_free (c);
  if (r == 0 && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    r = -1;
  return r;
}

/* The filter of docker's profile for a bounding set.  Compiling it with
 * libseccomp takes ~16 ms, more than a whole cached build: the program is kept in
 * the store, keyed by everything that decides it, and read back in microseconds.
 * The store is root's; a cached program that is not a whole number of
 * instructions is compiled again. */
static int
seccomp_cache_key (uint64_t caps, char *out, size_t len)
{
  struct utsname u;
  if (uname (&u) < 0)
    return -1;
  int maj = 0, min = 0;
  sscanf (u.release, "%d.%d", &maj, &min);
  const struct scmp_version *v = seccomp_version ();
  char material[256];
  int n = snprintf (material, sizeof material, "kiln-seccomp-2 docker-default %s %016llx %d.%d %u.%u.%u",
                    seccomp_native_arch (), (unsigned long long) caps, maj, min, v ? v->major : 0,
                    v ? v->minor : 0, v ? v->micro : 0);
  struct digest d;
  digest_bytes (material, (size_t) n, &d);
  snprintf (out, len, "%.32s", digest_hex (&d));
  return 0;
}

static int
seccomp_cached (const char *store_root, uint64_t caps, struct sock_fprog *out, struct kiln_err *err)
{
  char key[40], dir[4200], path[4300];
  bool cacheable = store_root && seccomp_cache_key (caps, key, sizeof key) == 0;
  if (cacheable)
    {
      snprintf (dir, sizeof dir, "%s/seccomp", store_root);
      snprintf (path, sizeof path, "%s/%s.bpf", dir, key);
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      struct stat sb;
      if (fd >= 0 && fstat (fd, &sb) == 0 && sb.st_size > 0 && sb.st_size < (1 << 20)
          && sb.st_size % (off_t) sizeof (struct sock_filter) == 0)
        {
          struct sock_filter *f = xmalloc ((size_t) sb.st_size);
          if (pread (fd, f, (size_t) sb.st_size, 0) == sb.st_size)
            {
              close (fd);
              out->filter = f;
              out->len = (unsigned short) (sb.st_size / (off_t) sizeof *f);
              return 0;
            }
          free (f);
        }
      if (fd >= 0)
        close (fd);
    }
  if (seccomp_profile_compile (seccomp_default_profile (), caps, out, err) < 0)
    return -1;
  if (cacheable)
    {
      char tmp[4400];
      snprintf (tmp, sizeof tmp, "%s.%d.tmp", path, (int) getpid ());
      mkdir (dir, 0700);
      int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      size_t bytes = (size_t) out->len * sizeof *out->filter;
      if (fd >= 0 && write (fd, out->filter, bytes) == (ssize_t) bytes && close (fd) == 0)
        {
          if (rename (tmp, path) < 0)
            unlink (tmp);
        }
      else
        {
          if (fd >= 0)
            close (fd);
          unlink (tmp);
        }
    }
  return 0;
}

/* One program per bounding set a process asks for (normally one). */
static pthread_mutex_t seccomp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct
{
  const struct seccomp_profile *profile;
  uint64_t caps;
  struct sock_fprog prog;
} seccomp_progs[4];
static size_t n_seccomp_progs;

const struct sock_fprog *
sandbox_seccomp_for (const char *store_root, const struct seccomp_profile *profile, uint64_t caps, struct kiln_err *err)
{
  pthread_mutex_lock (&seccomp_lock);
  const struct sock_fprog *r = NULL;
  for (size_t i = 0; i < n_seccomp_progs && r == NULL; i++)
    if (seccomp_progs[i].caps == caps && seccomp_progs[i].profile == profile)
      r = &seccomp_progs[i].prog;
  if (r == NULL)
    {
      /* Only docker's profile is kept in the store; a user's is compiled. */
      struct sock_fprog p;
      if ((profile ? seccomp_profile_compile (profile, caps, &p, err) : seccomp_cached (store_root, caps, &p, err)) == 0)
        {
          size_t slot = n_seccomp_progs < 4 ? n_seccomp_progs++ : 3;
          free (seccomp_progs[slot].prog.filter);
          seccomp_progs[slot].profile = profile;
          seccomp_progs[slot].caps = caps;
          seccomp_progs[slot].prog = p;
          r = &seccomp_progs[slot].prog;
        }
    }
  pthread_mutex_unlock (&seccomp_lock);
  return r;
}
