/* registry/http.c — libcurl, one easy handle per thread so connections are reused. */
#include "registry/http.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/curl_lazy.h"

static __thread CURL *thread_handle;

void
http_thread_done (void)
{
  if (thread_handle)
    curl_easy_cleanup (thread_handle);
  thread_handle = NULL;
}

void
http_response_clear (struct http_response *r)
{
  buf_free (&r->body);
  free (r->www_authenticate);
  free (r->location);
  free (r->content_type);
  free (r->docker_digest);
  free (r->content_range);
  free (r->url);
  memset (r, 0, sizeof *r);
}

char *
http_escape (const char *s)
{
  if (curl_lazy_load (NULL) < 0)
    return xstrdup (s); /* the request that follows reports the missing library */
  char *e = curl_easy_escape (NULL, s, 0);
  char *r = xstrdup (e ? e : "");
  curl_free (e);
  return r;
}

struct exchange
{
  CURL *h;
  const struct http_request *req;
  struct http_response *resp;
  struct kiln_err *err;
  uint64_t sent;
  bool sink_failed;
  bool too_big;
};

static size_t
on_body (char *ptr, size_t size, size_t n, void *ud)
{
  struct exchange *x = ud;
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo (x->h, CURLINFO_RESPONSE_CODE, &code);
  if (x->req->sink && code >= 200 && code < 300)
    {
      if (x->req->sink (x->req->sink_ud, code, ptr, len, x->err) < 0)
        {
          x->sink_failed = true;
          return 0;
        }
      return len;
    }
  if (x->resp->body.len + len > HTTP_MAX_BODY)
    {
      x->too_big = true;
      return 0;
    }
  buf_append (&x->resp->body, ptr, len);
  return len;
}

static void
set_header_field (char **field, const char *v, size_t n)
{
  free (*field);
  *field = xstrndup (v, n);
}

void
http_response_header (struct http_response *r, const char *line, size_t len)
{
  if (len >= 5 && strncmp (line, "HTTP/", 5) == 0)
    {
      /* A new response (after a redirect or a 100 Continue): forget the last one's headers. */
      free (r->www_authenticate);
      free (r->location);
      free (r->content_type);
      free (r->docker_digest);
      free (r->content_range);
      r->www_authenticate = r->location = r->content_type = r->docker_digest = r->content_range = NULL;
      r->content_length = -1;
      return;
    }
  const char *colon = memchr (line, ':', len);
  if (colon == NULL)
    return;
  size_t nlen = (size_t) (colon - line);
  const char *v = colon + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t vlen = (size_t) (end - v);
#define IS(name) (nlen == sizeof name - 1 && strncasecmp (line, name, nlen) == 0)
  if (IS ("WWW-Authenticate"))
    set_header_field (&r->www_authenticate, v, vlen);
  else if (IS ("Location"))
    set_header_field (&r->location, v, vlen);
  else if (IS ("Content-Type"))
    set_header_field (&r->content_type, v, vlen);
  else if (IS ("Docker-Content-Digest"))
    set_header_field (&r->docker_digest, v, vlen);
  else if (IS ("Content-Range"))
    set_header_field (&r->content_range, v, vlen);
  else if (IS ("Content-Length"))
    {
      _cleanup_free_ char *s = xstrndup (v, vlen);
      char *e;
      long long cl = strtoll (s, &e, 10);
      r->content_length = (*s && *e == '\0' && cl >= 0) ? cl : -1;
    }
#undef IS
}

static size_t
on_header (char *ptr, size_t size, size_t n, void *ud)
{
  struct exchange *x = ud;
  http_response_header (x->resp, ptr, size * n);
  return size * n;
}

static size_t
on_read (char *dst, size_t size, size_t n, void *ud)
{
  struct exchange *x = ud;
  const struct http_request *q = x->req;
  uint64_t total = q->body_fd >= 0 ? q->body_size : q->body_len;
  size_t want = size * n;
  if (x->sent >= total)
    return 0;
  if (want > total - x->sent)
    want = (size_t) (total - x->sent);
  if (q->body_fd < 0)
    {
      memcpy (dst, (const char *) q->body + x->sent, want);
      x->sent += want;
      return want;
    }
  ssize_t got;
  do
    got = pread (q->body_fd, dst, want, (off_t) (q->body_offset + x->sent));
  while (got < 0 && errno == EINTR);
  if (got <= 0)
    return CURL_READFUNC_ABORT;
  x->sent += (uint64_t) got;
  return (size_t) got;
}

static int
on_seek (void *ud, curl_off_t offset, int origin)
{
  struct exchange *x = ud;
  if (origin != SEEK_SET || offset < 0)
    return CURL_SEEKFUNC_CANTSEEK;
  x->sent = (uint64_t) offset;
  return CURL_SEEKFUNC_OK;
}

int
http_do (const struct http_tls *tls, const struct http_request *req, struct http_response *resp,
         struct kiln_err *err)
{
  memset (resp, 0, sizeof *resp);
  resp->content_length = -1;
  if (curl_lazy_load (err) < 0)
    return -1;
  if (thread_handle == NULL && (thread_handle = curl_easy_init ()) == NULL)
    return kiln_err_set (err, ENOMEM, "%s: cannot start libcurl", req->url);
  CURL *h = thread_handle;
  curl_easy_reset (h);
  struct exchange x = {.h = h, .req = req, .resp = resp, .err = err};
  char curl_msg[CURL_ERROR_SIZE] = "";
  curl_transfer_defaults (h, req->url, curl_msg);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, tls && !tls->verify ? 0L : 1L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, tls && !tls->verify ? 0L : 2L);
  if (tls && tls->ca_blob)
    {
      struct curl_blob blob = {(void *) tls->ca_blob, strlen (tls->ca_blob), CURL_BLOB_COPY};
      curl_easy_setopt (h, CURLOPT_CAINFO_BLOB, &blob);
      curl_easy_setopt (h, CURLOPT_CAPATH, "/etc/ssl/certs");
    }
  if (tls && tls->client_cert && tls->client_key)
    {
      curl_easy_setopt (h, CURLOPT_SSLCERT, tls->client_cert);
      curl_easy_setopt (h, CURLOPT_SSLKEY, tls->client_key);
    }

  struct curl_slist *hdrs = curl_slist_append (NULL, "Expect:");
  for (size_t i = 0; req->headers && i < req->headers->n; i++)
    hdrs = curl_slist_append (hdrs, req->headers->v[i]);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);

  bool has_body = req->body_fd >= 0 || req->body != NULL;
  curl_off_t body_size = (curl_off_t) (req->body_fd >= 0 ? req->body_size : req->body_len);
  const char *m = req->method;
  if (strcmp (m, "HEAD") == 0)
    curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
  else if (strcmp (m, "GET") == 0)
    curl_easy_setopt (h, CURLOPT_HTTPGET, 1L);
  else if (strcmp (m, "POST") == 0)
    {
      curl_easy_setopt (h, CURLOPT_POST, 1L);
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, has_body ? body_size : (curl_off_t) 0);
      if (!has_body)
        curl_easy_setopt (h, CURLOPT_POSTFIELDS, "");
    }
  else if (strcmp (m, "PUT") == 0 || strcmp (m, "PATCH") == 0)
    {
      curl_easy_setopt (h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (h, CURLOPT_INFILESIZE_LARGE, has_body ? body_size : (curl_off_t) 0);
      if (strcmp (m, "PATCH") == 0)
        curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, "PATCH");
    }
  else
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, m);
  if (has_body || strcmp (m, "PUT") == 0 || strcmp (m, "PATCH") == 0)
    {
      curl_easy_setopt (h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt (h, CURLOPT_READDATA, &x);
      curl_easy_setopt (h, CURLOPT_SEEKFUNCTION, on_seek);
      curl_easy_setopt (h, CURLOPT_SEEKDATA, &x);
    }

  CURLcode rc = curl_easy_perform (h);
  curl_slist_free_all (hdrs);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &resp->status);
  char *eff = NULL;
  curl_easy_getinfo (h, CURLINFO_EFFECTIVE_URL, &eff);
  resp->url = xstrdup (eff ? eff : req->url);
  /* A failed exchange leaves nothing for the caller to free. */
  if (x.sink_failed)
    {
      http_response_clear (resp);
      return -1; /* the sink set err */
    }
  if (x.too_big)
    {
      http_response_clear (resp);
      return kiln_err_set (err, EFBIG, "%s %s: the reply is larger than %u MiB", m, req->url, HTTP_MAX_BODY >> 20);
    }
  if (rc != CURLE_OK)
    {
      http_response_clear (resp);
      return kiln_err_set (err, EIO, "%s %s: %s", m, req->url, curl_msg[0] ? curl_msg : curl_easy_strerror (rc));
    }
  return 0;
}
