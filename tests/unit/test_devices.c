/* Unit tests: the device allow-list — where its cgroup goes (fake mountinfo and
 * /proc/self/cgroup of v1, hybrid and v2 hosts), the v1 rules written into a fake
 * cgroupfs directory, and the v2 BPF program run by a small interpreter on the
 * devices docker allows and refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "worker/devices.h"

static const char hybrid_mi[]
    = "25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
      "33 25 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
      "34 33 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
      "40 33 0:35 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "41 33 0:36 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n";
static const char hybrid_cg[] = "5:devices:/user.slice\n2:cpu,cpuacct:/\n0::/user.slice/s.scope\n";
static const char v2_mi[] = "25 30 0:22 / /sys rw - sysfs sysfs rw\n"
                            "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
static const char v2_cg[] = "0::/system.slice/ci.service\n";
/* Inside a container whose devices cgroup is bind-mounted from elsewhere: root
 * is not "/", not usable. */
static const char nested_mi[] = "41 33 0:36 /docker/abc /sys/fs/cgroup/devices ro - cgroup cgroup rw,devices\n";

static void
finds_the_parent (void **state)
{
  (void) state;
  char dir[4096];
  assert_int_equal (devices_find_parent (hybrid_mi, hybrid_cg, NULL, dir, sizeof dir), DEVCG_V1);
  assert_string_equal (dir, "/sys/fs/cgroup/devices/user.slice");
  assert_int_equal (devices_find_parent (hybrid_mi, hybrid_cg, "v2", dir, sizeof dir), DEVCG_V2);
  assert_string_equal (dir, "/sys/fs/cgroup/unified/user.slice/s.scope");
  assert_int_equal (devices_find_parent (v2_mi, v2_cg, NULL, dir, sizeof dir), DEVCG_V2);
  assert_string_equal (dir, "/sys/fs/cgroup/system.slice/ci.service");
  assert_int_equal (devices_find_parent (v2_mi, v2_cg, "v1", dir, sizeof dir), DEVCG_NONE);
  assert_int_equal (devices_find_parent (v2_mi, "0::/\n", NULL, dir, sizeof dir), DEVCG_V2);
  assert_string_equal (dir, "/sys/fs/cgroup");
  assert_int_equal (devices_find_parent (nested_mi, "5:devices:/docker/abc\n", NULL, dir, sizeof dir), DEVCG_NONE);
  assert_int_equal (devices_find_parent ("", "", NULL, dir, sizeof dir), DEVCG_NONE);
}

static char *
slurp (const char *dir, const char *name)
{
  char p[4200];
  snprintf (p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen (p, "r");
  assert_non_null (f);
  static char buf[8192];
  size_t n = fread (buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose (f);
  return buf;
}

static void
touch (const char *dir, const char *name, const char *content)
{
  char p[4200];
  snprintf (p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (content, f);
  fclose (f);
}

/* The rules land in devices.deny / devices.allow in docker's order; a cgroup that
 * already lists them is left alone. */
static void
v1_rules_in_a_fake_cgroupfs (void **state)
{
  (void) state;
  char dir[] = "/tmp/kiln-devtest-XXXXXX";
  assert_non_null (mkdtemp (dir));
  touch (dir, "devices.deny", "");
  touch (dir, "devices.allow", "");
  touch (dir, "devices.list", "a *:* rwm\n");
  struct kiln_err err = {0};
  assert_int_equal (devices_configure_v1 (dir, &err), 0);
  assert_string_equal (slurp (dir, "devices.deny"), "ac 10:229 rwm");
  assert_string_equal (slurp (dir, "devices.allow"), "c 1:5 rwmc 1:3 rwmc 1:9 rwmc 1:8 rwmc 5:0 rwmc 5:1 rwm"
                                                     "c *:* mb *:* mc 1:3 rwmc 1:8 rwmc 1:7 rwmc 5:0 rwm"
                                                     "c 1:5 rwmc 1:9 rwmc 136:* rwmc 5:2 rwmc 10:200 rwm");
  /* What the kernel then lists: nothing more is written. */
  touch (dir, "devices.list", "c 1:5 rwm\nc 1:3 rwm\nc 1:9 rwm\nc 1:8 rwm\nc 5:0 rwm\nc 5:1 rwm\nc *:* m\n"
                              "b *:* m\nc 1:7 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n");
  touch (dir, "devices.allow", "");
  assert_int_equal (devices_configure_v1 (dir, &err), 0);
  assert_string_equal (slurp (dir, "devices.allow"), "");
  /* No such files: a clear error. */
  char gone[4200];
  snprintf (gone, sizeof gone, "%s/missing", dir);
  assert_int_equal (devices_configure_v1 (gone, &err), -1);
  assert_non_null (strstr (err.msg, "devices.deny"));
  kiln_err_clear (&err);
  char cmd[4300];
  snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal (system (cmd), 0);
}

/* The instructions the program uses, run as the kernel would. */
static int
run_program (const struct bpf_insn *p, size_t n, uint32_t type, uint32_t access, uint32_t major, uint32_t minor)
{
  uint32_t ctx[3] = {type | (access << 16), major, minor};
  uint64_t r[11] = {0};
  for (size_t pc = 0; pc < n; pc++)
    {
      const struct bpf_insn *i = &p[pc];
      switch (i->code)
        {
        case BPF_LDX | BPF_MEM | BPF_W: r[i->dst_reg] = ctx[i->off / 4]; break;
        case BPF_ALU | BPF_AND | BPF_K: r[i->dst_reg] = (uint32_t) (r[i->dst_reg] & (uint32_t) i->imm); break;
        case BPF_ALU | BPF_RSH | BPF_K: r[i->dst_reg] = (uint32_t) r[i->dst_reg] >> i->imm; break;
        case BPF_ALU | BPF_MOV | BPF_X: r[i->dst_reg] = (uint32_t) r[i->src_reg]; break;
        case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = (uint64_t) (int64_t) i->imm; break;
        case BPF_JMP | BPF_JNE | BPF_K:
          if (r[i->dst_reg] != (uint64_t) (int64_t) i->imm)
            pc += (size_t) i->off;
          break;
        case BPF_JMP | BPF_EXIT: return (int) r[0];
        default: fail_msg ("instruction %02x", i->code);
        }
    }
  fail_msg ("ran off the end");
  return -1;
}

static void
v2_program_verdicts (void **state)
{
  (void) state;
  struct bpf_insn p[512];
  size_t n = devices_bpf_program (devices_default, devices_default_n, p, 512);
  assert_true (n > 10);
  const uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
  const uint32_t R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;
  assert_int_equal (run_program (p, n, C, R | W, 1, 3), 1);    /* null */
  assert_int_equal (run_program (p, n, C, R, 1, 7), 1);        /* full */
  assert_int_equal (run_program (p, n, C, R | W, 136, 4), 1);  /* a pty */
  assert_int_equal (run_program (p, n, C, W, 5, 1), 1);        /* console */
  assert_int_equal (run_program (p, n, C, R | W, 10, 200), 1); /* tun */
  assert_int_equal (run_program (p, n, C, R, 10, 232), 0);     /* kvm */
  assert_int_equal (run_program (p, n, C, M, 10, 232), 1);     /* but it may be made */
  assert_int_equal (run_program (p, n, C, R | W, 10, 229), 0); /* fuse */
  assert_int_equal (run_program (p, n, C, R, 4, 1), 0);        /* tty1 */
  assert_int_equal (run_program (p, n, B, R, 8, 0), 0);        /* a disk */
  assert_int_equal (run_program (p, n, B, M, 8, 0), 1);
  assert_int_equal (run_program (p, n, C, R | M, 10, 237), 0); /* loop-control */
  /* Too small a buffer: nothing. */
  assert_int_equal (devices_bpf_program (devices_default, devices_default_n, p, 8), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (finds_the_parent),
    cmocka_unit_test (v1_rules_in_a_fake_cgroupfs),
    cmocka_unit_test (v2_program_verdicts),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
