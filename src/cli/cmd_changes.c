/* cli/cmd_changes.c — what a container changed and what it is called: diff, rename. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "container/changes.h"
#include "container/config.h"
#include "container/names.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"

const char cmd_diff_usage[] = "Usage: kiln diff CONTAINER\n"
                              "\n"
                              "Lists what the container changed in its filesystem, one path a line:\n"
                              "A added, C changed, D deleted (docker's letters).\n";

int
cmd_diff (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{0}};
  if (getopt_long (argc, argv, "", opts, NULL) != -1)
    return cli_usage_error ("diff", "unknown option");
  if (optind + 1 != argc)
    return cli_usage_error ("diff", "requires exactly 1 argument");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  struct container_rec rec;
  if (cli_find_container (st, argv[optind], &rec) < 0)
    return EXIT_FAIL;
  _cleanup_strv_ struct strv rel = STRV_INIT, lowers = STRV_INIT, lines = STRV_INIT;
  _cleanup_free_ char *upper = container_path (st->root, rec.id, "upper");
  int rc = EXIT_OK;
  if (container_image_lowers (st, rec.image, &rel, &err) < 0)
    rc = cli_fail (&err);
  else
    {
      for (size_t i = 0; i < rel.n; i++)
        {
          struct buf b = BUF_INIT;
          buf_printf (&b, "%s/snapshots/%s", st->root, rel.v[i]);
          strv_push_owned (&lowers, buf_steal (&b));
        }
      if (container_changes (upper, &lowers, &lines, &err) < 0)
        rc = cli_fail (&err);
      for (size_t i = 0; i < lines.n; i++)
        printf ("%s\n", lines.v[i]);
    }
  container_rec_clear (&rec);
  return rc;
}

const char cmd_rename_usage[] = "Usage: kiln rename CONTAINER NEW_NAME\n"
                                "\n"
                                "Gives a container another name.\n";

int
cmd_rename (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{0}};
  if (getopt_long (argc, argv, "", opts, NULL) != -1)
    return cli_usage_error ("rename", "unknown option");
  if (optind + 2 != argc)
    return cli_usage_error ("rename", "requires exactly 2 arguments");
  const char *name = argv[optind + 1];
  if (!container_name_valid (name))
    {
      fprintf (stderr, "Error: Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n", name);
      return EXIT_FAIL;
    }
  name += *name == '/';
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  struct container_rec rec;
  if (cli_find_container (st, argv[optind], &rec) < 0)
    return EXIT_FAIL;
  int rc = EXIT_OK;
  if (strcmp (rec.name, name) == 0)
    {
      fprintf (stderr, "Error: Renaming a container with the same name as its current name\n");
      rc = EXIT_FAIL;
    }
  else if (containers_rename (st, rec.id, name, &err) < 0)
    {
      fprintf (stderr, "Error: %s\n", err.msg);
      kiln_err_clear (&err);
      rc = EXIT_FAIL;
    }
  container_rec_clear (&rec);
  return rc;
}
