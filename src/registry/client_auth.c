/* registry/client_auth.c — a registry's auth: WWW-Authenticate challenges, Basic
 * credentials and bearer tokens, kept per scope until they expire. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "registry/client_private.h"
#include "util/base64.h"
#include "util/cleanup.h"

#define TOKEN_MAX (64u * 1024)
#define TOKEN_LIFE_MAX (24 * 3600)

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

void
registry_take_challenge (struct registry *r, const char *h)
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

char *
registry_resp_error_words (const struct http_response *resp)
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
  char *b64 = b64_encode (up.data, up.len);
  buf_printf (out, "Authorization: Basic %s", b64);
  explicit_bzero (up.data, up.len);
  explicit_bzero (b64, strlen (b64));
  buf_free (&up);
  free (b64);
}

/* Asks the token endpoint for `scope` (space-separated scopes). */
int
registry_fetch_token (struct registry *r, const char *scope, char **token, time_t *expires,
                      struct kiln_err *err)
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
  registry_tls_of (r, strncmp (realm, "https://", 8) == 0, &tls);
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
      _cleanup_free_ char *words = registry_resp_error_words (&resp);
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
int
registry_auth_header (struct registry *r, const char *scope, bool refresh, struct buf *out,
                      struct kiln_err *err)
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
  if (registry_fetch_token (r, scope, &token, &expires, err) < 0)
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

