/* registry/client.c — distribution API requests: the connection, the ping, retries,
 * errors, manifests.  Auth is in client_auth.c, blobs in client_blobs.c. */
#include "registry/client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry/client_private.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

uint64_t registry_chunk_size = 64u * 1024 * 1024;

void
registry_manifest_clear (struct registry_manifest *m)
{
  free (m->body);
  free (m->media_type);
  memset (m, 0, sizeof *m);
}

/* Hosts docker talks to over plain HTTP without being told: loopback. */
static bool
loopback_host (const char *domain)
{
  _cleanup_free_ char *h = NULL;
  if (domain[0] == '[')
    {
      const char *end = strchr (domain, ']');
      h = xstrndup (domain + 1, end ? (size_t) (end - domain - 1) : strlen (domain + 1));
    }
  else
    h = xstrndup (domain, strcspn (domain, ":"));
  if (strcmp (h, "localhost") == 0 || strcmp (h, "::1") == 0)
    return true;
  struct in_addr a;
  return inet_pton (AF_INET, h, &a) == 1 && (ntohl (a.s_addr) >> 24) == 127;
}

/* certs.d: *.crt are CAs (added to the system's), *.cert + *.key a client pair. */
static void
load_certs_dir (struct registry *r, const char *dir)
{
  DIR *d = opendir (dir);
  if (d == NULL)
    return;
  struct buf cas = BUF_INIT;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      size_t n = strlen (e->d_name);
      struct buf path = BUF_INIT;
      buf_printf (&path, "%s/%s", dir, e->d_name);
      if (n > 4 && strcmp (e->d_name + n - 4, ".crt") == 0)
        {
          int fd = open (buf_str (&path), O_RDONLY | O_CLOEXEC);
          struct kiln_err ignored = {0};
          if (fd >= 0)
            {
              read_all (fd, 1u << 20, &cas, buf_str (&path), &ignored);
              buf_putc (&cas, '\n');
              close (fd);
            }
          kiln_err_clear (&ignored);
        }
      else if (n > 5 && strcmp (e->d_name + n - 5, ".cert") == 0)
        {
          struct buf key = BUF_INIT;
          buf_printf (&key, "%s/%.*s.key", dir, (int) (n - 5), e->d_name);
          if (access (buf_str (&key), R_OK) == 0)
            {
              free (r->client_cert);
              free (r->client_key);
              r->client_cert = buf_steal (&path);
              r->client_key = buf_steal (&key);
            }
          buf_free (&key);
        }
      buf_free (&path);
    }
  closedir (d);
  if (cas.len)
    {
      free (r->ca_blob);
      r->ca_blob = buf_steal (&cas);
    }
  buf_free (&cas);
}

struct registry *
registry_open (const char *domain, const struct registry_opts *o, struct kiln_err *err)
{
  struct registry *r = xcalloc (1, sizeof *r);
  pthread_mutex_init (&r->lock, NULL);
  r->domain = xstrdup (domain);
  r->host = xstrdup (strcmp (domain, "docker.io") == 0 ? "registry-1.docker.io" : domain);
  r->skip_verify = o && o->tls_skip_verify;
  /* For tests of chunked uploads without pushing gigabytes. */
  const char *chunk = getenv ("KILN_REGISTRY_CHUNK_SIZE");
  if (chunk && strtoull (chunk, NULL, 10) >= 1024)
    registry_chunk_size = strtoull (chunk, NULL, 10);
  r->insecure_ok = r->skip_verify || loopback_host (domain);
  if (o && o->cert_dir)
    load_certs_dir (r, o->cert_dir);
  else
    {
      const char *home = getenv ("HOME");
      const char *roots[] = {"/etc/docker/certs.d", "/etc/containers/certs.d", NULL};
      for (size_t i = 0; roots[i]; i++)
        {
          struct buf p = BUF_INIT;
          buf_printf (&p, "%s/%s", roots[i], domain);
          load_certs_dir (r, buf_str (&p));
          buf_free (&p);
        }
      if (home)
        {
          struct buf p = BUF_INIT;
          buf_printf (&p, "%s/.config/containers/certs.d/%s", home, domain);
          load_certs_dir (r, buf_str (&p));
          buf_free (&p);
        }
    }
  if (o && o->creds)
    {
      r->creds.username = xstrdup (o->creds->username ? o->creds->username : "");
      r->creds.secret = xstrdup (o->creds->secret ? o->creds->secret : "");
      r->have_creds = true;
    }
  else
    {
      int found = creds_lookup (domain, &r->creds, err);
      if (found < 0)
        {
          registry_close (r);
          return NULL;
        }
      r->have_creds = found == 0;
    }
  return r;
}

void
registry_close (struct registry *r)
{
  /* The calling thread's connections go too: a process that forks later (parallel
   * stages) must not share a socket with its children. */
  http_thread_done ();
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_tokens; i++)
    {
      free (r->tokens[i].scope);
      free (r->tokens[i].value);
    }
  free (r->tokens);
  registry_creds_clear (&r->creds);
  free (r->domain);
  free (r->host);
  free (r->base);
  free (r->ca_blob);
  free (r->client_cert);
  free (r->client_key);
  free (r->auth_scheme);
  free (r->realm);
  free (r->service);
  pthread_mutex_destroy (&r->lock);
  free (r);
}

void
registry_tls_of (const struct registry *r, bool https, struct http_tls *t)
{
  t->verify = https && !r->skip_verify;
  /* A loopback registry docker would reach over plain HTTP may also present any certificate. */
  if (https && r->insecure_ok && r->ca_blob == NULL)
    t->verify = false;
  t->ca_blob = r->ca_blob;
  t->client_cert = r->client_cert;
  t->client_key = r->client_key;
}

bool
registry_retryable (long status)
{
  return status == 429 || status == 408 || status >= 500;
}

/* GET /v2/: learns the scheme and the auth challenge, once. */
static int
ping (struct registry *r, struct kiln_err *err)
{
  pthread_mutex_lock (&r->lock);
  bool done = r->pinged;
  pthread_mutex_unlock (&r->lock);
  if (done)
    return 0;
  const char *schemes[] = {"https", "http"};
  struct kiln_err first = {0};
  /* A registry given its own CA speaks TLS: its errors must not be hidden by a plain-HTTP retry. */
  bool try_http = r->insecure_ok && (r->ca_blob == NULL || r->skip_verify);
  for (size_t s = 0; s < (try_http ? 2u : 1u); s++)
    {
      _cleanup_buf_ struct buf url = BUF_INIT;
      buf_printf (&url, "%s://%s/v2/", schemes[s], r->host);
      struct http_request q = HTTP_REQUEST_INIT;
      q.url = buf_str (&url);
      struct http_response resp;
      struct http_tls tls;
      registry_tls_of (r, s == 0, &tls);
      int rc = -1;
      struct kiln_err e = {0};
      for (int attempt = 0; attempt < 3; attempt++)
        {
          kiln_err_clear (&e);
          rc = http_do (&tls, &q, &resp, &e);
          if (rc == 0 && !registry_retryable (resp.status))
            break;
          if (rc == 0)
            http_response_clear (&resp);
          /* Plain HTTP spoken to a TLS port fails at once: try the next scheme, not again. */
          if (rc < 0 && s == 0 && try_http)
            break;
          if (attempt < 2)
            usleep (200000u << attempt);
        }
      if (rc < 0 || registry_retryable (resp.status))
        {
          if (s == 0)
            {
              if (rc < 0)
                first = e;
              else
                {
                  kiln_err_set (&first, EIO, "%s: HTTP %ld", buf_str (&url), resp.status);
                  kiln_err_clear (&e);
                }
            }
          else
            kiln_err_clear (&e);
          if (rc == 0)
            http_response_clear (&resp);
          continue;
        }
      if (resp.status == 401)
        registry_take_challenge (r, resp.www_authenticate);
      else if (resp.status != 200 && first.msg)
        {
          /* Plain HTTP got nonsense back (a TLS port): the TLS error is the one to show. */
          http_response_clear (&resp);
          break;
        }
      else if (resp.status != 200)
        {
          _cleanup_free_ char *words = registry_resp_error_words (&resp);
          http_response_clear (&resp);
          kiln_err_clear (&first);
          return kiln_err_set (err, EPROTO, "%s is not a container registry (GET /v2/: %s)", r->domain, words);
        }
      http_response_clear (&resp);
      pthread_mutex_lock (&r->lock);
      if (!r->pinged)
        {
          free (r->base);
          r->base = xstrdup (buf_str (&url));
          r->base[strlen (r->base) - 4] = '\0'; /* drop "/v2/" */
          r->pinged = true;
        }
      pthread_mutex_unlock (&r->lock);
      kiln_err_clear (&first);
      return 0;
    }
  int code = first.code ? first.code : EIO;
  kiln_err_set (err, code, "cannot reach registry %s: %s", r->domain, first.msg ? first.msg : "no reply");
  kiln_err_clear (&first);
  return -1;
}

/* One request with auth: a 401 gets a fresh token and one more try; connection
 * errors, 429 and 5xx are retried with backoff unless the body goes to a sink
 * (the caller resumes those itself). */
int
registry_request (struct registry *r, const char *scope, const struct http_request *q0, struct http_response *resp,
                  struct kiln_err *err)
{
  if (ping (r, err) < 0)
    return -1;
  struct http_request q = *q0;
  _cleanup_buf_ struct buf url = BUF_INIT;
  if (strncmp (q.url, "http://", 7) != 0 && strncmp (q.url, "https://", 8) != 0)
    {
      buf_printf (&url, "%s%s", r->base, q.url);
      q.url = buf_str (&url);
    }
  bool refreshed = false;
  for (int attempt = 0; attempt < ATTEMPTS; attempt++)
    {
      _cleanup_strv_ struct strv headers = STRV_INIT;
      for (size_t i = 0; q0->headers && i < q0->headers->n; i++)
        strv_push (&headers, q0->headers->v[i]);
      struct buf ah = BUF_INIT;
      if (registry_auth_header (r, scope, false, &ah, err) < 0)
        return -1;
      if (ah.len)
        strv_push_owned (&headers, buf_steal (&ah));
      buf_free (&ah);
      q.headers = &headers;
      struct http_tls tls;
      registry_tls_of (r, strncmp (q.url, "https://", 8) == 0, &tls);
      int rc = http_do (&tls, &q, resp, err);
      for (size_t i = 0; i < headers.n; i++)
        explicit_bzero (headers.v[i], strlen (headers.v[i]));
      if (rc < 0)
        {
          http_response_clear (resp);
          if (q.sink || attempt + 1 == ATTEMPTS)
            return -1;
          kiln_err_clear (err);
          usleep (200000u << attempt);
          continue;
        }
      if (resp->status == 401 && !refreshed)
        {
          /* Expired token, or the first request to a registry that wants auth. */
          refreshed = true;
          registry_take_challenge (r, resp->www_authenticate);
          pthread_mutex_lock (&r->lock);
          for (size_t i = 0; i < r->n_tokens; i++)
            if (strcmp (r->tokens[i].scope, scope) == 0)
              r->tokens[i].expires = 0;
          pthread_mutex_unlock (&r->lock);
          http_response_clear (resp);
          attempt--;
          continue;
        }
      if (registry_retryable (resp->status) && !q.sink && attempt + 1 < ATTEMPTS)
        {
          http_response_clear (resp);
          usleep (200000u << attempt);
          continue;
        }
      return 0;
    }
  return -1;
}

/* The error for a reply that was not what we asked for. */
int
registry_reply_error (struct registry *r, const char *repo, const char *what, struct http_response *resp,
                      struct kiln_err *err)
{
  _cleanup_free_ char *words = registry_resp_error_words (resp);
  long s = resp->status;
  int code = s == 401 || s == 403 ? EACCES : s == 404 ? ENOENT : EIO;
  const char *next = s == 401   ? (r->have_creds ? "the credentials were refused: run `kiln login` again"
                                                 : "authentication required: run `kiln login` first")
                     : s == 403 ? "access denied: check that your account may use this repository"
                     : s == 404 ? "not found: check the repository name and the tag"
                                : NULL;
  kiln_err_set (err, code, "%s/%s: %s: %s%s%s", r->domain, repo, what, words, next ? "; " : "", next ? next : "");
  http_response_clear (resp);
  return -1;
}

char *
registry_pull_scope (const char *repo)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "repository:%s:pull", repo);
  return buf_steal (&b);
}

char *
registry_push_scope (const char *repo)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "repository:%s:pull,push", repo);
  return buf_steal (&b);
}

int
registry_check (struct registry *r, struct kiln_err *err)
{
  if (ping (r, err) < 0)
    return -1;
  pthread_mutex_lock (&r->lock);
  bool bearer = r->auth_scheme && strcmp (r->auth_scheme, "bearer") == 0;
  pthread_mutex_unlock (&r->lock);
  if (bearer)
    {
      char *token;
      time_t expires;
      if (registry_fetch_token (r, "", &token, &expires, err) < 0)
        return -1;
      explicit_bzero (token, strlen (token));
      free (token);
      return 0;
    }
  struct http_request q = HTTP_REQUEST_INIT;
  q.url = "/v2/";
  struct http_response resp;
  if (registry_request (r, "", &q, &resp, err) < 0)
    return -1;
  if (resp.status != 200)
    return registry_reply_error (r, "", "login", &resp, err);
  http_response_clear (&resp);
  return 0;
}

static bool
valid_reference (const char *s)
{
  if (digest_valid (s))
    return true;
  size_t n = strlen (s);
  if (n == 0 || n > 128)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'
          || *p == '.' || *p == '-'))
      return false;
  return true;
}

int
registry_get_manifest (struct registry *r, const char *repo, const char *reference, struct registry_manifest *out,
                       struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  if (!valid_reference (reference))
    return kiln_err_set (err, KILN_EINVAL, "\"%s\" is not a tag or a digest", reference);
  _cleanup_buf_ struct buf url = BUF_INIT;
  buf_printf (&url, "/v2/%s/manifests/%s", repo, reference);
  _cleanup_strv_ struct strv headers = STRV_INIT;
  strv_push (&headers, "Accept: " REGISTRY_ACCEPT_MANIFESTS);
  struct http_request q = HTTP_REQUEST_INIT;
  q.url = buf_str (&url);
  q.headers = &headers;
  struct http_response resp;
  _cleanup_free_ char *scope = registry_pull_scope (repo);
  if (registry_request (r, scope, &q, &resp, err) < 0)
    return -1;
  if (resp.status != 200)
    {
      struct buf what = BUF_INIT;
      buf_printf (&what, "manifest %s", reference);
      registry_reply_error (r, repo, buf_str (&what), &resp, err);
      buf_free (&what);
      return -1;
    }
  digest_bytes (resp.body.data ? resp.body.data : "", resp.body.len, &out->digest);
  const char *expect = digest_valid (reference) ? reference : resp.docker_digest;
  if (expect && strncmp (expect, "sha256:", 7) == 0 && strcmp (expect, out->digest.str) != 0)
    {
      kiln_err_set (err, EBADMSG, "%s/%s: the manifest for %s does not match its digest (%s); nothing stored",
                    r->domain, repo, reference, expect);
      http_response_clear (&resp);
      return -1;
    }
  out->len = resp.body.len;
  out->body = buf_steal (&resp.body);
  const char *ct = resp.content_type ? resp.content_type : "";
  out->media_type = xstrndup (ct, strcspn (ct, ";"));
  http_response_clear (&resp);
  return 0;
}

int
registry_put_manifest (struct registry *r, const char *repo, const char *reference, const char *body, size_t len,
                       const char *media_type, struct digest *digest, struct kiln_err *err)
{
  if (!valid_reference (reference))
    return kiln_err_set (err, KILN_EINVAL, "\"%s\" is not a tag or a digest", reference);
  digest_bytes (body, len, digest);
  _cleanup_buf_ struct buf url = BUF_INIT;
  buf_printf (&url, "/v2/%s/manifests/%s", repo, reference);
  _cleanup_strv_ struct strv headers = STRV_INIT;
  struct buf ct = BUF_INIT;
  buf_printf (&ct, "Content-Type: %s", media_type);
  strv_push_owned (&headers, buf_steal (&ct));
  struct http_request q = HTTP_REQUEST_INIT;
  q.method = "PUT";
  q.url = buf_str (&url);
  q.headers = &headers;
  q.body = body;
  q.body_len = len;
  struct http_response resp;
  _cleanup_free_ char *scope = registry_push_scope (repo);
  if (registry_request (r, scope, &q, &resp, err) < 0)
    return -1;
  if (resp.status != 201 && resp.status != 200)
    return registry_reply_error (r, repo, "pushing the manifest", &resp, err);
  if (resp.docker_digest && strncmp (resp.docker_digest, "sha256:", 7) == 0
      && strcmp (resp.docker_digest, digest->str) != 0)
    {
      kiln_err_set (err, EBADMSG, "%s/%s: the registry stored the manifest as %s, kiln sent %s", r->domain, repo,
                    resp.docker_digest, digest->str);
      http_response_clear (&resp);
      return -1;
    }
  http_response_clear (&resp);
  return 0;
}
