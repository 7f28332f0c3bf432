/* main.c — kiln's entry point: global options, then one command. */
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/prune_filter.h"
#include "util/buf.h"
#include "version.h"

static int cmd_version (struct kiln_ctx *ctx, int argc, char **argv);
static int cmd_help (struct kiln_ctx *ctx, int argc, char **argv);

static const char version_usage[] = "Usage: kiln version\n\nPrints kiln's version (from git describe at build time).\n";
static const char help_usage[] = "Usage: kiln help [COMMAND]\n\nShows the help of kiln or of one command.\n";

static const struct kiln_command commands[] = {
  {"build", "Build an image from a Dockerfile", cmd_build_usage, cmd_build},
  {"run", "Run a command in a new container", cmd_run_usage, cmd_run},
  {"create", "Create a new container", cmd_create_usage, cmd_create},
  {"start", "Start one or more stopped containers", cmd_start_usage, cmd_start},
  {"stop", "Stop one or more running containers", cmd_stop_usage, cmd_stop},
  {"kill", "Kill one or more running containers", cmd_kill_usage, cmd_kill},
  {"restart", "Restart one or more containers", cmd_restart_usage, cmd_restart},
  {"attach", "Attach your terminal to a running container", cmd_attach_usage, cmd_attach},
  {"rm", "Remove one or more containers", cmd_rm_usage, cmd_rm},
  {"wait", "Wait until containers stop, then print their exit codes", cmd_wait_usage, cmd_wait},
  {"logs", "Fetch the logs of a container", cmd_logs_usage, cmd_logs},
  {"exec", "Run a command in a running container", cmd_exec_usage, cmd_exec},
  {"ps", "List containers", cmd_ps_usage, cmd_ps},
  {"diff", "Show what a container changed in its filesystem", cmd_diff_usage, cmd_diff},
  {"rename", "Rename a container", cmd_rename_usage, cmd_rename},
  {"cp", "Copy files between a container and the host", cmd_cp_usage, cmd_cp},
  {"export", "Write a container's filesystem as a tar", cmd_export_usage, cmd_export},
  {"commit", "Make an image of a container's changes", cmd_commit_usage, cmd_commit},
  {"port", "List a container's published ports", cmd_port_usage, cmd_port},
  {"network", "Manage networks (create, ls, inspect, rm, prune, connect, disconnect)", cmd_network_usage, cmd_network},
  {"stats", "Show containers' resource usage", cmd_stats_usage, cmd_stats},
  {"top", "Show the processes of a container", cmd_top_usage, cmd_top},
  {"pause", "Pause all processes of containers", cmd_pause_usage, cmd_pause},
  {"unpause", "Resume the processes of paused containers", cmd_unpause_usage, cmd_unpause},
  {"container", "Manage containers (ls, create, run, start, stop, restart, kill, rm, wait, logs, inspect, prune, attach, exec, cp, "
   "diff, export, commit, rename, stats, top, pause, unpause)",
   cmd_container_usage, cmd_container},
  {"container-monitor", NULL, cmd_container_monitor_usage, cmd_container_monitor},
  {"volume", "Manage volumes (create, ls, inspect, rm, prune)", cmd_volume_usage, cmd_volume},
  {"images", "List images", cmd_images_usage, cmd_images},
  {"image", "Manage images (ls, rm, inspect, prune, history, tag, pull, push, import, save, load, build)",
   cmd_image_usage, cmd_image},
  {"import", "Make an image from a root filesystem (directory or tar)", cmd_import_usage, cmd_import},
  {"inspect", "Show a container's, image's or volume's details as JSON", cmd_inspect_usage, cmd_inspect},
  {"history", "Show how an image was made", cmd_history_usage, cmd_history},
  {"tag", "Give an image another name", cmd_tag_usage, cmd_tag},
  {"rmi", "Remove images", cmd_rmi_usage, cmd_rmi},
  {"pull", "Download an image from a registry", cmd_pull_usage, cmd_pull},
  {"push", "Upload an image to a registry", cmd_push_usage, cmd_push},
  {"login", "Log in to a registry", cmd_login_usage, cmd_login},
  {"logout", "Log out from a registry", cmd_logout_usage, cmd_logout},
  {"manifest", "Show an image's manifest as a registry has it", cmd_manifest_usage, cmd_manifest},
  {"save", "Write images to a docker or OCI archive", cmd_save_usage, cmd_save},
  {"load", "Load images from a docker or OCI archive", cmd_load_usage, cmd_load},
  {"system", "Store maintenance: df, prune, check, boot", cmd_system_usage, cmd_system},
  {"debug", "Look inside the front end: parse, expand, ignore, context, stages", cmd_debug_usage, cmd_debug},
  {"version", "Show the kiln version", version_usage, cmd_version},
  {"help", "Show help for a command", help_usage, cmd_help},
};
#define N_COMMANDS (sizeof commands / sizeof *commands)

static void
print_main_help (FILE *out)
{
  fputs ("Usage: kiln [--root DIR] COMMAND [ARG...]\n"
         "\n"
         "A daemonless container image builder and runner.\n"
         "\n"
         "Global options:\n"
         "  --root DIR     store location (default: $KILN_ROOT, /var/lib/kiln as root,\n"
         "                 $XDG_DATA_HOME/kiln otherwise)\n"
         "  -h, --help     show this help\n"
         "  -v, --version  show the version\n"
         "\n"
         "Commands:\n",
         out);
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (commands[i].summary) /* kiln's own commands (container-monitor) are not listed */
      fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fputs ("\nRun 'kiln COMMAND --help' for more on a command.\n", out);
}

static const struct kiln_command *
find_command (const char *name)
{
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp (commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

int
cli_fail (struct kiln_err *err)
{
  kiln_err_print (err, stderr);
  int code = err->code == KILN_EUSAGE ? EXIT_USAGE : EXIT_FAIL;
  kiln_err_clear (err);
  return code;
}

int
cli_usage_error (const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "kiln %s: ", cmd);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, "\nRun 'kiln %s --help' for usage.\n", cmd);
  return EXIT_USAGE;
}

bool
cli_confirm (const char *warning)
{
  printf ("%sAre you sure you want to continue? [y/N] ", warning);
  fflush (stdout);
  char answer[16] = {0};
  if (!isatty (0) || fgets (answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
    {
      printf ("\nNothing removed (use -f to skip this question).\n");
      return false;
    }
  return true;
}

int
cli_force_flag (const char *cmd, int argc, char **argv, bool *force)
{
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
  int c;
  *force = false;
  while ((c = getopt_long (argc, argv, "f", opts, NULL)) != -1)
    if (c == 'f')
      *force = true;
    else
      return cli_usage_error (cmd, "unknown option");
  return EXIT_OK;
}

int
cli_prune_begin (struct kiln_ctx *ctx, const char *cmd, int argc, char **argv, const char *warning,
                 struct prune_filter *filter, struct kiln_store **st)
{
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {"filter", required_argument, NULL, 'F'}, {0}};
  bool force = false;
  struct kiln_err err = {0};
  int c;
  *st = NULL;
  while ((c = getopt_long (argc, argv, "f", opts, NULL)) != -1)
    if (c == 'f')
      force = true;
    else if (c == 'F')
      {
        if (prune_filter_add (filter, optarg, true, &err) < 0)
          return cli_fail (&err);
      }
    else
      return cli_usage_error (cmd, "unknown option");
  if (optind < argc)
    return cli_usage_error (cmd, "accepts no arguments");
  if (!force && !cli_confirm (warning))
    return EXIT_OK;
  if ((*st = cli_open_store (ctx, &err)) == NULL)
    return cli_fail (&err);
  return EXIT_OK;
}

void
cli_print_deleted (const char *what, const struct strv *ids)
{
  if (ids->n == 0)
    return;
  printf ("Deleted %s:\n", what);
  for (size_t i = 0; i < ids->n; i++)
    printf ("%s\n", ids->v[i]);
  printf ("\n");
}

bool
cli_wants_help (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        return false;
      if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
        return true;
    }
  return false;
}

static int
cmd_version (struct kiln_ctx *ctx, int argc, char **argv)
{
  (void) ctx;
  (void) argv;
  if (argc > 1)
    return cli_usage_error ("version", "takes no arguments");
  printf ("kiln version %s\n", KILN_VERSION);
  return EXIT_OK;
}

static int
cmd_help (struct kiln_ctx *ctx, int argc, char **argv)
{
  (void) ctx;
  if (argc < 2)
    {
      print_main_help (stdout);
      return EXIT_OK;
    }
  const struct kiln_command *c = find_command (argv[1]);
  if (c == NULL)
    return cli_usage_error ("help", "unknown command \"%s\"", argv[1]);
  fputs (c->usage, stdout);
  return EXIT_OK;
}

static const char *
default_root (void)
{
  const char *env = getenv ("KILN_ROOT");
  if (env && *env)
    return env;
  if (geteuid () == 0)
    return "/var/lib/kiln";
  static char buf[4096];
  const char *xdg = getenv ("XDG_DATA_HOME");
  if (xdg && *xdg)
    snprintf (buf, sizeof buf, "%s/kiln", xdg);
  else
    snprintf (buf, sizeof buf, "%s/.local/share/kiln", getenv ("HOME") ? getenv ("HOME") : "");
  return buf;
}

int
main (int argc, char **argv)
{
  /* File names in layers are UTF-8 (or raw bytes): libarchive converts names
   * through the locale, so use one that round-trips them. */
  if (setlocale (LC_CTYPE, "C.UTF-8") == NULL)
    setlocale (LC_CTYPE, "");
  struct kiln_ctx ctx = {.root = NULL};
  static const struct option opts[] = {
    {"root", required_argument, NULL, 'r'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+hv", opts, NULL)) != -1)
    {
      switch (c)
        {
        case 'r':
          ctx.root = optarg;
          break;
        case 'h':
          print_main_help (stdout);
          return EXIT_OK;
        case 'v':
          printf ("kiln version %s\n", KILN_VERSION);
          return EXIT_OK;
        default:
          fprintf (stderr, "kiln: unknown option \"%s\"\nRun 'kiln --help' for usage.\n", argv[optind - 1]);
          return EXIT_USAGE;
        }
    }
  if (ctx.root == NULL)
    ctx.root = default_root ();
  if (optind >= argc)
    {
      print_main_help (stderr);
      return EXIT_USAGE;
    }
  const struct kiln_command *cmd = find_command (argv[optind]);
  if (cmd == NULL)
    {
      fprintf (stderr, "kiln: unknown command \"%s\"\nRun 'kiln --help' for the list of commands.\n",
               argv[optind]);
      return EXIT_USAGE;
    }
  int sub_argc = argc - optind;
  char **sub_argv = argv + optind;
  if (cli_wants_help (sub_argc, sub_argv) && strcmp (cmd->name, "debug") != 0 && strcmp (cmd->name, "system") != 0
      && strcmp (cmd->name, "container") != 0 && strcmp (cmd->name, "image") != 0 && strcmp (cmd->name, "create") != 0
      && strcmp (cmd->name, "volume") != 0
      && strcmp (cmd->name, "run") != 0 && strcmp (cmd->name, "exec") != 0)
    {
      fputs (cmd->usage, stdout);
      return EXIT_OK;
    }
  optind = 0; /* commands parse their own argv; 0 makes glibc reset getopt fully */
  return cmd->run (&ctx, sub_argc, sub_argv);
}
