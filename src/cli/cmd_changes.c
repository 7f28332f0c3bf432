/* cli/cmd_changes.c — what a container changed and what it is called: diff, commit, rename. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "container/changes.h"
#include "container/commit.h"
#include "container/config.h"
#include "container/names.h"
#include "frontend/inst_config.h"
#include "image/ref.h"
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
  _cleanup_store_ struct kiln_store *st = NULL;
  struct container_rec rec;
  int opened = cli_open_container (ctx, argv[optind], &st, &rec);
  if (opened != EXIT_OK)
    return opened;
  _cleanup_strv_ struct strv rel = STRV_INIT, lowers = STRV_INIT, lines = STRV_INIT;
  _cleanup_free_ char *upper = container_path (store_root (st), rec.id, "upper");
  int rc = EXIT_OK;
  if (container_image_lowers (st, rec.image, &rel, &err) < 0)
    rc = cli_fail (&err);
  else
    {
      for (size_t i = 0; i < rel.n; i++)
        {
          struct buf b = BUF_INIT;
          buf_printf (&b, "%s/snapshots/%s", store_root (st), rel.v[i]);
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
  _cleanup_store_ struct kiln_store *st = NULL;
  struct container_rec rec;
  int opened = cli_open_container (ctx, argv[optind], &st, &rec);
  if (opened != EXIT_OK)
    return opened;
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

const char cmd_commit_usage[]
    = "Usage: kiln commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n"
      "\n"
      "Makes an image of a container: its image's layers and one more with what the\n"
      "container changed, its config as the image's.  Prints the new image's id.\n"
      "\n"
      "  -a, --author TEXT    the image's author\n"
      "  -c, --change INSTR   a Dockerfile instruction to apply (CMD, ENTRYPOINT, ENV, EXPOSE,\n"
      "                       LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK, ONBUILD)\n"
      "  -m, --message TEXT   the history entry's comment\n"
      "  -p, --pause          (accepted: kiln reads a running container as it is)\n";

int
cmd_commit (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"author", required_argument, NULL, 'a'},
                                       {"change", required_argument, NULL, 'c'},
                                       {"message", required_argument, NULL, 'm'},
                                       {"pause", optional_argument, NULL, 'p'},
                                       {0}};
  _cleanup_strv_ struct strv changes = STRV_INIT;
  struct config_changes deltas = {0};
  struct commit_opts co = {.changes = &deltas};
  int c;
  while ((c = getopt_long (argc, argv, "a:c:m:p", opts, NULL)) != -1)
    switch (c)
      {
      case 'a': co.author = optarg; break;
      case 'c': strv_push (&changes, optarg); break;
      case 'm': co.message = optarg; break;
      case 'p': break;
      default: return cli_usage_error ("commit", "unknown option");
      }
  if (optind + 1 != argc && optind + 2 != argc)
    return cli_usage_error ("commit", "requires at least 1 and at most 2 arguments");
  struct kiln_err err = {0};
  _cleanup_free_ char *tag = NULL;
  if (optind + 2 == argc)
    {
      struct image_ref r;
      if (ref_parse (argv[optind + 1], true, &r, &err) < 0)
        return cli_fail (&err);
      bool digest = r.digest != NULL;
      tag = ref_string (&r);
      ref_clear (&r);
      if (digest)
        return fprintf (stderr, "Error: invalid reference format: a tag cannot hold a digest\n"), EXIT_FAIL;
      co.tag = tag;
    }
  _cleanup_store_ struct kiln_store *st = NULL;
  struct container_rec rec;
  int opened = cli_open_container (ctx, argv[optind], &st, &rec);
  if (opened != EXIT_OK)
    return opened;
  struct digest id;
  int rc = EXIT_OK;
  if (df_changes_parse (&changes, "commit", &deltas, &err) < 0
      || container_commit (st, rec.id, rec.image, &co, &id, &err) < 0)
    rc = cli_fail (&err);
  else
    printf ("%s\n", id.str);
  config_changes_free (&deltas);
  container_rec_clear (&rec);
  return rc;
}
