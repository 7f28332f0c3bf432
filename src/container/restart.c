/* container/restart.c — restart policies and docker's backoff (see the header). */
#include "container/restart.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cleanup.h"

static const char *const mode_names[] = {"no", "on-failure", "always", "unless-stopped"};

const char *
restart_mode_name (enum restart_mode m)
{
  return (unsigned) m < sizeof mode_names / sizeof *mode_names ? mode_names[m] : "no";
}

static int
mode_parse (const char *name, enum restart_mode *out)
{
  for (size_t i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
    if (strcmp (name, mode_names[i]) == 0)
      {
        *out = (enum restart_mode) i;
        return 0;
      }
  return -1;
}

int
restart_policy_parse (const char *value, struct restart_policy *out, struct kiln_err *err)
{
  *out = (struct restart_policy){RESTART_NO, 0};
  const char *colon = strchr (value, ':');
  _cleanup_free_ char *name = colon ? xstrndup (value, (size_t) (colon - value)) : xstrdup (value);
  /* docker's client (opts.ParseRestartPolicy), then its daemon's validation. */
  if (colon && colon == value)
    return kiln_err_set (err, KILN_EUSAGE, "invalid restart policy format: no policy provided before colon");
  long count = 0;
  if (colon && colon[1])
    {
      char *end;
      errno = 0;
      count = strtol (colon + 1, &end, 10);
      if (*end || errno || count > INT_MAX || count < INT_MIN)
        return kiln_err_set (err, KILN_EUSAGE, "invalid restart policy format: maximum retry count must be an integer");
    }
  enum restart_mode m;
  if (*name == '\0')
    m = RESTART_NO; /* docker accepts an empty name as "no" */
  else if (mode_parse (name, &m) < 0)
    return kiln_err_set (err, KILN_EUSAGE,
                         "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or "
                         "'unless-stopped'",
                         name);
  if (m != RESTART_ON_FAILURE && count != 0)
    return kiln_err_set (err, KILN_EUSAGE,
                         "invalid restart policy: maximum retry count can only be used with 'on-failure'%s",
                         count < 0 ? " and cannot be negative" : "");
  if (count < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid restart policy: maximum retry count cannot be negative");
  out->mode = m;
  out->max_retries = (int) count;
  return 0;
}

json_t *
restart_policy_json (const struct restart_policy *p)
{
  return json_pack ("{s:s, s:i}", "Name", restart_mode_name (p->mode), "MaximumRetryCount", p->max_retries);
}

void
restart_policy_from_config (const json_t *config, struct restart_policy *out)
{
  *out = (struct restart_policy){RESTART_NO, 0};
  const json_t *rp = json_object_get (json_object_get (config, "HostConfig"), "RestartPolicy");
  const char *name = json_string_value (json_object_get (rp, "Name"));
  enum restart_mode m;
  if (name && mode_parse (name, &m) == 0)
    out->mode = m;
  json_int_t n = json_integer_value (json_object_get (rp, "MaximumRetryCount"));
  out->max_retries = n > 0 && n <= INT_MAX ? (int) n : 0;
}

bool
restart_decide (struct restart_manager *m, int exit_code, bool stopped_by_user, int64_t ran_ns, int64_t *delay_ns)
{
  /* docker's restartmanager.ShouldRestart: the delay moves whatever the policy. */
  if (ran_ns >= RESTART_RESET_AFTER_NS)
    m->delay_ns = 0;
  if (m->delay_ns == 0)
    m->delay_ns = RESTART_FIRST_DELAY_NS;
  else if (m->delay_ns < RESTART_MAX_DELAY_NS)
    m->delay_ns *= 2;
  if (m->delay_ns > RESTART_MAX_DELAY_NS)
    m->delay_ns = RESTART_MAX_DELAY_NS;
  bool again = false;
  if (!stopped_by_user)
    switch (m->policy.mode)
      {
      case RESTART_ALWAYS:
      case RESTART_UNLESS_STOPPED: again = true; break;
      case RESTART_ON_FAILURE:
        again = exit_code != 0 && (m->policy.max_retries == 0 || m->restarts < m->policy.max_retries);
        break;
      case RESTART_NO: break;
      }
  if (!again)
    return false;
  m->restarts++;
  *delay_ns = m->delay_ns;
  return true;
}

bool
restart_at_boot (const struct restart_policy *p, int exit_code, bool stopped_by_user)
{
  switch (p->mode)
    {
    case RESTART_ALWAYS: return true;
    case RESTART_UNLESS_STOPPED: return !stopped_by_user;
    case RESTART_ON_FAILURE: return exit_code != 0 && !stopped_by_user;
    default: return false;
    }
}
