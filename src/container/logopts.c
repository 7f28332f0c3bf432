/* container/logopts.c — the json-file driver's --log-opt (see the header). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container/logopts.h"
#include "worker/limits.h"
#include "util/cleanup.h"

#define MAX_LOG_FILES 1000

int64_t
log_opts_size (const char *s)
{
  /* docker's RAMInBytes, the one parser of sizes (worker/limits.h), as an int64 */
  uint64_t v;
  return limits_parse_bytes (s, &v) < 0 || v > (uint64_t) INT64_MAX ? -1 : (int64_t) v;
}

static int
max_file (const char *v)
{
  char *end;
  errno = 0;
  long n = strtol (v, &end, 10);
  return *v && !*end && !errno && n >= 1 && n <= MAX_LOG_FILES ? (int) n : n < 1 && !*end && *v ? 0 : -1;
}

int
log_opts_check (const struct strv *opts, struct kiln_err *err)
{
  bool has_files = false, has_size = false;
  for (size_t i = 0; i < opts->n; i++)
    {
      const char *kv = opts->v[i], *eq = strchr (kv, '=');
      if (eq == NULL)
        return kiln_err_set (err, KILN_EINVAL, "invalid log opt '%s': expected key=value", kv);
      _cleanup_free_ char *k = xstrndup (kv, (size_t) (eq - kv));
      const char *v = eq + 1;
      if (strcmp (k, "max-size") == 0)
        {
          if (log_opts_size (v) < 0)
            return kiln_err_set (err, KILN_EINVAL, "invalid size: '%s'", v);
          has_size = log_opts_size (v) > 0;
        }
      else if (strcmp (k, "max-file") == 0)
        {
          int n = max_file (v);
          if (n == 0)
            return kiln_err_set (err, KILN_EINVAL, "max-file cannot be less than 1");
          if (n < 0)
            return kiln_err_set (err, KILN_EINVAL, "invalid max-file: '%s'", v);
          has_files = n > 1;
        }
      else if (strcmp (k, "labels") == 0 || strcmp (k, "labels-regex") == 0 || strcmp (k, "env") == 0
               || strcmp (k, "env-regex") == 0 || strcmp (k, "tag") == 0 || strcmp (k, "compress") == 0)
        return kiln_err_set (err, KILN_EINVAL, "log opt '%s' of the json-file log driver is not supported by kiln",
                             k);
      else
        return kiln_err_set (err, KILN_EINVAL, "unknown log opt '%s' for json-file log driver", k);
    }
  if (has_files && !has_size)
    return kiln_err_set (err, KILN_EINVAL, "max-file cannot be used without max-size");
  return 0;
}

json_t *
log_opts_config (const struct strv *opts)
{
  json_t *c = json_object ();
  for (size_t i = 0; i < opts->n; i++)
    {
      const char *eq = strchr (opts->v[i], '=');
      if (eq)
        {
          _cleanup_free_ char *k = xstrndup (opts->v[i], (size_t) (eq - opts->v[i]));
          json_object_set_new (c, k, json_string (eq + 1));
        }
    }
  return json_pack ("{s:s, s:o}", "Type", "json-file", "Config", c);
}

void
log_opts_rotation (const json_t *host_config, int64_t *max_size, int *max_files)
{
  const json_t *c = json_object_get (json_object_get (host_config, "LogConfig"), "Config");
  const char *size = json_string_value (json_object_get (c, "max-size"));
  const char *files = json_string_value (json_object_get (c, "max-file"));
  *max_size = size ? log_opts_size (size) : 0;
  if (*max_size < 0)
    *max_size = 0;
  *max_files = files ? max_file (files) : 1;
  if (*max_files < 1)
    *max_files = 1;
}
