/* container/runflags.h — run's and create's client-side flags that decide what
 * happens around the container's creation, as docker's client does them:
 *
 *   --pull missing|always|never   when the image is pulled: missing (the default)
 *                                 pulls only what the store lacks; always pulls
 *                                 first even when present; never fails on a
 *                                 missing image with docker's daemon message
 *                                 "No such image: busybox:latest".
 *   --cidfile FILE                the new container's id written to FILE (with
 *                                 util/outfile.h: whole or not at all); a FILE
 *                                 already there is refused before anything is
 *                                 created, with docker's message. */
#pragma once
#include "util/err.h"

struct kiln_store;
struct digest;

enum pull_policy
{
  PULL_MISSING = 0, /* the default */
  PULL_ALWAYS,
  PULL_NEVER,
};

/* `s` as a --pull value: -1 with docker's message (KILN_EUSAGE) otherwise. */
int pull_policy_parse (const char *s, enum pull_policy *out, struct kiln_err *err);

/* The id of the image `ref` names under `policy`, pulled (progress on stderr) when
 * the policy says so. */
int pull_policy_resolve (struct kiln_store *st, const char *ref, enum pull_policy policy, struct digest *id,
                         struct kiln_err *err);

/* Refuses a --cidfile `path` that exists (or cannot be written: a directory that
 * is not there, a device). */
int cidfile_check (const char *path, struct kiln_err *err);

/* Writes `id` and no newline, as docker does. */
int cidfile_write (const char *path, const char *id, struct kiln_err *err);
