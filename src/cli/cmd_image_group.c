/* cli/cmd_image_group.c — `kiln image …`, docker's image object group (ls, rm, inspect,
 * prune, history, tag, pull, push, import, save, load, build), and the image half of
 * prune that `image prune` and `system prune` share. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "cli/cli.h"
#include "cli/prune_filter.h"
#include "container/logtime.h"
#include "image/gc.h"
#include "image/image.h"
#include "image/ref.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/cleanup.h"

/* --filter until= and label=: the image's own created time (docker compares it; an
 * image without one is never "before") and its config's labels. */
static int
image_selected (const struct prune_filter *f, struct kiln_store *st, const struct digest *id, bool *selected,
                struct kiln_err *err)
{
  *selected = true;
  if (f == NULL || (f->until_ns == 0 && f->labels.n == 0 && f->not_labels.n == 0))
    return 0;
  struct image_info ii = {0};
  if (image_load (st, id, &ii, err) < 0)
    return -1;
  const char *created = json_string_value (json_object_get (ii.config, "created"));
  int64_t ns = INT64_MAX;
  struct kiln_err ignored = {0};
  if (created == NULL || log_time_parse (created, 0, &ns, &ignored) < 0)
    ns = INT64_MAX;
  kiln_err_clear (&ignored);
  *selected = prune_filter_selects (f, ns, json_object_get (json_object_get (ii.config, "config"), "Labels"));
  image_info_clear (&ii);
  return 0;
}

int
cli_images_prune (struct kiln_store *st, bool all, const struct prune_filter *f, struct strv *report,
                  size_t *n_deleted, struct kiln_err *err)
{
  *n_deleted = 0;
  _cleanup_strv_ struct strv ids = STRV_INIT;
  if (image_list (st, &ids, err) < 0)
    return -1;
  for (size_t i = 0; i < ids.n; i++)
    {
      struct digest id;
      _cleanup_strv_ struct strv tags = STRV_INIT, users = STRV_INIT;
      bool selected = false;
      if (digest_parse (ids.v[i], &id, err) < 0 || image_tags (st, &id, &tags, err) < 0
          || containers_using_image (st, id.str, &users, err) < 0)
        return -1;
      /* dangling: no tag; -a: also tagged ones; never one a container was made from */
      if ((tags.n && !all) || users.n)
        continue;
      if (image_selected (f, st, &id, &selected, err) < 0 || (selected && image_delete (st, &id, err) < 0))
        {
          /* docker's daemon logs such an image and goes on with the others */
          fprintf (stderr, "kiln: image prune: %s: %s\n", id.str, err->msg);
          kiln_err_clear (err);
          continue;
        }
      if (!selected)
        continue;
      _cleanup_buf_ struct buf line = BUF_INIT;
      for (size_t t = 0; t < tags.n; t++)
        {
          _cleanup_free_ char *name = ref_familiar (tags.v[t]);
          buf_reset (&line);
          buf_printf (&line, "untagged: %s", name);
          strv_push (report, buf_str (&line));
        }
      buf_reset (&line);
      buf_printf (&line, "deleted: %s", id.str);
      strv_push (report, buf_str (&line));
      (*n_deleted)++;
    }
  return 0;
}

void
cli_print_images_report (const struct strv *report)
{
  if (report->n == 0)
    return;
  /* docker's shape: lower-case "untagged:" and "deleted:" lines, then a blank line */
  printf ("Deleted Images:\n");
  for (size_t i = 0; i < report->n; i++)
    printf ("%s\n", report->v[i]);
  printf ("\n");
}

static const char image_prune_usage[]
    = "Usage: kiln image prune [-a] [-f] [--filter until=TIME|label=K[=V]|label!=K[=V]]...\n"
      "\n"
      "Removes dangling (untagged) images that no container was made from, then the layers\n"
      "and blobs nothing holds any more.\n"
      "\n"
      "  -a, --all        every image no container was made from, tagged or not\n"
      "  -f, --force      do not ask for confirmation\n"
      "      --filter F   until=TIME (created before: 24h, 2026-12-01, a Unix time), label=K[=V]\n"
      "                   (has it), label!=K[=V] (has it not); several filters all apply\n";

static int
image_prune (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"filter", required_argument, NULL, 'F'},
                                       {0}};
  bool force = false, all = false;
  struct prune_filter filter __attribute__ ((cleanup (prune_filter_clear))) = {0};
  struct kiln_err err = {0};
  int c;
  while ((c = getopt_long (argc, argv, "af", opts, NULL)) != -1)
    switch (c)
      {
      case 'a': all = true; break;
      case 'f': force = true; break;
      case 'F':
        /* dangling=false is -a (docker's daemon takes it for image prune only) */
        if (strncmp (optarg, "dangling=", 9) == 0)
          {
            if (strcmp (optarg + 9, "true") != 0 && strcmp (optarg + 9, "false") != 0)
              {
                kiln_err_set (&err, KILN_EINVAL, "Invalid filter 'dangling=%s'", optarg + 9);
                return cli_fail (&err);
              }
            all = strcmp (optarg + 9, "false") == 0;
          }
        else if (prune_filter_add (&filter, optarg, true, &err) < 0)
          return cli_fail (&err);
        break;
      default: return cli_usage_error ("image prune", "unknown option");
      }
  if (optind < argc)
    return cli_usage_error ("image prune", "accepts no arguments");
  if (!force
      && !cli_confirm (all ? "WARNING! This will remove all images without at least one container associated to them.\n"
                           : "WARNING! This will remove all dangling images.\n"))
    return EXIT_OK;
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL || store_lock_exclusive (st, &err) < 0)
    return cli_fail (&err);
  _cleanup_strv_ struct strv report = STRV_INIT;
  size_t n_deleted;
  if (cli_images_prune (st, all, &filter, &report, &n_deleted, &err) < 0)
    return cli_fail (&err);
  struct gc_stats gs;
  if (image_gc (st, false, &gs, &err) < 0)
    return cli_fail (&err);
  cli_print_images_report (&report);
  char sz[32];
  format_size (gs.bytes, sz);
  printf ("Total reclaimed space: %s\n", sz);
  return EXIT_OK;
}

const char cmd_image_usage[]
    = "Usage: kiln image COMMAND\n"
      "\n"
      "Manage images, as docker's image commands:\n"
      "  ls, list     kiln images          rm, remove   kiln rmi\n"
      "  inspect      kiln inspect --type image\n"
      "  prune        remove dangling (-a: all unused) images\n"
      "  history, tag, pull, push, import, save, load, build\n";

int
cmd_image (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*run) (struct kiln_ctx *, int, char **);
    const char *usage;
  } subs[] = {
    {"ls", cmd_images, cmd_images_usage},       {"list", cmd_images, cmd_images_usage},
    {"rm", cmd_rmi, cmd_rmi_usage},             {"remove", cmd_rmi, cmd_rmi_usage},
    {"inspect", cli_image_inspect_cmd, cmd_inspect_usage}, {"prune", image_prune, image_prune_usage},
    {"history", cmd_history, cmd_history_usage}, {"tag", cmd_tag, cmd_tag_usage},
    {"pull", cmd_pull, cmd_pull_usage},         {"push", cmd_push, cmd_push_usage},
    {"import", cmd_import, cmd_import_usage},   {"save", cmd_save, cmd_save_usage},
    {"load", cmd_load, cmd_load_usage},         {"build", cmd_build, cmd_build_usage},
  };
  if (argc < 2)
    return cli_usage_error ("image", "expects a command (ls, rm, inspect, prune, history, tag, pull, push, "
                                     "import, save, load, build)");
  for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
    if (strcmp (subs[i].name, argv[1]) == 0)
      {
        if (cli_wants_help (argc - 1, argv + 1))
          return fputs (subs[i].usage, stdout), EXIT_OK;
        optind = 0;
        return subs[i].run (ctx, argc - 1, argv + 1);
      }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    return fputs (cmd_image_usage, stdout), EXIT_OK;
  return cli_usage_error ("image", "unknown command \"%s\"", argv[1]);
}
