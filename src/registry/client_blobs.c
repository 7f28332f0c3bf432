/* registry/client_blobs.c — blobs of a registry: HEAD, downloads into the store
 * (resumed with Range), and uploads whole or in chunks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/client_private.h"
#include "store/blobs.h"
#include "util/cleanup.h"

int
registry_blob_exists (struct registry *r, const char *repo, const struct digest *d, struct kiln_err *err)
{
  _cleanup_buf_ struct buf url = BUF_INIT;
  buf_printf (&url, "/v2/%s/blobs/%s", repo, d->str);
  struct http_request q = HTTP_REQUEST_INIT;
  q.method = "HEAD";
  q.url = buf_str (&url);
  struct http_response resp;
  _cleanup_free_ char *scope = registry_push_scope (repo);
  if (registry_request (r, scope, &q, &resp, err) < 0)
    return -1;
  long s = resp.status;
  http_response_clear (&resp);
  if (s == 200)
    return 1;
  if (s == 404)
    return 0;
  struct http_response fake = {.status = s};
  return registry_reply_error (r, repo, "checking a blob", &fake, err);
}

/* ---------- downloads ---------- */

struct blob_sink
{
  struct kiln_store *st;
  struct blob_writer *w;
  uint64_t done;
  int64_t size;
  bool restart_ok; /* the first bytes of this reply: a 200 after a Range request starts over */
  registry_progress_fn progress;
  void *ud;
};

static int
blob_sink_write (void *ud, long status, const void *buf, size_t len, struct kiln_err *err)
{
  struct blob_sink *s = ud;
  if (s->restart_ok)
    {
      s->restart_ok = false;
      if (status == 200 && s->done > 0)
        {
          /* The server ignored Range: start the blob again. */
          blob_abort (s->w);
          s->w = blob_begin (s->st, err);
          if (s->w == NULL)
            return -1;
          s->done = 0;
        }
    }
  if (s->size >= 0 && s->done + len > (uint64_t) s->size)
    return kiln_err_set (err, EBADMSG, "the registry sent more bytes than the manifest says the blob has (%lld)",
                         (long long) s->size);
  if (blob_write (s->w, buf, len, err) < 0)
    return -1;
  s->done += len;
  if (s->progress)
    s->progress (s->ud, s->done);
  return 0;
}

int
registry_fetch_blob (struct registry *r, const char *repo, const struct digest *d, int64_t size,
                     struct kiln_store *st, registry_progress_fn progress, void *ud, struct kiln_err *err)
{
  struct blob_sink s = {.st = st, .size = size, .progress = progress, .ud = ud};
  s.w = blob_begin (st, err);
  if (s.w == NULL)
    return -1;
  _cleanup_buf_ struct buf url = BUF_INIT;
  buf_printf (&url, "/v2/%s/blobs/%s", repo, d->str);
  _cleanup_free_ char *scope = registry_pull_scope (repo);
  int stalls = 0;
  for (;;)
    {
      _cleanup_strv_ struct strv headers = STRV_INIT;
      if (s.done > 0)
        {
          struct buf h = BUF_INIT;
          buf_printf (&h, "Range: bytes=%llu-", (unsigned long long) s.done);
          strv_push_owned (&headers, buf_steal (&h));
        }
      struct http_request q = HTTP_REQUEST_INIT;
      q.url = buf_str (&url);
      q.headers = &headers;
      q.sink = blob_sink_write;
      q.sink_ud = &s;
      s.restart_ok = true;
      uint64_t before = s.done;
      struct http_response resp;
      struct kiln_err e = {0};
      int rc = registry_request (r, scope, &q, &resp, &e);
      bool complete = rc == 0 && (resp.status == 200 || resp.status == 206)
                      && (size < 0 || s.done == (uint64_t) size);
      if (complete)
        {
          http_response_clear (&resp);
          kiln_err_clear (&e);
          break;
        }
      /* A cut connection, a short reply, or a 5xx: resume where the bytes stopped.  Give up
       * after five tries in a row that brought nothing new. */
      bool transient = rc < 0 ? (e.code != EBADMSG && s.w != NULL)
                              : (resp.status == 200 || resp.status == 206 || registry_retryable (resp.status));
      stalls = s.done > before ? 0 : stalls + 1;
      if (!transient || stalls >= ATTEMPTS)
        {
          if (rc == 0 && resp.status != 200 && resp.status != 206)
            {
              struct buf what = BUF_INIT;
              buf_printf (&what, "blob %s", d->str);
              registry_reply_error (r, repo, buf_str (&what), &resp, err);
              buf_free (&what);
            }
          else
            {
              if (rc == 0)
                {
                  kiln_err_set (err, EIO, "%s/%s: blob %s: the registry sent %llu of %lld bytes", r->domain, repo,
                                d->str, (unsigned long long) s.done, (long long) size);
                  http_response_clear (&resp);
                }
              else
                {
                  *err = e;
                  e = (struct kiln_err){0};
                }
            }
          kiln_err_clear (&e);
          if (s.w)
            blob_abort (s.w);
          return -1;
        }
      if (rc == 0)
        http_response_clear (&resp);
      kiln_err_clear (&e);
      usleep (200000u << (stalls < 4 ? stalls : 4));
    }
  if (blob_commit (s.w, d, NULL, err) < 0)
    return kiln_err_wrap (err, "%s/%s: blob %s (nothing stored)", r->domain, repo, d->str);
  return 0;
}

/* ---------- uploads ---------- */

static char *
upload_url (struct registry *r, const char *location, const char *extra_query)
{
  struct buf b = BUF_INIT;
  if (strncmp (location, "http://", 7) == 0 || strncmp (location, "https://", 8) == 0)
    buf_puts (&b, location);
  else
    buf_printf (&b, "%s%s%s", r->base, location[0] == '/' ? "" : "/", location);
  if (extra_query)
    buf_printf (&b, "%c%s", strchr (buf_str (&b), '?') ? '&' : '?', extra_query);
  return buf_steal (&b);
}

static int
upload_once (struct registry *r, const char *repo, const char *scope, const struct digest *d, int fd, uint64_t size,
             const char *mount_from, registry_progress_fn progress, void *ud, struct kiln_err *err)
{
  _cleanup_buf_ struct buf url = BUF_INIT;
  buf_printf (&url, "/v2/%s/blobs/uploads/", repo);
  if (mount_from)
    {
      _cleanup_free_ char *from = http_escape (mount_from);
      buf_printf (&url, "?mount=%s&from=%s", d->str, from);
    }
  struct http_request q = HTTP_REQUEST_INIT;
  q.method = "POST";
  q.url = buf_str (&url);
  struct http_response resp;
  if (registry_request (r, scope, &q, &resp, err) < 0)
    return -1;
  if (mount_from && resp.status == 201)
    {
      http_response_clear (&resp);
      if (progress)
        progress (ud, size);
      return 1;
    }
  if (resp.status != 202 || resp.location == NULL)
    return registry_reply_error (r, repo, "starting an upload", &resp, err);
  _cleanup_free_ char *location = xstrdup (resp.location);
  http_response_clear (&resp);

  _cleanup_strv_ struct strv octet = STRV_INIT;
  strv_push (&octet, "Content-Type: application/octet-stream");
  uint64_t off = 0;
  if (size > registry_chunk_size)
    while (off < size)
      {
        uint64_t n = size - off < registry_chunk_size ? size - off : registry_chunk_size;
        _cleanup_strv_ struct strv h = STRV_INIT;
        strv_push (&h, "Content-Type: application/octet-stream");
        struct buf cr = BUF_INIT;
        buf_printf (&cr, "Content-Range: %llu-%llu", (unsigned long long) off, (unsigned long long) (off + n - 1));
        strv_push_owned (&h, buf_steal (&cr));
        _cleanup_free_ char *u = upload_url (r, location, NULL);
        struct http_request p = HTTP_REQUEST_INIT;
        p.method = "PATCH";
        p.url = u;
        p.headers = &h;
        p.body_fd = fd;
        p.body_offset = off;
        p.body_size = n;
        if (registry_request (r, scope, &p, &resp, err) < 0)
          return -1;
        if (resp.status != 202 || resp.location == NULL)
          return registry_reply_error (r, repo, "uploading a chunk", &resp, err);
        free (location);
        location = xstrdup (resp.location);
        http_response_clear (&resp);
        off += n;
        if (progress)
          progress (ud, off);
      }
  struct buf dq = BUF_INIT;
  buf_printf (&dq, "digest=%s", d->str);
  _cleanup_free_ char *u = upload_url (r, location, buf_str (&dq));
  buf_free (&dq);
  struct http_request p = HTTP_REQUEST_INIT;
  p.method = "PUT";
  p.url = u;
  p.headers = &octet;
  if (off < size)
    {
      p.body_fd = fd;
      p.body_offset = off;
      p.body_size = size - off;
    }
  if (registry_request (r, scope, &p, &resp, err) < 0)
    return -1;
  if (resp.status != 201)
    return registry_reply_error (r, repo, "finishing an upload", &resp, err);
  http_response_clear (&resp);
  if (progress)
    progress (ud, size);
  return 0;
}

int
registry_push_blob (struct registry *r, const char *repo, const struct digest *d, int fd, uint64_t size,
                    const char *mount_from, registry_progress_fn progress, void *ud, struct kiln_err *err)
{
  struct buf scope = BUF_INIT;
  buf_printf (&scope, "repository:%s:pull,push", repo);
  if (mount_from)
    buf_printf (&scope, " repository:%s:pull", mount_from);
  int rc = -1;
  for (int attempt = 0; attempt < 3; attempt++)
    {
      kiln_err_clear (err);
      rc = upload_once (r, repo, buf_str (&scope), d, fd, size, mount_from, progress, ud, err);
      if (rc >= 0 || err->code == EACCES || err->code == ENOENT)
        break;
    }
  buf_free (&scope);
  if (rc < 0)
    kiln_err_wrap (err, "pushing blob %s", d->str);
  return rc;
}
