/* Unit tests: solver/graph's plan — which vertices a Dockerfile's stages become,
 * what each waits for, and which are the same work.  No store, no sandbox: the
 * plan is made from the graph definition (frontend/to_graph.h) alone.  graph.c is built into this test to
 * reach its static functions. */
#include "solver/graph.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "frontend/parser.h"
#include "frontend/to_graph.h"

struct plan
{
  struct df_ast *ast;
  struct stage_model *m;
  struct graph_def *def;
  struct builder b;
  struct stage_graph g;
};

static void
plan_of (struct plan *p, const char *dockerfile)
{
  memset (p, 0, sizeof *p);
  struct kiln_err err = {0};
  p->ast = df_parse ("Dockerfile", dockerfile, strlen (dockerfile), &err);
  assert_non_null (p->ast);
  struct build_opts o = {0};
  p->m = stages_resolve (p->ast, &o, &err);
  assert_non_null (p->m);
  p->def = stages_to_graph (p->m);
  p->b.def = p->def;
  p->g.b = &p->b;
  graph_plan (&p->g);
}

static void
plan_free (struct plan *p)
{
  graph_free (&p->g);
  graph_def_free (p->def);
  stages_free (p->m);
  df_ast_free (p->ast);
}

static bool
needs (const struct stage_vertex *x, size_t input)
{
  for (size_t i = 0; i < vertex_n_inputs (x); i++)
    if (vertex_input_at (x, i) == input)
      return true;
  return false;
}

static void
runtime_steps_before_copy_from_do_not_wait (void **state)
{
  (void) state;
  struct plan p;
  plan_of (&p, "FROM busybox AS builder\nRUN make\n"
               "FROM busybox\nRUN apk add x\nENV A=b\nCOPY --from=builder /out /out\nCMD [\"/out\"]\n");
  /* builder; the runtime up to its COPY --from; the rest. */
  assert_int_equal (p.g.n, 3);
  assert_int_equal (p.g.v[0].stage, 0);
  assert_int_equal (vertex_n_inputs (&p.g.v[0]), 0);
  assert_int_equal (p.g.v[1].stage, 1);
  assert_int_equal (p.g.v[1].from, 0);
  assert_int_equal (p.g.v[1].upto, 2);
  assert_int_equal (vertex_n_inputs (&p.g.v[1]), 0);
  assert_int_equal (p.g.v[2].from, 2);
  assert_int_equal (p.g.v[2].upto, 4);
  assert_true (needs (&p.g.v[2], 0));
  assert_true (needs (&p.g.v[2], 1));
  assert_true (graph_branches (&p.g));
  /* The child of the first part builds nothing of the builder. */
  assert_false (vertex_needs (p.def, &p.g.v[1], 0));
  assert_true (vertex_needs (p.def, &p.g.v[2], 0));
  plan_free (&p);
}

static void
a_chain_has_no_branches (void **state)
{
  (void) state;
  struct plan p;
  plan_of (&p, "FROM busybox AS base\nRUN a\nFROM base AS mid\nRUN b\nFROM mid\nRUN c\n");
  assert_int_equal (p.g.n, 3);
  assert_true (needs (&p.g.v[1], 0));
  assert_true (needs (&p.g.v[2], 1));
  assert_false (graph_branches (&p.g));
  plan_free (&p);

  /* A stage that uses another at its first step is one vertex. */
  plan_of (&p, "FROM busybox AS a\nRUN a\nFROM busybox\nCOPY --from=a /x /x\nRUN b\n");
  assert_int_equal (p.g.n, 2);
  assert_true (needs (&p.g.v[1], 0));
  assert_false (graph_branches (&p.g));
  plan_free (&p);
}

static void
unneeded_stages_are_left_out (void **state)
{
  (void) state;
  struct plan p;
  plan_of (&p, "FROM busybox AS unused\nRUN x\nFROM busybox AS a\nRUN a\nFROM busybox\nRUN b\nCOPY --from=a /a /a\n");
  assert_int_equal (p.g.n, 3);
  for (size_t v = 0; v < p.g.n; v++)
    assert_int_not_equal (p.g.v[v].stage, 0);
  plan_free (&p);
}

static void
identical_stages_share_a_digest (void **state)
{
  (void) state;
  struct plan p;
  plan_of (&p, "FROM busybox AS a\nRUN echo same\nFROM busybox AS b\nRUN echo same\nFROM busybox AS c\nRUN echo other\n"
               "FROM scratch\nCOPY --from=a / /a\nCOPY --from=b / /b\nCOPY --from=c / /c\n");
  assert_string_equal (p.g.v[0].digest, p.g.v[1].digest);
  assert_string_not_equal (p.g.v[0].digest, p.g.v[2].digest);
  plan_free (&p);

  /* The same steps on another base are other work. */
  plan_of (&p, "FROM busybox AS a\nRUN x\nFROM alpine AS b\nRUN x\nFROM scratch\nCOPY --from=a / /a\nCOPY --from=b / /b\n");
  assert_string_not_equal (p.g.v[0].digest, p.g.v[1].digest);
  plan_free (&p);
}

static void
the_definition_says_what_the_plan_needs (void **state)
{
  (void) state;
  struct plan p;
  plan_of (&p, "FROM busybox AS a\nRUN a\nFROM --platform=linux/arm64 a AS b\nENV X=1\nADD https://example.com/f /f\n"
               "RUN --mount=from=a,target=/m true\nFROM scratch\nCOPY --from=b /f /f\n");
  const struct graph_def *d = p.def;
  assert_int_equal (d->n_stages, 3);
  assert_int_equal (d->target, 2);
  assert_string_equal (d->stages[0].name, "a");
  assert_int_equal (d->stages[0].base_stage, -1);
  assert_int_equal (d->stages[0].n_uses, 0);
  assert_int_equal (d->stages[0].first_cross, 1);
  assert_false (d->stages[0].adds_urls);
  assert_int_equal (d->stages[1].base_stage, 0);
  assert_string_equal (d->stages[1].platform, "linux/arm64");
  assert_int_equal (d->stages[1].n_steps, 3);
  assert_string_equal (d->stages[1].step_text[1], "ADD https://example.com/f /f");
  assert_int_equal (d->stages[1].first_cross, 2); /* the mount's from= */
  assert_true (d->stages[1].adds_urls);
  assert_null (d->stages[2].name);
  assert_true (d->stages[2].scratch);
  assert_int_equal (d->stages[2].first_cross, 0);
  assert_true (graph_def_depends (d, 2, 0));
  assert_false (graph_def_depends (d, 0, 2));
  assert_int_equal (graph_def_step_base (d, 2), 2 + 4);
  plan_free (&p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (runtime_steps_before_copy_from_do_not_wait),
    cmocka_unit_test (a_chain_has_no_branches),
    cmocka_unit_test (unneeded_stages_are_left_out),
    cmocka_unit_test (identical_stages_share_a_digest),
    cmocka_unit_test (the_definition_says_what_the_plan_needs),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
