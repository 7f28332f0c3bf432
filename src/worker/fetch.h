/* worker/fetch.h — ADD of an http(s) URL: the download, verified. */
#pragma once
#include <stdint.h>

#include "util/digest.h"
#include "util/err.h"

#define FETCH_MAX_BYTES (16ull << 30)

/* Downloads `url` into dirfd/name (mode 0600, as docker), following redirects.
 * `checksum` ("sha256:HEX", sha384, sha512) must match if given. Fills the
 * content's sha256. */
int fetch_url (const char *url, int dirfd, const char *name, const char *checksum, struct digest *content,
               struct kiln_err *err);

/* The file name docker gives a downloaded URL: its last path element. */
char *fetch_url_basename (const char *url);
