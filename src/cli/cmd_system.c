/* cli/cmd_system.c — `kiln system df|prune|check`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "net/network.h"
#include "cli/cli.h"
#include "cli/prune_filter.h"
#include "container/changes.h"
#include "container/resources.h"
#include "container/state.h"
#include "image/gc.h"
#include "image/image.h"
#include "store/cache_records.h"
#include "store/containers.h"
#include "store/store.h"
#include "store/volumes.h"
#include "util/cleanup.h"

const char cmd_system_usage[]
    = "Usage: kiln system df|prune|check [OPTIONS]\n"
      "\n"
      "  df                       disk used by images, containers, volumes and the build cache\n"
      "  prune [-a] [-f] [--filter until=|label=|label!=]\n"
      "                           remove stopped containers, unused networks, untagged images\n"
      "                           (-a: all images no container uses), unused layers, the build\n"
      "                           cache (kept with --filter), and leftovers of interrupted\n"
      "                           work; -f: do not ask\n"
      "  check [--repair]         verify every image's blobs and snapshots, the containers'\n"
      "                           records and directories, and the database; --repair\n"
      "                           removes leftovers (never what an image or container needs)\n"
      "  boot                     start the containers whose restart policy brings them back\n"
      "                           after a reboot (contrib/kiln-boot.service runs it)\n";

/* docker's "Local Volumes" row: every volume, those a container uses, their bytes on
 * disk and what the others hold. */
static int
system_df_volumes (struct kiln_store *st)
{
  struct kiln_err err = {0};
  uint64_t total, reclaimable;
  size_t count, active;
  if (volumes_disk_usage (st, &total, &reclaimable, &count, &active, &err) < 0)
    return cli_fail (&err), -1;
  char size[32], recl[32];
  format_size (total, size);
  format_size (reclaimable, recl);
  printf ("%-15s %-9zu %-9zu %-10s %s (%d%%)\n", "Local Volumes", count, active, size, recl,
          total ? (int) (reclaimable * 100 / total) : 0);
  return 0;
}

/* docker's "Containers" row: every container, those running (paused and
 * restarting too), the bytes they wrote (their upper layers, ps -s's SizeRw) and
 * what the others wrote; the share only when something was written, as docker. */
static int
system_df_containers (struct kiln_store *st)
{
  struct kiln_err err = {0};
  struct container_rec *recs = NULL;
  size_t n = 0;
  if (containers_list (st, &recs, &n, &err) < 0)
    return cli_fail (&err), -1;
  uint64_t total = 0, reclaimable = 0;
  size_t active = 0;
  for (size_t i = 0; i < n; i++)
    {
      struct container_state s = {0};
      bool running = container_state_get (store_root (st), recs[i].id, &s, &err) == 0 && s.status == CONTAINER_RUNNING;
      kiln_err_clear (&err); /* a state that cannot be read: not running, as ps shows it */
      container_state_clear (&s);
      _cleanup_free_ char *upper = container_path (store_root (st), recs[i].id, "upper");
      uint64_t rw = 0;
      if (container_rw_size (upper, &rw, &err) < 0)
        kiln_err_clear (&err); /* unreadable: 0, as ps -s */
      total += rw;
      if (running)
        active++;
      else
        reclaimable += rw;
    }
  container_recs_free (recs, n);
  char size[32], recl[32];
  format_size (total, size);
  format_size (reclaimable, recl);
  if (total > 0)
    printf ("%-15s %-9zu %-9zu %-10s %s (%d%%)\n", "Containers", n, active, size, recl,
            (int) (reclaimable * 100 / total));
  else
    printf ("%-15s %-9zu %-9zu %-10s %s\n", "Containers", n, active, size, recl);
  return 0;
}

static int
system_df (struct kiln_store *st)
{
  struct kiln_err err = {0};
  struct df_row img, cache;
  if (store_df (st, &img, &cache, &err) < 0)
    return cli_fail (&err);
  char size[32], recl[32], csize[32], crecl[32];
  format_size (img.size, size);
  format_size (img.reclaimable, recl);
  format_size (cache.size, csize);
  format_size (cache.reclaimable, crecl);
  int pct = img.size ? (int) (img.reclaimable * 100 / img.size) : 0;
  printf ("%-15s %-9s %-9s %-10s %s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
  printf ("%-15s %-9llu %-9llu %-10s %s (%d%%)\n", "Images", (unsigned long long) img.total,
          (unsigned long long) img.active, size, recl, pct);
  if (system_df_containers (st) < 0 || system_df_volumes (st) < 0)
    return EXIT_FAIL;
  printf ("%-15s %-9llu %-9llu %-10s %s\n", "Build Cache", (unsigned long long) cache.total,
          (unsigned long long) cache.active, csize, crecl);
  return EXIT_OK;
}

static int
system_prune (struct kiln_store *st, int argc, char **argv)
{
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"filter", required_argument, NULL, 'F'},
                                       {0}};
  bool all = false, force = false;
  struct prune_filter filter __attribute__ ((cleanup (prune_filter_clear))) = {0};
  struct kiln_err err = {0};
  int c;
  optind = 0;
  while ((c = getopt_long (argc, argv, "af", opts, NULL)) != -1)
    switch (c)
      {
      case 'a': all = true; break;
      case 'f': force = true; break;
      case 'F':
        if (prune_filter_add (&filter, optarg, true, &err) < 0)
          return cli_fail (&err);
        break;
      default: return cli_usage_error ("system prune", "unknown option");
      }
  bool filtered = filter.until_ns || filter.labels.n || filter.not_labels.n;
  if (!force)
    {
      char warning[256];
      snprintf (warning, sizeof warning,
                "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one "
                "container\n  - %s\n  - unused layers%s\n",
                all ? "all images without at least one container associated to them"
                    : "all dangling (untagged) images",
                filtered ? "" : " and build cache");
      if (!cli_confirm (warning))
        return EXIT_OK;
    }
  if (store_lock_exclusive (st, &err) < 0)
    return cli_fail (&err);
  /* Stopped containers first: the images they held may go next. */
  _cleanup_strv_ struct strv gone = STRV_INIT;
  if (cli_containers_prune (st, &filter, &gone, &err) < 0)
    return cli_fail (&err);
  cli_print_deleted ("Containers", &gone);
  /* Then the networks nobody is on, as docker's system prune. */
  _cleanup_strv_ struct strv nets = STRV_INIT;
  if (net_networks_prune (st, prune_filter_selects_network, &filter, &nets, &err) < 0)
    return cli_fail (&err);
  cli_print_deleted ("Networks", &nets);
  _cleanup_strv_ struct strv report = STRV_INIT;
  size_t n_deleted;
  if (cli_images_prune (st, all, &filter, &report, &n_deleted, &err) < 0)
    return cli_fail (&err);
  cli_print_images_report (&report);
  /* The build cache's records have no labels; with a filter they are kept (kiln
   * does not yet select them by age). */
  if (!filtered && cache_records_clear (st, &err) < 0)
    return cli_fail (&err);
  struct gc_stats gs;
  if (image_gc (st, false, &gs, &err) < 0)
    return cli_fail (&err);
  char sz[32];
  format_size (gs.bytes, sz);
  printf ("Total reclaimed space: %s\n", sz);
  return EXIT_OK;
}

static int
system_check (struct kiln_store *st, int argc, char **argv)
{
  static const struct option opts[] = {{"repair", no_argument, NULL, 'r'}, {0}};
  bool repair = false;
  int c;
  optind = 0;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    if (c == 'r')
      repair = true;
    else
      return cli_usage_error ("system check", "unknown option");
  struct kiln_err err = {0};
  struct check_report rep;
  if (store_check (st, repair, &rep, &err) < 0)
    return cli_fail (&err);
  if (containers_check (st, repair, &rep.garbage, &err) < 0 || volumes_check (st, repair, &rep.garbage, &err) < 0
      || net_check (st, repair, &rep.garbage, &err) < 0
      || container_cgroups_check (store_root (st), repair, &rep.garbage, &err) < 0)
    {
      check_report_clear (&rep);
      return cli_fail (&err);
    }
  for (size_t i = 0; i < rep.damage.n; i++)
    printf ("damaged: %s\n", rep.damage.v[i]);
  _cleanup_strv_ struct strv notes = STRV_INIT;
  net_check_firewall (&notes);
  for (size_t i = 0; i < notes.n; i++)
    printf ("warning: %s\n", notes.v[i]);
  for (size_t i = 0; i < rep.garbage.n; i++)
    printf ("%s: %s\n", repair ? "removed" : "leftover", rep.garbage.v[i]);
  for (size_t i = 0; i < rep.unused.n; i++)
    printf ("%s: %s\n", repair ? "removed" : "unused", rep.unused.v[i]);
  int rc = EXIT_OK;
  if (rep.damage.n)
    {
      printf ("the store is damaged: %zu problem(s) that --repair cannot fix\n", rep.damage.n);
      rc = EXIT_FAIL;
    }
  else if (rep.garbage.n && !repair)
    {
      printf ("the store is consistent but holds %zu leftover(s) of interrupted work: run kiln system check "
              "--repair\n",
              rep.garbage.n);
      rc = EXIT_FAIL;
    }
  else if (rep.unused.n && !repair)
    printf ("the store is clean; %zu unused item(s) can be reclaimed with kiln system prune\n", rep.unused.n);
  else
    printf ("the store is clean%s\n", repair && rep.garbage.n ? " (repaired)" : "");
  check_report_clear (&rep);
  return rc;
}

int
cmd_system (struct kiln_ctx *ctx, int argc, char **argv)
{
  if (argc < 2)
    return cli_usage_error ("system", "expects df, prune or check");
  const char *sub = argv[1];
  if (strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0)
    return fputs (cmd_system_usage, stdout), EXIT_OK;
  if (strcmp (sub, "df") != 0 && strcmp (sub, "prune") != 0 && strcmp (sub, "check") != 0
      && strcmp (sub, "boot") != 0)
    return cli_usage_error ("system", "unknown subcommand \"%s\"", sub);
  if (cli_wants_help (argc - 1, argv + 1))
    return fputs (cmd_system_usage, stdout), EXIT_OK;
  struct kiln_err err = {0};
  struct kiln_store *st = store_open (ctx->root, &err);
  if (st == NULL)
    return cli_fail (&err);
  int rc;
  if (strcmp (sub, "df") == 0)
    rc = argc == 2 ? system_df (st) : cli_usage_error ("system df", "takes no arguments");
  else if (strcmp (sub, "prune") == 0)
    rc = system_prune (st, argc - 1, argv + 1);
  else if (strcmp (sub, "boot") == 0)
    rc = cli_system_boot (st, argc - 1, argv + 1);
  else
    rc = system_check (st, argc - 1, argv + 1);
  store_close (st);
  return rc;
}
