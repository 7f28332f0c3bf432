/* util/base64.h — standard base64 (RFC 4648, padded), as Go's base64.StdEncoding:
 * docker's config.json "auth", a registry's Basic authorization, BuildKit's log data.
 * nettle's codec, the library util/digest hashes with. */
#pragma once
#include <stddef.h>

/* `data` as base64, NUL-terminated (free it; bzero it first when it was a secret). */
char *b64_encode (const void *data, size_t len);

/* The bytes of `b64` (padded base64, no spaces), NUL-terminated with their length
 * in *len; NULL when it is not base64. */
char *b64_decode (const char *b64, size_t *len);
