/* solver/scheduler.c — the loop of sched_run; see scheduler.h for the states and
 * the invariants. */
#include "solver/scheduler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

#define NO_VERTEX ((size_t) -1)

struct vertex
{
  size_t *inputs;
  size_t n_inputs, cap_inputs;
  char *digest;
  enum sched_state state;
  size_t ran_as;  /* itself, or the twin whose run it shares */
  bool follower;  /* RUNNING only as the twin of a running vertex: takes no slot */
};

struct sched
{
  struct vertex *v;
  size_t n;
  unsigned jobs;
  unsigned running; /* leaders RUNNING */
  unsigned peak;
  bool stopping;    /* after a failure or a stop request: nothing new starts */
};

struct sched *
sched_new (size_t n, unsigned jobs)
{
  struct sched *s = xcalloc (1, sizeof *s);
  s->v = xcalloc (n ? n : 1, sizeof *s->v);
  s->n = n;
  s->jobs = jobs ? jobs : 1;
  for (size_t i = 0; i < n; i++)
    s->v[i].ran_as = i;
  return s;
}

void
sched_free (struct sched *s)
{
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n; i++)
    {
      free (s->v[i].inputs);
      free (s->v[i].digest);
    }
  free (s->v);
  free (s);
}

void
sched_add_input (struct sched *s, size_t v, size_t input)
{
  struct vertex *x = &s->v[v];
  for (size_t i = 0; i < x->n_inputs; i++)
    if (x->inputs[i] == input)
      return;
  x->inputs = xgrow (x->inputs, &x->cap_inputs, x->n_inputs + 1, sizeof *x->inputs);
  x->inputs[x->n_inputs++] = input;
}

void
sched_set_digest (struct sched *s, size_t v, const char *digest)
{
  free (s->v[v].digest);
  s->v[v].digest = digest ? xstrdup (digest) : NULL;
}

enum sched_state
sched_state_of (const struct sched *s, size_t v)
{
  return s->v[v].state;
}

size_t
sched_ran_as (const struct sched *s, size_t v)
{
  return s->v[v].ran_as;
}

unsigned
sched_peak (const struct sched *s)
{
  return s->peak;
}

unsigned
sched_default_jobs (void)
{
  const char *e = getenv ("KILN_JOBS");
  if (e && *e)
    {
      char *end;
      unsigned long j = strtoul (e, &end, 10);
      if (*end == '\0' && j >= 1 && j <= 1024)
        return (unsigned) j;
    }
  long cores = sysconf (_SC_NPROCESSORS_ONLN);
  return cores >= 1 ? (unsigned) cores : 1;
}

/* Kahn's count: the graph is runnable only if every vertex can be ordered. */
static int
check_acyclic (const struct sched *s, struct kiln_err *err)
{
  size_t *pending = xcalloc (s->n ? s->n : 1, sizeof *pending);
  bool *placed = xcalloc (s->n ? s->n : 1, sizeof *placed);
  for (size_t v = 0; v < s->n; v++)
    pending[v] = s->v[v].n_inputs;
  size_t done = 0;
  for (bool progress = true; progress;)
    {
      progress = false;
      for (size_t v = 0; v < s->n; v++)
        if (!placed[v] && pending[v] == 0)
          {
            placed[v] = true;
            done++;
            progress = true;
            for (size_t w = 0; w < s->n; w++)
              for (size_t i = 0; i < s->v[w].n_inputs; i++)
                if (s->v[w].inputs[i] == v)
                  pending[w]--;
          }
    }
  size_t stuck = NO_VERTEX;
  for (size_t v = 0; v < s->n && stuck == NO_VERTEX; v++)
    if (!placed[v])
      stuck = v;
  free (pending);
  free (placed);
  if (done < s->n)
    return kiln_err_set (err, EINVAL, "the build graph has a cycle through vertex %zu", stuck);
  return 0;
}

static bool
inputs_done (const struct sched *s, size_t v)
{
  for (size_t i = 0; i < s->v[v].n_inputs; i++)
    if (s->v[s->v[v].inputs[i]].state != SCHED_DONE)
      return false;
  return true;
}

/* The vertex already doing (or done with) v's work, or NO_VERTEX. */
static size_t
twin_of (const struct sched *s, size_t v)
{
  const char *d = s->v[v].digest;
  if (d == NULL)
    return NO_VERTEX;
  for (size_t u = 0; u < s->n; u++)
    {
      const struct vertex *x = &s->v[u];
      if (u == v || x->digest == NULL || x->ran_as != u || strcmp (x->digest, d) != 0)
        continue;
      if (x->state == SCHED_DONE || (x->state == SCHED_RUNNING && !x->follower))
        return u;
    }
  return NO_VERTEX;
}

/* Keeps the first failure: later ones are usually its consequences. */
static void
note_failure (struct sched *s, const struct sched_exec *ex, void *ud, struct kiln_err *first, struct kiln_err *e)
{
  if (!kiln_err_is_set (first))
    {
      *first = *e;
      memset (e, 0, sizeof *e);
    }
  else
    kiln_err_clear (e);
  if (s->stopping)
    return;
  s->stopping = true;
  for (size_t v = 0; v < s->n; v++)
    if (s->v[v].state == SCHED_RUNNING && !s->v[v].follower && ex->cancel)
      ex->cancel (ud, v);
}

/* Starts what can start; twins of finished work end at once.  Loops until
 * nothing changes, since a vertex ended by its twin can make others ready. */
static void
start_ready (struct sched *s, const struct sched_exec *ex, void *ud, struct kiln_err *first)
{
  for (bool changed = true; changed && !s->stopping;)
    {
      changed = false;
      for (size_t v = 0; v < s->n && !s->stopping; v++)
        {
          struct vertex *x = &s->v[v];
          if (x->state != SCHED_WAITING || !inputs_done (s, v))
            continue;
          size_t twin = twin_of (s, v);
          if (twin != NO_VERTEX)
            {
              x->ran_as = twin;
              x->follower = s->v[twin].state == SCHED_RUNNING;
              x->state = s->v[twin].state;
              changed = true;
              continue;
            }
          if (s->running >= s->jobs)
            continue;
          struct kiln_err e = {0};
          if (ex->start (ud, v, &e) < 0)
            {
              x->state = SCHED_FAILED;
              note_failure (s, ex, ud, first, &e);
              break;
            }
          x->state = SCHED_RUNNING;
          s->running++;
          if (s->running > s->peak)
            s->peak = s->running;
        }
    }
}

static void
finish (struct sched *s, size_t v, bool failed)
{
  enum sched_state end = failed ? SCHED_FAILED : SCHED_DONE;
  s->v[v].state = end;
  s->running--;
  for (size_t u = 0; u < s->n; u++)
    if (s->v[u].follower && s->v[u].ran_as == v)
      {
        s->v[u].follower = false;
        s->v[u].state = end;
      }
}

int
sched_run (struct sched *s, const struct sched_exec *ex, void *ud, struct kiln_err *err)
{
  if (check_acyclic (s, err) < 0)
    return -1;
  struct kiln_err first = {0};
  int ret = 0;
  for (;;)
    {
      if (!s->stopping && ex->stop_requested && ex->stop_requested (ud))
        {
          struct kiln_err e = {0};
          kiln_err_set (&e, EINTR, "interrupted: the build stopped cleanly");
          note_failure (s, ex, ud, &first, &e);
        }
      start_ready (s, ex, ud, &first);
      if (s->running == 0)
        break;
      size_t v = NO_VERTEX;
      bool failed = false;
      struct kiln_err verr = {0};
      if (ex->wait (ud, &v, &failed, &verr, err) < 0)
        {
          kiln_err_clear (&verr);
          ret = -1;
          break;
        }
      if (v >= s->n || s->v[v].state != SCHED_RUNNING || s->v[v].follower)
        {
          kiln_err_clear (&verr);
          ret = kiln_err_set (err, EINVAL, "the executor reported vertex %zu, which was not running", v);
          break;
        }
      finish (s, v, failed);
      if (failed)
        {
          if (!kiln_err_is_set (&verr))
            kiln_err_set (&verr, EIO, "step %zu of the build graph failed", v);
          note_failure (s, ex, ud, &first, &verr);
        }
    }
  for (size_t v = 0; v < s->n; v++)
    if (s->v[v].state == SCHED_WAITING)
      s->v[v].state = SCHED_SKIPPED;
  if (ret < 0)
    {
      kiln_err_clear (&first);
      return -1;
    }
  if (kiln_err_is_set (&first))
    {
      kiln_err_clear (err);
      *err = first;
      return -1;
    }
  return 0;
}
