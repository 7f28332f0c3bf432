/* cli/cmd_logs.c — attach and logs: a container's output, and its input on a terminal. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/stat.h"
#include "cli/cli.h"
#include "cli/containers.h"
#include "container/attach.h"
#include "container/logs.h"
#include "container/logtime.h"
#include "container/monitor.h"
#include "container/state.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"

/* Container `id`'s json-file log (docker's name for it). */
static char *
log_path (const char *root, const char *id)
{
  _cleanup_buf_ struct buf name = BUF_INIT;
  buf_printf (&name, "%s-json.log", id);
  return container_path (root, id, buf_str (&name));
}

long long
cli_container_log_size (const char *root, const char *id)
{
  _cleanup_free_ char *path = log_path (root, id);
  struct stat sb;
  return stat (path, &sb) == 0 ? (long long) sb.st_size : 0;
}

int
cli_container_print_logs (const char *root, const char *id, const struct logs_opts *lo, struct kiln_err *err)
{
  _cleanup_free_ char *path = log_path (root, id);
  return logs_print (path, lo, stdout, stderr, err);
}

/* ---------- attach ---------- */

const char cmd_attach_usage[] = "Usage: kiln attach [--detach-keys KEYS] [--no-stdin] CONTAINER\n"
                                "\n"
                                "Attaches your terminal to a running container: its output, and for a -it\n"
                                "container your input too (raw); ctrl-p ctrl-q leaves it running. Exits\n"
                                "with the container's status when it ends.\n"
                                "\n"
                                "      --detach-keys KEYS  the keys that detach (default ctrl-p,ctrl-q)\n"
                                "      --no-stdin          do not send your input\n"
                                "      --sig-proxy         pass signals on to the container (default true)\n";

int
cmd_attach (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"detach-keys", required_argument, NULL, 'k'},
                                       {"no-stdin", no_argument, NULL, 'n'},
                                       {"sig-proxy", optional_argument, NULL, 's'},
                                       {0}};
  struct attach_opts ao = {.stdin = true, .sig_proxy = true};
  int c;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    switch (c)
      {
      case 'k': ao.detach_keys = optarg; break;
      case 'n': ao.stdin = false; break;
      case 's': ao.sig_proxy = optarg == NULL || strcmp (optarg, "true") == 0; break;
      default: return cli_usage_error ("attach", "unknown option");
      }
  if (optind + 1 != argc)
    return cli_usage_error ("attach", "expects exactly one CONTAINER");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = NULL;
  struct container_rec rec;
  int opened = cli_open_container (ctx, argv[optind], &st, &rec);
  if (opened != EXIT_OK)
    return opened;
  int rc = EXIT_OK;
  struct container_state s = {0};
  json_t *config = cli_container_config (store_root (st), rec.id, &err);
  const json_t *cc = json_object_get (config, "Config");
  if (config == NULL || container_state_get (store_root (st), rec.id, &s, &err) < 0)
    rc = cli_fail (&err);
  else if (!container_state_live (&s))
    rc = (fprintf (stderr, "kiln: You cannot attach to a stopped container, start it first\n"), EXIT_FAIL);
  else if (json_is_true (json_object_get (cc, "Tty")))
    {
      /* Input goes in only when the container keeps its stdin open (-i), as docker. */
      ao.stdin = ao.stdin && json_is_true (json_object_get (cc, "OpenStdin"));
      bool detached;
      if (attach_tty (store_root (st), rec.id, &ao, &rc, &detached, &err) < 0)
        rc = cli_fail (&err);
    }
  else
    {
      /* No terminal: its output from now on, until it ends. */
      struct logs_opts lo = {.tail = -1, .follow_fd = container_monitor_fd (&s), .from = cli_container_log_size (store_root (st), rec.id)};
      if (cli_container_print_logs (store_root (st), rec.id, &lo, &err) < 0)
        rc = cli_fail (&err);
      if (lo.follow_fd >= 0)
        close (lo.follow_fd);
      container_state_clear (&s);
      if (rc == EXIT_OK && container_state_get (store_root (st), rec.id, &s, &err) == 0)
        rc = s.exit_code;
      kiln_err_clear (&err);
    }
  container_state_clear (&s);
  json_decref (config);
  container_rec_clear (&rec);
  return rc;
}

/* ---------- logs ---------- */

const char cmd_logs_usage[] = "Usage: kiln logs [-f] [--tail N] [-t] [--since T] [--until T] [--details] CONTAINER\n"
                              "\n"
                              "Prints a container's output: its stdout to stdout, its stderr to stderr.\n"
                              "\n"
                              "  -f, --follow       go on printing until the container exits\n"
                              "  -n, --tail N|all   only the last N lines\n"
                              "  -t, --timestamps   each line after the time it was written\n"
                              "      --since T      only lines written since T: 10m, 2026-12-01T13:04:00Z, 1764594240\n"
                              "      --until T      only lines written before T (same forms)\n"
                              "      --details      each line after the attributes it was logged with\n";

int
cmd_logs (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                       {"tail", required_argument, NULL, 'n'},
                                       {"timestamps", no_argument, NULL, 't'},
                                       {"since", required_argument, NULL, 'S'},
                                       {"until", required_argument, NULL, 'U'},
                                       {"details", no_argument, NULL, 'D'},
                                       {0}};
  struct logs_opts lo = {.tail = -1, .follow_fd = -1};
  struct kiln_err terr = {0};
  bool follow = false;
  int c;
  while ((c = getopt_long (argc, argv, "fn:t", opts, NULL)) != -1)
    switch (c)
      {
      case 'f': follow = true; break;
      case 't': lo.timestamps = true; break;
      case 'D': lo.details = true; break;
      case 'S':
      case 'U':
        if (log_time_parse (optarg, container_now (), c == 'S' ? &lo.since : &lo.until, &terr) < 0)
          {
            fprintf (stderr, "Error: invalid value for \"%s\": %s\n", c == 'S' ? "since" : "until", terr.msg);
            kiln_err_clear (&terr);
            return EXIT_FAIL;
          }
        break;
      case 'n':
        {
          char *end;
          if (strcmp (optarg, "all") == 0)
            lo.tail = -1;
          else if ((lo.tail = strtol (optarg, &end, 10)) < 0 || *end || end == optarg)
            return cli_usage_error ("logs", "invalid --tail \"%s\"", optarg);
          break;
        }
      default: return cli_usage_error ("logs", "unknown option");
      }
  if (optind + 1 != argc)
    return cli_usage_error ("logs", "expects exactly one CONTAINER");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = NULL;
  struct container_rec rec;
  int opened = cli_open_container (ctx, argv[optind], &st, &rec);
  if (opened != EXIT_OK)
    return opened;
  struct container_state s;
  int rc = EXIT_OK;
  if (container_state_get (store_root (st), rec.id, &s, &err) < 0)
    rc = cli_fail (&err);
  else
    {
      if (follow)
        lo.follow_fd = container_monitor_fd (&s);
      if (cli_container_print_logs (store_root (st), rec.id, &lo, &err) < 0)
        rc = cli_fail (&err);
      if (lo.follow_fd >= 0)
        close (lo.follow_fd);
      container_state_clear (&s);
    }
  container_rec_clear (&rec);
  return rc;
}
