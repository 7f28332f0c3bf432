/* registry/client.c — distribution API requests, auth challenges, retries. */
#include "registry/client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry/http.h"
#include "store/blobs.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

#define ATTEMPTS 5
#define TOKEN_MAX (64u * 1024)
#define TOKEN_LIFE_MAX (24 * 3600)

uint64_t registry_chunk_size = 64u * 1024 * 1024;

struct token
{
  char *scope;
  char *value;
  time_t expires;
};

struct registry
{
  char *domain;   /* as in references */
  char *host;     /* where requests go */
  char *base;     /* "https://host" once known */
  bool insecure_ok;
  bool skip_verify;
  char *ca_blob;
  char *client_cert;
  char *client_key;
  struct registry_creds creds;
  bool have_creds;
  bool pinged;
  char *auth_scheme; /* "basic", "bearer" or NULL */
  char *realm;
  char *service;
  pthread_mutex_t lock;
  struct token *tokens;
  size_t n_tokens;
  size_t cap_tokens;
};

const char *
registry_domain (const struct registry *r)
{
  return r->domain;
}

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

static void
tls_of (const struct registry *r, bool https, struct http_tls *t)
{
  t->verify = https && !r->skip_verify;
  /* A loopback registry docker would reach over plain HTTP may also present any certificate. */
  if (https && r->insecure_ok && r->ca_blob == NULL)
    t->verify = false;
  t->ca_blob = r->ca_blob;
  t->client_cert = r->client_cert;
  t->client_key = r->client_key;
}

/* ---------- WWW-Authenticate ---------- */

char *
registry_challenge_param (const char *h, const char *name)
{
  const char *p = h + strcspn (h, " ");
  size_t nl = strlen (name);
  while (*p)
    {
      while (*p == ' ' || *p == ',')
        p++;
      const char *k = p;
      while (*p && *p != '=' && *p != ',')
        p++;
      if (*p != '=')
        continue;
      size_t kl = (size_t) (p - k);
      p++;
      struct buf v = BUF_INIT;
      if (*p == '"')
        {
          p++;
          while (*p && *p != '"')
            {
              if (*p == '\\' && p[1])
                p++;
              buf_putc (&v, *p++);
            }
          if (*p == '"')
            p++;
        }
      else
        while (*p && *p != ',' && *p != ' ')
          buf_putc (&v, *p++);
      if (kl == nl && strncasecmp (k, name, nl) == 0)
        return buf_steal (&v);
      buf_free (&v);
    }
  return NULL;
}

static void
take_challenge (struct registry *r, const char *h)
{
  if (h == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  free (r->auth_scheme);
  free (r->realm);
  free (r->service);
  r->auth_scheme = r->realm = r->service = NULL;
  if (strncasecmp (h, "Bearer ", 7) == 0)
    {
      r->auth_scheme = xstrdup ("bearer");
      r->realm = registry_challenge_param (h, "realm");
      r->service = registry_challenge_param (h, "service");
    }
  else if (strncasecmp (h, "Basic", 5) == 0)
    r->auth_scheme = xstrdup ("basic");
  pthread_mutex_unlock (&r->lock);
}

char *
registry_error_words (const char *body, size_t len, long status)
{
  json_t *j = json_loadb (body, len, 0, NULL);
  json_t *e = json_array_get (json_object_get (j, "errors"), 0);
  const char *code = json_string_value (json_object_get (e, "code"));
  const char *msg = json_string_value (json_object_get (e, "message"));
  struct buf b = BUF_INIT;
  if (code || msg)
    buf_printf (&b, "%s%s%.200s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
  else
    buf_printf (&b, "HTTP %ld", status);
  json_decref (j);
  return buf_steal (&b);
}

static char *
error_words (const struct http_response *resp)
{
  return registry_error_words (buf_str (&resp->body), resp->body.len, resp->status);
}

char *
registry_token_reply (const char *body, size_t len, int64_t *expires_in)
{
  json_t *j = json_loadb (body, len, 0, NULL);
  const char *t = json_string_value (json_object_get (j, "token"));
  if (t == NULL || *t == '\0')
    t = json_string_value (json_object_get (j, "access_token"));
  json_int_t life = json_integer_value (json_object_get (j, "expires_in"));
  char *token = NULL;
  if (t && *t && strlen (t) <= TOKEN_MAX && !strpbrk (t, "\r\n"))
    token = xstrdup (t);
  /* Kept at most a day: renewing costs one request, and time_t + a registry's
   * 9223372036854775807 would overflow. */
  *expires_in = life <= 0 ? 0 : life > TOKEN_LIFE_MAX ? TOKEN_LIFE_MAX : (int64_t) life;
  json_decref (j);
  return token;
}

static void
basic_header (const struct registry_creds *c, struct buf *out)
{
  struct buf up = BUF_INIT;
  buf_printf (&up, "%s:%s", c->username ? c->username : "", c->secret ? c->secret : "");
  char *b64 = xmalloc (4 * ((up.len + 2) / 3) + 1);
  EVP_EncodeBlock ((unsigned char *) b64, (const unsigned char *) up.data, (int) up.len);
  buf_printf (out, "Authorization: Basic %s", b64);
  explicit_bzero (up.data, up.len);
  explicit_bzero (b64, strlen (b64));
  buf_free (&up);
  free (b64);
}

/* Asks the token endpoint for `scope` (space-separated scopes). */
static int
fetch_token (struct registry *r, const char *scope, char **token, time_t *expires, struct kiln_err *err)
{
  pthread_mutex_lock (&r->lock);
  _cleanup_free_ char *realm = r->realm ? xstrdup (r->realm) : NULL;
  _cleanup_free_ char *service = r->service ? xstrdup (r->service) : NULL;
  pthread_mutex_unlock (&r->lock);
  if (realm == NULL || (strncmp (realm, "https://", 8) != 0 && strncmp (realm, "http://", 7) != 0))
    return kiln_err_set (err, EPROTO, "%s asks for a token but names no usable realm", r->domain);
  _cleanup_buf_ struct buf url = BUF_INIT;
  buf_puts (&url, realm);
  char sep = strchr (realm, '?') ? '&' : '?';
  if (service)
    {
      _cleanup_free_ char *e = http_escape (service);
      buf_printf (&url, "%cservice=%s", sep, e);
      sep = '&';
    }
  const char *p = scope;
  while (*p)
    {
      size_t n = strcspn (p, " ");
      if (n)
        {
          _cleanup_free_ char *one = xstrndup (p, n);
          _cleanup_free_ char *e = http_escape (one);
          buf_printf (&url, "%cscope=%s", sep, e);
          sep = '&';
        }
      p += n;
      while (*p == ' ')
        p++;
    }
  _cleanup_strv_ struct strv headers = STRV_INIT;
  if (r->have_creds)
    {
      struct buf h = BUF_INIT;
      basic_header (&r->creds, &h);
      strv_push_owned (&headers, buf_steal (&h));
    }
  struct http_request q = HTTP_REQUEST_INIT;
  q.url = buf_str (&url);
  q.headers = &headers;
  struct http_response resp;
  struct http_tls tls;
  tls_of (r, strncmp (realm, "https://", 8) == 0, &tls);
  int rc = -1;
  for (int attempt = 0; attempt < ATTEMPTS; attempt++)
    {
      rc = http_do (&tls, &q, &resp, err);
      if (rc == 0 && resp.status < 500 && resp.status != 429)
        break;
      if (attempt + 1 < ATTEMPTS)
        {
          http_response_clear (&resp);
          usleep (200000u << attempt);
        }
    }
  for (size_t i = 0; i < headers.n; i++)
    explicit_bzero (headers.v[i], strlen (headers.v[i]));
  if (rc < 0)
    return kiln_err_wrap (err, "getting a token for %s", r->domain);
  if (resp.status != 200)
    {
      _cleanup_free_ char *words = error_words (&resp);
      int code = resp.status == 401 || resp.status == 403 ? EACCES : EIO;
      http_response_clear (&resp);
      if (code == EACCES)
        return kiln_err_set (err, EACCES,
                             "%s refused %s (%s)%s", realm, r->have_creds ? "the credentials" : "anonymous access",
                             words, r->have_creds ? ": check them with `kiln login`" : ": log in with `kiln login`");
      return kiln_err_set (err, EIO, "%s: %s", realm, words);
    }
  int64_t life;
  char *t = registry_token_reply (buf_str (&resp.body), resp.body.len, &life);
  http_response_clear (&resp);
  if (t == NULL)
    return kiln_err_set (err, EPROTO, "%s: the token endpoint's reply has no token", realm);
  *token = t;
  /* The spec's default is 60 s; renew a little early. */
  *expires = time (NULL) + (life >= 60 ? life : 60) - 10;
  return 0;
}

/* The Authorization header for `scope`, from the cache unless `refresh`. */
static int
auth_header (struct registry *r, const char *scope, bool refresh, struct buf *out, struct kiln_err *err)
{
  pthread_mutex_lock (&r->lock);
  bool bearer = r->auth_scheme && strcmp (r->auth_scheme, "bearer") == 0;
  bool basic = r->auth_scheme && strcmp (r->auth_scheme, "basic") == 0;
  pthread_mutex_unlock (&r->lock);
  if (basic)
    {
      if (r->have_creds)
        basic_header (&r->creds, out);
      return 0;
    }
  if (!bearer)
    return 0;
  time_t now = time (NULL);
  pthread_mutex_lock (&r->lock);
  for (size_t i = 0; i < r->n_tokens; i++)
    if (strcmp (r->tokens[i].scope, scope) == 0 && !refresh && r->tokens[i].expires > now)
      {
        buf_printf (out, "Authorization: Bearer %s", r->tokens[i].value);
        pthread_mutex_unlock (&r->lock);
        return 0;
      }
  pthread_mutex_unlock (&r->lock);
  char *token;
  time_t expires;
  if (fetch_token (r, scope, &token, &expires, err) < 0)
    return -1;
  buf_printf (out, "Authorization: Bearer %s", token);
  pthread_mutex_lock (&r->lock);
  size_t i = 0;
  while (i < r->n_tokens && strcmp (r->tokens[i].scope, scope) != 0)
    i++;
  if (i == r->n_tokens)
    {
      r->tokens = xgrow (r->tokens, &r->cap_tokens, r->n_tokens + 1, sizeof *r->tokens);
      r->tokens[i].scope = xstrdup (scope);
      r->tokens[i].value = NULL;
      r->n_tokens++;
    }
  free (r->tokens[i].value);
  r->tokens[i].value = token;
  r->tokens[i].expires = expires;
  pthread_mutex_unlock (&r->lock);
  return 0;
}

static bool
retryable (long status)
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
      tls_of (r, s == 0, &tls);
      int rc = -1;
      struct kiln_err e = {0};
      for (int attempt = 0; attempt < 3; attempt++)
        {
          kiln_err_clear (&e);
          rc = http_do (&tls, &q, &resp, &e);
          if (rc == 0 && !retryable (resp.status))
            break;
          if (rc == 0)
            http_response_clear (&resp);
          /* Plain HTTP spoken to a TLS port fails at once: try the next scheme, not again. */
          if (rc < 0 && s == 0 && try_http)
            break;
          if (attempt < 2)
            usleep (200000u << attempt);
        }
      if (rc < 0 || retryable (resp.status))
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
        take_challenge (r, resp.www_authenticate);
      else if (resp.status != 200 && first.msg)
        {
          /* Plain HTTP got nonsense back (a TLS port): the TLS error is the one to show. */
          http_response_clear (&resp);
          break;
        }
      else if (resp.status != 200)
        {
          _cleanup_free_ char *words = error_words (&resp);
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
static int
request (struct registry *r, const char *scope, const struct http_request *q0, struct http_response *resp,
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
      if (auth_header (r, scope, false, &ah, err) < 0)
        return -1;
      if (ah.len)
        strv_push_owned (&headers, buf_steal (&ah));
      buf_free (&ah);
      q.headers = &headers;
      struct http_tls tls;
      tls_of (r, strncmp (q.url, "https://", 8) == 0, &tls);
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
          take_challenge (r, resp->www_authenticate);
          pthread_mutex_lock (&r->lock);
          for (size_t i = 0; i < r->n_tokens; i++)
            if (strcmp (r->tokens[i].scope, scope) == 0)
              r->tokens[i].expires = 0;
          pthread_mutex_unlock (&r->lock);
          http_response_clear (resp);
          attempt--;
          continue;
        }
      if (retryable (resp->status) && !q.sink && attempt + 1 < ATTEMPTS)
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
static int
reply_error (struct registry *r, const char *repo, const char *what, struct http_response *resp,
             struct kiln_err *err)
{
  _cleanup_free_ char *words = error_words (resp);
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

static char *
pull_scope (const char *repo)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "repository:%s:pull", repo);
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
      if (fetch_token (r, "", &token, &expires, err) < 0)
        return -1;
      explicit_bzero (token, strlen (token));
      free (token);
      return 0;
    }
  struct http_request q = HTTP_REQUEST_INIT;
  q.url = "/v2/";
  struct http_response resp;
  if (request (r, "", &q, &resp, err) < 0)
    return -1;
  if (resp.status != 200)
    return reply_error (r, "", "login", &resp, err);
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
  _cleanup_free_ char *scope = pull_scope (repo);
  if (request (r, scope, &q, &resp, err) < 0)
    return -1;
  if (resp.status != 200)
    {
      struct buf what = BUF_INIT;
      buf_printf (&what, "manifest %s", reference);
      reply_error (r, repo, buf_str (&what), &resp, err);
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
  struct buf scope = BUF_INIT;
  buf_printf (&scope, "repository:%s:pull,push", repo);
  int rc = request (r, buf_str (&scope), &q, &resp, err);
  buf_free (&scope);
  if (rc < 0)
    return -1;
  if (resp.status != 201 && resp.status != 200)
    return reply_error (r, repo, "pushing the manifest", &resp, err);
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

int
registry_blob_exists (struct registry *r, const char *repo, const struct digest *d, struct kiln_err *err)
{
  _cleanup_buf_ struct buf url = BUF_INIT;
  buf_printf (&url, "/v2/%s/blobs/%s", repo, d->str);
  struct http_request q = HTTP_REQUEST_INIT;
  q.method = "HEAD";
  q.url = buf_str (&url);
  struct http_response resp;
  struct buf scope = BUF_INIT;
  buf_printf (&scope, "repository:%s:pull,push", repo);
  int rc = request (r, buf_str (&scope), &q, &resp, err);
  buf_free (&scope);
  if (rc < 0)
    return -1;
  long s = resp.status;
  http_response_clear (&resp);
  if (s == 200)
    return 1;
  if (s == 404)
    return 0;
  struct http_response fake = {.status = s};
  return reply_error (r, repo, "checking a blob", &fake, err);
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
  _cleanup_free_ char *scope = pull_scope (repo);
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
      int rc = request (r, scope, &q, &resp, &e);
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
                              : (resp.status == 200 || resp.status == 206 || retryable (resp.status));
      stalls = s.done > before ? 0 : stalls + 1;
      if (!transient || stalls >= ATTEMPTS)
        {
          if (rc == 0 && resp.status != 200 && resp.status != 206)
            {
              struct buf what = BUF_INIT;
              buf_printf (&what, "blob %s", d->str);
              reply_error (r, repo, buf_str (&what), &resp, err);
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
  if (request (r, scope, &q, &resp, err) < 0)
    return -1;
  if (mount_from && resp.status == 201)
    {
      http_response_clear (&resp);
      if (progress)
        progress (ud, size);
      return 1;
    }
  if (resp.status != 202 || resp.location == NULL)
    return reply_error (r, repo, "starting an upload", &resp, err);
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
        if (request (r, scope, &p, &resp, err) < 0)
          return -1;
        if (resp.status != 202 || resp.location == NULL)
          return reply_error (r, repo, "uploading a chunk", &resp, err);
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
  if (request (r, scope, &p, &resp, err) < 0)
    return -1;
  if (resp.status != 201)
    return reply_error (r, repo, "finishing an upload", &resp, err);
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
