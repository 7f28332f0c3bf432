/* worker/join.h — the cgroups of a running process, to put another one beside it
 * (kiln exec, a health probe: what the container's init is in, its command's
 * processes are in, whatever put it there: the shared `kiln-sandbox` device
 * cgroup, a container's resource cgroups).
 *
 * Generic: every line of /proc/PID/cgroup ("ID:CONTROLLERS:PATH") is matched to
 * the mount of its hierarchy in /proc/self/mountinfo (cgroup v1 by its controllers
 * or `name=`, the v2 hierarchy by "0::"), and its directory's cgroup.procs is
 * where a process joins.  Hierarchies the caller is in already are skipped (a
 * migration can cost milliseconds). */
#pragma once
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

/* The cgroup.procs files to write to for joining the cgroups `target_cgroup`
 * (the text of /proc/PID/cgroup) lists, from the texts of /proc/self/mountinfo
 * and /proc/self/cgroup; a hierarchy with no mount here is skipped. */
void join_cgroup_procs (const char *mountinfo, const char *target_cgroup, const char *self_cgroup,
                        struct strv *procs);

/* The same for process `pid`, read from /proc now. */
int join_cgroup_procs_of (pid_t pid, struct strv *procs, struct kiln_err *err);
