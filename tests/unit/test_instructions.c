/* Unit tests: frontend/instructions validators and frontend/stages scoping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/instructions.h"
#include "util/duration.h"
#include "frontend/stages.h"

static void
go_durations (void **state)
{
  (void) state;
  assert_int_equal (parse_go_duration ("30s"), 30000000000LL);
  assert_int_equal (parse_go_duration ("1m30s"), 90000000000LL);
  assert_int_equal (parse_go_duration ("1.5h"), 5400000000000LL);
  assert_int_equal (parse_go_duration ("250ms"), 250000000LL);
  assert_int_equal (parse_go_duration ("0"), 0);
  assert_int_equal (parse_go_duration ("10"), -1); /* a unit is required */
  assert_int_equal (parse_go_duration ("5x"), -1);
  assert_int_equal (parse_go_duration (""), -1);
  assert_int_equal (parse_go_duration ("-1s"), -1);
}

static void
chmod_specs (void **state)
{
  (void) state;
  const char *good[] = {"755", "0644", "4755", "u+x", "a=rwx", "u+x,g-w,o=", "ug+rw", "+x", "go=u"};
  const char *bad[] = {"", "999", "17777", "u", "u+q", "u+x,", "x+u", "0755x"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    assert_true (chmod_spec_valid (good[i]));
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_false (chmod_spec_valid (bad[i]));
}

static void
expose_specs (void **state)
{
  (void) state;
  struct strv out = STRV_INIT;
  assert_true (expose_parse ("80", &out));
  assert_true (expose_parse ("53/UDP", &out));
  assert_true (expose_parse ("8000-8002/tcp", &out));
  assert_int_equal (out.n, 5);
  assert_string_equal (out.v[0], "80/tcp");
  assert_string_equal (out.v[1], "53/udp");
  assert_string_equal (out.v[4], "8002/tcp");
  strv_free (&out);
  assert_false (expose_parse ("0", NULL));
  assert_false (expose_parse ("65536", NULL));
  assert_false (expose_parse ("80/http", NULL));
  assert_false (expose_parse ("90-80", NULL));
  assert_false (expose_parse ("eighty", NULL));
}

static void
signals (void **state)
{
  (void) state;
  assert_true (stop_signal_valid ("SIGTERM"));
  assert_true (stop_signal_valid ("quit"));
  assert_true (stop_signal_valid ("9"));
  assert_true (stop_signal_valid ("SIGRTMIN+3"));
  assert_false (stop_signal_valid ("SIGNOPE"));
  assert_false (stop_signal_valid ("0"));
  assert_false (stop_signal_valid ("65"));
}

static void
hints_use_edit_distance (void **state)
{
  (void) state;
  assert_int_equal (edit_distance ("RUNN", "RUN"), 1);
  assert_int_equal (edit_distance ("form", "from"), 2);
  assert_int_equal (edit_distance ("copy", "COPY"), 0);
}

static struct stage_model *
resolve (const char *text, const char *target, const char *const *args, struct df_ast **ast_out)
{
  struct kiln_err err = {0};
  struct df_ast *ast = df_parse ("Dockerfile", text, strlen (text), &err);
  assert_non_null (ast);
  struct strv ba = STRV_INIT;
  for (; args && *args; args++)
    strv_push (&ba, *args);
  struct build_opts o = {.target = target, .build_args = &ba, .platform = "linux/arm64"};
  struct stage_model *m = stages_resolve (ast, &o, &err);
  strv_free (&ba);
  kiln_err_clear (&err);
  *ast_out = ast;
  return m;
}

static void
arg_scoping (void **state)
{
  (void) state;
  struct df_ast *ast;
  const char *args[] = {"V=fromcli", NULL};
  struct stage_model *m
      = resolve ("ARG G=glob\nARG V=def\nFROM busybox\nARG G\nARG V\nARG TARGETARCH\nENV A=$G-$V-$TARGETARCH\n", NULL,
                 args, &ast);
  assert_non_null (m);
  struct stage_state st;
  stage_state_init (&st, NULL);
  struct kiln_err err = {0};
  const struct stage *s = &m->stages[0];
  for (size_t i = 0; i < s->n_insts; i++)
    {
      struct inst *ex = stage_step (m, &st, s->insts[i], &err);
      assert_non_null (ex);
      inst_free (ex);
    }
  assert_int_equal (st.env.n, 1);
  assert_string_equal (envmap_get (&st.env, "A", 1), "glob-fromcli-arm64");
  stage_state_clear (&st);
  stages_free (m);
  df_ast_free (ast);
}

static void
target_pruning (void **state)
{
  (void) state;
  struct df_ast *ast;
  struct stage_model *m = resolve ("FROM busybox AS a\nFROM busybox AS b\nFROM a AS c\nCOPY --from=1 /x /x\n"
                                   "FROM busybox AS d\n",
                                   "c", NULL, &ast);
  assert_non_null (m);
  assert_int_equal (m->target, 2);
  assert_true (m->stages[0].needed);
  assert_true (m->stages[1].needed);
  assert_true (m->stages[2].needed);
  assert_false (m->stages[3].needed);
  assert_int_equal (m->stages[2].base_stage, 0);
  stages_free (m);
  df_ast_free (ast);
}

static void
mount_option_given_twice_keeps_the_last (void **state)
{
  (void) state;
  /* Leaked the first value before (ASan); found by fuzz_stages. */
  const char *text = "RUN --mount=type=bind,source=a,src=b,target=/x,dst=/y,from=s1,from=s2 true\n";
  struct kiln_err err = {0};
  struct df_ast *ast = df_parse ("Dockerfile", text, strlen (text), &err);
  assert_non_null (ast);
  struct inst *in = inst_from_node (ast, &ast->nodes[0], &err);
  assert_non_null (in);
  assert_int_equal (in->n_mounts, 1);
  assert_string_equal (in->mounts[0].source, "b");
  assert_string_equal (in->mounts[0].target, "/y");
  assert_string_equal (in->mounts[0].from, "s2");
  inst_free (in);
  df_ast_free (ast);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (mount_option_given_twice_keeps_the_last),
    cmocka_unit_test (go_durations),    cmocka_unit_test (chmod_specs),
    cmocka_unit_test (expose_specs),    cmocka_unit_test (signals),
    cmocka_unit_test (hints_use_edit_distance), cmocka_unit_test (arg_scoping),
    cmocka_unit_test (target_pruning),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
