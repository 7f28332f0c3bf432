/* Unit tests: the registry client's parsers — auth challenges, platforms,
 * cache specs, docker's config.json credentials, and a registry's replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/cache.h"
#include "registry/client.h"
#include "registry/creds.h"
#include "registry/http.h"
#include "registry/transfer.h"

static void
challenge_params (void **state)
{
  (void) state;
  const char *h = "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                  "scope=\"repository:library/busybox:pull\"";
  char *v = registry_challenge_param (h, "realm");
  assert_string_equal (v, "https://auth.docker.io/token");
  free (v);
  v = registry_challenge_param (h, "SERVICE");
  assert_string_equal (v, "registry.docker.io");
  free (v);
  v = registry_challenge_param (h, "scope");
  assert_string_equal (v, "repository:library/busybox:pull");
  free (v);
  assert_null (registry_challenge_param (h, "error"));
  /* Bare tokens, spaces after commas, escaped quotes. */
  v = registry_challenge_param ("Bearer realm=http://h/t, service=svc", "service");
  assert_string_equal (v, "svc");
  free (v);
  v = registry_challenge_param ("Bearer realm=\"a\\\"b\"", "realm");
  assert_string_equal (v, "a\"b");
  free (v);
  assert_null (registry_challenge_param ("Basic", "realm"));
  assert_null (registry_challenge_param ("Bearer realm", "realm"));
}

static void
platforms (void **state)
{
  (void) state;
  struct platform p;
  struct kiln_err err = {0};
  assert_int_equal (platform_parse ("linux/arm64/v8", &p, &err), 0);
  assert_string_equal (p.os, "linux");
  assert_string_equal (p.arch, "arm64");
  assert_string_equal (p.variant, "v8");
  assert_int_equal (platform_parse ("linux/amd64", &p, &err), 0);
  assert_string_equal (p.variant, "");
  assert_int_equal (platform_parse (NULL, &p, &err), 0);
  assert_string_equal (p.os, "linux");
  /* The host's is host_platform's, the platform a build targets. */
  char host[128];
  snprintf (host, sizeof host, "%s/%s%s%s", p.os, p.arch, p.variant[0] ? "/" : "", p.variant);
  assert_string_equal (host, host_platform ());
  const char *bad[] = {"linux", "linux/", "/amd64", "linux/amd64/v8/x", "linux/AMD64", "linux/amd 64", "linux//v7"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_int_equal (platform_parse (bad[i], &p, &err), -1);
      assert_non_null (strstr (err.msg, "OS/ARCH"));
      kiln_err_clear (&err);
    }
}

static void
cache_specs (void **state)
{
  (void) state;
  struct cache_spec c;
  struct kiln_err err = {0};
  assert_int_equal (cache_spec_parse ("type=registry,ref=r:5000/c:x,mode=max", true, &c, &err), 0);
  assert_true (c.registry);
  assert_string_equal (c.ref, "r:5000/c:x");
  assert_int_equal (c.mode, CACHE_MODE_MAX);
  cache_spec_clear (&c);
  assert_int_equal (cache_spec_parse ("ghcr.io/a/b:cache", false, &c, &err), 0);
  assert_true (c.registry);
  assert_string_equal (c.ref, "ghcr.io/a/b:cache");
  cache_spec_clear (&c);
  assert_int_equal (cache_spec_parse ("type=local,dest=/tmp/c", true, &c, &err), 0);
  assert_false (c.registry);
  assert_string_equal (c.dir, "/tmp/c");
  assert_int_equal (c.mode, CACHE_MODE_MIN);
  cache_spec_clear (&c);
  struct
  {
    const char *spec;
    bool export;
    const char *msg;
  } bad[] = {
    {"type=local", true, "needs dest=DIR"},
    {"type=local,src=/x", true, "unknown option \"src\""},
    {"type=local,dest=/x", false, "unknown option \"dest\""},
    {"type=registry", true, "needs ref="},
    {"type=s3,ref=x", true, "registry or local"},
    {"type=registry,ref=x,mode=most", true, "min or max"},
    {"type=registry,ref", true, "KEY=VALUE"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_int_equal (cache_spec_parse (bad[i].spec, bad[i].export, &c, &err), -1);
      if (strstr (err.msg, bad[i].msg) == NULL)
        fail_msg ("%s: \"%s\" lacks \"%s\"", bad[i].spec, err.msg, bad[i].msg);
      kiln_err_clear (&err);
    }
}

static void
config_json_credentials (void **state)
{
  (void) state;
  char dir[] = "/tmp/kiln-test-creds-XXXXXX";
  assert_non_null (mkdtemp (dir));
  setenv ("DOCKER_CONFIG", dir, 1);
  char path[128];
  snprintf (path, sizeof path, "%s/config.json", dir);
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  /* "dXNlcjpwYTpzcw==" is "user:pa:ss": the password may hold colons. */
  fputs ("{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"dXNlcjpwYTpzcw==\"},"
         " \"http://localhost:5000/v2/\": {\"username\": \"u2\", \"password\": \"p2\"}}}",
         f);
  fclose (f);
  struct registry_creds c;
  struct kiln_err err = {0};
  assert_int_equal (creds_lookup ("docker.io", &c, &err), 0);
  assert_string_equal (c.username, "user");
  assert_string_equal (c.secret, "pa:ss");
  registry_creds_clear (&c);
  assert_int_equal (creds_lookup ("localhost:5000", &c, &err), 0);
  assert_string_equal (c.username, "u2");
  registry_creds_clear (&c);
  assert_int_equal (creds_lookup ("localhost:5001", &c, &err), 1);
  /* store then erase round trip */
  assert_int_equal (creds_store ("ghcr.io", "me", "tok", &err), 0);
  assert_int_equal (creds_lookup ("ghcr.io", &c, &err), 0);
  assert_string_equal (c.secret, "tok");
  registry_creds_clear (&c);
  assert_int_equal (creds_lookup ("docker.io", &c, &err), 0); /* others untouched */
  registry_creds_clear (&c);
  assert_int_equal (creds_erase ("ghcr.io", &err), 0);
  assert_int_equal (creds_erase ("ghcr.io", &err), 1);
  /* An "auth" that is not padded base64 is refused with a message. */
  f = fopen (path, "w");
  fputs ("{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"dXNlcjpwYTpzcw\"}}}", f);
  fclose (f);
  assert_int_equal (creds_lookup ("docker.io", &c, &err), -1);
  assert_non_null (strstr (err.msg, "not base64"));
  kiln_err_clear (&err);
  /* A broken file is an error naming it, not a crash. */
  f = fopen (path, "w");
  fputs ("{\"auths\": ", f);
  fclose (f);
  assert_int_equal (creds_lookup ("docker.io", &c, &err), -1);
  assert_non_null (strstr (err.msg, "config.json"));
  kiln_err_clear (&err);
  unlink (path);
  rmdir (dir);
}

static void
reply_headers (void **state)
{
  (void) state;
  struct http_response r = {.content_length = -1};
  const char *lines[] = {"HTTP/1.1 307 Temporary Redirect\r\n", "Location: https://cdn/x\r\n",
                         "HTTP/1.1 200 OK\r\n", "content-type: application/vnd.oci.image.index.v1+json \r\n",
                         "Docker-Content-Digest:\tsha256:ab\r\n", "Content-Length: 12x\r\n", "no colon\r\n"};
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
    http_response_header (&r, lines[i], strlen (lines[i]));
  /* The redirect's Location belongs to the reply before the last one. */
  assert_null (r.location);
  assert_string_equal (r.content_type, "application/vnd.oci.image.index.v1+json");
  assert_string_equal (r.docker_digest, "sha256:ab");
  assert_int_equal (r.content_length, -1);
  http_response_header (&r, "Content-Length: 42\r\n", 20);
  assert_int_equal (r.content_length, 42);
  http_response_clear (&r);
}

static void
token_and_error_replies (void **state)
{
  (void) state;
  int64_t life;
  const char *reply = "{\"token\":\"\",\"access_token\":\"abc\",\"expires_in\":300}";
  char *t = registry_token_reply (reply, strlen (reply), &life);
  assert_string_equal (t, "abc");
  assert_int_equal (life, 300);
  free (t);
  const char *bad = "{\"token\":\"a\\r\\nX-Evil: 1\"}";
  assert_null (registry_token_reply (bad, strlen (bad), &life));
  const char *forever = "{\"token\":\"t\",\"expires_in\":9223372036854775807}";
  t = registry_token_reply (forever, strlen (forever), &life);
  assert_int_equal (life, 24 * 3600); /* the caller adds it to time(): no overflow */
  free (t);
  assert_null (registry_token_reply ("[]", 2, &life));
  assert_int_equal (life, 0);
  const char *e = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}";
  char *w = registry_error_words (e, strlen (e), 401);
  assert_string_equal (w, "UNAUTHORIZED: authentication required");
  free (w);
  w = registry_error_words ("<html>", 6, 502);
  assert_string_equal (w, "HTTP 502");
  free (w);
}

static void
manifest_replies (void **state)
{
  (void) state;
  struct platform want;
  struct kiln_err err = {0};
  struct pull_desc next;
  platform_parse ("linux/arm64", &want, &err);
  const char *index = "{\"manifests\":[{\"digest\":\"sha256:" "1111111111111111111111111111111111111111111111111111111111111111\","
                      "\"size\":9,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                      "{\"digest\":\"sha256:" "2222222222222222222222222222222222222222222222222222222222222222\","
                      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}";
  assert_int_equal (pull_manifest_parse (index, strlen (index), NULL, &want, &next, &err), 1);
  assert_string_equal (next.digest.str, "sha256:2222222222222222222222222222222222222222222222222222222222222222");
  assert_int_equal (next.size, -1);
  platform_parse ("linux/s390x", &want, &err);
  assert_int_equal (pull_manifest_parse (index, strlen (index), NULL, &want, &next, &err), -1);
  assert_non_null (strstr (err.msg, "has no image for linux/s390x"));
  kiln_err_clear (&err);

  const char *man = "{\"config\":{\"digest\":\"sha256:" "3333333333333333333333333333333333333333333333333333333333333333\",\"size\":100},"
                    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:"
                    "4444444444444444444444444444444444444444444444444444444444444444\",\"size\":5}]}";
  assert_int_equal (pull_manifest_parse (man, strlen (man), NULL, &want, &next, &err), 0);
  assert_int_equal (next.size, 100);
  const char *cfg = "{\"rootfs\":{\"diff_ids\":[\"sha256:" "5555555555555555555555555555555555555555555555555555555555555555\"]}}";
  struct pull_layer *pl;
  size_t n;
  assert_int_equal (pull_layers_parse (man, strlen (man), cfg, strlen (cfg), &pl, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (pl[0].size, 5);
  assert_string_equal (pl[0].diff_id.str, "sha256:5555555555555555555555555555555555555555555555555555555555555555");
  free (pl);
  assert_int_equal (pull_layers_parse (man, strlen (man), "{}", 2, &pl, &n, &err), -1);
  assert_non_null (strstr (err.msg, "the config lists 0 layers, the manifest 1"));
  kiln_err_clear (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (challenge_params),
    cmocka_unit_test (platforms),
    cmocka_unit_test (cache_specs),
    cmocka_unit_test (config_json_credentials),
    cmocka_unit_test (reply_headers),
    cmocka_unit_test (token_and_error_replies),
    cmocka_unit_test (manifest_replies),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
