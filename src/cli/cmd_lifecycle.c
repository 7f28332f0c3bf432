/* cli/cmd_lifecycle.c — start, stop, restart, kill, rm and wait: docker's commands
 * that act on each of their CONTAINER arguments. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/containers.h"
#include "container/attach.h"
#include "container/config.h"
#include "container/logs.h"
#include "container/monitor.h"
#include "container/mounts.h"
#include "container/resources.h"
#include "container/state.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"

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
      int r = cli_find_container (st, argv[i], &rec) < 0 ? 1 : act (st, &rec, argv[i], ud, &err);
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
  long long from = cli_container_log_size (store_root (st), rec->id);
  int code;
  bool tty = false;
  if (a->attach)
    {
      json_t *config = cli_container_config (store_root (st), rec->id, err);
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
  int r = cli_container_print_logs (store_root (st), rec->id, &lo, err);
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
      json_t *config = cli_container_config (store_root (st), id, err);
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
  json_t *config = cli_container_config (store_root (st), rec->id, err);
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
        return err->code == ENOENT ? (kiln_err_clear (err), cli_no_such_container (ref)) : -1;
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
