/* util/platform.c — the platform this process runs on, in OCI's words. */
#include "util/platform.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

const char *
host_platform (void)
{
  static char plat[sizeof ((struct utsname *) 0)->machine + 16];
  if (plat[0])
    return plat;
  struct utsname u;
  const char *arch = "amd64";
  const char *variant = "";
  if (uname (&u) == 0)
    {
      if (strcmp (u.machine, "x86_64") == 0)
        arch = "amd64";
      else if (strcmp (u.machine, "aarch64") == 0 || strcmp (u.machine, "arm64") == 0)
        arch = "arm64";
      else if (strncmp (u.machine, "armv7", 5) == 0)
        arch = "arm", variant = "/v7";
      else if (strncmp (u.machine, "armv6", 5) == 0)
        arch = "arm", variant = "/v6";
      else if (u.machine[0] == 'i' && strcmp (u.machine + 2, "86") == 0)
        arch = "386";
      else
        arch = u.machine; /* ppc64le, s390x, riscv64: the same names in OCI */
    }
  snprintf (plat, sizeof plat, "linux/%s%s", arch, variant);
  return plat;
}
