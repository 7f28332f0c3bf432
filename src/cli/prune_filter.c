/* cli/prune_filter.c — see prune_filter.h. */
#include "cli/prune_filter.h"

#include <string.h>
#include <time.h>

#include "container/logtime.h"
#include "store/networks.h"
#include "util/cleanup.h"

bool
labels_match_all (const struct strv *want, const json_t *labels)
{
  for (size_t i = 0; i < want->n; i++)
    {
      const char *eq = strchr (want->v[i], '=');
      _cleanup_free_ char *k = xstrndup (want->v[i], eq ? (size_t) (eq - want->v[i]) : strlen (want->v[i]));
      const char *have = json_string_value (json_object_get (labels, k));
      if (have == NULL || (eq && strcmp (have, eq + 1) != 0))
        return false;
    }
  return true;
}

int
prune_filter_add (struct prune_filter *f, const char *kv, bool until_ok, struct kiln_err *err)
{
  const char *eq = strchr (kv, '=');
  if (eq == NULL)
    return kiln_err_set (err, KILN_EINVAL, "bad format of filter (expected name=value)");
  size_t kl = (size_t) (eq - kv);
  if (until_ok && kl == 5 && strncmp (kv, "until", 5) == 0)
    {
      if (f->until_ns)
        return kiln_err_set (err, KILN_EINVAL, "more than one until filter specified");
      struct timespec now;
      clock_gettime (CLOCK_REALTIME, &now);
      if (log_time_parse (eq + 1, (int64_t) now.tv_sec * 1000000000 + now.tv_nsec, &f->until_ns, err) < 0)
        return -1;
      if (f->until_ns == 0)
        f->until_ns = 1; /* until=0 is the epoch itself, not "no filter" */
      return 0;
    }
  if (kl == 6 && strncmp (kv, "label!", 6) == 0)
    return strv_push (&f->not_labels, eq + 1), 0;
  if (kl == 5 && strncmp (kv, "label", 5) == 0)
    return strv_push (&f->labels, eq + 1), 0;
  return kiln_err_set (err, KILN_EINVAL, "Invalid filter '%.*s'", (int) kl, kv);
}

bool
prune_filter_selects (const struct prune_filter *f, int64_t created_ns, const json_t *labels)
{
  if (f == NULL)
    return true;
  if (f->until_ns && created_ns > f->until_ns) /* docker keeps what is After(until) */
    return false;
  if (f->labels.n && !labels_match_all (&f->labels, labels))
    return false;
  if (f->not_labels.n && labels_match_all (&f->not_labels, labels))
    return false;
  return true;
}

void
prune_filter_clear (struct prune_filter *f)
{
  strv_free (&f->labels);
  strv_free (&f->not_labels);
  f->until_ns = 0;
}

bool
prune_filter_selects_network (void *arg, const struct net_rec *r)
{
  return prune_filter_selects (arg, r->created, json_object_get (r->config, "Labels"));
}
