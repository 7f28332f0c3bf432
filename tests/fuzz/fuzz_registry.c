/* libFuzzer: what registries and users hand the registry client — auth challenges,
 * --cache-to/--cache-from specs, --platform values, docker's config.json, and a
 * registry's replies: header lines, token endpoint bodies, error bodies.
 * The first byte picks which. */
/* fuzz-floor: 125: scripts/test fails a run whose final cov is lower.  A 60 s run with
 * the seeds reached 226; before the library was instrumented, 21. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/cache.h"
#include "registry/client.h"
#include "registry/creds.h"
#include "registry/http.h"
#include "registry/transfer.h"
#include "util/buf.h"

static char config_dir[] = "/tmp/kiln-fuzz-dockerconfig-XXXXXX";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  char *s = xstrndup ((const char *) data + 1, size - 1);
  struct kiln_err err = {0};
  switch (data[0] % 7)
    {
    case 0:
      {
        const char *names[] = {"realm", "service", "scope", "error"};
        for (size_t i = 0; i < 4; i++)
          free (registry_challenge_param (s, names[i]));
        break;
      }
    case 1:
      {
        struct cache_spec c;
        for (int exp = 0; exp < 2; exp++)
          {
            if (cache_spec_parse (s, exp, &c, &err) == 0)
              cache_spec_clear (&c);
            kiln_err_clear (&err);
          }
        break;
      }
    case 2:
      {
        struct platform p;
        platform_parse (s, &p, &err);
        kiln_err_clear (&err);
        break;
      }
    case 3:
      {
        /* The config file kiln would read: written where DOCKER_CONFIG points. */
        if (getenv ("DOCKER_CONFIG") == NULL)
          {
            if (mkdtemp (config_dir) == NULL)
              break;
            setenv ("DOCKER_CONFIG", config_dir, 1);
            /* No program a config names can be found, even when the check below misses
             * a name spelled with JSON escapes ("cr\u0065dsStore"). */
            setenv ("PATH", config_dir, 1);
          }
        struct buf path = BUF_INIT;
        buf_printf (&path, "%s/config.json", getenv ("DOCKER_CONFIG"));
        FILE *f = fopen (buf_str (&path), "w");
        if (f)
          {
            fwrite (data + 1, 1, size - 1, f);
            fclose (f);
            struct registry_creds c;
            /* No helpers: a fuzzer must not run programs named by its input. */
            if (strstr (s, "cred") == NULL)
              {
                const char *hosts[] = {"docker.io", "localhost:5000", "ghcr.io"};
                for (size_t i = 0; i < 3; i++)
                  {
                    if (creds_lookup (hosts[i], &c, &err) == 0)
                      registry_creds_clear (&c);
                    kiln_err_clear (&err);
                  }
              }
          }
        buf_free (&path);
        break;
      }
    case 4:
      {
        /* Header lines as curl hands them over, one at a time; then what kiln reads from them. */
        struct http_response r = {.content_length = -1};
        const char *p = (const char *) data + 1, *end = (const char *) data + size;
        while (p < end)
          {
            const char *nl = memchr (p, '\n', (size_t) (end - p));
            size_t n = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);
            http_response_header (&r, p, n);
            p += n;
          }
        if (r.www_authenticate)
          free (registry_challenge_param (r.www_authenticate, "realm"));
        http_response_clear (&r);
        break;
      }
    case 5:
      {
        int64_t life;
        char *t = registry_token_reply ((const char *) data + 1, size - 1, &life);
        free (t);
        break;
      }
    case 6:
      free (registry_error_words ((const char *) data + 1, size - 1, 404));
      break;
    }
  free (s);
  return 0;
}
