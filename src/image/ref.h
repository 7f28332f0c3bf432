/* image/ref.h — image references, parsed and normalised as docker does.
 *
 *   busybox                 → docker.io/library/busybox:latest
 *   host:5000/team/app:1.0  → host:5000/team/app:1.0
 *   app@sha256:…            → docker.io/library/app@sha256:… */
#pragma once
#include <stdbool.h>

#include "util/err.h"

#define REF_MAX_NAME 255u

struct image_ref
{
  char *domain;    /* "docker.io", "localhost:5000", ... */
  char *path;      /* "library/busybox" */
  char *tag;       /* NULL when only a digest was given */
  char *digest;    /* "sha256:..." or NULL */
};

/* Parses `s`; with `default_tag` true a reference without tag or digest gets "latest". */
int ref_parse (const char *s, bool default_tag, struct image_ref *out, struct kiln_err *err);
void ref_clear (struct image_ref *r);

/* "docker.io/library/busybox" */
char *ref_repository (const struct image_ref *r);
/* "docker.io/library/busybox:latest" (and/or "@sha256:...") */
char *ref_string (const struct image_ref *r);
/* The short form docker prints: "busybox", "team/app", "host:5000/app". */
char *ref_familiar_repository (const struct image_ref *r);
/* Familiar form of a full "repo:tag" string as stored. */
char *ref_familiar (const char *full);
