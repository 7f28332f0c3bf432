/* libFuzzer: USER / --chown resolution against hostile /etc/passwd and /etc/group.
 * Input: spec, NUL, passwd, NUL, group. */
/* fuzz-floor: 50: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 95; before the library was instrumented, 14. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "worker/users.h"

static int root = -1;

static void
put (const char *name, const char *data, size_t len)
{
  int fd = openat (root, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || (len && write (fd, data, len) != (ssize_t) len))
    abort ();
  close (fd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (root < 0)
    {
      char tmpl[] = "/tmp/kiln-fuzz-users-XXXXXX";
      if (mkdtemp (tmpl) == NULL)
        abort ();
      root = open (tmpl, O_RDONLY | O_DIRECTORY);
      mkdirat (root, "etc", 0755);
    }
  const char *s = (const char *) data;
  const char *e1 = memchr (s, '\0', size);
  if (e1 == NULL)
    return 0;
  const char *p = e1 + 1;
  size_t rest = size - (size_t) (p - s);
  const char *e2 = memchr (p, '\0', rest);
  size_t plen = e2 ? (size_t) (e2 - p) : rest;
  put ("etc/passwd", p, plen);
  put ("etc/group", e2 ? e2 + 1 : "", e2 ? rest - plen - 1 : 0);
  char *spec = xstrndup (s, (size_t) (e1 - s));
  struct user_ids ids;
  char why[512];
  users_resolve (root, spec, data[0] & 1, &ids, why, sizeof why);
  free (spec);
  return 0;
}
