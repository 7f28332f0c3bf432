/* cli/cmd_exec.c — kiln exec: a command in a running container (container/exec.h). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/exec.h"
#include "container/state.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "worker/sandbox.h"

const char cmd_exec_usage[]
    = "Usage: kiln exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
      "\n"
      "Runs a command in a running container: in its namespaces and cgroups, with its\n"
      "user, environment, working directory, capabilities and seccomp profile. Exits\n"
      "with the command's status (126: not executable, 127: not found).\n"
      "\n"
      "  -d, --detach             run it in the background (its output is dropped)\n"
      "  -i, --interactive        pass standard input on to it\n"
      "  -t, --tty                a terminal of the container's devpts (-it: yours, raw)\n"
      "  -e, --env K=V            set an environment variable (K alone: from kiln's environment)\n"
      "      --env-file FILE      read K=V lines from FILE\n"
      "  -u, --user USER[:GROUP]  run as this user (default: the container's)\n"
      "  -w, --workdir DIR        working directory (default: the container's)\n"
      "      --privileged         every capability\n";

int
cmd_exec (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    {"detach", no_argument, NULL, 'd'},     {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},        {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, 'E'}, {"user", required_argument, NULL, 'u'},
    {"workdir", required_argument, NULL, 'w'}, {"privileged", no_argument, NULL, 'P'},
    {"detach-keys", required_argument, NULL, 'K'}, {"help", no_argument, NULL, 'h'}, {0}};
  struct container_exec e = {.stdin_fd = -1, .stdout_fd = 1, .stderr_fd = 2};
  struct kiln_err err = {0};
  bool interactive = false, tty = false;
  int c, rc = EXIT_USAGE;
  while ((c = getopt_long (argc, argv, "+die:u:w:th", opts, NULL)) != -1)
    switch (c)
      {
      case 'd': e.detach = true; break;
      case 'i': interactive = true; break;
      case 't': tty = true; break;
      case 'e': cli_env_flag (&e.env, optarg); break;
      case 'E':
        if (cli_read_env_file (optarg, &e.env, &err) < 0)
          {
            rc = cli_fail (&err);
            goto out;
          }
        break;
      case 'u': e.user = optarg; break;
      case 'w': e.workdir = optarg; break;
      case 'P': e.privileged = true; break;
      case 'K': break; /* no attach, no detach keys */
      case 'h': fputs (cmd_exec_usage, stdout); rc = EXIT_OK; goto out;
      default: rc = cli_usage_error ("exec", "unknown option"); goto out;
      }
  if (argc - optind < 2)
    {
      rc = cli_usage_error ("exec", "\"kiln exec\" requires at least 2 arguments");
      goto out;
    }
  if (tty && interactive && !e.detach && !isatty (0))
    {
      fprintf (stderr, "kiln: the input device is not a TTY\n");
      rc = EXIT_FAIL;
      goto out;
    }
  e.tty = tty;
  if (e.workdir && e.workdir[0] != '/')
    {
      fprintf (stderr, "kiln exec: the working directory (-w %s) must be an absolute path\n", e.workdir);
      rc = 126; /* as docker's exec that did not start */
      goto out;
    }
  for (int i = optind + 1; i < argc; i++)
    strv_push (&e.argv, argv[i]);
  if (interactive && !e.detach)
    e.stdin_fd = 0;
  /* The move into the device cgroup runs while the container is looked up. */
  sandbox_warm_up ();
  struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    {
      rc = cli_fail (&err);
      goto out;
    }
  struct container_rec rec = {0};
  if (cli_find_container (st, argv[optind], &rec) < 0)
    {
      store_close (st);
      rc = EXIT_FAIL;
      goto out;
    }
  /* Nothing of the store stays open while the command runs. */
  char *root = xstrdup (store_root (st));
  store_close (st);
  struct container_state s;
  json_t *config = NULL;
  if (container_state_get (root, rec.id, &s, &err) < 0)
    rc = cli_fail (&err);
  else if (!container_state_live (&s))
    {
      fprintf (stderr, "Error response from daemon: Container %s is not running\n", rec.id);
      rc = EXIT_FAIL;
    }
  else if (s.paused)
    {
      /* Its processes are frozen: an exec would freeze with them. */
      fprintf (stderr, "Error response from daemon: Container %s is paused, unpause the container before exec\n",
               rec.id);
      rc = EXIT_FAIL;
    }
  else if ((config = cli_container_config (root, rec.id, &err)) == NULL)
    rc = cli_fail (&err);
  else if (container_exec_run (root, rec.id, config, &s, &e, &rc, &err) < 0)
    {
      kiln_err_print (&err, stderr);
      kiln_err_clear (&err);
    }
  container_state_clear (&s);
  json_decref (config);
  container_rec_clear (&rec);
  free (root);
out:
  container_exec_clear (&e);
  return rc;
}
