/* solver/scheduler.h — runs a graph of vertices: each as soon as its inputs are
 * done, at most `jobs` at a time, identical vertices once.
 *
 * The scheduler knows nothing of what a vertex does.  An executor starts a
 * vertex (a child process for the build, a fake clock in the unit tests) and
 * reports, one at a time, the vertices that ended; the scheduler decides what
 * starts next.  It is single-threaded: all of its state changes happen in
 * sched_run's loop.
 *
 * States of a vertex:  WAITING → RUNNING → DONE | FAILED
 *                      WAITING → SKIPPED   (the build stopped before it ran)
 *                      WAITING → DONE      (its twin, same digest, ran for it)
 * Invariants kept at every turn of the loop:
 *  - a vertex starts only when every input is DONE;
 *  - at most `jobs` vertices are RUNNING (a twin waiting on another's run
 *    takes no slot);
 *  - of vertices sharing a digest, only the first to be ready starts; the others
 *    end with it, DONE or FAILED alike;
 *  - after the first failure (or a stop request) nothing new starts; every
 *    RUNNING vertex is asked to cancel and is waited for, so sched_run never
 *    returns while something it started still runs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

enum sched_state
{
  SCHED_WAITING,
  SCHED_RUNNING,
  SCHED_DONE,
  SCHED_FAILED,
  SCHED_SKIPPED,
};

struct sched;

struct sched_exec
{
  /* Starts vertex v; its end is reported later by wait.  -1 (err set): it could
   * not start, which fails the build like a vertex failing. */
  int (*start) (void *ud, size_t v, struct kiln_err *err);
  /* Blocks until one started vertex ends: sets *v, and *failed with verr filled
   * when it failed.  -1 (err set) only when waiting itself is impossible. */
  int (*wait) (void *ud, size_t *v, bool *failed, struct kiln_err *verr, struct kiln_err *err);
  /* Asks a running vertex to stop soon; its end still comes through wait. */
  void (*cancel) (void *ud, size_t v);
  /* Optional: true when the user asked the whole run to stop (Ctrl-C). */
  bool (*stop_requested) (void *ud);
};

/* A graph of n vertices, numbered 0..n-1, none with inputs yet.  jobs 0 means 1. */
struct sched *sched_new (size_t n, unsigned jobs);
void sched_free (struct sched *s);

/* v needs `input` done before it starts (any order of calls; a cycle is
 * reported by sched_run). */
void sched_add_input (struct sched *s, size_t v, size_t input);
/* Vertices with the same digest are the same work: one runs for all.  NULL (the
 * default): v is unlike any other. */
void sched_set_digest (struct sched *s, size_t v, const char *digest);

/* Runs the graph to the end.  0: every vertex DONE.  -1: err holds the first
 * vertex failure (or "interrupted" with EINTR after a stop request, or the
 * cycle); vertices that did not run are SKIPPED. */
int sched_run (struct sched *s, const struct sched_exec *ex, void *ud, struct kiln_err *err);

enum sched_state sched_state_of (const struct sched *s, size_t v);
/* The vertex that did v's work: v itself, or the twin that ran for it. */
size_t sched_ran_as (const struct sched *s, size_t v);
/* The most vertices that were RUNNING at once during sched_run. */
unsigned sched_peak (const struct sched *s);

/* The number of jobs a build runs at once: $KILN_JOBS if it is a positive
 * number, else the online cores. */
unsigned sched_default_jobs (void);
