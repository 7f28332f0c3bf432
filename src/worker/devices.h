/* worker/devices.h — the devices a sandbox may use: docker's allow-list
 * (its spec's rules, then those runc appends for every container), enforced by
 * the cgroup that every sandboxed process joins before it execs.
 *
 * A child cgroup of kiln's own, `kiln-sandbox`, made once and shared by every
 * sandbox (nothing is left per container):
 * - cgroup v1, where the host's devices controller is on v1 (this project's CI
 *   machine): its devices.list is docker's list;
 * - cgroup v2 (most hosts): a BPF_PROG_TYPE_CGROUP_DEVICE program made from the
 *   same rules is attached to it, as runc does.
 * KILN_DEVICE_CGROUP=v1|v2 picks one where both could serve (tests). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/err.h"

struct device_rule
{
  char type;          /* 'a' all, 'c' char, 'b' block */
  int64_t major;      /* -1: any */
  int64_t minor;      /* -1: any */
  const char *access; /* some of "rwm" */
  bool allow;
};

/* docker's rules in order: deny all, the spec's allows, fuse denied, then runc's
 * (mknod of anything; null, random, full, tty, zero, urandom, pts, ptmx, tun). */
extern const struct device_rule devices_default[];
extern const size_t devices_default_n;

/* A rule as cgroup v1's devices.allow / devices.deny take it ("c 1:3 rwm"). */
void devices_rule_v1 (const struct device_rule *r, char *out, size_t len);

/* Moves the whole calling process under the default rules, once: every sandbox
 * it starts after is born in the cgroup.  A migration costs up to ~10 ms the
 * first time a kernel sees one in a while (an RCU grace period) and microseconds
 * after; paid once per kiln process instead of once per step.  kiln itself opens
 * no device beyond docker's list.  -1 where the host has no devices cgroup kiln
 * can use (err says why). */
int devices_join (struct kiln_err *err);

/* Starts that move in a short-lived child process while the caller goes on
 * (parsing, hashing the context): most of its cost is waiting for the kernel.
 * devices_join waits for it, or does the move itself in a process forked since. */
void devices_join_start (void);

/* The cgroup.procs file of the cgroup kiln was in before devices_join: a
 * privileged sandbox's first process writes "0" to it to leave the rules.
 * NULL if kiln never joined. */
const char *devices_outside_procs (void);

/* Where the sandbox cgroup goes: the v1 devices hierarchy's mount point joined
 * with kiln's own v1 path, or the cgroup2 mount joined with kiln's v2 path.
 * Read from the texts of /proc/self/mountinfo and /proc/self/cgroup; `prefer`
 * is "v1", "v2" or NULL (v1 when the devices controller is on v1). */
enum devices_cgroup_version
{
  DEVCG_NONE,
  DEVCG_V1,
  DEVCG_V2,
};
enum devices_cgroup_version devices_find_parent (const char *mountinfo, const char *self_cgroup, const char *prefer,
                                                 char *dir, size_t len);

/* Makes DIR (a v1 devices cgroup) carry the default rules unless it already does. */
int devices_configure_v1 (const char *dir, struct kiln_err *err);

/* Makes DIR (a container's own cgroup: v1 devices, or v2) carry the default
 * rules and then `extra` (run --device), always written: a new cgroup. */
int devices_configure (const char *dir, bool v2, const struct device_rule *extra, size_t n_extra,
                       struct kiln_err *err);

/* The default rules as a cgroup device BPF program (struct bpf_insn); returns
 * the number of instructions, at most `max`. */
struct bpf_insn;
size_t devices_bpf_program (const struct device_rule *rules, size_t n, struct bpf_insn *out, size_t max);

/* linux.resources.devices for an OCI runtime: docker's spec rules (the runtime
 * appends its own defaults). */
json_t *devices_oci (void);
