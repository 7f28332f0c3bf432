/* libFuzzer: what a terminal's client and a user hand a container's monitor and
 * kiln: attach frames (container/attach.h), --detach-keys and typed input
 * (worker/pty.h), --restart values (container/restart.h).  The first byte picks. */
/* fuzz-floor: 60: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 99 (under load). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/attach.h"
#include "container/restart.h"
#include "util/buf.h"
#include "worker/pty.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  uint8_t pick = data[0] % 3;
  data++, size--;
  struct kiln_err err = {0};
  if (pick == 0)
    {
      /* Frames as they arrive, in two reads. */
      struct buf in = BUF_INIT, payload = BUF_INIT;
      char type;
      size_t half = size / 2;
      buf_append (&in, (const char *) data, half);
      while (attach_frame_next (&in, &type, &payload) > 0)
        ;
      buf_append (&in, (const char *) data + half, size - half);
      while (attach_frame_next (&in, &type, &payload) > 0)
        ;
      buf_free (&in);
      buf_free (&payload);
    }
  else if (pick == 1)
    {
      char *s = xstrndup ((const char *) data, size);
      struct restart_policy p;
      if (restart_policy_parse (s, &p, &err) == 0)
        json_decref (restart_policy_json (&p));
      free (s);
    }
  else
    {
      /* KEYS NUL TYPED */
      const uint8_t *nul = memchr (data, 0, size);
      size_t klen = nul ? (size_t) (nul - data) : size;
      char *keys = xstrndup ((const char *) data, klen);
      struct detach_keys k;
      if (detach_keys_parse (keys, &k, &err) == 0 && nul)
        {
          struct buf out = BUF_INIT;
          detach_keys_feed (&k, (const char *) nul + 1, size - klen - 1, &out);
          buf_free (&out);
        }
      free (keys);
    }
  kiln_err_clear (&err);
  return 0;
}
