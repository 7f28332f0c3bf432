/* image/platform.h — an image's platform (OS/ARCH[/VARIANT]) and the choice of one
 * manifest out of an index (OCI image index, docker manifest list, OCI layout). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "util/err.h"

struct platform
{
  char os[32];
  char arch[32];
  char variant[32];
};

/* The host platform from uname(2), e.g. "linux/amd64" or "linux/arm/v7" (a static string). */
const char *host_platform (void);

/* "linux/amd64", "linux/arm64/v8", "linux/arm/v7"; NULL or "" gives the host's. */
int platform_parse (const char *s, struct platform *out, struct kiln_err *err);

/* The first descriptor of an index's "manifests" whose "platform" is `want` (an
 * arm64 entry without a variant is v8); NULL if none is. */
json_t *platform_pick (json_t *manifests, const struct platform *want);
