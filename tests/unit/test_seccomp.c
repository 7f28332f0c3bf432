/* Unit tests: seccomp profiles — the built-in table is docker's default profile
 * (compared with the JSON in ../shared/conformance/docker-defaults), rules chosen
 * by capabilities as docker chooses them, and the compiled filter's verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "util/buf.h"
#include "util/err.h"
#include "worker/seccomp.h"

#define CAPBIT(c) (1ULL << (c))

/* docker's default bounding set, read from the conformance corpus. */
static uint64_t
docker_caps (void)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/docker-defaults/capabilities.txt", getenv ("KILN_CONFORMANCE"));
  FILE *f = fopen (path, "r");
  assert_non_null (f);
  uint64_t caps = 0;
  char line[128];
  while (fgets (line, sizeof line, f))
    {
      line[strcspn (line, "\r\n")] = '\0';
      if (!*line)
        continue;
      cap_value_t v;
      assert_int_equal (cap_from_name (line, &v), 0);
      caps |= CAPBIT (v);
    }
  fclose (f);
  return caps;
}

static struct seccomp_profile *
conformance_profile (void)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/docker-defaults/seccomp-default.json", getenv ("KILN_CONFORMANCE"));
  FILE *f = fopen (path, "r");
  assert_non_null (f);
  struct buf b = BUF_INIT;
  char chunk[8192];
  size_t n;
  while ((n = fread (chunk, 1, sizeof chunk, f)) > 0)
    buf_append (&b, chunk, n);
  fclose (f);
  struct kiln_err err = {0};
  struct seccomp_profile *p = seccomp_profile_parse (buf_str (&b), b.len, &err);
  if (p == NULL)
    fail_msg ("%s", err.msg);
  buf_free (&b);
  return p;
}

static bool
str_eq (const char *a, const char *b)
{
  return (a == NULL || !*a) ? (b == NULL || !*b) : (b && strcmp (a, b) == 0);
}

/* The built-in profile is docker's, rule by rule. */
static void
builtin_is_docker_default (void **state)
{
  (void) state;
  struct seccomp_profile *j = conformance_profile ();
  const struct seccomp_profile *k = seccomp_default_profile ();
  assert_int_equal (k->default_action, j->default_action);
  assert_int_equal (k->default_errno, j->default_errno);
  assert_int_equal (k->n_rules, j->n_rules);
  for (size_t i = 0; i < j->n_rules; i++)
    {
      const struct seccomp_rule *a = &k->rules[i], *b = &j->rules[i];
      size_t n = 0;
      for (; a->names[n] && b->names[n]; n++)
        if (strcmp (a->names[n], b->names[n]) != 0)
          fail_msg ("rule %zu: name %zu is %s, docker's is %s", i, n, a->names[n], b->names[n]);
      if (a->names[n] || b->names[n])
        fail_msg ("rule %zu: different number of names", i);
      assert_int_equal (a->action, b->action);
      assert_int_equal (a->errno_ret, b->errno_ret);
      assert_int_equal (a->n_args, b->n_args);
      for (size_t x = 0; x < a->n_args; x++)
        {
          assert_int_equal (a->args[x].index, b->args[x].index);
          assert_int_equal (a->args[x].value, b->args[x].value);
          assert_int_equal (a->args[x].value2, b->args[x].value2);
          assert_int_equal (a->args[x].op, b->args[x].op);
        }
      assert_int_equal (a->includes.caps, b->includes.caps);
      assert_int_equal (a->excludes.caps, b->excludes.caps);
      assert_true (str_eq (a->includes.arches, b->includes.arches));
      assert_true (str_eq (a->excludes.arches, b->excludes.arches));
      assert_true (str_eq (a->includes.min_kernel, b->includes.min_kernel));
      assert_true (str_eq (a->excludes.min_kernel, b->excludes.min_kernel));
    }
  seccomp_profile_free (j);
}

static const struct seccomp_rule *
rule_naming (const struct seccomp_profile *p, const char *name, size_t nth)
{
  for (size_t i = 0; i < p->n_rules; i++)
    for (const char *const *n = p->rules[i].names; *n; n++)
      if (strcmp (*n, name) == 0 && nth-- == 0)
        return &p->rules[i];
  return NULL;
}

/* As docker: without CAP_SYS_ADMIN the masked clone rule and clone3's ENOSYS take
 * part and the namespace calls do not; with it, the reverse. */
static void
rules_follow_the_bounding_set (void **state)
{
  (void) state;
  const struct seccomp_profile *p = seccomp_default_profile ();
  uint64_t caps = docker_caps ();
  const struct seccomp_rule *admin = rule_naming (p, "unshare", 0);
  const struct seccomp_rule *masked = rule_naming (p, "clone", 1);
  const struct seccomp_rule *s390 = rule_naming (p, "clone", 2);
  const struct seccomp_rule *clone3 = rule_naming (p, "clone3", 1);
  assert_non_null (admin);
  assert_non_null (masked);
  assert_int_equal (masked->args[0].op, SC_MASKED_EQ);
  assert_false (seccomp_rule_applies (admin, caps, "amd64", 6, 1));
  assert_true (seccomp_rule_applies (masked, caps, "amd64", 6, 1));
  assert_false (seccomp_rule_applies (s390, caps, "amd64", 6, 1));
  assert_true (seccomp_rule_applies (s390, caps, "s390x", 6, 1));
  assert_true (seccomp_rule_applies (clone3, caps, "amd64", 6, 1));
  caps |= CAPBIT (CAP_SYS_ADMIN);
  assert_true (seccomp_rule_applies (admin, caps, "amd64", 6, 1));
  assert_false (seccomp_rule_applies (masked, caps, "amd64", 6, 1));
  assert_false (seccomp_rule_applies (clone3, caps, "amd64", 6, 1));
  /* minKernel compares major.minor. */
  const struct seccomp_rule *ptrace = rule_naming (p, "ptrace", 0);
  assert_true (seccomp_rule_applies (ptrace, 0, "amd64", 4, 8));
  assert_false (seccomp_rule_applies (ptrace, 0, "amd64", 4, 7));
  assert_false (seccomp_rule_applies (ptrace, 0, "amd64", 3, 19));
}

/* The compiled filter, loaded in a child: the verdicts docker's profile gives. */
static void
compiled_filter_verdicts (void **state)
{
  (void) state;
  struct sock_fprog prog;
  struct kiln_err err = {0};
  assert_int_equal (seccomp_profile_compile (seccomp_default_profile (), docker_caps (), &prog, &err), 0);
  assert_true (prog.len > 100);
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
        _exit (10);
      if (unshare (CLONE_NEWUSER) == 0 || errno != EPERM)
        _exit (11);
      if (syscall (SYS_clone3, NULL, 0) == 0 || errno != ENOSYS)
        _exit (12);
      if (socket (38 /* AF_ALG */, SOCK_SEQPACKET, 0) >= 0 || errno != EPERM)
        _exit (13);
      int s = socket (AF_UNIX, SOCK_STREAM, 0);
      if (s < 0)
        _exit (14);
      close (s);
      if (syscall (SYS_keyctl, 0, 0, 0, 0, 0) == 0 || errno != EPERM)
        _exit (15);
      if (getpid () <= 0)
        _exit (16);
      _exit (0);
    }
  int st;
  assert_int_equal (waitpid (pid, &st, 0), pid);
  assert_true (WIFEXITED (st));
  assert_int_equal (WEXITSTATUS (st), 0);
  free (prog.filter);
}

/* A runtime gets the rules chosen for the bounding set, in docker's order. */
static void
oci_form (void **state)
{
  (void) state;
  json_t *o = seccomp_profile_oci (seccomp_default_profile (), docker_caps ());
  assert_string_equal (json_string_value (json_object_get (o, "defaultAction")), "SCMP_ACT_ERRNO");
  assert_int_equal (json_integer_value (json_object_get (o, "defaultErrnoRet")), 1);
  json_t *calls = json_object_get (o, "syscalls");
  size_t i;
  json_t *r;
  bool saw_clone3 = false, saw_unshare = false;
  json_array_foreach (calls, i, r)
  {
    json_t *names = json_object_get (r, "names");
    size_t k;
    json_t *n;
    json_array_foreach (names, k, n)
    {
      saw_clone3 |= strcmp (json_string_value (n), "clone3") == 0;
      saw_unshare |= strcmp (json_string_value (n), "unshare") == 0;
    }
  }
  assert_true (saw_clone3);  /* the ENOSYS rule */
  assert_false (saw_unshare); /* only under CAP_SYS_ADMIN */
  json_decref (o);
}

static void
parse_errors (void **state)
{
  (void) state;
  static const char *const bad[] = {
    "", "[]", "{}", "{\"defaultAction\":\"SCMP_ACT_NOPE\"}",
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[],\"action\":\"SCMP_ACT_ALLOW\"}]}",
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"ALLOW\"}]}",
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
    "\"args\":[{\"index\":9,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
    "\"args\":[{\"index\":0,\"value\":1,\"op\":\"LIKE\"}]}]}",
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
    "\"includes\":{\"caps\":[\"CAP_NOPE\"]}}]}",
    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
    "\"includes\":{\"minKernel\":\"four\"}}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      struct kiln_err err = {0};
      struct seccomp_profile *p = seccomp_profile_parse (bad[i], strlen (bad[i]), &err);
      if (p != NULL)
        fail_msg ("accepted: %s", bad[i]);
      assert_non_null (strstr (err.msg, "seccomp profile"));
      kiln_err_clear (&err);
    }
  const char *ok = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                   "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}";
  struct kiln_err err = {0};
  struct seccomp_profile *p = seccomp_profile_parse (ok, strlen (ok), &err);
  assert_non_null (p);
  assert_int_equal (p->n_rules, 1);
  assert_int_equal (p->rules[0].errno_ret, 13);
  seccomp_profile_free (p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (builtin_is_docker_default),
    cmocka_unit_test (rules_follow_the_bounding_set),
    cmocka_unit_test (compiled_filter_verdicts),
    cmocka_unit_test (oci_form),
    cmocka_unit_test (parse_errors),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
