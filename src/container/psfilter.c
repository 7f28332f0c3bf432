/* container/psfilter.c — docker's ps filters (see the header). */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/psfilter.h"
#include "util/regex.h"
#include "util/cleanup.h"

#define MAX_FILTER_VALUES 256 /* a user's flags: bounded */
#define MAX_FILTER_LEN 4096

static const char *const known_keys[] = {"id",     "name",    "label",   "status", "exited", "health", "ancestor",
                                         "before", "since",   "volume",  "network", "publish", "expose", "is-task"};
static const char *const states[] = {"created", "restarting", "running", "removing", "paused", "exited", "dead"};
static const char *const healths[] = {"starting", "healthy", "unhealthy", "none"};

void
psfilter_init (struct psfilter *f)
{
  f->keys = json_object ();
  f->before = INT64_MAX;
  f->since = INT64_MIN;
  f->res = (struct regex_set) REGEX_SET_INIT;
}

void
psfilter_clear (struct psfilter *f)
{
  json_decref (f->keys);
  f->keys = NULL;
  regex_set_clear (&f->res);
}

static bool
one_of (const char *s, const char *const *set, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (s, set[i]) == 0)
      return true;
  return false;
}

#define ONE_OF(s, set) one_of (s, set, sizeof set / sizeof *set)

int
psfilter_add (struct psfilter *f, const char *arg, struct kiln_err *err)
{
  const char *eq = strchr (arg, '=');
  if (eq == NULL || eq == arg)
    return kiln_err_set (err, KILN_EINVAL, "bad format of filter (expected name=value)");
  _cleanup_free_ char *key = xstrndup (arg, (size_t) (eq - arg));
  const char *value = eq + 1;
  if (strlen (arg) > MAX_FILTER_LEN)
    return kiln_err_set (err, KILN_EINVAL, "filter too long (at most %d bytes)", MAX_FILTER_LEN);
  /* docker's filters lower-case and trim the key */
  for (char *p = key; *p; p++)
    *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  if (!ONE_OF (key, known_keys))
    return kiln_err_set (err, KILN_EINVAL, "invalid filter '%s'", key);
  if ((strcmp (key, "status") == 0 && !ONE_OF (value, states))
      || (strcmp (key, "health") == 0 && !ONE_OF (value, healths))
      || (strcmp (key, "is-task") == 0 && strcmp (value, "true") != 0 && strcmp (value, "false") != 0))
    return kiln_err_set (err, KILN_EINVAL, "invalid filter '%s=%s'", key, value);
  if (strcmp (key, "exited") == 0)
    {
      char *end;
      errno = 0;
      long code = strtol (value, &end, 10);
      if (*value == 0 || *end || errno || code < -2147483648L || code > 2147483647L)
        return kiln_err_set (err, KILN_EINVAL, "invalid filter 'exited=%s'", value);
    }
  json_t *list = json_object_get (f->keys, key);
  if (list == NULL)
    json_object_set_new (f->keys, key, list = json_array ());
  if (json_array_size (list) >= MAX_FILTER_VALUES)
    return kiln_err_set (err, KILN_EINVAL, "too many '%s' filters (at most %d)", key, MAX_FILTER_VALUES);
  /* a value given twice is one value (docker's are a set) */
  for (size_t i = 0; i < json_array_size (list); i++)
    if (strcmp (json_string_value (json_array_get (list, i)), value) == 0)
      return 0;
  json_array_append_new (list, json_string (value));
  if (strcmp (key, "id") == 0 || strcmp (key, "name") == 0)
    regex_set_add (&f->res, value);
  return 0;
}

const json_t *
psfilter_values (const struct psfilter *f, const char *key)
{
  return json_object_get (f->keys, key);
}

bool
psfilter_has (const struct psfilter *f, const char *key)
{
  return json_array_size (json_object_get (f->keys, key)) > 0;
}

/* docker's Args.Match: an exact match, else the value as a regular expression found
 * anywhere in `s` (a value that does not compile matches nothing). */
static bool
match_re (const struct psfilter *f, const char *pattern, const char *s)
{
  if (strcmp (pattern, s) == 0)
    return true;
  return regex_set_match (&f->res, pattern, s) == 1; /* one that does not compile matches nothing */
}

static bool
match_name (const struct psfilter *f, const char *re, const json_t *names)
{
  for (size_t i = 0; i < json_array_size (names); i++)
    {
      const char *n = json_string_value (json_array_get (names, i));
      if (n && (match_re (f, re, n) || (*n == '/' && match_re (f, re, n + 1))))
        return true;
    }
  return false;
}

/* label=K or label=K=V */
static bool
match_label (const char *want, const json_t *labels)
{
  const char *eq = strchr (want, '=');
  if (eq == NULL)
    return json_object_get (labels, want) != NULL;
  _cleanup_free_ char *k = xstrndup (want, (size_t) (eq - want));
  const char *v = json_string_value (json_object_get (labels, k));
  return v && strcmp (v, eq + 1) == 0;
}

static const char *
health_of (const json_t *s)
{
  const char *h = json_string_value (json_object_get (json_object_get (s, "Health"), "Status"));
  return h && *h ? h : "none";
}

static bool
match_mount (const char *want, const json_t *mounts)
{
  for (size_t i = 0; i < json_array_size (mounts); i++)
    {
      const json_t *m = json_array_get (mounts, i);
      const char *name = json_string_value (json_object_get (m, "Name"));
      const char *dest = json_string_value (json_object_get (m, "Destination"));
      if ((name && strcmp (name, want) == 0) || (dest && strcmp (dest, want) == 0))
        return true;
    }
  return false;
}

/* "80" or "80/tcp" (tcp when no protocol) against the Ports' public or private side */
static bool
match_port (const char *want, const json_t *ports, bool public)
{
  char proto[16] = "tcp";
  char *end;
  long port = strtol (want, &end, 10);
  if (end == want || (*end && *end != '/') || port <= 0 || port > 65535)
    return false;
  if (*end == '/')
    snprintf (proto, sizeof proto, "%s", end + 1);
  for (size_t i = 0; i < json_array_size (ports); i++)
    {
      const json_t *p = json_array_get (ports, i);
      json_int_t n = json_integer_value (json_object_get (p, public ? "PublicPort" : "PrivatePort"));
      const char *t = json_string_value (json_object_get (p, "Type"));
      if (n == port && t && strcmp (t, proto) == 0)
        return true;
    }
  return false;
}

static bool
match_one (const struct psfilter *f, const char *key, const char *v, const struct psfilter_item *it)
{
  const json_t *s = it->summary;
  const char *id = json_string_value (json_object_get (s, "ID"));
  const char *state = json_string_value (json_object_get (s, "State"));
  if (strcmp (key, "id") == 0)
    return id && match_re (f, v, id);
  if (strcmp (key, "name") == 0)
    return match_name (f, v, json_object_get (s, "Names"));
  if (strcmp (key, "label") == 0)
    return match_label (v, json_object_get (s, "Labels"));
  if (strcmp (key, "status") == 0)
    return state && strcmp (state, v) == 0;
  if (strcmp (key, "exited") == 0)
    return it->has_run && state && strcmp (state, "running") != 0 && it->exit_code == atoi (v);
  if (strcmp (key, "health") == 0)
    return strcmp (health_of (s), v) == 0;
  if (strcmp (key, "ancestor") == 0)
    return it->ancestor;
  if (strcmp (key, "volume") == 0)
    return match_mount (v, json_object_get (s, "Mounts"));
  if (strcmp (key, "network") == 0)
    return json_object_get (json_object_get (json_object_get (s, "NetworkSettings"), "Networks"), v) != NULL;
  if (strcmp (key, "publish") == 0 || strcmp (key, "expose") == 0)
    return match_port (v, json_object_get (s, "Ports"), strcmp (key, "publish") == 0);
  if (strcmp (key, "is-task") == 0)
    return strcmp (v, "false") == 0;
  return true; /* before and since: bounds, below */
}

bool
psfilter_match (const struct psfilter *f, const struct psfilter_item *it)
{
  if (it->created >= f->before || it->created <= f->since)
    return false;
  const char *key;
  json_t *values;
  json_object_foreach (f->keys, key, values)
  {
    bool any = false;
    for (size_t i = 0; i < json_array_size (values) && !any; i++)
      any = match_one (f, key, json_string_value (json_array_get (values, i)), it);
    if (!any)
      return false;
  }
  return true;
}
