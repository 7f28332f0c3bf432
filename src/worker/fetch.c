/* worker/fetch.c — downloads with libcurl, streamed to a file and hashed. */
#include "worker/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/curl_lazy.h"
#include "util/fsutil.h"

struct sink
{
  int fd;
  struct hasher *sha256;
  const struct nettle_hash *check; /* the --checksum algorithm, when given */
  void *check_ctx;
  uint64_t size;
  struct kiln_err *err;
  bool failed;
};

static size_t
on_data (char *ptr, size_t size, size_t n, void *ud)
{
  struct sink *s = ud;
  size_t len = size * n;
  s->size += len;
  if (s->size > FETCH_MAX_BYTES || write_all (s->fd, ptr, len, "download", s->err) < 0)
    {
      s->failed = true;
      return 0;
    }
  hasher_update (s->sha256, ptr, len);
  if (s->check)
    s->check->update (s->check_ctx, len, (const uint8_t *) ptr);
  return len;
}

char *
fetch_url_basename (const char *url)
{
  const char *p = strstr (url, "://");
  p = p ? p + 3 : url;
  const char *path = strchr (p, '/');
  if (path == NULL)
    return xstrdup ("index.html");
  size_t n = strcspn (path, "?#");
  const char *end = path + n;
  while (end > path && end[-1] == '/')
    end--;
  const char *start = end;
  while (start > path && start[-1] != '/')
    start--;
  if (start == end)
    return xstrdup ("index.html");
  return xstrndup (start, (size_t) (end - start));
}

int
fetch_url (const char *url, int dirfd, const char *name, const char *checksum, struct digest *content,
           struct kiln_err *err)
{
  /* BuildKit's --checksum algorithms; nettle, as util/digest's sha256. */
  static const struct nettle_hash *const algs[] = {&nettle_sha256, &nettle_sha384, &nettle_sha512};
  const struct nettle_hash *md = NULL;
  const char *want_hex = NULL;
  if (checksum)
    {
      const char *colon = strchr (checksum, ':');
      if (colon == NULL)
        return kiln_err_set (err, KILN_EINVAL, "--checksum %s: use ALGORITHM:HEX", checksum);
      _cleanup_free_ char *alg = xstrndup (checksum, (size_t) (colon - checksum));
      for (size_t i = 0; i < sizeof algs / sizeof *algs; i++)
        if (strcmp (alg, algs[i]->name) == 0)
          md = algs[i];
      if (md == NULL)
        return kiln_err_set (err, KILN_EINVAL, "--checksum: unsupported algorithm \"%s\" (sha256, sha384, sha512)", alg);
      want_hex = colon + 1;
    }
  if (curl_lazy_load (err) < 0)
    return -1;
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return kiln_err_set (err, errno, "%s: %s", name, strerror (errno));
  struct sink s = {.fd = fd, .sha256 = hasher_new (), .err = err};
  if (md && md != &nettle_sha256) /* a sha256 checksum is the content's digest */
    {
      s.check = md;
      s.check_ctx = xmalloc (md->context_size);
      md->init (s.check_ctx);
    }
  CURL *c = curl_easy_init ();
  if (c == NULL)
    {
      hasher_free (s.sha256);
      free (s.check_ctx);
      close (fd);
      unlinkat (dirfd, name, 0);
      return kiln_err_set (err, ENOMEM, "%s: cannot start libcurl", url);
    }
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_transfer_defaults (c, url, errbuf);
  curl_easy_setopt (c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &s);
  CURLcode rc = curl_easy_perform (c);
  long filetime = -1;
  curl_easy_getinfo (c, CURLINFO_FILETIME, &filetime);
  curl_easy_cleanup (c);
  int ret = 0;
  if (s.failed)
    ret = kiln_err_is_set (err) ? -1 : kiln_err_set (err, EFBIG, "%s: larger than %llu bytes", url, FETCH_MAX_BYTES);
  else if (rc != CURLE_OK)
    ret = kiln_err_set (err, EIO, "downloading %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror (rc));
  hasher_final (s.sha256, content);
  hasher_free (s.sha256);
  if (ret == 0 && md)
    {
      char hex[2 * SHA512_DIGEST_SIZE + 1];
      if (s.check == NULL)
        snprintf (hex, sizeof hex, "%s", content->str + strlen ("sha256:"));
      else
        {
          uint8_t out[SHA512_DIGEST_SIZE];
          unsigned n = s.check->digest_size;
          s.check->digest (s.check_ctx, n, out);
          for (unsigned i = 0; i < n; i++)
            snprintf (hex + 2 * i, 3, "%02x", out[i]);
        }
      if (strcmp (hex, want_hex) != 0)
        ret = kiln_err_set (err, EIO, "ADD %s: checksum mismatch: expected %s, got %.*s:%s", url, checksum,
                            (int) (strchr (checksum, ':') - checksum), checksum, hex);
    }
  free (s.check_ctx);
  if (ret == 0 && filetime > 0)
    {
      struct timespec t[2] = {{filetime, 0}, {filetime, 0}};
      futimens (fd, t);
    }
  close (fd);
  if (ret < 0)
    unlinkat (dirfd, name, 0);
  return ret;
}
