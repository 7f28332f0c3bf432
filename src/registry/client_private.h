/* registry/client_private.h — private to src/registry/client*.c: the state of one
 * registry connection and the functions its files share.  Others call
 * registry/client.h.
 *
 * Files: client.c (open and close, TLS, the ping, requests with their retries and
 * errors, manifests), client_auth.c (WWW-Authenticate challenges, Basic
 * credentials, bearer tokens and their cache), client_blobs.c (blob HEAD,
 * downloads, and uploads whole or in chunks). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "registry/client.h"
#include "registry/http.h"
#include "util/buf.h"
#include "util/err.h"


#define ATTEMPTS 5

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

/* client.c */
/* The TLS settings of a request to the registry (https or not). */
void registry_tls_of (const struct registry *r, bool https, struct http_tls *t);
/* A status worth another attempt (429, 408, 5xx). */
bool registry_retryable (long status);
/* One request with auth for `scope` (NULL: none), pinging first and retrying;
 * q0->url may be a path under the registry's base. */
int registry_request (struct registry *r, const char *scope, const struct http_request *q0,
                      struct http_response *resp, struct kiln_err *err);
/* Sets err from an unexpected reply (docker's words for 401/403/404), clears resp; -1. */
int registry_reply_error (struct registry *r, const char *repo, const char *what, struct http_response *resp,
                          struct kiln_err *err);
/* "repository:REPO:pull" and "repository:REPO:pull,push", allocated. */
char *registry_pull_scope (const char *repo);
char *registry_push_scope (const char *repo);

/* client_auth.c */
/* Keeps the scheme, realm and service of a WWW-Authenticate header. */
void registry_take_challenge (struct registry *r, const char *h);
/* registry_error_words of a reply, allocated. */
char *registry_resp_error_words (const struct http_response *resp);
int registry_fetch_token (struct registry *r, const char *scope, char **token, time_t *expires,
                          struct kiln_err *err);
/* The Authorization header for `scope` (cached token, or a new one when `refresh`). */
int registry_auth_header (struct registry *r, const char *scope, bool refresh, struct buf *out,
                          struct kiln_err *err);
