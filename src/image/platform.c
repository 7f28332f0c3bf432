/* image/platform.c — OS/ARCH[/VARIANT] platforms and their choice in an index. */
#include "image/platform.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

static bool
plain_word (const char *s, size_t n)
{
  if (n == 0 || n >= 32)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
      return false;
  return true;
}

int
platform_parse (const char *s, struct platform *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  if (s == NULL || *s == '\0')
    {
      strcpy (out->os, "linux");
#if defined(__aarch64__)
      strcpy (out->arch, "arm64");
#else
      strcpy (out->arch, "amd64");
#endif
      return 0;
    }
  char *parts[3] = {out->os, out->arch, out->variant};
  const char *p = s;
  for (int i = 0; i < 3; i++)
    {
      size_t n = strcspn (p, "/");
      if (!plain_word (p, n))
        return kiln_err_set (err, KILN_EUSAGE, "platform \"%s\": use OS/ARCH[/VARIANT], as linux/amd64", s);
      memcpy (parts[i], p, n);
      p += n;
      if (*p == '\0')
        break;
      p++;
      if (i == 2 || *p == '\0')
        return kiln_err_set (err, KILN_EUSAGE, "platform \"%s\": use OS/ARCH[/VARIANT], as linux/amd64", s);
    }
  if (out->arch[0] == '\0')
    return kiln_err_set (err, KILN_EUSAGE, "platform \"%s\": use OS/ARCH[/VARIANT], as linux/amd64", s);
  return 0;
}

static bool
variant_matches (const struct platform *want, const char *have)
{
  if (want->variant[0] == '\0')
    return true;
  if (have == NULL || *have == '\0')
    return strcmp (want->arch, "arm64") == 0 && strcmp (want->variant, "v8") == 0;
  return strcmp (want->variant, have) == 0;
}

/* The manifest of `want` in an index's "manifests". */
json_t *
platform_pick (json_t *manifests, const struct platform *want)
{
  size_t i;
  json_t *m;
  json_array_foreach (manifests, i, m)
  {
    json_t *p = json_object_get (m, "platform");
    const char *os = json_string_value (json_object_get (p, "os"));
    const char *arch = json_string_value (json_object_get (p, "architecture"));
    const char *variant = json_string_value (json_object_get (p, "variant"));
    if (os && arch && strcmp (os, want->os) == 0 && strcmp (arch, want->arch) == 0 && variant_matches (want, variant))
      return m;
  }
  return NULL;
}

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
