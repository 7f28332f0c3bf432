/* util/base64.c — see base64.h. */
#include "util/base64.h"

#include <nettle/base64.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

char *
b64_encode (const void *data, size_t len)
{
  char *out = xmalloc (BASE64_ENCODE_RAW_LENGTH (len) + 1);
  base64_encode_raw (out, len, data);
  out[BASE64_ENCODE_RAW_LENGTH (len)] = '\0';
  return out;
}

char *
b64_decode (const char *b64, size_t *len)
{
  size_t n = strlen (b64);
  if (n % 4 != 0) /* Go's StdEncoding wants the padding */
    return NULL;
  uint8_t *out = xmalloc (BASE64_DECODE_LENGTH (n) + 1);
  struct base64_decode_ctx ctx;
  base64_decode_init (&ctx);
  size_t got = BASE64_DECODE_LENGTH (n);
  if (!base64_decode_update (&ctx, &got, out, n, b64) || !base64_decode_final (&ctx))
    {
      free (out);
      return NULL;
    }
  out[got] = '\0';
  *len = got;
  return (char *) out;
}
