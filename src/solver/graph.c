/* solver/graph.c — the build as a graph of stage parts run by the scheduler in
 * child processes (see "The build graph" in docs/ARCHITECTURE.md). */
#include "solver/builder.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/syscall.h>

#include "util/cleanup.h"
#include "solver/scheduler.h"

/* ---------- the stages as a graph ---------- */

/* The build runs as a graph on the scheduler (solver/scheduler.h).  A vertex is
 * a run of one stage's instructions [from, upto): a stage is one vertex, or two
 * when it uses another stage (COPY --from, RUN --mount from=) after some
 * instructions of its own — those need only the stage's base, so they run while
 * the other stage builds.  Each vertex runs in a child process with its own
 * store connection: it replays what it needs from the cache without a word,
 * builds and prints its own instructions, and reports the cache keys it made
 * (and the cache-miss explanations it found, for --metadata-file).
 * Those keys are hits for the rest of the invocation, --no-cache or not, so the
 * build then walks all stages in order in this process, every step a hit.  (A
 * child never touches the parent's SQLite handle.) */
struct stage_vertex
{
  size_t stage, from, upto;
  size_t in[3]; /* the vertex before it in its stage, its base's last, ... */
  size_t n_in;
  size_t *more_in; /* ... and the last vertex of each stage it uses */
  size_t n_more;
  char digest[DIGEST_STR_LEN + 1]; /* same digest: the same work, run once */
};

struct stage_graph
{
  struct builder *b;
  struct stage_vertex *v;
  size_t n;
  size_t *last; /* stage → its last vertex */
  pid_t *pid;
  int *pidfd;
  int *report; /* a memfd the child writes its outcome to (vertex_report) */
};

/* Where stage s splits in two vertices, or 0 when it is one. */
static size_t
split_at (const struct graph_stage *s)
{
  bool uses_others = s->n_uses > (s->base_stage >= 0 ? 1u : 0u);
  return uses_others ? s->first_cross : 0;
}

static void
vertex_input (struct stage_vertex *x, size_t input)
{
  for (size_t i = 0; i < x->n_in; i++)
    if (x->in[i] == input)
      return;
  for (size_t i = 0; i < x->n_more; i++)
    if (x->more_in[i] == input)
      return;
  if (x->n_in < 3)
    x->in[x->n_in++] = input;
  else
    {
      x->more_in = xrealloc (x->more_in, (x->n_more + 1) * sizeof *x->more_in);
      x->more_in[x->n_more++] = input;
    }
}

static size_t
vertex_n_inputs (const struct stage_vertex *x)
{
  return x->n_in + x->n_more;
}

static size_t
vertex_input_at (const struct stage_vertex *x, size_t i)
{
  return i < x->n_in ? x->in[i] : x->more_in[i - x->n_in];
}

/* The digest says what the vertex does: its base, its instructions as written
 * (expanded with the build's global ARGs, the same for every stage) and the
 * digests of the vertices it needs. */
static void
graph_add (struct stage_graph *g, size_t si, size_t from, size_t upto)
{
  const struct graph_stage *s = &g->b->def->stages[si];
  size_t v = g->n++;
  struct stage_vertex *x = &g->v[v];
  *x = (struct stage_vertex){.stage = si, .from = from, .upto = upto};
  if (from > 0)
    vertex_input (x, v - 1);
  if (s->base_stage >= 0)
    vertex_input (x, g->last[s->base_stage]);
  for (size_t i = 0; upto == s->n_steps && i < s->n_uses; i++)
    vertex_input (x, g->last[s->uses[i]]);
  struct hasher *h = hasher_new ();
  const char *plat = s->platform ? s->platform : "";
  hasher_update (h, s->base, strlen (s->base) + 1);
  hasher_update (h, plat, strlen (plat) + 1);
  for (size_t k = 0; k < upto; k++)
    hasher_update (h, s->step_text[k], strlen (s->step_text[k]) + 1);
  for (size_t i = 0; i < vertex_n_inputs (x); i++)
    hasher_update (h, g->v[vertex_input_at (x, i)].digest, DIGEST_STR_LEN);
  struct digest d;
  hasher_final (h, &d);
  hasher_free (h);
  memcpy (x->digest, d.str, sizeof x->digest);
  g->last[si] = v;
}

/* The vertices of the needed stages, in stage order (inputs come first). */
static void
graph_plan (struct stage_graph *g)
{
  const struct graph_def *m = g->b->def;
  size_t n = 0;
  for (size_t si = 0; si < m->n_stages; si++)
    if (m->stages[si].needed)
      n += split_at (&m->stages[si]) > 0 ? 2 : 1;
  g->v = xcalloc (n ? n : 1, sizeof *g->v);
  g->last = xcalloc (m->n_stages ? m->n_stages : 1, sizeof *g->last);
  g->pid = xcalloc (n ? n : 1, sizeof *g->pid);
  g->pidfd = xcalloc (n ? n : 1, sizeof *g->pidfd);
  g->report = xcalloc (n ? n : 1, sizeof *g->report);
  for (size_t si = 0; si < m->n_stages; si++)
    {
      const struct graph_stage *s = &m->stages[si];
      if (!s->needed)
        continue;
      size_t cut = split_at (s);
      if (cut > 0)
        graph_add (g, si, 0, cut);
      graph_add (g, si, cut, s->n_steps);
    }
}

static void
graph_free (struct stage_graph *g)
{
  for (size_t v = 0; v < g->n; v++)
    free (g->v[v].more_in);
  free (g->v);
  free (g->last);
  free (g->pid);
  free (g->pidfd);
  free (g->report);
}

/* True when two vertices could run at once; else the graph is a chain, and
 * the build runs in this process with no child at all. */
static bool
graph_branches (const struct stage_graph *g)
{
  size_t n = g->n;
  bool *anc = xcalloc (n * n + 1, sizeof *anc); /* anc[v*n+u]: v needs u */
  bool branches = false;
  for (size_t v = 0; v < n && !branches; v++)
    {
      for (size_t i = 0; i < vertex_n_inputs (&g->v[v]); i++)
        {
          size_t in = vertex_input_at (&g->v[v], i);
          anc[v * n + in] = true;
          for (size_t u = 0; u < in; u++)
            anc[v * n + u] |= anc[in * n + u];
        }
      for (size_t u = 0; u < v; u++)
        branches |= !anc[v * n + u];
    }
  free (anc);
  return branches;
}

/* Does vertex x need stage k (k before x's stage) built? Its first part needs
 * only its base's chain; its last part every stage it uses. */
static bool
vertex_needs (const struct graph_def *m, const struct stage_vertex *x, size_t k)
{
  const struct graph_stage *s = &m->stages[x->stage];
  if (!m->stages[k].needed)
    return false;
  if (x->upto < s->n_steps)
    return s->base_stage >= 0 && graph_def_depends (m, (size_t) s->base_stage, k);
  return graph_def_depends (m, x->stage, k);
}

/* The child's outcome for the parent: the cache keys it made (key → result)
 * and its error, every field of it (a Dockerfile error keeps its position). */
static void
vertex_report (int fd, const struct envmap *made, size_t first, const json_t *explained, size_t first_explained,
               const struct kiln_err *e, bool failed)
{
  _cleanup_json_ json_t *rep = json_object ();
  json_t *keys = json_object ();
  for (size_t i = first; i < made->n; i++)
    json_object_set_new (keys, made->keys[i], json_string (made->values[i]));
  json_object_set_new (rep, "made", keys);
  json_t *ex = json_array ();
  for (size_t i = first_explained; i < json_array_size (explained); i++)
    json_array_append (ex, json_array_get (explained, i));
  json_object_set_new (rep, "explained", ex);
  if (failed)
    json_object_set_new (rep, "error",
                         json_pack ("{s:i, s:s?, s:s?, s:i, s:i, s:s?}", "code", e->code, "msg", e->msg, "file",
                                    e->file, "line", e->line, "col", e->col, "source_line", e->source_line));
  json_dumpfd (rep, fd, JSON_COMPACT);
}

static _Noreturn void
vertex_child (const struct stage_graph *g, size_t v, int fd)
{
  const struct builder *b = g->b;
  const struct graph_def *m = b->def;
  const struct stage_vertex *x = &g->v[v];
  struct kiln_err e = {0};
  struct builder child = *b;
  child.err = &e;
  child.net_started = false;
  child.digests = NULL; /* the parent's connection */
  memset (&child.pending, 0, sizeof child.pending);
  memset (&child.pending_cache, 0, sizeof child.pending_cache);
  memset (&child.pending_info, 0, sizeof child.pending_info);
  memset (&child.pending_files, 0, sizeof child.pending_files);
  child.vtx_name = NULL; /* the parent's */
  child.st = store_open (store_root (b->st), &e);
  child.outs = xcalloc (m->n_stages, sizeof *child.outs);
  size_t made_before = b->made.n;
  size_t explained_before = json_array_size (b->rq->explained);
  int r = child.st ? 0 : -1;
  if (r == 0)
    r = store_lock_shared (child.st, &e);
  for (size_t k = 0; k < x->stage && r == 0; k++)
    if (vertex_needs (m, x, k))
      {
        child.quiet = true;
        child.step = graph_def_step_base (m, k);
        r = build_stage (&child, k);
      }
  child.quiet = b->quiet;
  child.step = graph_def_step_base (m, x->stage);
  if (r == 0)
    r = build_stage_part (&child, x->stage, x->upto, x->from);
  if (build_flush (&child, &e) < 0)
    r = -1;
  if (child.net_started)
    sandbox_net_stop (&child.net);
  trash_empty (&child);
  vertex_report (fd, &child.made, made_before, b->rq->explained, explained_before, &e, r < 0);
  _exit (r < 0 ? 1 : 0);
}

static int
vertex_start (void *ud, size_t v, struct kiln_err *err)
{
  struct stage_graph *g = ud;
  int fd = memfd_create ("kiln-vertex", MFD_CLOEXEC);
  if (fd < 0)
    return kiln_err_set (err, errno, "memfd_create: %s", strerror (errno));
  pid_t p = fork ();
  if (p == 0)
    vertex_child (g, v, fd);
  if (p < 0)
    {
      close (fd);
      return kiln_err_set (err, errno, "fork: %s", strerror (errno));
    }
  int pfd = (int) syscall (SYS_pidfd_open, p, 0);
  if (pfd < 0)
    {
      int saved = errno;
      kill (p, SIGKILL);
      waitpid (p, NULL, 0);
      close (fd);
      return kiln_err_set (err, saved, "pidfd_open: %s", strerror (saved));
    }
  g->pid[v] = p;
  g->pidfd[v] = pfd;
  g->report[v] = fd;
  return 0;
}

/* Takes the child's report: its keys join the invocation's, its error is the
 * vertex's.  A child that died without a report failed all the same. */
static void
vertex_collect (struct stage_graph *g, size_t v, bool *failed, struct kiln_err *verr)
{
  json_error_t je;
  lseek (g->report[v], 0, SEEK_SET);
  _cleanup_json_ json_t *rep = json_loadfd (g->report[v], 0, &je);
  close (g->report[v]);
  g->report[v] = -1;
  const char *key;
  json_t *val;
  json_object_foreach (json_object_get (rep, "made"), key, val)
    if (json_is_string (val))
      envmap_set (&g->b->made, key, json_string_value (val));
  size_t i;
  json_t *x;
  if (g->b->rq->explained)
    json_array_foreach (json_object_get (rep, "explained"), i, x) json_array_append (g->b->rq->explained, x);
  json_t *e = json_object_get (rep, "error");
  if (!*failed || kiln_err_is_set (verr))
    return;
  const char *msg = json_string_value (json_object_get (e, "msg"));
  if (msg == NULL)
    {
      kiln_err_set (verr, EIO, "building stage %s ended without a report",
                    g->b->def->stages[g->v[v].stage].name ?: g->b->def->stages[g->v[v].stage].base);
      return;
    }
  kiln_err_set (verr, (int) json_integer_value (json_object_get (e, "code")), "%s", msg);
  const char *file = json_string_value (json_object_get (e, "file"));
  const char *src = json_string_value (json_object_get (e, "source_line"));
  int line = (int) json_integer_value (json_object_get (e, "line"));
  if (line > 0)
    kiln_err_locate (verr, file, line, (int) json_integer_value (json_object_get (e, "col")), src,
                     src ? strlen (src) : 0);
}

static int
vertex_wait (void *ud, size_t *out, bool *failed, struct kiln_err *verr, struct kiln_err *err)
{
  struct stage_graph *g = ud;
  struct pollfd *pf = xcalloc (g->n ? g->n : 1, sizeof *pf);
  size_t *which = xcalloc (g->n ? g->n : 1, sizeof *which);
  size_t np = 0;
  for (size_t v = 0; v < g->n; v++)
    if (g->pid[v] > 0)
      {
        pf[np] = (struct pollfd){.fd = g->pidfd[v], .events = POLLIN};
        which[np++] = v;
      }
  int r;
  do
    r = poll (pf, np, -1); /* a signal interrupts: the children got it too and end */
  while (r < 0 && errno == EINTR);
  size_t v = (size_t) -1;
  for (size_t i = 0; r > 0 && i < np && v == (size_t) -1; i++)
    if (pf[i].revents)
      v = which[i];
  free (pf);
  free (which);
  if (v == (size_t) -1)
    return kiln_err_set (err, errno ? errno : ECHILD, "waiting for the stages: %s", strerror (errno ? errno : ECHILD));
  int status = 0;
  while (waitpid (g->pid[v], &status, 0) < 0 && errno == EINTR)
    ;
  close (g->pidfd[v]);
  g->pid[v] = 0;
  *out = v;
  *failed = !WIFEXITED (status) || WEXITSTATUS (status) != 0;
  vertex_collect (g, v, failed, verr);
  return 0;
}

static void
vertex_cancel (void *ud, size_t v)
{
  struct stage_graph *g = ud;
  if (g->pid[v] > 0)
    kill (g->pid[v], SIGTERM); /* it stops at its next step, as on Ctrl-C */
}

static bool
graph_stop_requested (void *ud)
{
  (void) ud;
  return build_interrupted != 0;
}

static const struct sched_exec stage_exec = {vertex_start, vertex_wait, vertex_cancel, graph_stop_requested};

/* Runs the stages' graph in children; prebuilt[s] for the stages it built. */
static int
run_graph (struct builder *b, struct stage_graph *g, unsigned jobs, bool *prebuilt)
{
  struct sched *sc = sched_new (g->n, jobs);
  for (size_t v = 0; v < g->n; v++)
    {
      for (size_t i = 0; i < vertex_n_inputs (&g->v[v]); i++)
        sched_add_input (sc, v, vertex_input_at (&g->v[v], i));
      sched_set_digest (sc, v, g->v[v].digest);
    }
  int r = sched_run (sc, &stage_exec, g, b->err);
  for (size_t v = 0; v < g->n && r == 0; v++)
    prebuilt[g->v[v].stage] = true;
  sched_free (sc);
  if (r < 0 && build_interrupted)
    return kiln_err_set (b->err, EINTR, "interrupted (signal %d): the build stopped cleanly", (int) build_interrupted);
  return r;
}

/* Forgets what a walk built, so that another walk starts afresh. */
static void
walk_reset (struct builder *b)
{
  for (size_t i = 0; i < b->def->n_stages; i++)
    {
      json_decref (b->outs[i].config);
      free (b->outs[i].layers.d);
      memset (&b->outs[i], 0, sizeof b->outs[i]);
    }
  b->step = 0;
  strv_free (&b->used_keys);
}

/* The walk in order as if every step were cached, its output held back: a
 * cached build then forks nothing.  The first step that would run (a snapshot
 * begun, a record put) stops it.  0: the walk is done (its output printed);
 * 1: a step missed, the walk is forgotten; -1: an error before any miss (the
 * one a serial build gives). */
static int
probe_walk (struct builder *b)
{
  bool warned = b->net_warned;
  b->probing = true;
  b->probe_missed = false;
  int r = walk_stages (b, NULL);
  b->probing = false;
  if (r == 0 || !b->probe_missed)
    {
      probe_output_flush (b);
      buf_free (&b->probe_out);
      return r;
    }
  buf_free (&b->probe_out);
  kiln_err_clear (b->err);
  b->net_warned = warned;
  walk_reset (b);
  return 1;
}

/* An ADD of a URL downloads to make its key: a probe would fetch it once more. */
static bool
adds_urls (const struct graph_def *m)
{
  for (size_t si = 0; si < m->n_stages; si++)
    if (m->stages[si].needed && m->stages[si].adds_urls)
      return true;
  return false;
}

int
build_all_stages (struct builder *b)
{
  unsigned jobs = getenv ("KILN_SERIAL_STAGES") ? 1 : sched_default_jobs ();
  struct stage_graph g = {.b = b};
  graph_plan (&g);
  bool graph = jobs >= 2 && graph_branches (&g);
  /* --pull fetches every base on each walk, ADD <url> its file: no probe for them. */
  int r = graph && !b->rq->pull && !adds_urls (b->def) ? probe_walk (b) : 1;
  if (r <= 0)
    {
      graph_free (&g);
      return r;
    }
  _cleanup_free_ bool *prebuilt = xcalloc (b->def->n_stages, sizeof *prebuilt);
  r = graph ? run_graph (b, &g, jobs, prebuilt) : 0;
  graph_free (&g);
  return r < 0 ? -1 : walk_stages (b, prebuilt);
}
