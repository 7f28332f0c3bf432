/* worker/devices.h — the devices a sandbox may use: docker's allow-list
 * (its spec's rules, then those runc appends for every container), enforced by
 * the cgroup that every sandboxed process joins before it execs.
 *
 * cgroup v1 (a host whose devices controller is on v1, as this project's CI
 * machine): a child cgroup of kiln's own devices cgroup, `kiln-sandbox`, whose
 * devices.list is docker's list.  It is made once and shared by every sandbox;
 * nothing is left per container.  A host with no devices cgroup kiln can use gets
 * a stricter rule instead: making a device node is refused (seccomp), so no
 * device beyond /dev's own nodes can be opened. */
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

/* The cgroup.procs file a sandboxed process writes "0" to, to come under the
 * default rules; made and configured on the first call of the process.  NULL
 * where the host has no devices cgroup kiln can use (err says why). */
const char *devices_cgroup_procs (struct kiln_err *err);

/* linux.resources.devices for an OCI runtime: docker's spec rules (the runtime
 * appends its own defaults). */
json_t *devices_oci (void);
