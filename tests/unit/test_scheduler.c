/* Unit tests: solver/scheduler with fake vertices on a fake clock (no process,
 * no sandbox), in the shape of BuildKit's solver/scheduler_test.go: each op only
 * counts its starts and "sleeps" for a set time. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "solver/scheduler.h"

#define MAXV 16

struct fake
{
  unsigned now;
  unsigned duration[MAXV];
  bool fails[MAXV];
  unsigned starts[MAXV];     /* how many times each op ran */
  unsigned started_at[MAXV];
  unsigned ended_at[MAXV];
  bool running[MAXV];
  bool cancelled[MAXV];
  unsigned stop_at;          /* the user's Ctrl-C at this time; 0: never */
  unsigned n_starts;         /* starts in total */
};

static int
fake_start (void *ud, size_t v, struct kiln_err *err)
{
  (void) err;
  struct fake *f = ud;
  f->starts[v]++;
  f->n_starts++;
  f->started_at[v] = f->now;
  f->running[v] = true;
  return 0;
}

/* The running op that ends first (lowest index on a tie) ends now. */
static int
fake_wait (void *ud, size_t *v, bool *failed, struct kiln_err *verr, struct kiln_err *err)
{
  struct fake *f = ud;
  size_t best = MAXV;
  for (size_t i = 0; i < MAXV; i++)
    if (f->running[i]
        && (best == MAXV || f->started_at[i] + f->duration[i] < f->started_at[best] + f->duration[best]))
      best = i;
  if (best == MAXV)
    return kiln_err_set (err, ECHILD, "nothing runs");
  unsigned end = f->started_at[best] + f->duration[best];
  if (end > f->now)
    f->now = end;
  f->running[best] = false;
  f->ended_at[best] = f->now;
  *v = best;
  *failed = f->fails[best] || f->cancelled[best];
  if (f->fails[best])
    kiln_err_set (verr, EIO, "op %zu failed", best);
  else if (f->cancelled[best])
    kiln_err_set (verr, ECANCELED, "op %zu cancelled", best);
  return 0;
}

/* A cancelled op ends at once. */
static void
fake_cancel (void *ud, size_t v)
{
  struct fake *f = ud;
  f->cancelled[v] = true;
  f->duration[v] = f->now - f->started_at[v];
}

static bool
fake_stop (void *ud)
{
  struct fake *f = ud;
  return f->stop_at && f->now >= f->stop_at;
}

static const struct sched_exec fake_exec = {fake_start, fake_wait, fake_cancel, fake_stop};

static void
inputs_end_before_start (void **state)
{
  (void) state;
  /* 0 → 1 → 2, and 3 needs 0 and 2: the order holds whatever the slots. */
  struct fake f = {.duration = {2, 3, 1, 1}};
  struct sched *s = sched_new (4, 8);
  sched_add_input (s, 1, 0);
  sched_add_input (s, 2, 1);
  sched_add_input (s, 3, 2);
  sched_add_input (s, 3, 0);
  assert_int_equal (sched_run (s, &fake_exec, &f, NULL), 0);
  assert_int_equal (f.started_at[1], f.ended_at[0]);
  assert_int_equal (f.started_at[2], f.ended_at[1]);
  assert_int_equal (f.started_at[3], 6);
  assert_int_equal (sched_peak (s), 1);
  for (size_t v = 0; v < 4; v++)
    {
      assert_int_equal (f.starts[v], 1);
      assert_int_equal (sched_state_of (s, v), SCHED_DONE);
    }
  sched_free (s);
}

static void
jobs_bound_what_runs_at_once (void **state)
{
  (void) state;
  /* Five independent ops of 1: two slots take three turns. */
  struct fake f = {.duration = {1, 1, 1, 1, 1}};
  struct sched *s = sched_new (5, 2);
  assert_int_equal (sched_run (s, &fake_exec, &f, NULL), 0);
  assert_int_equal (sched_peak (s), 2);
  assert_int_equal (f.now, 3);
  assert_int_equal (f.n_starts, 5);
  sched_free (s);
}

static void
independent_branches_overlap (void **state)
{
  (void) state;
  /* The builder + runtime Dockerfile: builder's RUN (0) and runtime's RUN (1)
   * do not wait for each other; the COPY --from (2) waits for both. */
  struct fake f = {.duration = {2, 2, 1}};
  struct sched *s = sched_new (3, 2);
  sched_add_input (s, 2, 0);
  sched_add_input (s, 2, 1);
  assert_int_equal (sched_run (s, &fake_exec, &f, NULL), 0);
  assert_int_equal (f.started_at[0], 0);
  assert_int_equal (f.started_at[1], 0);
  assert_int_equal (f.now, 3);
  sched_free (s);

  /* One slot: the same graph in series. */
  struct fake g = {.duration = {2, 2, 1}};
  s = sched_new (3, 1);
  sched_add_input (s, 2, 0);
  sched_add_input (s, 2, 1);
  assert_int_equal (sched_run (s, &fake_exec, &g, NULL), 0);
  assert_int_equal (g.now, 5);
  assert_int_equal (sched_peak (s), 1);
  sched_free (s);
}

static void
identical_vertices_run_once (void **state)
{
  (void) state;
  /* 1 and 2 are the same work; 3 needs 2, which ends with 1's run. 4 is the
   * same work again, ready only after the run ended: it does not run either. */
  struct fake f = {.duration = {1, 4, 4, 1, 1}};
  struct sched *s = sched_new (5, 4);
  sched_add_input (s, 1, 0);
  sched_add_input (s, 2, 0);
  sched_add_input (s, 3, 2);
  sched_add_input (s, 4, 3);
  sched_set_digest (s, 1, "sha256:aaaa");
  sched_set_digest (s, 2, "sha256:aaaa");
  sched_set_digest (s, 4, "sha256:aaaa");
  assert_int_equal (sched_run (s, &fake_exec, &f, NULL), 0);
  assert_int_equal (f.starts[1], 1);
  assert_int_equal (f.starts[2], 0);
  assert_int_equal (f.starts[4], 0);
  assert_int_equal (sched_ran_as (s, 2), 1);
  assert_int_equal (sched_ran_as (s, 4), 1);
  assert_int_equal (f.started_at[3], 5);
  assert_int_equal (sched_state_of (s, 2), SCHED_DONE);
  assert_int_equal (sched_state_of (s, 4), SCHED_DONE);
  /* The twin took no slot. */
  assert_int_equal (sched_peak (s), 1);
  sched_free (s);
}

static void
a_failure_stops_the_build_with_its_error (void **state)
{
  (void) state;
  /* 0 fails at 1 while 1 (10 long) runs; 2 needs 0; 3 waits for a slot. */
  struct fake f = {.duration = {1, 10, 1, 1}, .fails = {true}};
  struct sched *s = sched_new (4, 2);
  sched_add_input (s, 2, 0);
  struct kiln_err err = {0};
  assert_int_equal (sched_run (s, &fake_exec, &f, &err), -1);
  assert_string_equal (err.msg, "op 0 failed");
  assert_int_equal (err.code, EIO);
  /* The running one was cancelled and waited for; nothing else started. */
  assert_true (f.cancelled[1]);
  assert_false (f.running[1]);
  assert_int_equal (f.ended_at[1], 1);
  assert_int_equal (f.starts[2], 0);
  assert_int_equal (f.starts[3], 0);
  assert_int_equal (sched_state_of (s, 0), SCHED_FAILED);
  assert_int_equal (sched_state_of (s, 1), SCHED_FAILED);
  assert_int_equal (sched_state_of (s, 2), SCHED_SKIPPED);
  assert_int_equal (sched_state_of (s, 3), SCHED_SKIPPED);
  kiln_err_clear (&err);
  sched_free (s);
}

static void
a_twin_fails_with_the_run_it_shares (void **state)
{
  (void) state;
  struct fake f = {.duration = {3, 3}, .fails = {true}};
  struct sched *s = sched_new (2, 2);
  sched_set_digest (s, 0, "sha256:bbbb");
  sched_set_digest (s, 1, "sha256:bbbb");
  struct kiln_err err = {0};
  assert_int_equal (sched_run (s, &fake_exec, &f, &err), -1);
  assert_int_equal (f.starts[0] + f.starts[1], 1);
  assert_int_equal (sched_state_of (s, 1), SCHED_FAILED);
  kiln_err_clear (&err);
  sched_free (s);
}

static void
a_stop_request_cancels_what_runs (void **state)
{
  (void) state;
  /* Ctrl-C at 2: the two long ops are cancelled, the third never starts. */
  struct fake f = {.duration = {2, 10, 10, 1}, .stop_at = 2};
  struct sched *s = sched_new (4, 2);
  sched_add_input (s, 1, 0);
  sched_add_input (s, 2, 0);
  sched_add_input (s, 3, 1);
  struct kiln_err err = {0};
  assert_int_equal (sched_run (s, &fake_exec, &f, &err), -1);
  assert_int_equal (err.code, EINTR);
  assert_int_equal (f.starts[1] + f.starts[2], 0); /* stopped before they started */
  assert_int_equal (sched_state_of (s, 3), SCHED_SKIPPED);
  kiln_err_clear (&err);
  sched_free (s);

  /* Ctrl-C while two run: both are cancelled and waited for. */
  struct fake g = {.duration = {10, 10, 1}, .stop_at = 1};
  s = sched_new (3, 2);
  sched_add_input (s, 2, 0);
  struct sched_exec ex = fake_exec;
  assert_int_equal (sched_run (s, &ex, &g, &err), -1);
  /* The first wait ended at 10 without cancels (the stop came while waiting);
   * the stop is seen before anything new starts. */
  assert_int_equal (g.starts[2], 0);
  assert_false (g.running[0]);
  assert_false (g.running[1]);
  kiln_err_clear (&err);
  sched_free (s);
}

static void
a_cycle_is_refused (void **state)
{
  (void) state;
  struct fake f = {.duration = {1, 1}};
  struct sched *s = sched_new (2, 2);
  sched_add_input (s, 0, 1);
  sched_add_input (s, 1, 0);
  struct kiln_err err = {0};
  assert_int_equal (sched_run (s, &fake_exec, &f, &err), -1);
  assert_non_null (strstr (err.msg, "cycle"));
  assert_int_equal (f.n_starts, 0);
  kiln_err_clear (&err);
  sched_free (s);
}

static void
jobs_come_from_the_environment (void **state)
{
  (void) state;
  setenv ("KILN_JOBS", "3", 1);
  assert_int_equal (sched_default_jobs (), 3);
  setenv ("KILN_JOBS", "0", 1);
  assert_true (sched_default_jobs () >= 1);
  setenv ("KILN_JOBS", "x", 1);
  assert_true (sched_default_jobs () >= 1);
  unsetenv ("KILN_JOBS");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (inputs_end_before_start),
    cmocka_unit_test (jobs_bound_what_runs_at_once),
    cmocka_unit_test (independent_branches_overlap),
    cmocka_unit_test (identical_vertices_run_once),
    cmocka_unit_test (a_failure_stops_the_build_with_its_error),
    cmocka_unit_test (a_twin_fails_with_the_run_it_shares),
    cmocka_unit_test (a_stop_request_cancels_what_runs),
    cmocka_unit_test (a_cycle_is_refused),
    cmocka_unit_test (jobs_come_from_the_environment),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
