/* util/digest.c — sha256 through nettle: libarchive links it, so it is in every
 * kiln process already, and hashing needs no other library at exec (libcrypto's
 * ~400 kB of relocated data stays out of processes that do not need it: a
 * container's monitor, see util/crypto_lazy.h). */
#include "util/digest.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

struct hasher
{
  struct sha256_ctx ctx;
};

struct hasher *
hasher_new (void)
{
  struct hasher *h = xcalloc (1, sizeof *h);
  sha256_init (&h->ctx);
  return h;
}

void
hasher_update (struct hasher *h, const void *data, size_t len)
{
  if (len)
    sha256_update (&h->ctx, len, data);
}

void
hasher_final (struct hasher *h, struct digest *out)
{
  unsigned char md[SHA256_DIGEST_SIZE];
  sha256_digest (&h->ctx, sizeof md, md); /* and starts it afresh */
  static const char hex[] = "0123456789abcdef";
  memcpy (out->str, "sha256:", 7);
  for (unsigned i = 0; i < 32; i++)
    {
      out->str[7 + 2 * i] = hex[md[i] >> 4];
      out->str[8 + 2 * i] = hex[md[i] & 15];
    }
  out->str[DIGEST_STR_LEN] = '\0';
}

void
hasher_free (struct hasher *h)
{
  if (h == NULL)
    return;
  free (h);
}

void
digest_bytes (const void *data, size_t len, struct digest *out)
{
  struct hasher *h = hasher_new ();
  hasher_update (h, data, len);
  hasher_final (h, out);
  hasher_free (h);
}

int
digest_fd (int fd, struct digest *out)
{
  struct hasher *h = hasher_new ();
  char *chunk = xmalloc (1 << 20);
  ssize_t n;
  while ((n = read (fd, chunk, 1 << 20)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      hasher_update (h, chunk, (size_t) n);
    }
  int saved = errno;
  free (chunk);
  if (n == 0)
    hasher_final (h, out);
  hasher_free (h);
  errno = saved;
  return n == 0 ? 0 : -1;
}

bool
digest_valid (const char *s)
{
  if (s == NULL || strncmp (s, "sha256:", 7) != 0 || strlen (s) != DIGEST_STR_LEN)
    return false;
  for (const char *p = s + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

int
digest_parse (const char *s, struct digest *out, struct kiln_err *err)
{
  if (!digest_valid (s))
    return kiln_err_set (err, KILN_EINVAL, "invalid digest \"%.80s\": expected sha256:<64 hex digits>", s ? s : "");
  memcpy (out->str, s, DIGEST_STR_LEN + 1);
  return 0;
}
