/* Unit tests: frontend/to_ops (RUN and COPY/ADD as graph ops), with a fake
 * resolver for other roots: the ops' plain data is what the solver keys and runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "frontend/to_ops.h"

/* Resolves any reference to one layer named after it. */
static int
fake_resolve (void *ud, const struct inst *in, struct op_input *from)
{
  (void) in;
  int *calls = ud;
  (*calls)++;
  if (strcmp (from->ref, "missing") == 0)
    return -1;
  char layer[64];
  snprintf (layer, sizeof layer, "/layers/%s", from->ref);
  strv_push (&from->lowers, layer);
  snprintf (from->key, sizeof from->key, "sha256:%064d", 7);
  return 0;
}

struct fixture
{
  struct df_ast *ast;
  struct inst *in;
  struct stage_model m;
  struct stage_state ss;
  json_t *cfg;
  int calls;
  struct op_convert c;
  struct kiln_err err;
};

/* The one instruction of `text` (after FROM) in an image with WorkingDir /w, User u
 * and Env E=1, the stage's args A=2. */
static void
fixture_init (struct fixture *f, const char *text)
{
  memset (f, 0, sizeof *f);
  f->ast = df_parse ("Dockerfile", text, strlen (text), &f->err);
  assert_non_null (f->ast);
  f->in = inst_from_node (f->ast, &f->ast->nodes[1], &f->err);
  assert_non_null (f->in);
  stage_state_init (&f->ss, NULL);
  envmap_set (&f->ss.args, "A", "2");
  f->cfg = json_pack ("{s:{s:s, s:s, s:[s]}}", "config", "WorkingDir", "/w", "User", "u", "Env", "E=1");
  f->c = (struct op_convert) {.m = &f->m, .ss = &f->ss, .config = f->cfg, .escape = '\\', .resolve = fake_resolve,
                              .ud = &f->calls, .err = &f->err};
}

static void
fixture_clear (struct fixture *f)
{
  inst_free (f->in);
  df_ast_free (f->ast);
  stage_state_clear (&f->ss);
  json_decref (f->cfg);
  kiln_err_clear (&f->err);
}

static void
run_shell_form_env_and_mounts (void **state)
{
  (void) state;
  struct fixture f;
  fixture_init (&f, "FROM busybox\nRUN --mount=type=cache,target=c,from=builder,source=/s,sharing=locked "
                    "--mount=type=secret,id=k,env=K --network=none echo hi\n");
  struct exec_op op = {0};
  assert_int_equal (inst_to_exec_op (&f.c, f.in, &op), 0);
  assert_int_equal (op.argv.n, 3);
  assert_string_equal (op.argv.v[0], "/bin/sh");
  assert_string_equal (op.argv.v[2], "echo hi");
  /* The image's env, then the stage's args; both in the key. */
  assert_int_equal (op.env.n, 2);
  assert_string_equal (op.env.v[1], "A=2");
  assert_int_equal (op.key_env.n, 2);
  assert_string_equal (op.user, "u");
  assert_string_equal (op.cwd, "/w");
  assert_int_equal (op.network, OP_NET_NONE);
  assert_string_equal (op.created_by, "RUN /bin/sh -c echo hi # buildkit");
  assert_int_equal (op.n_mounts, 2);
  /* A relative target is in the working directory; from= is resolved once. */
  assert_int_equal (op.mounts[0].type, OP_MOUNT_CACHE);
  assert_string_equal (op.mounts[0].target, "/w/c");
  assert_int_equal (op.mounts[0].sharing, OP_SHARING_LOCKED);
  assert_non_null (op.mounts[0].from);
  assert_string_equal (op.mounts[0].from->lowers.v[0], "/layers/builder");
  assert_int_equal (f.calls, 1);
  assert_int_equal (op.mounts[1].type, OP_MOUNT_SECRET);
  assert_string_equal (op.mounts[1].env, "K");
  assert_null (op.mounts[1].from);
  exec_op_clear (&op);
  fixture_clear (&f);
}

static void
run_shebang_heredoc_is_a_script (void **state)
{
  (void) state;
  struct fixture f;
  fixture_init (&f, "FROM busybox\nRUN <<EOF\n#!/bin/sh\necho hi\nEOF\n");
  struct exec_op op = {0};
  assert_int_equal (inst_to_exec_op (&f.c, f.in, &op), 0);
  assert_string_equal (op.argv.v[op.argv.n - 1], "/dev/pipes/EOF");
  assert_string_equal (op.script, "#!/bin/sh\necho hi\n");
  exec_op_clear (&op);
  fixture_clear (&f);
}

static void
copy_sources_dest_and_from (void **state)
{
  (void) state;
  struct fixture f;
  fixture_init (&f, "FROM busybox\nCOPY --from=builder --chmod=600 --exclude=*.o a <<EOF dir/.\nbody $A\nEOF\n");
  struct file_op op = {0};
  assert_int_equal (inst_to_file_op (&f.c, f.in, &op), 0);
  assert_false (op.add);
  /* A destination ending in "/." is a directory: the slash kept after cleaning. */
  assert_string_equal (op.dest, "/w/dir/");
  assert_string_equal (op.chmod, "600");
  assert_null (op.chown);
  assert_int_equal (op.excludes.n, 1);
  assert_int_equal (op.n_srcs, 2);
  assert_int_equal (op.srcs[0].kind, FILE_SRC_PATH);
  assert_string_equal (op.srcs[0].name, "a");
  assert_int_equal (op.srcs[1].kind, FILE_SRC_HEREDOC);
  assert_string_equal (op.srcs[1].name, "EOF");
  assert_string_equal (op.srcs[1].body, "body 2\n"); /* an unquoted heredoc is expanded */
  assert_string_equal (op.from->key, "sha256:0000000000000000000000000000000000000000000000000000000000000007");
  assert_string_equal (op.created_by, "COPY --from=builder a <<EOF dir/. # buildkit");
  file_op_clear (&op);
  fixture_clear (&f);
}

static void
add_urls_and_a_failed_resolve (void **state)
{
  (void) state;
  struct fixture f;
  fixture_init (&f, "FROM busybox\nADD https://example.com/x.tar /\n");
  struct file_op op = {0};
  assert_int_equal (inst_to_file_op (&f.c, f.in, &op), 0);
  assert_true (op.add);
  assert_int_equal (op.srcs[0].kind, FILE_SRC_URL);
  assert_string_equal (op.dest, "/");
  assert_null (op.from);
  file_op_clear (&op);
  fixture_clear (&f);

  fixture_init (&f, "FROM busybox\nCOPY --from=missing /a /b\n");
  assert_int_equal (inst_to_file_op (&f.c, f.in, &op), -1);
  file_op_clear (&op);
  fixture_clear (&f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (run_shell_form_env_and_mounts),
    cmocka_unit_test (run_shebang_heredoc_is_a_script),
    cmocka_unit_test (copy_sources_dest_and_from),
    cmocka_unit_test (add_urls_and_a_failed_resolve),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
