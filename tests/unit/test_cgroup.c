/* Unit tests: a container's cgroup (worker/cgroup) on fake cgroupfs trees in a
 * temporary directory — where it goes on v1, hybrid and v2 hosts, the limits
 * written on v2 (the path this CI machine, whose controllers are on v1, cannot
 * run for real) and on v1, the counters read back, the freezer, pids, the kept
 * record — and docker's size parsing and resource validation
 * (container/resources). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/resources.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "worker/cgroup.h"

static const char hybrid_mi[]
    = "33 25 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
      "34 33 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
      "35 33 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "40 33 0:35 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "41 33 0:36 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n"
      "42 33 0:37 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n";
static const char hybrid_cg[] = "6:freezer:/\n5:devices:/kiln-sandbox\n4:memory:/ci/job1\n2:cpu,cpuacct:/\n0::/\n";

static void
locates_v1_per_controller (void **state)
{
  (void) state;
  struct cgroup cg;
  struct kiln_err err = {0};
  assert_int_equal (cgroup_locate (hybrid_mi, hybrid_cg, NULL, "kiln/abc", "ID", &cg, &err), 0);
  assert_int_equal (cg.version, CGROUP_V1);
  /* Under kiln's own path in each hierarchy; devices.h's kiln-sandbox cut. */
  assert_string_equal (cg.dir[CG_MEMORY], "/sys/fs/cgroup/memory/ci/job1/kiln/abc/ID");
  assert_string_equal (cg.dir[CG_CPU], "/sys/fs/cgroup/cpu,cpuacct/kiln/abc/ID");
  assert_string_equal (cg.dir[CG_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct/kiln/abc/ID");
  assert_string_equal (cg.dir[CG_DEVICES], "/sys/fs/cgroup/devices/kiln/abc/ID");
  assert_string_equal (cg.dir[CG_FREEZER], "/sys/fs/cgroup/freezer/kiln/abc/ID");
  assert_null (cg.dir[CG_PIDS]); /* not mounted on this host */
  /* Two controllers on one mount: joined once. */
  _cleanup_strv_ struct strv procs = STRV_INIT;
  cgroup_procs_files (&cg, &procs);
  assert_int_equal (procs.n, 4);
  cgroup_clear (&cg);

  assert_int_equal (cgroup_locate (hybrid_mi, hybrid_cg, "v2", "kiln/abc", "ID", &cg, &err), 0);
  assert_int_equal (cg.version, CGROUP_V2);
  assert_string_equal (cg.unified, "/sys/fs/cgroup/unified/kiln/abc/ID");
  cgroup_clear (&cg);

  _cleanup_strv_ struct strv parents = STRV_INIT;
  cgroup_parents (hybrid_mi, hybrid_cg, NULL, "kiln/abc", &parents);
  assert_int_equal (parents.n, 4);
  assert_string_equal (parents.v[0], "/sys/fs/cgroup/memory/ci/job1/kiln/abc");

  /* Names that would lead out of the group are refused. */
  assert_int_equal (cgroup_locate (hybrid_mi, hybrid_cg, NULL, "kiln/abc", "..", &cg, &err), -1);
  kiln_err_clear (&err);
  assert_int_equal (cgroup_locate (hybrid_mi, hybrid_cg, NULL, "../x", "ID", &cg, &err), -1);
  kiln_err_clear (&err);
  assert_int_equal (cgroup_locate (hybrid_mi, hybrid_cg, NULL, "kiln", "a/b", &cg, &err), -1);
  kiln_err_clear (&err);
  /* No memory controller on v1 and no cgroup2: nowhere. */
  assert_int_equal (cgroup_locate ("", "", NULL, "kiln", "ID", &cg, &err), -1);
  kiln_err_clear (&err);
}

/* ---------- a fake cgroupfs ---------- */

static void
put (const char *dir, const char *name, const char *text)
{
  char p[4300];
  snprintf (p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

static char *
get (const char *dir, const char *name)
{
  char p[4300];
  snprintf (p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen (p, "r");
  assert_non_null (f);
  static char buf[4096];
  size_t n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  return buf;
}

static void
mkdirs (const char *path)
{
  _cleanup_free_ char *p = xstrdup (path);
  for (char *s = p + 1; *s; s++)
    if (*s == '/')
      {
        *s = '\0';
        mkdir (p, 0755);
        *s = '/';
      }
  mkdir (p, 0755);
}

static void
rm_tree (const char *dir)
{
  char cmd[4400];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal (system (cmd), 0);
}

/* A pure v2 host: kiln in /system.slice/ci.service (moved to its kiln-sandbox). */
static void
v2_limits_counters_freezer (void **state)
{
  (void) state;
  char root[] = "/tmp/kiln-cgroup-test-XXXXXX";
  assert_non_null (mkdtemp (root));
  _cleanup_buf_ struct buf mi = BUF_INIT;
  buf_printf (&mi, "30 25 0:26 / %s rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", root);
  const char *self = "0::/system.slice/ci.service/kiln-sandbox\n";
  struct cgroup cg;
  struct kiln_err err = {0};
  assert_int_equal (cgroup_locate (buf_str (&mi), self, NULL, "kiln/s1", "c1", &cg, &err), 0);
  assert_int_equal (cg.version, CGROUP_V2);
  _cleanup_buf_ struct buf want = BUF_INIT, svc = BUF_INIT;
  buf_printf (&want, "%s/system.slice/ci.service/kiln/s1/c1", root);
  buf_printf (&svc, "%s/system.slice/ci.service", root);
  assert_string_equal (cg.unified, buf_str (&want));

  /* What the kernel would show: controllers offered at each level, the files of
   * the new cgroup. */
  mkdirs (buf_str (&want));
  put (root, "cgroup.controllers", "cpuset cpu io memory pids\n");
  put (root, "cgroup.subtree_control", "");
  put (buf_str (&svc), "cgroup.controllers", "cpu io memory pids\n");
  put (buf_str (&svc), "cgroup.subtree_control", "");
  static const char *const files[] = {"memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max",
                                      "cgroup.procs", "cgroup.freeze"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    put (cg.unified, files[i], "");
  struct cgroup_limits l = {.memory = 32 << 20,
                            .memory_swap = 64 << 20,
                            .nano_cpus = 1500000000,
                            .cpu_shares = 512,
                            .pids_limit = 20,
                            .privileged = true /* no device program: that needs the kernel */};
  assert_int_equal (cgroup_create (&cg, &l, &err), 0);
  assert_string_equal (get (cg.unified, "memory.max"), "33554432");
  /* v2 limits swap alone: MemorySwap minus Memory. */
  assert_string_equal (get (cg.unified, "memory.swap.max"), "33554432");
  assert_string_equal (get (cg.unified, "cpu.max"), "150000 100000");
  assert_string_equal (get (cg.unified, "cpu.weight"), "20");
  assert_string_equal (get (cg.unified, "pids.max"), "20");
  /* The controllers were delegated on the way down (the fake file keeps the
   * last write; a real one accumulates). */
  assert_string_equal (get (root, "cgroup.subtree_control"), "+io");
  assert_string_equal (get (buf_str (&svc), "cgroup.subtree_control"), "+io");

  /* --memory-swap -1: unlimited swap. */
  l.memory_swap = -1;
  assert_int_equal (cgroup_create (&cg, &l, &err), 0);
  assert_string_equal (get (cg.unified, "memory.swap.max"), "max");

  /* Counters. */
  put (cg.unified, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
  put (cg.unified, "memory.current", "1000000\n");
  put (cg.unified, "memory.max", "max\n");
  put (cg.unified, "memory.stat", "anon 900000\nfile 100000\ninactive_file 4096\n");
  put (cg.unified, "pids.current", "3\n");
  put (cg.unified, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2 rios=0 wios=0\n");
  put (cg.unified, "memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n");
  struct cgroup_stats st;
  assert_int_equal (cgroup_read_stats (&cg, &st, &err), 0);
  assert_int_equal (st.cpu_ns, 1500000);
  assert_int_equal (st.mem_usage, 1000000 - 4096);
  assert_true (st.mem_limit == UINT64_MAX);
  assert_int_equal (st.pids, 3);
  assert_int_equal (st.blk_read, 101);
  assert_int_equal (st.blk_write, 202);
  assert_int_equal (st.oom_kills, 1);

  /* The freezer: written, then done when cgroup.events says so. */
  put (cg.unified, "cgroup.events", "populated 1\nfrozen 1\n");
  assert_int_equal (cgroup_freeze (&cg, true, &err), 0);
  assert_string_equal (get (cg.unified, "cgroup.freeze"), "1");
  put (cg.unified, "cgroup.events", "populated 1\nfrozen 0\n");
  assert_int_equal (cgroup_freeze (&cg, false, &err), 0);
  assert_string_equal (get (cg.unified, "cgroup.freeze"), "0");

  /* Pids, sorted; a join writes the pid. */
  put (cg.unified, "cgroup.procs", "12\n5\n7\n");
  pid_t *pids;
  size_t n;
  assert_int_equal (cgroup_pids (&cg, &pids, &n, &err), 0);
  assert_int_equal (n, 3);
  assert_int_equal (pids[0], 5);
  assert_int_equal (pids[2], 12);
  free (pids);
  assert_int_equal (cgroup_join (&cg, 4242, &err), 0);
  assert_string_equal (get (cg.unified, "cgroup.procs"), "4242");

  /* Kept and read back. */
  _cleanup_buf_ struct buf rec = BUF_INIT;
  buf_printf (&rec, "%s/record", root);
  assert_int_equal (cgroup_save (&cg, buf_str (&rec), &err), 0);
  struct cgroup back;
  assert_int_equal (cgroup_load (buf_str (&rec), &back, &err), 0);
  assert_int_equal (back.version, CGROUP_V2);
  assert_string_equal (back.unified, cg.unified);
  cgroup_clear (&back);
  put (root, "record", "v2\nmemory /x\n");
  assert_int_equal (cgroup_load (buf_str (&rec), &back, &err), -1);
  kiln_err_clear (&err);

  cgroup_clear (&cg);
  rm_tree (root);
}

/* A limit whose controller the parent cannot delegate fails the container with
 * the reason; without limits the same tree is fine. */
static void
v2_undelegated_controller (void **state)
{
  (void) state;
  char root[] = "/tmp/kiln-cgroup-test-XXXXXX";
  assert_non_null (mkdtemp (root));
  _cleanup_buf_ struct buf mi = BUF_INIT;
  buf_printf (&mi, "30 25 0:26 / %s rw - cgroup2 cgroup2 rw\n", root);
  struct cgroup cg;
  struct kiln_err err = {0};
  assert_int_equal (cgroup_locate (buf_str (&mi), "0::/\n", NULL, "kiln/s1", "c2", &cg, &err), 0);
  mkdirs (cg.unified);
  put (root, "cgroup.controllers", "memory\n");
  /* cgroup.subtree_control is missing: every write to it fails */
  struct cgroup_limits none = {.privileged = true};
  assert_int_equal (cgroup_create (&cg, &none, &err), 0);
  mkdirs (cg.unified);
  struct cgroup_limits mem = {.memory = 64 << 20, .privileged = true};
  assert_int_equal (cgroup_create (&cg, &mem, &err), -1);
  assert_non_null (strstr (err.msg, "the memory controller is not delegated"));
  kiln_err_clear (&err);
  cgroup_clear (&cg);
  rm_tree (root);
}

static void
v1_limits (void **state)
{
  (void) state;
  char root[] = "/tmp/kiln-cgroup-test-XXXXXX";
  assert_non_null (mkdtemp (root));
  _cleanup_buf_ struct buf mi = BUF_INIT;
  buf_printf (&mi,
              "35 33 0:32 / %s/memory rw - cgroup cgroup rw,memory\n"
              "40 33 0:35 / %s/cpu rw - cgroup cgroup rw,cpu\n"
              "41 33 0:36 / %s/pids rw - cgroup cgroup rw,pids\n"
              "42 33 0:37 / %s/freezer rw - cgroup cgroup rw,freezer\n",
              root, root, root, root);
  struct cgroup cg;
  struct kiln_err err = {0};
  assert_int_equal (cgroup_locate (buf_str (&mi), "4:memory:/\n3:cpu:/\n2:pids:/\n1:freezer:/\n", NULL, "k", "c3",
                                   &cg, &err),
                    0);
  assert_int_equal (cg.version, CGROUP_V1);
  mkdirs (cg.dir[CG_MEMORY]);
  mkdirs (cg.dir[CG_CPU]);
  mkdirs (cg.dir[CG_PIDS]);
  mkdirs (cg.dir[CG_FREEZER]);
  put (cg.dir[CG_MEMORY], "memory.limit_in_bytes", "");
  put (cg.dir[CG_MEMORY], "memory.memsw.limit_in_bytes", "");
  put (cg.dir[CG_CPU], "cpu.cfs_period_us", "");
  put (cg.dir[CG_CPU], "cpu.cfs_quota_us", "");
  put (cg.dir[CG_CPU], "cpu.shares", "");
  put (cg.dir[CG_PIDS], "pids.max", "");
  struct cgroup_limits l = {.memory = 32 << 20, .memory_swap = 64 << 20, .nano_cpus = 500000000, .cpu_shares = 512,
                            .pids_limit = 10, .privileged = true};
  assert_int_equal (cgroup_create (&cg, &l, &err), 0);
  assert_string_equal (get (cg.dir[CG_MEMORY], "memory.limit_in_bytes"), "33554432");
  assert_string_equal (get (cg.dir[CG_MEMORY], "memory.memsw.limit_in_bytes"), "67108864");
  assert_string_equal (get (cg.dir[CG_CPU], "cpu.cfs_period_us"), "100000");
  assert_string_equal (get (cg.dir[CG_CPU], "cpu.cfs_quota_us"), "50000");
  assert_string_equal (get (cg.dir[CG_CPU], "cpu.shares"), "512");
  assert_string_equal (get (cg.dir[CG_PIDS], "pids.max"), "10");
  put (cg.dir[CG_MEMORY], "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put (cg.dir[CG_MEMORY], "memory.usage_in_bytes", "5000\n");
  put (cg.dir[CG_MEMORY], "memory.limit_in_bytes", "9223372036854771712\n");
  struct cgroup_stats st;
  assert_int_equal (cgroup_read_stats (&cg, &st, &err), 0);
  assert_int_equal (st.oom_kills, 2);
  assert_int_equal (st.mem_usage, 5000);
  assert_true (st.mem_limit == UINT64_MAX); /* v1's "unlimited" */
  put (cg.dir[CG_FREEZER], "freezer.state", "FROZEN\n");
  assert_int_equal (cgroup_freeze (&cg, true, &err), 0);
  cgroup_clear (&cg);
  rm_tree (root);
}

static void
sizes_and_validation (void **state)
{
  (void) state;
  assert_int_equal (container_parse_size ("32m"), 32 << 20);
  assert_int_equal (container_parse_size ("32MiB"), 32 << 20);
  assert_int_equal (container_parse_size ("1.5g"), 3 << 29);
  assert_int_equal (container_parse_size ("512"), 512);
  assert_int_equal (container_parse_size ("6 MB"), 6 << 20);
  assert_int_equal (container_parse_size ("x"), -1);
  assert_int_equal (container_parse_size ("32q"), -1);
  assert_int_equal (container_parse_size ("-1"), -1);
  assert_int_equal (container_parse_size ("99999999999999999999999"), -1);
  assert_int_equal (cgroup_shares_to_weight (1024), 39);
  assert_int_equal (cgroup_shares_to_weight (2), 1);
  assert_int_equal (cgroup_shares_to_weight (262144), 10000);

  struct container_resources r = {0};
  struct kiln_err err = {0};
  assert_int_equal (container_resources_flag (&r, RES_OPT_MEMORY, "3x", &err), -1);
  assert_string_equal (err.msg, "invalid argument \"3x\" for \"-m, --memory\" flag: invalid size: '3x'");
  kiln_err_clear (&err);
  assert_int_equal (container_resources_flag (&r, RES_OPT_CPUS, "abc", &err), -1);
  assert_string_equal (err.msg, "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number");
  kiln_err_clear (&err);
  assert_int_equal (container_resources_flag (&r, RES_OPT_ULIMIT, "nofile=10:5", &err), -1);
  assert_string_equal (err.msg, "invalid argument \"nofile=10:5\" for \"--ulimit\" flag: ulimit soft limit must be less "
                                "than or equal to hard limit: 10 > 5");
  kiln_err_clear (&err);
  assert_int_equal (container_resources_flag (&r, RES_OPT_SYSCTL, "kernel.hostname=x", &err), -1);
  kiln_err_clear (&err);
  assert_int_equal (container_resources_flag (&r, RES_OPT_SYSCTL, "net.../x=1", &err), -1);
  kiln_err_clear (&err);

  assert_int_equal (container_resources_flag (&r, RES_OPT_MEMORY, "4m", &err), 0);
  json_t *h = json_object ();
  assert_int_equal (container_resources_host_config (&r, h, &err), -1);
  assert_string_equal (err.msg, "Minimum memory limit allowed is 6MB");
  kiln_err_clear (&err);
  assert_int_equal (container_resources_flag (&r, RES_OPT_MEMORY, "32m", &err), 0);
  assert_int_equal (container_resources_flag (&r, RES_OPT_CPUS, "0.5", &err), 0);
  assert_int_equal (container_resources_flag (&r, RES_OPT_PIDS_LIMIT, "50", &err), 0);
  assert_int_equal (container_resources_flag (&r, RES_OPT_ULIMIT, "nofile=100:200", &err), 0);
  assert_int_equal (container_resources_host_config (&r, h, &err), 0);
  assert_int_equal (json_integer_value (json_object_get (h, "Memory")), 32 << 20);
  assert_int_equal (json_integer_value (json_object_get (h, "MemorySwap")), 64 << 20); /* docker: twice */
  assert_int_equal (json_integer_value (json_object_get (h, "NanoCpus")), 500000000);
  assert_int_equal (json_integer_value (json_object_get (h, "PidsLimit")), 50);
  assert_int_equal (json_integer_value (json_object_get (json_array_get (json_object_get (h, "Ulimits"), 0), "Hard")),
                    200);
  struct cgroup_limits l;
  struct device_rule *devs;
  assert_true (container_cgroup_limits (h, &l, &devs));
  assert_int_equal (l.memory, 32 << 20);
  free (devs);
  json_decref (h);
  container_resources_clear (&r);

  /* A huge -m: its default MemorySwap (twice) does not overflow. */
  struct container_resources big = {0};
  assert_int_equal (container_resources_flag (&big, RES_OPT_MEMORY, "8000000000000000000", &err), 0);
  h = json_object ();
  assert_int_equal (container_resources_host_config (&big, h, &err), 0);
  assert_true (json_integer_value (json_object_get (h, "MemorySwap")) == INT64_MAX);
  json_decref (h);
  container_resources_clear (&big);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (locates_v1_per_controller),
    cmocka_unit_test (v2_limits_counters_freezer),
    cmocka_unit_test (v2_undelegated_controller),
    cmocka_unit_test (v1_limits),
    cmocka_unit_test (sizes_and_validation),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
