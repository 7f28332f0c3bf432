/* registry/http.h — one HTTP exchange through libcurl: bounded replies, streamed bodies.
 *
 * A reply body is either streamed to a sink (only when the status is 2xx, so an
 * error page never lands in a blob) or kept in memory up to HTTP_MAX_BODY.
 * Transport failures (connection, TLS, a sink that refused data) return -1;
 * any HTTP status, 4xx and 5xx included, returns 0 with the status set. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define HTTP_MAX_BODY (16u * 1024 * 1024)

struct http_tls
{
  bool verify;
  const char *ca_blob;     /* extra CAs (PEM), added to the system's; may be NULL */
  const char *client_cert; /* PEM files; may be NULL */
  const char *client_key;
};

/* `status` is the reply's status (2xx); a sink can tell a full reply (200) from a range (206). */
typedef int (*http_sink_fn) (void *ud, long status, const void *buf, size_t len, struct kiln_err *err);

struct http_request
{
  const char *method;         /* GET HEAD PUT POST PATCH DELETE */
  const char *url;
  const struct strv *headers; /* "Name: value"; may be NULL */
  const void *body;           /* in-memory body, or ... */
  size_t body_len;
  int body_fd;                /* ... a range of a file, when >= 0 */
  uint64_t body_offset;
  uint64_t body_size;
  http_sink_fn sink;          /* receives a 2xx body; NULL keeps it in the response */
  void *sink_ud;
};
#define HTTP_REQUEST_INIT {.method = "GET", .body_fd = -1}

struct http_response
{
  long status;
  struct buf body;
  char *www_authenticate;
  char *location;
  char *content_type;
  char *docker_digest;  /* Docker-Content-Digest */
  char *content_range;
  int64_t content_length; /* -1 when absent */
  char *url;              /* where the reply came from, after redirects */
};

void http_response_clear (struct http_response *r);

/* Takes one header line of a reply ("Name: value\r\n"; a status line starts the
 * headers of a new reply) into `r`.  The server chose the bytes: any, any length. */
void http_response_header (struct http_response *r, const char *line, size_t len);

/* Uses the calling thread's connection cache (released by http_thread_done()).
 * On -1 the response holds nothing to free. */
int http_do (const struct http_tls *tls, const struct http_request *req, struct http_response *resp,
             struct kiln_err *err);
void http_thread_done (void);

/* "a b" → "a%20b" */
char *http_escape (const char *s);
