/* util/digest.h — sha256 digests, streamed (nettle, SHA-NI where the CPU has it). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define DIGEST_HEX_LEN 64
#define DIGEST_STR_LEN (7 + DIGEST_HEX_LEN) /* "sha256:" + hex */

struct digest
{
  char str[DIGEST_STR_LEN + 1]; /* "sha256:<64 hex>" */
};

struct hasher;

struct hasher *hasher_new (void);
void hasher_update (struct hasher *h, const void *data, size_t len);
/* Finishes into `out` and starts the hasher afresh (it can be reused). */
void hasher_final (struct hasher *h, struct digest *out);
void hasher_free (struct hasher *h);

void digest_bytes (const void *data, size_t len, struct digest *out);
/* The digest of what is left to read from fd; -1 with errno on a read error. */
int digest_fd (int fd, struct digest *out);
/* Parses and validates "sha256:<64 lowercase hex>". */
int digest_parse (const char *s, struct digest *out, struct kiln_err *err);
bool digest_valid (const char *s);
/* The hex part. */
static inline const char *
digest_hex (const struct digest *d)
{
  return d->str + 7;
}
