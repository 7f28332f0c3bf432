/* cli/build_secret.c — `kiln build --secret`, read before the build starts. */
#include "cli/build_secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"

int
build_secret_parse (const char *spec, struct envmap *src_map, struct envmap *env_map, struct kiln_err *err)
{
  _cleanup_free_ char *copy = xstrdup (spec);
  const char *id = NULL, *src = NULL, *env = NULL;
  for (char *save = NULL, *f = strtok_r (copy, ",", &save); f; f = strtok_r (NULL, ",", &save))
    {
      if (strncmp (f, "id=", 3) == 0)
        id = f + 3;
      else if (strncmp (f, "src=", 4) == 0 || strncmp (f, "source=", 7) == 0)
        src = strchr (f, '=') + 1;
      else if (strncmp (f, "env=", 4) == 0)
        env = f + 4;
      else if (strncmp (f, "type=", 5) == 0)
        ;
      else
        return kiln_err_set (err, KILN_EUSAGE, "--secret: unknown field \"%s\" (id=, src=, env=)", f);
    }
  if (id == NULL)
    id = src ? (strrchr (src, '/') ? strrchr (src, '/') + 1 : src) : env;
  if (id == NULL || *id == '\0' || (src == NULL && env == NULL))
    return kiln_err_set (err, KILN_EUSAGE, "--secret needs id=NAME and src=FILE or env=VAR");
  if (src)
    {
      if (access (src, R_OK) < 0)
        return kiln_err_set (err, errno, "--secret %s: %s: %s", id, src, strerror (errno));
      envmap_set (src_map, id, src);
      return 0;
    }
  const char *v = getenv (env);
  if (v == NULL)
    return kiln_err_set (err, ENOENT, "--secret %s: environment variable %s is not set", id, env);
  envmap_set (env_map, id, v);
  return 0;
}
