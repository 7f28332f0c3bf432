/* worker/seccomp.h — seccomp profiles in docker's JSON format, docker's default
 * profile built in, and the filters made from them.
 *
 * A profile is not handed to the kernel as it is: as docker does, each rule's
 * `includes` / `excludes` (capabilities of the bounding set, architectures, a
 * minimum kernel) decide whether it takes part, so one profile gives a different
 * filter for a privileged bounding set (namespace-creating clone allowed) and for
 * docker's default one (refused). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <linux/filter.h>

#include "util/err.h"

enum seccomp_action
{
  SECCOMP_RULE_ALLOW,
  SECCOMP_RULE_ERRNO,
  SECCOMP_RULE_KILL_THREAD,
  SECCOMP_RULE_KILL_PROCESS,
  SECCOMP_RULE_TRAP,
  SECCOMP_RULE_LOG,
};

enum seccomp_op
{
  SC_NE = 1,
  SC_LT,
  SC_LE,
  SC_EQ,
  SC_GE,
  SC_GT,
  SC_MASKED_EQ,
};

struct seccomp_arg
{
  unsigned index;
  uint64_t value;
  uint64_t value2;
  enum seccomp_op op;
};

/* A rule takes part when every `includes` condition holds and no `excludes` one does. */
struct seccomp_cond
{
  uint64_t caps;          /* capabilities (1 << CAP_X) */
  const char *arches;     /* space-separated names as docker writes them: "amd64 x32" */
  const char *min_kernel; /* "MAJOR.MINOR" */
};

#define SECCOMP_MAX_ARGS 6

struct seccomp_rule
{
  const char *const *names; /* NULL-terminated */
  enum seccomp_action action;
  int errno_ret;            /* for SECCOMP_RULE_ERRNO; 0: EPERM */
  size_t n_args;
  struct seccomp_arg args[SECCOMP_MAX_ARGS];
  struct seccomp_cond includes, excludes;
};

struct seccomp_profile
{
  enum seccomp_action default_action;
  int default_errno;
  const struct seccomp_rule *rules;
  size_t n_rules;
  void *owned; /* storage of a parsed profile */
};

/* Docker's default profile (moby/profiles seccomp/default.json), built in. */
const struct seccomp_profile *seccomp_default_profile (void);

/* Parses a profile in docker's JSON format (a --security-opt seccomp=FILE).
 * Unknown actions, operators and malformed fields are errors naming the rule. */
struct seccomp_profile *seccomp_profile_parse (const char *text, size_t len, struct kiln_err *err);
void seccomp_profile_free (struct seccomp_profile *p);

/* The native architecture's name as profiles write it ("amd64", "arm64"). */
const char *seccomp_native_arch (void);

/* Whether rule `r` takes part for this bounding set, architecture and kernel. */
bool seccomp_rule_applies (const struct seccomp_rule *r, uint64_t bounding_caps, const char *arch, int kmajor,
                           int kminor);

/* Compiles the profile for this bounding set into a BPF program for
 * PR_SET_SECCOMP (out->filter is malloc'ed). */
int seccomp_profile_compile (const struct seccomp_profile *p, uint64_t bounding_caps, struct sock_fprog *out,
                             struct kiln_err *err);

/* The profile as an OCI runtime's linux.seccomp object, rules already chosen for
 * this bounding set (as docker hands runc its profile). */
json_t *seccomp_profile_oci (const struct seccomp_profile *p, uint64_t bounding_caps);
