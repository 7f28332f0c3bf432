/* cli/create_opts.c — the flags of `kiln run` and `kiln create`, and their help. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/create_opts.h"
#include "container/config.h"
#include "container/health.h"
#include "container/logopts.h"
#include "container/names.h"
#include "container/resources.h"
#include "container/restart.h"
#include "container/runflags.h"
#include "util/buf.h"

/* ---------- run and create ---------- */

#define CREATE_FLAGS                                                                                          \
  "      --name NAME          a name (default: a generated one)\n"                                           \
  "      --rm                 remove the container when it exits\n"                                          \
  "  -e, --env K=V            set an environment variable (K alone: from kiln's environment)\n"              \
  "      --env-file FILE      read K=V lines from FILE\n"                                                    \
  "  -u, --user USER[:GROUP]  run as this user\n"                                                            \
  "  -w, --workdir DIR        working directory\n"                                                           \
  "      --entrypoint CMD     override the image's ENTRYPOINT\n"                                             \
  "  -v, --volume [SRC:]CTR[:ro]  bind a host path (SRC absolute) or mount a volume (SRC a name,\n"           \
  "                           made on first use; none: an anonymous volume)\n"                              \
  "      --mount type=bind|volume|tmpfs,source=,target=[,readonly][,volume-nocopy][,tmpfs-size=][,tmpfs-mode=]\n" \
  "      --tmpfs /path[:opts] mount a tmpfs (docker's options: size=, mode=, ro, exec, ...)\n"                \
  "  -l, --label K=V          add a label to the container\n"                                                \
  "      --read-only          mount the root filesystem read-only\n"                                         \
  "      --network bridge|none|host|NETWORK  the default: kiln's bridge as root, slirp4netns otherwise\n"    \
  "  -p, --publish [IP:][HOSTPORT:]CPORT[/tcp|/udp]  publish a container's port (ranges too)\n"           \
  "  -P, --publish-all        publish every exposed port to a free host port\n"                            \
  "      --expose PORT[/PROTO]  expose a port (or a range) for -P\n"                                      \
  "      --ip ADDRESS         the container's IPv4 address on its network\n"                               \
  "      --network-alias A    another name the container has on its user network\n"                        \
  "      --add-host HOST:IP   a line in /etc/hosts (IP host-gateway: the host's address)\n"                \
  "      --dns IP, --dns-search DOMAIN, --dns-option OPT  /etc/resolv.conf's lines\n"                       \
  "  -i, --interactive        keep standard input open\n"                                                  \
  "  -t, --tty                a terminal of the container's own (/dev/pts/0); -it: yours, raw\n"          \
  "      --stop-signal SIG    the signal `kiln stop` sends first (default: the image's, or TERM)\n"          \
  "      --stop-timeout N     seconds `kiln stop` waits before KILL (default 10)\n"                        \
  "      --restart POLICY     no, on-failure[:N], always or unless-stopped (docker's backoff)\n"            \
  "      --init               kiln's init as PID 1 (always so: it reaps and passes signals on)\n"          \
  "  -h, --hostname NAME      the container's host name (default: its id's first 12 digits)\n"           \
  "      --runtime runc|crun|PATH  run with an OCI runtime instead of kiln's sandbox\n"                      \
  "      --privileged         every capability and device, no seccomp, no masked paths\n"                    \
  "      --cap-add CAP        add a capability to docker's default set (ALL: every one)\n"                   \
  "      --cap-drop CAP       drop a capability (ALL: every one)\n"                                          \
  "      --security-opt no-new-privileges[=true|false] | seccomp=unconfined|PROFILE.json\n"                 \
  "      --health-cmd CMD     the health check (/bin/sh -c CMD), instead of the image's HEALTHCHECK\n"         \
  "      --health-interval D  --health-timeout D  --health-start-period D  --health-start-interval D\n"       \
  "      --health-retries N   its timings (30s, 30s, 0s, 5s) and failures before unhealthy (3)\n"              \
  "      --no-healthcheck     no health check, whatever the image says\n"                                      \
  "      --log-opt max-size=SIZE|max-file=N  rotate the json-file log (docker's names: ID-json.log.1 …)\n" \
  "      --pull missing|always|never  pull the image when the store lacks it (default), always, or never\n"  \
  "      --cidfile FILE       write the container's id to FILE (which must not exist)\n"                    \
  CONTAINER_RESOURCES_USAGE

const char cmd_run_usage[]
    = "Usage: kiln run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
      "\n"
      "Runs a command in a new container from IMAGE: in the foreground, exiting with\n"
      "its status, or with -d in the background under a monitor of its own (then\n"
      "kiln ps, logs, stop, rm and the rest see it).\n"
      "\n"
      "  -d, --detach             run in the background and print the container's id\n" CREATE_FLAGS;

const char cmd_create_usage[] = "Usage: kiln create [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
                                "\n"
                                "Makes a container without starting it (kiln start starts it) and prints its id.\n"
                                "\n" CREATE_FLAGS;

/* A flag's value docker's client refuses: its message, "See 'kiln CMD --help'.", exit 125 as docker's. */
static void
create_flag_failed (const char *cmd, struct kiln_err *err)
{
  fprintf (stderr, "kiln: %s.\nSee 'kiln %s --help'.\n", err->msg, cmd);
  kiln_err_clear (err);
}

/* --pull and --cidfile: codes above every resource flag's (container/resources.h). */
enum
{
  OPT_PULL = 0x1401,
  OPT_CIDFILE,
};
_Static_assert ((int) RES_OPT_LAST < (int) OPT_PULL, "run's option codes overlap container/resources.h's");

/* After the flags: the image and its command, then what the flags say together. */
static int
create_opts_finish (const char *cmd, int argc, char **argv, struct container_opts *o, const char **name)
{
  struct kiln_err err = {0};
  if (optind >= argc)
    return cli_usage_error (cmd, "expects an IMAGE"), -2;
  if (log_opts_check (&o->log_opts, &err) < 0)
    return kiln_err_print (&err, stderr), kiln_err_clear (&err), -1;
  o->image_ref = argv[optind];
  for (int i = optind + 1; i < argc; i++)
    strv_push (&o->cmd, argv[i]);
  if (*name && !container_name_valid (*name))
    {
      fprintf (stderr, "kiln: Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n", *name);
      return -1;
    }
  if (*name && **name == '/')
    (*name)++;
  if (o->auto_remove && o->restart.mode != RESTART_NO)
    {
      fprintf (stderr, "kiln: conflicting options: cannot specify both --restart and --rm\n");
      return -125;
    }
  return 0;
}

int
cli_parse_create_opts (const char *cmd, int argc, char **argv, bool run, struct container_opts *o, const char **name)
{
  static const struct option opts[] = {
    {"rm", no_argument, NULL, 'r'},           {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, 'E'}, {"user", required_argument, NULL, 'u'},
    {"workdir", required_argument, NULL, 'w'}, {"entrypoint", required_argument, NULL, 0x100},
    {"volume", required_argument, NULL, 'v'}, {"read-only", no_argument, NULL, 'R'},
    {"network", required_argument, NULL, 'N'}, {"name", required_argument, NULL, 'n'},
    {"interactive", no_argument, NULL, 'i'},  {"tty", no_argument, NULL, 't'},
    {"runtime", required_argument, NULL, 'T'}, {"privileged", no_argument, NULL, 'X'},
    {"cap-add", required_argument, NULL, 'a'}, {"cap-drop", required_argument, NULL, 'D'},
    {"security-opt", required_argument, NULL, 'S'}, {"detach", no_argument, NULL, 'd'},
    {"label", required_argument, NULL, 'l'},  {"stop-signal", required_argument, NULL, 's'},
    {"hostname", required_argument, NULL, 'h'}, {"restart", required_argument, NULL, 'Q'},
    {"stop-timeout", required_argument, NULL, 0x1101}, {"init", no_argument, NULL, 'I'},
    {"help", no_argument, NULL, 'H'},
    {"mount", required_argument, NULL, 0x1001}, {"tmpfs", required_argument, NULL, 0x1002},
    {"log-opt", required_argument, NULL, 'O'},
    {"publish", required_argument, NULL, 'p'}, {"publish-all", no_argument, NULL, 'P'},
    {"expose", required_argument, NULL, 0x101}, {"ip", required_argument, NULL, 0x102},
    {"network-alias", required_argument, NULL, 0x103}, {"net-alias", required_argument, NULL, 0x103},
    {"add-host", required_argument, NULL, 0x104}, {"dns", required_argument, NULL, 0x105},
    {"dns-search", required_argument, NULL, 0x106}, {"dns-option", required_argument, NULL, 0x107},
    {"dns-opt", required_argument, NULL, 0x107}, {"net", required_argument, NULL, 'N'},
    {"health-cmd", required_argument, NULL, 0x1201}, {"health-interval", required_argument, NULL, 0x1201},
    {"health-timeout", required_argument, NULL, 0x1201}, {"health-retries", required_argument, NULL, 0x1201},
    {"health-start-period", required_argument, NULL, 0x1201}, {"health-start-interval", required_argument, NULL, 0x1201},
    {"no-healthcheck", no_argument, NULL, 0x1201},
    {"pull", required_argument, NULL, OPT_PULL}, {"cidfile", required_argument, NULL, OPT_CIDFILE},
    CONTAINER_RESOURCES_OPTIONS, {0}};
  struct kiln_err err = {0};
  int c, li = 0;
  /* Options end at the image name: what follows is the container's command. */
  while ((c = getopt_long (argc, argv, "+e:u:w:v:itdl:p:Ph:" CONTAINER_RESOURCES_SHORTOPTS, opts, &li)) != -1)
    switch (c)
      {
      case 'H': fputs (run ? cmd_run_usage : cmd_create_usage, stdout); return 1;
      case 'h': o->hostname = optarg; break;
      case 0x1201:
        if (health_opts_flag (&o->health, opts[li].name, optarg ? optarg : "", &err) < 0)
          return create_flag_failed (cmd, &err), -125; /* a value docker's client refuses: 125 */
        break;
      case 'I': o->init = true; break;
      case OPT_PULL:
        {
          enum pull_policy pp;
          if (pull_policy_parse (optarg, &pp, &err) < 0)
            return create_flag_failed (cmd, &err), -125; /* docker exits 125 here */
          o->pull = (int) pp;
          break;
        }
      case OPT_CIDFILE: o->cidfile = optarg; break;
      case 'Q':
        if (restart_policy_parse (optarg, &o->restart, &err) < 0)
          return cli_fail (&err), -1;
        break;
      case 0x1101:
        {
          char *end;
          long t = strtol (optarg, &end, 10);
          if (*end || end == optarg || t < INT_MIN || t > INT_MAX)
            return cli_usage_error (cmd, "invalid argument \"%s\" for \"--stop-timeout\" flag", optarg), -1;
          o->stop_timeout = (int) t;
          o->stop_timeout_set = true;
          break;
        }
      case 'r': o->auto_remove = true; break;
      case 'n': *name = optarg; break;
      case 'e': cli_env_flag (&o->env, optarg); break;
      case 'E':
        if (cli_read_env_file (optarg, &o->env, &err) < 0)
          return cli_fail (&err), -1;
        break;
      case 'u': o->user = optarg; break;
      case 'w': o->workdir = optarg; break;
      case 0x100: o->entrypoint = optarg; o->entrypoint_set = true; break;
      case 'p': strv_push (&o->publish, optarg); break;
      case 'P': o->publish_all = true; break;
      case 0x101: strv_push (&o->expose, optarg); break;
      case 0x102: o->ip = optarg; break;
      case 0x103: strv_push (&o->aliases, optarg); break;
      case 0x104: strv_push (&o->add_hosts, optarg); break;
      case 0x105: strv_push (&o->dns, optarg); break;
      case 0x106: strv_push (&o->dns_search, optarg); break;
      case 0x107: strv_push (&o->dns_options, optarg); break;
      case 'v': strv_push (&o->binds, optarg); break;
      case 0x1001: strv_push (&o->mounts, optarg); break;
      case 0x1002: strv_push (&o->tmpfs, optarg); break;
      case 'l': strv_push (&o->labels, optarg); break;
      case 'R': o->readonly = true; break;
      case 'N':
        {
          /* default, bridge, none, host or a network's name (net/net.h). */
          if (*optarg == '\0' || strlen (optarg) > 255)
            return cli_usage_error (cmd, "invalid --network \"%s\"", optarg), -1;
          o->network = optarg;
          break;
        }
      case 'i': o->interactive = true; break;
      case 't': o->tty = true; break;
      case 'T': o->runtime = strcmp (optarg, "kiln") == 0 ? NULL : optarg; break;
      case 'X': o->privileged = true; break;
      case 'a': strv_push (&o->cap_add, optarg); break;
      case 'D': strv_push (&o->cap_drop, optarg); break;
      case 'S': strv_push (&o->security_opt, optarg); break;
      case 's':
        if (container_signal_parse (optarg) < 0)
          return cli_usage_error (cmd, "invalid --stop-signal \"%s\"", optarg), -1;
        o->stop_signal = optarg;
        break;
      case 'O': strv_push (&o->log_opts, optarg); break;
      case 'd':
        if (!run)
          return cli_usage_error (cmd, "unknown option"), -1;
        o->detach = true;
        break;
      default:
        if (!container_resources_is_opt (c))
          return cli_usage_error (cmd, "unknown option"), -1;
        if (container_resources_flag (&o->res, c, optarg, &err) < 0)
          return create_flag_failed (cmd, &err), -1;
      }
  return create_opts_finish (cmd, argc, argv, o, name);
}
