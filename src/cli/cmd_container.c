/* cli/cmd_container.c — finding containers, container inspect and prune, the
 * `kiln container` command table and the hidden container-monitor.  The other
 * container commands: run and create (cli/cmd_run.c, their flags in
 * cli/create_opts.c), start, stop, restart, kill, rm and wait (cli/cmd_lifecycle.c),
 * attach and logs (cli/cmd_logs.c), ps (cli/cmd_ps.c). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/prune_filter.h"
#include "cli/containers.h"
#include "container/config.h"
#include "container/inspect.h"
#include "container/monitor.h"
#include "container/names.h"
#include "container/state.h"
#include "net/net.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/cleanup.h"

/* ---------- finding containers ---------- */

int
cli_no_such_container (const char *ref)
{
  fprintf (stderr, "Error: No such container: %s\n", ref);
  return EXIT_FAIL;
}

/* The container `ref` names (a full id, a name, a unique id prefix): CONTAINER_FOUND
 * and *out filled (the caller clears it), or why not. */
static enum container_match
lookup (struct kiln_store *st, const char *ref, struct container_rec *out, struct kiln_err *err)
{
  struct container_rec *recs;
  size_t n, i = 0;
  if (containers_list (st, &recs, &n, err) < 0)
    return CONTAINER_NONE;
  enum container_match m = container_ref_match (recs, n, ref, &i);
  if (m == CONTAINER_FOUND)
    {
      *out = recs[i];
      memset (&recs[i], 0, sizeof recs[i]);
    }
  container_recs_free (recs, n);
  return m;
}

/* lookup, saying why not on stderr; 0 when found. */
int
cli_find_container (struct kiln_store *st, const char *ref, struct container_rec *out)
{
  struct kiln_err err = {0};
  enum container_match m = lookup (st, ref, out, &err);
  if (kiln_err_is_set (&err))
    return cli_fail (&err), -1;
  if (m == CONTAINER_AMBIGUOUS)
    fprintf (stderr, "kiln: multiple IDs found with provided prefix: %s\n", ref);
  else if (m == CONTAINER_NONE)
    cli_no_such_container (ref);
  return m == CONTAINER_FOUND ? 0 : -1;
}

int
cli_open_container (struct kiln_ctx *ctx, const char *ref, struct kiln_store **st, struct container_rec *rec)
{
  struct kiln_err err = {0};
  if ((*st = cli_open_store (ctx, &err)) == NULL)
    return cli_fail (&err);
  return cli_find_container (*st, ref, rec) < 0 ? EXIT_FAIL : EXIT_OK;
}

json_t *
cli_container_config (const char *root, const char *id, struct kiln_err *err)
{
  _cleanup_free_ char *path = container_path (root, id, "config.json");
  json_error_t je;
  json_t *j = json_load_file (path, JSON_DECODE_ANY, &je);
  if (j == NULL)
    kiln_err_set (err, EIO, "%s: %s", path, je.text);
  return j;
}

/* ---------- inspect, prune ---------- */

int
cli_container_inspect (struct kiln_store *st, const char *ref, json_t *into, struct kiln_err *err)
{
  struct container_rec rec;
  enum container_match m = lookup (st, ref, &rec, err);
  if (kiln_err_is_set (err))
    return -1;
  if (m != CONTAINER_FOUND)
    return 0;
  int ret = -1;
  struct container_state s;
  json_t *config = cli_container_config (store_root (st), rec.id, err);
  _cleanup_strv_ struct strv lowers = STRV_INIT;
  if (config && container_state_get (store_root (st), rec.id, &s, err) == 0)
    {
      /* An image whose layers cannot be listed shows none: inspect still works. */
      struct kiln_err ignored = {0};
      container_image_lowers (st, rec.image, &lowers, &ignored);
      kiln_err_clear (&ignored);
      json_t *obj = container_inspect_json (store_root (st), &rec, config, &s, &lowers);
      json_object_set_new (obj, "NetworkSettings", net_settings_json (st, rec.id, config));
      json_array_append_new (into, obj);
      container_state_clear (&s);
      ret = 1;
    }
  json_decref (config);
  container_rec_clear (&rec);
  return ret;
}

int
cli_containers_of_image (struct kiln_store *st, const char *image_id, struct strv *running, struct strv *stopped,
                         struct kiln_err *err)
{
  _cleanup_strv_ struct strv ids = STRV_INIT;
  if (containers_using_image (st, image_id, &ids, err) < 0)
    return -1;
  for (size_t i = 0; i < ids.n; i++)
    {
      struct container_state s;
      if (container_state_get (store_root (st), ids.v[i], &s, err) < 0)
        return -1;
      strv_push (container_state_live (&s) ? running : stopped, ids.v[i]);
      container_state_clear (&s);
    }
  return 0;
}

/* --filter until= and label= of container prune: the container's Created and its
 * Config.Labels.  A config that cannot be read has no labels. */
static bool
container_selected (struct kiln_store *st, const struct prune_filter *f, const struct container_rec *rec)
{
  if (f == NULL || (f->until_ns == 0 && f->labels.n == 0 && f->not_labels.n == 0))
    return true;
  struct kiln_err err = {0};
  _cleanup_json_ json_t *config = cli_container_config (store_root (st), rec->id, &err);
  kiln_err_clear (&err);
  return prune_filter_selects (f, rec->created, json_object_get (json_object_get (config, "Config"), "Labels"));
}

int
cli_containers_prune (struct kiln_store *st, const struct prune_filter *f, struct strv *removed,
                      struct kiln_err *err)
{
  struct container_rec *recs;
  size_t n;
  if (containers_list (st, &recs, &n, err) < 0)
    return -1;
  int ret = 0;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      int lock = containers_lock (store_root (st), err);
      if (lock < 0)
        {
          ret = -1;
          break;
        }
      struct container_state s;
      if (container_state_get_locked (store_root (st), recs[i].id, &s, err) < 0)
        ret = -1;
      else if (!container_state_live (&s) && container_selected (st, f, &recs[i]))
        {
          if ((ret = containers_remove (st, recs[i].id, err)) == 0)
            strv_push (removed, recs[i].id);
        }
      container_state_clear (&s);
      containers_unlock (lock);
    }
  container_recs_free (recs, n);
  return ret;
}

static int
container_prune (struct kiln_ctx *ctx, int argc, char **argv)
{
  _cleanup_store_ struct kiln_store *st = NULL;
  struct prune_filter filter __attribute__ ((cleanup (prune_filter_clear))) = {0};
  int rc = cli_prune_begin (ctx, "container prune", argc, argv, "WARNING! This will remove all stopped containers.\n",
                            &filter, &st);
  if (st == NULL)
    return rc;
  struct kiln_err err = {0};
  _cleanup_strv_ struct strv removed = STRV_INIT;
  rc = cli_containers_prune (st, &filter, &removed, &err) < 0 ? cli_fail (&err) : EXIT_OK;
  cli_print_deleted ("Containers", &removed);
  printf ("Total reclaimed space: 0B\n");
  return rc;
}

const char cmd_container_usage[]
    = "Usage: kiln container COMMAND\n"
      "\n"
      "  ls|ps|list [-a] [-q] [--no-trunc] [-n N] [-l]    create    run     start [-a]\n"
      "  stop [-t N]    kill [-s SIG]    rm [-f]    wait    logs [-f] [--tail N] [-t]\n"
      "  inspect CONTAINER...    prune [-f] [--filter until=TIME|label=K[=V]|label!=K[=V]]\n"
      "  cp    diff    export    commit    rename\n"
      "  stats [--no-stream] [-a]    top C [ps OPTIONS]    pause C...    unpause C...\n"
      "  exec [-d] [-i] [-u U] [-w D] [-e K=V] CONTAINER CMD...\n";

int
cmd_container (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*run) (struct kiln_ctx *, int, char **);
    const char *usage;
  } subs[] = {
    {"ls", cmd_ps, cmd_ps_usage},           {"ps", cmd_ps, cmd_ps_usage},
    {"list", cmd_ps, cmd_ps_usage},         {"create", cmd_create, cmd_create_usage},
    {"run", cmd_run, cmd_run_usage},        {"start", cmd_start, cmd_start_usage},
    {"stop", cmd_stop, cmd_stop_usage},     {"kill", cmd_kill, cmd_kill_usage},
    {"rm", cmd_rm, cmd_rm_usage},           {"wait", cmd_wait, cmd_wait_usage},
    {"logs", cmd_logs, cmd_logs_usage},     {"inspect", cli_container_inspect_cmd, cmd_container_usage},
    {"prune", container_prune, cmd_container_usage}, {"restart", cmd_restart, cmd_restart_usage},
    {"attach", cmd_attach, cmd_attach_usage},
    {"cp", cmd_cp, cmd_cp_usage},           {"diff", cmd_diff, cmd_diff_usage},
    {"export", cmd_export, cmd_export_usage}, {"commit", cmd_commit, cmd_commit_usage},
    {"rename", cmd_rename, cmd_rename_usage},
    {"stats", cmd_stats, cmd_stats_usage},  {"top", cmd_top, cmd_top_usage},
    {"pause", cmd_pause, cmd_pause_usage},  {"unpause", cmd_unpause, cmd_unpause_usage},
    {"exec", cmd_exec, cmd_exec_usage},
  };
  if (argc < 2)
    return cli_usage_error ("container", "expects a command (ls, create, start, stop, kill, rm, wait, logs, "
                                         "inspect, prune)");
  for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
    if (strcmp (subs[i].name, argv[1]) == 0)
      {
        if (cli_wants_help (argc - 1, argv + 1) && subs[i].run != cmd_run && subs[i].run != cmd_create
            && subs[i].run != cmd_exec)
          return fputs (subs[i].usage, stdout), EXIT_OK;
        optind = 0;
        return subs[i].run (ctx, argc - 1, argv + 1);
      }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    return fputs (cmd_container_usage, stdout), EXIT_OK;
  return cli_usage_error ("container", "unknown command \"%s\"", argv[1]);
}

const char cmd_container_monitor_usage[] = "Usage: kiln container-monitor [--notify-fd N] ID\n"
                                           "\n"
                                           "kiln's own: runs a container under a monitor (kiln run -d, kiln start).\n";

int
cmd_container_monitor (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    {"notify-fd", required_argument, NULL, 'n'}, {"wait-attach", no_argument, NULL, 'w'}, {0}};
  int notify = -1, c;
  bool wait_attach = false;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    if (c == 'n')
      notify = atoi (optarg);
    else if (c == 'w')
      wait_attach = true;
    else
      return cli_usage_error ("container-monitor", "unknown option");
  if (optind + 1 != argc || strlen (argv[optind]) != CONTAINER_ID_LEN)
    return cli_usage_error ("container-monitor", "expects a container ID");
  return container_monitor_main (ctx->root, argv[optind], notify, wait_attach);
}
