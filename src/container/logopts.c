/* container/logopts.c — the json-file driver's --log-opt (see the header). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container/logopts.h"
#include "util/cleanup.h"

#define MAX_LOG_FILES 1000

int64_t
log_opts_size (const char *s)
{
  /* go-units RAMInBytes: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$, binary multiples */
  if (!isdigit ((unsigned char) *s))
    return -1;
  size_t n = strspn (s, "0123456789.");
  if (n > 40 || s[n - 1] == '.' || strstr (s, "..") != NULL)
    return -1;
  char num[48];
  memcpy (num, s, n);
  num[n] = 0;
  char *nend;
  errno = 0;
  double v = strtod (num, &nend);
  if (errno || *nend)
    return -1;
  const char *end = s + n;
  if (*end == ' ')
    end++;
  static const char units[] = "kmgtp";
  int64_t mult = 1;
  const char *u = *end ? strchr (units, tolower ((unsigned char) *end)) : NULL;
  if (u)
    {
      mult = 1LL << (10 * (u - units + 1));
      end++;
    }
  if (*end == 'i' || *end == 'I')
    end++;
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end || v * (double) mult > 9.0e18)
    return -1;
  return (int64_t) (v * (double) mult);
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
