/* cli/cmd_resources.c — what containers use and their freezer: stats, top,
 * pause, unpause (container/resources.h, container/stats.h). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/monitor.h"
#include "container/resources.h"
#include "container/state.h"
#include "container/stats.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

/* ---------- stats ---------- */

const char cmd_stats_usage[] = "Usage: kiln stats [OPTIONS] [CONTAINER...]\n"
                               "\n"
                               "Shows the containers' resource usage: CPU, memory against its limit, network\n"
                               "and block I/O, processes; refreshed every second until interrupted.\n"
                               "\n"
                               "  -a, --all          every container (default: running ones)\n"
                               "      --no-stream    one reading, then exit\n"
                               "      --no-trunc     full ids\n"
                               "      --format FMT   a Go template, table TEMPLATE, or json\n";

struct stats_target
{
  char *ref;  /* as the user named it, or the id */
  char *id;
  char *name;
  bool live;
  pid_t pid;
  struct cgroup cg;
  bool have_cg;
  struct stats_sample before;
  bool have_before;
};

static void
targets_free (struct stats_target *t, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (t[i].ref);
      free (t[i].id);
      free (t[i].name);
      cgroup_clear (&t[i].cg);
    }
  free (t);
}

/* The state and cgroup of a target as they are now. */
static void
target_refresh (const char *root, struct stats_target *t)
{
  struct container_state s;
  struct kiln_err err = {0};
  bool was = t->live;
  t->live = false;
  if (container_state_get (root, t->id, &s, &err) == 0)
    {
      t->live = container_state_live (&s);
      t->pid = s.pid;
      container_state_clear (&s);
    }
  kiln_err_clear (&err);
  if (t->live && !t->have_cg)
    {
      t->have_cg = container_cgroup_of (root, t->id, &t->cg, &err) == 0;
      kiln_err_clear (&err);
    }
  if (!t->live || was != t->live)
    t->have_before = false;
}

/* The targets: the named containers, or every (running) one. */
static int
stats_targets (struct kiln_store *st, int argc, char **argv, bool all, struct stats_target **out, size_t *n)
{
  *out = NULL;
  *n = 0;
  int rc = EXIT_OK;
  if (argc > 0)
    {
      *out = xcalloc ((size_t) argc, sizeof **out);
      for (int i = 0; i < argc; i++)
        {
          struct container_rec rec;
          if (cli_find_container (st, argv[i], &rec) < 0)
            {
              rc = EXIT_FAIL;
              continue;
            }
          struct stats_target *t = &(*out)[(*n)++];
          t->ref = xstrdup (argv[i]);
          t->id = rec.id;
          t->name = rec.name;
          rec.id = rec.name = NULL;
          container_rec_clear (&rec);
        }
      return rc;
    }
  struct container_rec *recs;
  size_t nr;
  struct kiln_err err = {0};
  if (containers_list (st, &recs, &nr, &err) < 0)
    return cli_fail (&err);
  *out = xcalloc (nr + 1, sizeof **out);
  for (size_t i = 0; i < nr; i++)
    {
      struct stats_target t = {.id = recs[i].id, .name = recs[i].name};
      target_refresh (store_root (st), &t);
      if (!all && !t.live)
        {
          cgroup_clear (&t.cg);
          continue;
        }
      t.ref = xstrdup (t.id);
      recs[i].id = recs[i].name = NULL;
      (*out)[(*n)++] = t;
    }
  container_recs_free (recs, nr);
  return EXIT_OK;
}

static void
sample_all (struct stats_target *t, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      struct kiln_err err = {0};
      t[i].have_before = t[i].live && t[i].have_cg && stats_sample_read (&t[i].cg, t[i].pid, &t[i].before, &err) == 0;
      kiln_err_clear (&err);
    }
}

static void
sleep_ms (int ms)
{
  struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000};
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* The rows of one reading; each target's reading becomes its next `before`. */
static json_t *
stats_rows (struct stats_target *t, size_t n, bool trunc)
{
  json_t *rows = json_array ();
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  uint64_t host_mem = stats_host_memory ();
  for (size_t i = 0; i < n; i++)
    {
      json_t *e = NULL;
      struct stats_sample now;
      struct kiln_err err = {0};
      if (t[i].live && t[i].have_cg && stats_sample_read (&t[i].cg, t[i].pid, &now, &err) == 0)
        {
          e = stats_entry (t[i].have_before ? &t[i].before : NULL, &now, cpus > 0 ? (unsigned) cpus : 1, host_mem);
          t[i].before = now;
          t[i].have_before = true;
        }
      else
        {
          /* Not running (or no cgroup of its own): docker's zeros. */
          struct stats_sample zero = {0};
          e = stats_entry (NULL, &zero, 1, 0);
        }
      kiln_err_clear (&err);
      _cleanup_buf_ struct buf name = BUF_INIT;
      buf_printf (&name, "/%s", t[i].name);
      json_object_set_new (e, "Container", json_string (t[i].ref));
      json_object_set_new (e, "ID", json_string (t[i].id));
      json_object_set_new (e, "Name", json_string (buf_str (&name)));
      json_array_append_new (rows, stats_row (e, trunc));
      json_decref (e);
    }
  return rows;
}

int
cmd_stats (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                       {"no-stream", no_argument, NULL, 'S'},
                                       {"no-trunc", no_argument, NULL, 'T'},
                                       {"format", required_argument, NULL, 'f'},
                                       {0}};
  bool all = false, stream = true, trunc = true;
  const char *format = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "a", opts, NULL)) != -1)
    switch (c)
      {
      case 'a': all = true; break;
      case 'S': stream = false; break;
      case 'T': trunc = false; break;
      case 'f': format = optarg; break;
      default: return cli_usage_error ("stats", "unknown option");
      }
  if (format == NULL || *format == '\0')
    format = STATS_DEFAULT_FORMAT;
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  bool named = optind < argc;
  struct stats_target *t;
  size_t n;
  int rc = stats_targets (st, argc - optind, argv + optind, all, &t, &n);
  if (named && n == 0)
    {
      targets_free (t, n);
      return rc;
    }
  for (size_t i = 0; i < n && named; i++)
    target_refresh (store_root (st), &t[i]);
  /* CPU % is a share over an interval: the first reading, a second later the
   * next (as docker's daemon samples). */
  sample_all (t, n);
  for (unsigned round = 0;; round++)
    {
      sleep_ms (1000);
      if (stream && !named && round > 0)
        {
          /* Containers come and go between refreshes; those that stay keep
           * their last reading, the start of their next CPU interval. */
          struct stats_target *fresh;
          size_t nf;
          stats_targets (st, 0, NULL, all, &fresh, &nf);
          for (size_t i = 0; i < nf; i++)
            for (size_t k = 0; k < n; k++)
              if (strcmp (fresh[i].id, t[k].id) == 0 && fresh[i].live && t[k].have_before)
                {
                  fresh[i].before = t[k].before;
                  fresh[i].have_before = true;
                }
          targets_free (t, n);
          t = fresh;
          n = nf;
        }
      else
        for (size_t i = 0; i < n; i++)
          target_refresh (store_root (st), &t[i]);
      json_t *rows = stats_rows (t, n, trunc);
      json_t *header = stats_header ();
      if (stream)
        fputs ("\033[2J\033[H", stdout);
      int r = cli_print_format (format, rows, header, STATS_TYPE);
      json_decref (rows);
      json_decref (header);
      fflush (stdout);
      if (r != EXIT_OK)
        rc = r;
      if (!stream || r != EXIT_OK)
        break;
    }
  targets_free (t, n);
  return rc;
}

/* ---------- top ---------- */

const char cmd_top_usage[] = "Usage: kiln top CONTAINER [ps OPTIONS]\n"
                             "\n"
                             "Shows the processes of a running container: the host's ps (default -ef),\n"
                             "its lines for the container's processes.\n";

/* A running container's state and cgroup, or docker's message; 0 when found. */
static int
running_container (struct kiln_store *st, const char *ref, struct container_rec *rec, struct container_state *s,
                   struct cgroup *cg)
{
  struct kiln_err err = {0};
  if (cli_find_container (st, ref, rec) < 0)
    return -1;
  if (container_state_get (store_root (st), rec->id, s, &err) < 0)
    return cli_fail (&err), -1;
  if (!container_state_live (s))
    {
      fprintf (stderr, "Error response from daemon: Container %s is not running\n", rec->id);
      return -1;
    }
  if (cg && container_cgroup_of (store_root (st), rec->id, cg, &err) < 0)
    {
      kiln_err_clear (&err);
      fprintf (stderr, "Error response from daemon: Container %s has no cgroup of its own (kiln could not make one "
                       "at its start)\n",
               rec->id);
      return -1;
    }
  return 0;
}

/* Runs ps with `args` and returns its output (at most 16 MiB). */
static int
run_ps (int argc, char **argv, struct buf *out, struct kiln_err *err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  _cleanup_strv_ struct strv args = STRV_INIT;
  strv_push (&args, "ps");
  if (argc == 0)
    strv_push (&args, "-ef");
  for (int i = 0; i < argc; i++)
    strv_push (&args, argv[i]);
  fflush (NULL);
  pid_t pid = fork ();
  if (pid == 0)
    {
      dup2 (p[1], 1);
      execvp ("ps", args.v);
      _exit (127);
    }
  close (p[1]);
  if (pid < 0)
    {
      close (p[0]);
      return kiln_err_set (err, errno, "fork: %s", strerror (errno));
    }
  int r = read_all (p[0], 16u << 20, out, "ps's output", err);
  close (p[0]);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return -1;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return kiln_err_set (err, EIO, "ps: exit status %d: %s", WIFEXITED (status) ? WEXITSTATUS (status) : 128,
                         buf_str (out));
  return 0;
}

/* Go's text/tabwriter as docker's top sets it: minimum width 20, padding 3. */
static void
print_aligned (const struct strv *cells, size_t ncol, size_t nrows)
{
  size_t *w = xcalloc (ncol, sizeof *w);
  for (size_t r = 0; r < nrows; r++)
    for (size_t c = 0; c + 1 < ncol; c++)
      {
        size_t l = strlen (cells->v[r * ncol + c]) + 3;
        if (l > w[c])
          w[c] = l;
      }
  for (size_t r = 0; r < nrows; r++)
    {
      for (size_t c = 0; c < ncol; c++)
        {
          const char *s = cells->v[r * ncol + c];
          if (c + 1 < ncol)
            printf ("%-*s", (int) (w[c] < 20 ? 20 : w[c]), s);
          else
            printf ("%s\n", s);
        }
    }
  free (w);
}

static bool
has_pid (const pid_t *pids, size_t n, long p)
{
  for (size_t i = 0; i < n; i++)
    if (pids[i] == p)
      return true;
  return false;
}

int
cmd_top (struct kiln_ctx *ctx, int argc, char **argv)
{
  if (argc < 2)
    return cli_usage_error ("top", "expects a CONTAINER");
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    return fputs (cmd_top_usage, stdout), EXIT_OK;
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  struct container_rec rec = {0};
  struct container_state s = {0};
  struct cgroup cg = {0};
  int rc = EXIT_FAIL;
  pid_t *pids = NULL;
  size_t npids = 0;
  _cleanup_buf_ struct buf out = BUF_INIT;
  _cleanup_strv_ struct strv cells = STRV_INIT, titles = STRV_INIT;
  if (running_container (st, argv[1], &rec, &s, &cg) < 0)
    goto done;
  if (cgroup_pids (&cg, &pids, &npids, &err) < 0 || run_ps (argc - 2, argv + 2, &out, &err) < 0)
    {
      fprintf (stderr, "Error response from daemon: %s\n", err.msg);
      kiln_err_clear (&err);
      goto done;
    }
  /* docker's parsePSOutput: the titles, the PID column, the lines of the
   * container's pids (a thread line "-" follows its process), the last column
   * keeping its spaces. */
  char *text = (char *) buf_str (&out);
  char *save = NULL;
  char *line = strtok_r (text, "\n", &save);
  for (char *tsave = NULL, *f = line ? strtok_r (line, " \t", &tsave) : NULL; f; f = strtok_r (NULL, " \t", &tsave))
    strv_push (&titles, f);
  size_t pid_col = titles.n;
  for (size_t i = 0; i < titles.n; i++)
    if (strcmp (titles.v[i], "PID") == 0)
      pid_col = i;
  if (pid_col == titles.n)
    {
      fprintf (stderr, "Error response from daemon: Couldn't find PID field in ps output\n");
      goto done;
    }
  for (size_t i = 0; i < titles.n; i++)
    strv_push (&cells, titles.v[i]);
  size_t rows = 1;
  bool prev_in = false;
  while ((line = strtok_r (NULL, "\n", &save)) != NULL)
    {
      _cleanup_strv_ struct strv f = STRV_INIT;
      char *p = line;
      while (*p)
        {
          p += strspn (p, " \t");
          if (!*p)
            break;
          if (f.n + 1 == titles.n)
            {
              size_t l = strlen (p);
              while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
                l--;
              strv_pushn (&f, p, l);
              break;
            }
          size_t l = strcspn (p, " \t");
          strv_pushn (&f, p, l);
          p += l;
        }
      if (f.n < titles.n)
        continue;
      bool in;
      if (strcmp (f.v[pid_col], "-") == 0)
        in = prev_in;
      else
        {
          char *end;
          long v = strtol (f.v[pid_col], &end, 10);
          if (*end)
            {
              fprintf (stderr, "Error response from daemon: Unexpected pid '%s'\n", f.v[pid_col]);
              goto done;
            }
          in = prev_in = has_pid (pids, npids, v);
        }
      if (in)
        {
          for (size_t i = 0; i < f.n; i++)
            strv_push (&cells, f.v[i]);
          rows++;
        }
    }
  print_aligned (&cells, titles.n, rows);
  rc = EXIT_OK;
done:
  free (pids);
  cgroup_clear (&cg);
  container_state_clear (&s);
  container_rec_clear (&rec);
  return rc;
}

/* ---------- pause, unpause ---------- */

const char cmd_pause_usage[] = "Usage: kiln pause CONTAINER...\n"
                               "\n"
                               "Freezes every process of running containers (their cgroup's freezer);\n"
                               "prints each name as given.\n";
const char cmd_unpause_usage[] = "Usage: kiln unpause CONTAINER...\n"
                                 "\n"
                                 "Thaws paused containers; prints each name as given.\n";

/* One container frozen or thawed, its state written, under containers.lock. */
static int
pause_one (struct kiln_store *st, const char *ref, bool pause)
{
  struct container_rec rec = {0};
  if (cli_find_container (st, ref, &rec) < 0)
    return -1;
  struct kiln_err err = {0};
  int lock = containers_lock (store_root (st), &err);
  if (lock < 0)
    {
      container_rec_clear (&rec);
      return cli_fail (&err), -1;
    }
  struct container_state s = {0};
  struct cgroup cg = {0};
  int ret = -1;
  if (container_state_get_locked (store_root (st), rec.id, &s, &err) < 0)
    cli_fail (&err);
  else if (!container_state_live (&s))
    fprintf (stderr, "Error response from daemon: Container %s is not running\n", rec.id);
  else if (pause && s.paused)
    fprintf (stderr, "Error response from daemon: Container %s is already paused\n", rec.id);
  else if (!pause && !s.paused)
    fprintf (stderr, "Error response from daemon: Container %s is not paused\n", rec.id);
  else if (container_cgroup_of (store_root (st), rec.id, &cg, &err) < 0)
    {
      kiln_err_clear (&err);
      fprintf (stderr, "Error response from daemon: Container %s has no cgroup of its own: kiln cannot %s it\n",
               rec.id, pause ? "pause" : "unpause");
    }
  else if (cgroup_freeze (&cg, pause, &err) < 0)
    fprintf (stderr, "Error response from daemon: Cannot %s container %s: %s\n", pause ? "pause" : "unpause", rec.id,
             err.msg);
  else
    {
      s.paused = pause;
      if (container_state_write (store_root (st), rec.id, &s, &err) < 0)
        {
          /* The state must not lie: back as it was. */
          struct kiln_err ignored = {0};
          cgroup_freeze (&cg, !pause, &ignored);
          kiln_err_clear (&ignored);
          cli_fail (&err);
        }
      else
        ret = 0;
    }
  kiln_err_clear (&err);
  containers_unlock (lock);
  if (ret == 0)
    printf ("%s\n", ref);
  cgroup_clear (&cg);
  container_state_clear (&s);
  container_rec_clear (&rec);
  return ret;
}

static int
pause_cmd (struct kiln_ctx *ctx, int argc, char **argv, bool pause)
{
  const char *name = pause ? "pause" : "unpause";
  static const struct option opts[] = {{0}};
  if (getopt_long (argc, argv, "", opts, NULL) != -1)
    return cli_usage_error (name, "unknown option");
  if (optind >= argc)
    return cli_usage_error (name, "expects at least one CONTAINER");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  int rc = EXIT_OK;
  for (int i = optind; i < argc; i++)
    if (pause_one (st, argv[i], pause) < 0)
      rc = EXIT_FAIL;
  return rc;
}

int
cmd_pause (struct kiln_ctx *ctx, int argc, char **argv)
{
  return pause_cmd (ctx, argc, argv, true);
}

int
cmd_unpause (struct kiln_ctx *ctx, int argc, char **argv)
{
  return pause_cmd (ctx, argc, argv, false);
}
