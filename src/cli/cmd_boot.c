/* cli/cmd_boot.c — `kiln system boot`: what dockerd does when it starts, for a
 * store with no daemon.  After a reboot no monitor is left; this starts every
 * container whose restart policy says it comes back (container/restart.h:
 * always, unless-stopped when no user stopped it, on-failure after a failure).
 * A container already running is left alone, so running it twice is harmless.
 * contrib/kiln-boot.service runs it at boot. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "cli/cli.h"
#include "container/monitor.h"
#include "container/restart.h"
#include "container/state.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/cleanup.h"

/* Whether container `id` (not running) comes back at boot. */
static bool
comes_back (const char *root, const char *id, const struct container_state *s)
{
  _cleanup_free_ char *path = container_path (root, id, "config.json");
  json_t *config = json_load_file (path, 0, NULL);
  struct restart_policy p;
  restart_policy_from_config (config, &p);
  json_decref (config);
  return s->status != CONTAINER_CREATED && restart_at_boot (&p, s->exit_code, s->stopped_by_user);
}

int
cli_system_boot (struct kiln_store *st, int argc, char **argv)
{
  static const struct option opts[] = {{0}};
  optind = 0;
  if (getopt_long (argc, argv, "", opts, NULL) != -1 || optind != argc)
    return cli_usage_error ("system boot", "takes no arguments");
  struct kiln_err err = {0};
  struct container_rec *recs;
  size_t n;
  if (containers_list (st, &recs, &n, &err) < 0)
    return cli_fail (&err);
  int rc = EXIT_OK;
  for (size_t i = 0; i < n; i++)
    {
      struct container_state s;
      /* A monitor that died with the machine is recorded as such first. */
      if (container_state_get (store_root (st), recs[i].id, &s, &err) < 0)
        {
          rc = cli_fail (&err);
          continue;
        }
      bool start = !container_state_live (&s) && comes_back (store_root (st), recs[i].id, &s);
      container_state_clear (&s);
      if (!start)
        continue;
      int code;
      if (container_start (st, recs[i].id, &code, &err) < 0)
        {
          fprintf (stderr, "kiln: starting %s: ", recs[i].name);
          rc = cli_fail (&err);
        }
      else
        printf ("%s\n", recs[i].name);
    }
  container_recs_free (recs, n);
  return rc;
}
