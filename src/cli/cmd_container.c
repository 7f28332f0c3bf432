/* cli/cmd_container.c — containers: run, create, start, stop, kill, rm, wait,
 * logs, ps, container inspect and prune, and the hidden container-monitor. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/attach.h"
#include "container/config.h"
#include "container/inspect.h"
#include "container/logopts.h"
#include "container/logs.h"
#include "container/logtime.h"
#include "container/monitor.h"
#include "container/mounts.h"
#include "container/names.h"
#include "container/resources.h"
#include "container/runflags.h"
#include "container/state.h"
#include "image/image.h"
#include "registry/transfer.h"
#include "store/containers.h"
#include "net/net.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "worker/pty.h"

/* ---------- finding containers ---------- */

static int
no_such_container (const char *ref)
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
static int
find_container (struct kiln_store *st, const char *ref, struct container_rec *out)
{
  struct kiln_err err = {0};
  enum container_match m = lookup (st, ref, out, &err);
  if (kiln_err_is_set (&err))
    return cli_fail (&err), -1;
  if (m == CONTAINER_AMBIGUOUS)
    fprintf (stderr, "kiln: multiple IDs found with provided prefix: %s\n", ref);
  else if (m == CONTAINER_NONE)
    no_such_container (ref);
  return m == CONTAINER_FOUND ? 0 : -1;
}

int
cli_find_container (struct kiln_store *st, const char *ref, struct container_rec *out)
{
  return find_container (st, ref, out);
}

int
cli_open_container (struct kiln_ctx *ctx, const char *ref, struct kiln_store **st, struct container_rec *rec)
{
  struct kiln_err err = {0};
  if ((*st = cli_open_store (ctx, &err)) == NULL)
    return cli_fail (&err);
  return find_container (*st, ref, rec) < 0 ? EXIT_FAIL : EXIT_OK;
}

static json_t *
load_config (const char *root, const char *id, struct kiln_err *err)
{
  _cleanup_free_ char *path = container_path (root, id, "config.json");
  json_error_t je;
  json_t *j = json_load_file (path, JSON_DECODE_ANY, &je);
  if (j == NULL)
    kiln_err_set (err, EIO, "%s: %s", path, je.text);
  return j;
}

/* Removes a container that is not running, under containers.lock. */
static int
remove_stopped (struct kiln_store *st, const char *id, struct kiln_err *err)
{
  int lock = containers_lock (store_root (st), err);
  if (lock < 0)
    return -1;
  int r = mounts_remove_container (st, id, true, err); /* --rm: anonymous volumes too */
  containers_unlock (lock);
  return r;
}

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

/* The flags of run and create into `o`; -1 (after printing) on bad usage, -125
 * for docker's conflicts, 1 when --help was printed. */
static int
parse_create_opts (const char *cmd, int argc, char **argv, bool run, struct container_opts *o, const char **name)
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
  if (optind >= argc)
    return cli_usage_error (cmd, "expects an IMAGE"), -1;
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
      (void) cmd;
      fprintf (stderr, "kiln: conflicting options: cannot specify both --restart and --rm\n");
      return -125;
    }
  return 0;
}

/* The image `o` names, pulled as its --pull says (docker run's default: when the
 * store lacks it). */
static int
image_for_container (struct kiln_store *st, const struct container_opts *o, struct image_info *ii,
                     struct kiln_err *err)
{
  struct digest id;
  if (pull_policy_resolve (st, o->image_ref, (enum pull_policy) o->pull, &id, err) < 0)
    return -1;
  return image_load (st, &id, ii, err);
}

/* Makes the record and directory of a new container; its id in `id`. */
static int
create_container (struct kiln_store *st, const struct container_opts *o, const char *name, char id[static 65],
                  struct kiln_err *err)
{
  struct image_info ii = {0};
  if (store_lock_shared (st, err) < 0 || image_for_container (st, o, &ii, err) < 0)
    return -1;
  int ret = -1;
  for (int attempt = 0; attempt < 20; attempt++)
    {
      char generated[64];
      if (name == NULL)
        {
          uint32_t r[2] = {0, 0};
          if (getrandom (r, sizeof r, 0) < 0)
            r[0] = (uint32_t) getpid (), r[1] = (uint32_t) attempt;
          container_name_generate (r[0], r[1], generated);
        }
      container_id_generate (id);
      json_t *config = container_config_new (o, id, &ii, err);
      if (config == NULL)
        break;
      _cleanup_strv_ struct strv vols = STRV_INIT, made = STRV_INIT;
      if (mounts_prepare (st, config, &vols, &made, err) < 0)
        {
          mounts_forget_volumes (st, &made);
          json_decref (config);
          break;
        }
      char *tmp = containers_new_dir (st, err);
      if (tmp == NULL)
        {
          json_decref (config);
          break;
        }
      _cleanup_buf_ struct buf dir = BUF_INIT, cfg = BUF_INIT;
      buf_printf (&dir, "%s/%s", store_root (st), tmp);
      buf_printf (&cfg, "%s/config.json", buf_str (&dir));
      struct container_state s = {.status = CONTAINER_CREATED};
      struct container_rec rec = {.id = id, .name = (char *) (name ? name : generated), .image = ii.id.str,
                                  .created = container_now (), .volumes = &vols};
      if (json_dump_file (config, buf_str (&cfg), JSON_INDENT (2) | JSON_PRESERVE_ORDER) < 0)
        kiln_err_set (err, EIO, "%s: cannot write", buf_str (&cfg));
      else if (container_state_write_dir (buf_str (&dir), &s, err) == 0)
        ret = containers_add (st, &rec, tmp, err);
      json_decref (config);
      if (ret < 0)
        {
          mounts_forget_volumes (st, &made);
          struct kiln_err ignored = {0};
          store_remove_tree (store_root_fd (st), tmp, &ignored);
          kiln_err_clear (&ignored);
        }
      free (tmp);
      /* A generated name another container has: another name. */
      if (ret == 0 || name || err->code != CONTAINER_ENAME_IN_USE)
        break;
      kiln_err_clear (err);
    }
  image_info_clear (&ii);
  return ret;
}

/* run's and create's failures before the container runs: docker's run exits 125,
 * create 1; bad flags 2 as everywhere in kiln. */
static int
create_failed (struct kiln_err *err, int code)
{
  bool usage = err->code == KILN_EUSAGE;
  kiln_err_print (err, stderr);
  kiln_err_clear (err);
  return usage ? EXIT_USAGE : code;
}

/* run -t: the container starts under its monitor, then this process attaches;
 * the exit code is the container's (0 when detached with the keys). Closes `st`. */
static int
run_with_tty (struct kiln_store *st, const char *id, const struct container_opts *o)
{
  struct kiln_err err = {0};
  int rc;
  _cleanup_free_ char *root = xstrdup (store_root (st));
  if (container_start_ex (st, id, true, &rc, &err) < 0)
    {
      kiln_err_print (&err, stderr);
      kiln_err_clear (&err);
      if (o->auto_remove && remove_stopped (st, id, &err) < 0)
        cli_fail (&err);
      store_close (st);
      return rc;
    }
  store_close (st);
  struct attach_opts ao = {.stdin = o->interactive, .sig_proxy = true};
  bool detached;
  if (attach_tty (root, id, &ao, &rc, &detached, &err) < 0)
    return cli_fail (&err), 125;
  return rc;
}

int
cmd_run (struct kiln_ctx *ctx, int argc, char **argv)
{
  struct container_opts o = {0};
  const char *name = NULL;
  struct kiln_err err = {0};
  int rc = EXIT_USAGE;
  char id[65];
  char *root = NULL;
  int parsed = parse_create_opts ("run", argc, argv, true, &o, &name);
  if (parsed != 0)
    {
      rc = parsed > 0 ? EXIT_OK : parsed == -125 ? 125 : EXIT_USAGE;
      goto out;
    }
  if (o.cidfile && cidfile_check (o.cidfile, &err) < 0)
    {
      rc = create_failed (&err, 125);
      goto out;
    }
  if (o.tty && o.interactive && !o.detach && !isatty (0))
    {
      fprintf (stderr, "kiln: the input device is not a TTY\n");
      rc = EXIT_FAIL;
      goto out;
    }
  struct winsize ws;
  if (o.tty && !o.detach && (pty_winsize_get (1, &ws) == 0 || pty_winsize_get (0, &ws) == 0))
    o.console_rows = ws.ws_row, o.console_cols = ws.ws_col; /* the command sees it from its start */
  if (o.runtime == NULL && !o.privileged && !o.detach)
    sandbox_warm_up ();
  struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    {
      rc = create_failed (&err, 125);
      goto out;
    }
  if (create_container (st, &o, name, id, &err) < 0 || (o.cidfile && cidfile_write (o.cidfile, id, &err) < 0))
    {
      store_close (st);
      rc = create_failed (&err, 125);
      goto out;
    }
  if (o.tty && !o.detach)
    {
      /* A terminal is the container's own, held by its monitor: run -t is a
       * start and an attach, as docker's client does it. */
      rc = run_with_tty (st, id, &o);
      goto out;
    }
  if (o.detach)
    {
      printf ("%s\n", id); /* first, as docker prints it: a failed start still names it */
      fflush (stdout);
      if (container_start (st, id, &rc, &err) < 0)
        {
          kiln_err_print (&err, stderr);
          kiln_err_clear (&err);
          if (o.auto_remove && remove_stopped (st, id, &err) < 0)
            cli_fail (&err);
        }
      store_close (st);
      goto out;
    }
  /* In the foreground, kiln is the container's monitor: nothing of the store
   * stays open while it runs. */
  root = xstrdup (store_root (st));
  store_close (st);
  if (container_run_attached (root, id, 0, &rc, &err) < 0)
    {
      kiln_err_print (&err, stderr);
      kiln_err_clear (&err);
      if (o.auto_remove && (st = store_open (root, &err)) != NULL)
        {
          if (remove_stopped (st, id, &err) < 0)
            cli_fail (&err);
          store_close (st);
        }
    }
out:
  free (root);
  container_opts_clear (&o);
  kiln_err_clear (&err);
  return rc;
}

int
cmd_create (struct kiln_ctx *ctx, int argc, char **argv)
{
  struct container_opts o = {0};
  const char *name = NULL;
  struct kiln_err err = {0};
  int rc = EXIT_USAGE;
  char id[65];
  int parsed = parse_create_opts ("create", argc, argv, false, &o, &name);
  if (parsed != 0)
    rc = parsed > 0 ? EXIT_OK : parsed == -125 ? 125 : EXIT_USAGE;
  else
    {
      _cleanup_store_ struct kiln_store *st = NULL;
      if ((o.cidfile && cidfile_check (o.cidfile, &err) < 0) || (st = cli_open_store (ctx, &err)) == NULL
          || create_container (st, &o, name, id, &err) < 0
          || (o.cidfile && cidfile_write (o.cidfile, id, &err) < 0))
        rc = create_failed (&err, o.cidfile && err.code == EEXIST ? 125 : EXIT_FAIL);
      else
        {
          printf ("%s\n", id);
          rc = EXIT_OK;
        }
    }
  container_opts_clear (&o);
  return rc;
}

/* ---------- start, stop, kill, rm, wait ---------- */

const char cmd_start_usage[] = "Usage: kiln start [-a] [-i] CONTAINER...\n"
                               "\n"
                               "Starts created or exited containers, each under a monitor of its own,\n"
                               "and prints each name as given.\n"
                               "\n"
                               "  -a, --attach   print the container's output until it exits, and exit\n"
                               "                 with its status (one container)\n"
                               "  -i, --interactive  attach your terminal's input too (a -t container)\n"
                               "      --detach-keys KEYS  leave it running (default ctrl-p,ctrl-q)\n";

/* The log's size now: where the output of a start about to happen begins. */
static long long
log_size (const char *root, const char *id)
{
  _cleanup_buf_ struct buf name = BUF_INIT;
  buf_printf (&name, "%s-json.log", id);
  _cleanup_free_ char *path = container_path (root, id, buf_str (&name));
  struct stat sb;
  return stat (path, &sb) == 0 ? (long long) sb.st_size : 0;
}

static int
print_logs (const char *root, const char *id, const struct logs_opts *lo, struct kiln_err *err)
{
  _cleanup_buf_ struct buf name = BUF_INIT;
  buf_printf (&name, "%s-json.log", id);
  _cleanup_free_ char *path = container_path (root, id, buf_str (&name));
  return logs_print (path, lo, stdout, stderr, err);
}

/* What a command does to one of its CONTAINER arguments: 0 done (it printed what
 * it says), -1 failed with `err`, 1 failed and said so. */
typedef int (*container_act) (struct kiln_store *st, const struct container_rec *rec, const char *ref, void *ud,
                              struct kiln_err *err);

/* docker's multi-container commands: every argument from optind is looked up and
 * acted on, an unknown or failing one reported and the others still done; exit 1
 * when any failed. */
static int
for_each_container (struct kiln_ctx *ctx, const char *cmd, int argc, char **argv, container_act act, void *ud)
{
  if (optind >= argc)
    return cli_usage_error (cmd, "expects at least one CONTAINER");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  int rc = EXIT_OK;
  for (int i = optind; i < argc; i++)
    {
      struct container_rec rec = {0};
      int r = find_container (st, argv[i], &rec) < 0 ? 1 : act (st, &rec, argv[i], ud, &err);
      if (r < 0)
        rc = cli_fail (&err);
      else if (r > 0)
        rc = EXIT_FAIL;
      container_rec_clear (&rec);
    }
  return rc;
}

struct start_args
{
  bool attach;
  bool interactive;        /* -i: what is typed goes to a tty container */
  const char *detach_keys;
  struct buf failed; /* the references that did not start, for docker's last line */
  int code;          /* -a: the container's exit code */
};

static int
start_one (struct kiln_store *st, const struct container_rec *rec, const char *ref, void *ud, struct kiln_err *err)
{
  struct start_args *a = ud;
  long long from = log_size (store_root (st), rec->id);
  int code;
  bool tty = false;
  if (a->attach)
    {
      json_t *config = load_config (store_root (st), rec->id, err);
      kiln_err_clear (err);
      tty = json_is_true (json_object_get (json_object_get (config, "Config"), "Tty"));
      json_decref (config);
    }
  if (container_start_ex (st, rec->id, tty, &code, err) < 0)
    {
      kiln_err_print (err, stderr);
      kiln_err_clear (err);
      buf_printf (&a->failed, "%s%s", a->failed.len ? ", " : "", ref);
      return 1;
    }
  if (!a->attach)
    {
      printf ("%s\n", ref);
      return 0;
    }
  if (tty)
    {
      struct attach_opts ao = {.stdin = a->interactive, .sig_proxy = true, .detach_keys = a->detach_keys};
      bool detached;
      return attach_tty (store_root (st), rec->id, &ao, &a->code, &detached, err);
    }
  /* Its output from this start on, until its monitor has recorded the end. */
  struct container_state s;
  if (container_state_get (store_root (st), rec->id, &s, err) < 0)
    return -1;
  struct logs_opts lo = {.tail = -1, .follow_fd = container_monitor_fd (&s), .from = from};
  int r = print_logs (store_root (st), rec->id, &lo, err);
  if (lo.follow_fd >= 0)
    close (lo.follow_fd);
  container_state_clear (&s);
  if (r == 0 && (r = container_state_get (store_root (st), rec->id, &s, err)) == 0)
    a->code = s.exit_code;
  container_state_clear (&s);
  return r;
}

int
cmd_start (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"attach", no_argument, NULL, 'a'},
                                       {"interactive", no_argument, NULL, 'i'},
                                       {"detach-keys", required_argument, NULL, 'k'},
                                       {0}};
  struct start_args a = {.failed = BUF_INIT};
  int c;
  while ((c = getopt_long (argc, argv, "ai", opts, NULL)) != -1)
    if (c == 'a')
      a.attach = true;
    else if (c == 'i')
      a.interactive = a.attach = true; /* docker: -i attaches too */
    else if (c == 'k')
      a.detach_keys = optarg;
    else
      return cli_usage_error ("start", "unknown option");
  if (a.attach && argc - optind > 1)
    return cli_usage_error ("start", "you cannot start and attach multiple containers at once");
  int rc = for_each_container (ctx, "start", argc, argv, start_one, &a);
  if (a.failed.len)
    {
      fprintf (stderr, "Error: failed to start containers: %s\n", buf_str (&a.failed));
      rc = EXIT_FAIL;
    }
  buf_free (&a.failed);
  return rc == EXIT_OK && a.attach ? a.code : rc;
}

const char cmd_stop_usage[] = "Usage: kiln stop [-t SECONDS] CONTAINER...\n"
                              "\n"
                              "Stops running containers: the image's STOPSIGNAL (or TERM) to the container,\n"
                              "KILL when it has not exited after the timeout. Prints each name as given.\n"
                              "\n"
                              "  -t, --time SECONDS   how long to wait before KILL (default 10)\n";

/* Marks the container stopped by its user (a restart policy leaves it alone). */
static int
mark_stopped_by_user (struct kiln_store *st, const char *id, struct kiln_err *err)
{
  int lock = containers_lock (store_root (st), err);
  if (lock < 0)
    return -1;
  int r = container_state_mark_stopped (store_root (st), id, true, err);
  containers_unlock (lock);
  return r;
}

/* Stops a running container as `kiln stop` does (`timeout_s` < 0: its
 * Config.StopTimeout, else 10 s); also done when it was not running. */
static int
stop_container (struct kiln_store *st, const char *id, int timeout_s, struct kiln_err *err)
{
  struct container_state s;
  if (container_state_get (store_root (st), id, &s, err) < 0)
    return -1;
  int ret = 0;
  if (container_state_live (&s))
    {
      json_t *config = load_config (store_root (st), id, err);
      int sig = container_stop_signal (config);
      if (timeout_s < 0)
        timeout_s = container_stop_timeout (config);
      json_decref (config);
      kiln_err_clear (err);
      ret = mark_stopped_by_user (st, id, err);
      if (ret == 0 && container_stop_restarting (&s))
        ;
      else if (ret == 0)
        {
          ret = container_signal (&s, sig, err);
          if (ret == 0 && !container_wait_init (&s, timeout_s * 1000))
            ret = container_signal (&s, SIGKILL, err);
          if (s.paused)
            container_cgroup_thaw (store_root (st), id); /* the signals wait for it */
        }
      if (ret == 0)
        container_wait_monitor (&s, -1);
    }
  container_state_clear (&s);
  return ret;
}

static int
stop_one (struct kiln_store *st, const struct container_rec *rec, const char *ref, void *ud, struct kiln_err *err)
{
  int ret = stop_container (st, rec->id, *(const int *) ud, err);
  if (ret == 0)
    printf ("%s\n", ref);
  return ret;
}

/* -t N of stop and restart: -1 when not given. */
static int
parse_stop_time (const char *cmd, int argc, char **argv, int *timeout)
{
  static const struct option opts[] = {{"time", required_argument, NULL, 't'}, {0}};
  *timeout = -1;
  int c;
  while ((c = getopt_long (argc, argv, "t:", opts, NULL)) != -1)
    {
      char *end;
      long t;
      if (c != 't')
        return cli_usage_error (cmd, "unknown option");
      t = strtol (optarg, &end, 10);
      if (*end != '\0' || end == optarg || t < 0 || t > INT_MAX / 1000)
        return cli_usage_error (cmd, "invalid --time \"%s\"", optarg);
      *timeout = (int) t;
    }
  return 0;
}

int
cmd_stop (struct kiln_ctx *ctx, int argc, char **argv)
{
  int timeout;
  if (parse_stop_time ("stop", argc, argv, &timeout) != 0)
    return EXIT_USAGE;
  return for_each_container (ctx, "stop", argc, argv, stop_one, &timeout);
}

const char cmd_restart_usage[] = "Usage: kiln restart [-t SECONDS] CONTAINER...\n"
                                 "\n"
                                 "Stops (as kiln stop) and starts containers again; prints each name as given.\n"
                                 "A restart by hand is not counted in RestartCount, as in docker.\n"
                                 "\n"
                                 "  -t, --time SECONDS   how long to wait before KILL (default: --stop-timeout, or 10)\n";

static int
restart_one (struct kiln_store *st, const struct container_rec *rec, const char *ref, void *ud, struct kiln_err *err)
{
  int code;
  if (stop_container (st, rec->id, *(const int *) ud, err) < 0)
    return -1;
  if (container_start (st, rec->id, &code, err) < 0)
    return -1;
  printf ("%s\n", ref);
  return 0;
}

int
cmd_restart (struct kiln_ctx *ctx, int argc, char **argv)
{
  int timeout;
  if (parse_stop_time ("restart", argc, argv, &timeout) != 0)
    return EXIT_USAGE;
  return for_each_container (ctx, "restart", argc, argv, restart_one, &timeout);
}

const char cmd_kill_usage[] = "Usage: kiln kill [-s SIGNAL] CONTAINER...\n"
                              "\n"
                              "Sends a signal (default KILL) to running containers; prints each name as given.\n";

static int
kill_one (struct kiln_store *st, const struct container_rec *rec, const char *ref, void *ud, struct kiln_err *err)
{
  int sig = *(const int *) ud;
  struct container_state s;
  if (container_state_get (store_root (st), rec->id, &s, err) < 0)
    return -1;
  int ret = 0;
  json_t *config = load_config (store_root (st), rec->id, err);
  kiln_err_clear (err);
  /* docker: KILL or the stop signal is a user's stop, which no policy restarts. */
  bool stops = sig == SIGKILL || sig == container_stop_signal (config);
  json_decref (config);
  if (!container_state_live (&s))
    {
      fprintf (stderr, "kiln: Cannot kill container: %s: Container %s is not running\n", ref, rec->id);
      ret = 1;
    }
  else if (s.restarting)
    {
      fprintf (stderr, "kiln: Cannot kill container: %s: Container %s is restarting, wait until the container is "
                       "running\n", ref, rec->id);
      ret = 1;
    }
  else if ((ret = stops ? mark_stopped_by_user (st, rec->id, err) : 0) == 0
           && (ret = container_signal (&s, sig, err)) == 0)
    {
      if (s.paused && sig == SIGKILL)
        container_cgroup_thaw (store_root (st), rec->id); /* KILL takes effect, as docker's */
      /* As docker: KILL returns once the container is gone. */
      if (sig == SIGKILL)
        container_wait_monitor (&s, 10000);
      printf ("%s\n", ref);
    }
  container_state_clear (&s);
  return ret;
}

int
cmd_kill (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"signal", required_argument, NULL, 's'}, {0}};
  int sig = SIGKILL, c;
  while ((c = getopt_long (argc, argv, "s:", opts, NULL)) != -1)
    if (c != 's')
      return cli_usage_error ("kill", "unknown option");
    else if ((sig = container_signal_parse (optarg)) < 0)
      {
        fprintf (stderr, "kiln: Invalid signal: %s\n", optarg);
        return EXIT_FAIL;
      }
  return for_each_container (ctx, "kill", argc, argv, kill_one, &sig);
}

const char cmd_rm_usage[] = "Usage: kiln rm [-f] [-v] CONTAINER...\n"
                            "\n"
                            "Removes containers (their record, root filesystem and log); prints each name\n"
                            "as given.\n"
                            "\n"
                            "  -f, --force     kill a running container first\n"
                            "  -v, --volumes   remove its anonymous volumes too\n";

/* Removes a container, killing it first when forced. */
static int
rm_one (struct kiln_store *st, const struct container_rec *rec, const char *ref, void *ud, struct kiln_err *err)
{
  const bool *flags = ud; /* force, volumes */
  bool force = flags[0];
  for (int round = 0;; round++)
    {
      int lock = containers_lock (store_root (st), err);
      if (lock < 0)
        return -1;
      _cleanup_free_ char *dir = container_path (store_root (st), rec->id, NULL);
      struct container_state s = {0};
      int r = 0;
      bool live = false;
      /* Gone meanwhile (its monitor's AutoRemove): done. */
      if (access (dir, F_OK) == 0 && (r = container_state_get_locked (store_root (st), rec->id, &s, err)) == 0
          && !(live = container_state_live (&s)))
        r = mounts_remove_container (st, rec->id, flags[1], err);
      containers_unlock (lock);
      if (r < 0 || !live)
        {
          container_state_clear (&s);
          if (r == 0)
            printf ("%s\n", ref);
          return r;
        }
      if (!force || round > 0)
        {
          container_state_clear (&s);
          return kiln_err_set (err, EBUSY,
                               "You cannot remove a running container %s. Stop the container before attempting "
                               "removal or force remove",
                               rec->id);
        }
      /* Killed (a user's stop: no policy restarts it), then removed once its
       * monitor has recorded the end. */
      r = mark_stopped_by_user (st, rec->id, err);
      if (r == 0 && !container_stop_restarting (&s))
        r = container_signal (&s, SIGKILL, err);
      if (s.paused)
        container_cgroup_thaw (store_root (st), rec->id);
      if (r == 0)
        container_wait_monitor (&s, -1);
      container_state_clear (&s);
      if (r < 0)
        return -1;
    }
}

int
cmd_rm (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {"volumes", no_argument, NULL, 'v'}, {0}};
  bool flags[2] = {false, false}; /* force, volumes */
  int c;
  while ((c = getopt_long (argc, argv, "fv", opts, NULL)) != -1)
    if (c == 'f' || c == 'v')
      flags[c == 'v'] = true;
    else
      return cli_usage_error ("rm", "unknown option");
  return for_each_container (ctx, "rm", argc, argv, rm_one, flags);
}

const char cmd_wait_usage[] = "Usage: kiln wait CONTAINER...\n"
                              "\n"
                              "Waits until each container has stopped and prints its exit code.\n";

static int
wait_one (struct kiln_store *st, const struct container_rec *rec, const char *ref, void *ud, struct kiln_err *err)
{
  struct container_state s;
  if (container_state_get (store_root (st), rec->id, &s, err) < 0)
    return -1;
  if (container_state_live (&s))
    {
      container_wait_monitor (&s, -1);
      container_state_clear (&s);
      if (container_state_get (store_root (st), rec->id, &s, err) < 0)
        return err->code == ENOENT ? (kiln_err_clear (err), no_such_container (ref)) : -1;
    }
  printf ("%d\n", s.exit_code);
  container_state_clear (&s);
  return 0;
}

int
cmd_wait (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{0}};
  if (getopt_long (argc, argv, "", opts, NULL) != -1)
    return cli_usage_error ("wait", "unknown option");
  return for_each_container (ctx, "wait", argc, argv, wait_one, NULL);
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
  json_t *config = load_config (store_root (st), rec.id, &err);
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
      struct logs_opts lo = {.tail = -1, .follow_fd = container_monitor_fd (&s), .from = log_size (store_root (st), rec.id)};
      if (print_logs (store_root (st), rec.id, &lo, &err) < 0)
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
      if (print_logs (store_root (st), rec.id, &lo, &err) < 0)
        rc = cli_fail (&err);
      if (lo.follow_fd >= 0)
        close (lo.follow_fd);
      container_state_clear (&s);
    }
  container_rec_clear (&rec);
  return rc;
}

/* ps: cli/cmd_ps.c */

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
  json_t *config = load_config (store_root (st), rec.id, err);
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

int
cli_containers_prune (struct kiln_store *st, struct strv *removed, struct kiln_err *err)
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
      else if (!container_state_live (&s))
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
  bool force;
  int rc = cli_force_flag ("container prune", argc, argv, &force);
  if (rc != EXIT_OK)
    return rc;
  if (!force && !cli_confirm ("WARNING! This will remove all stopped containers.\n"))
    return EXIT_OK;
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  _cleanup_strv_ struct strv removed = STRV_INIT;
  rc = cli_containers_prune (st, &removed, &err) < 0 ? cli_fail (&err) : EXIT_OK;
  cli_print_deleted ("Containers", &removed);
  printf ("Total reclaimed space: 0B\n");
  return rc;
}

static int
container_inspect (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{0}};
  if (getopt_long (argc, argv, "", opts, NULL) != -1)
    return cli_usage_error ("container inspect", "unknown option");
  if (optind >= argc)
    return cli_usage_error ("container inspect", "expects at least one CONTAINER");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  json_t *all = json_array ();
  int rc = EXIT_OK;
  for (int i = optind; i < argc; i++)
    {
      int r = cli_container_inspect (st, argv[i], all, &err);
      if (r < 0)
        rc = cli_fail (&err);
      else if (r == 0)
        rc = no_such_container (argv[i]);
    }
  json_dumpf (all, stdout, JSON_INDENT (4) | JSON_PRESERVE_ORDER);
  fputc ('\n', stdout);
  json_decref (all);
  return rc;
}

const char cmd_container_usage[]
    = "Usage: kiln container COMMAND\n"
      "\n"
      "  ls|ps|list [-a] [-q] [--no-trunc] [-n N] [-l]    create    run     start [-a]\n"
      "  stop [-t N]    kill [-s SIG]    rm [-f]    wait    logs [-f] [--tail N] [-t]\n"
      "  inspect CONTAINER...    prune [-f]    cp    diff    export    commit    rename\n"
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
    {"logs", cmd_logs, cmd_logs_usage},     {"inspect", container_inspect, cmd_container_usage},
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

/* ---------- for the other container commands (cmd_exec.c) ---------- */

json_t *
cli_container_config (const char *root, const char *id, struct kiln_err *err)
{
  return load_config (root, id, err);
}
