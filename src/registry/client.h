/* registry/client.h — the OCI distribution API (and Docker registry v2) over HTTP.
 *
 * One `struct registry` per registry host: it finds out the scheme (https; plain
 * http only for loopback hosts or with TLS verification off, as docker allows),
 * the TLS material (certs.d), the credentials (registry/creds.h) and the auth
 * challenge, and keeps bearer tokens per scope until they expire.  Requests are
 * retried with backoff on connection errors, 429 and 5xx.  Everything fetched
 * is checked against its digest before the caller sees it; blobs go straight
 * into the store and resume with Range after a broken connection.
 * Safe to use from several threads (each gets its own connection). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "registry/creds.h"
#include "store/store.h"
#include "util/digest.h"
#include "util/err.h"

struct registry_opts
{
  bool tls_skip_verify;                /* --tls-verify=false: any certificate, or plain HTTP */
  const char *cert_dir;                /* --cert-dir: CAs (.crt), a client pair (.cert and .key) */
  const struct registry_creds *creds;  /* explicit (login); else from docker's config */
};

struct registry;

/* `domain` as in a reference: "docker.io", "localhost:5000", "ghcr.io". */
struct registry *registry_open (const char *domain, const struct registry_opts *o, struct kiln_err *err);
void registry_close (struct registry *r);

/* Reaches /v2/ and authenticates (a token for no repository): what `login` checks. */
int registry_check (struct registry *r, struct kiln_err *err);

struct registry_manifest
{
  char *body;
  size_t len;
  char *media_type;
  struct digest digest; /* of body, checked against the reference or the registry's header */
};
void registry_manifest_clear (struct registry_manifest *m);

#define REGISTRY_ACCEPT_MANIFESTS                                                                  \
  "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "        \
  "application/vnd.docker.distribution.manifest.list.v2+json, "                                  \
  "application/vnd.docker.distribution.manifest.v2+json"

/* `reference` is a tag or a digest. */
int registry_get_manifest (struct registry *r, const char *repo, const char *reference, struct registry_manifest *out,
                           struct kiln_err *err);
int registry_put_manifest (struct registry *r, const char *repo, const char *reference, const char *body, size_t len,
                           const char *media_type, struct digest *digest, struct kiln_err *err);

/* 1 the registry has it, 0 it does not. */
int registry_blob_exists (struct registry *r, const char *repo, const struct digest *d, struct kiln_err *err);

/* Called as bytes move, with the total so far. */
typedef void (*registry_progress_fn) (void *ud, uint64_t done);

/* Downloads a blob into the store (verified; resumed after a cut). `size` < 0: unknown. */
int registry_fetch_blob (struct registry *r, const char *repo, const struct digest *d, int64_t size,
                         struct kiln_store *st, registry_progress_fn progress, void *ud, struct kiln_err *err);

/* Uploads `size` bytes of `fd` as blob `d`.  With `mount_from` (another repository on
 * the same registry) asks for a cross-repository mount first.  Returns 1 when the
 * registry mounted it, 0 when it was uploaded. */
int registry_push_blob (struct registry *r, const char *repo, const struct digest *d, int fd, uint64_t size,
                        const char *mount_from, registry_progress_fn progress, void *ud, struct kiln_err *err);

/* A parameter of a WWW-Authenticate challenge (`Bearer realm="…",service=x`):
 * quoted (with backslash escapes) or bare; NULL when absent. */
char *registry_challenge_param (const char *header, const char *name);

/* The words of an error reply's body ({"errors":[{"code":…,"message":…}]}, as the
 * distribution spec has it): "UNAUTHORIZED: authentication required", else "HTTP 401". */
char *registry_error_words (const char *body, size_t len, long status);

/* The bearer token in a token endpoint's reply ("token" or "access_token"); NULL when it
 * has none fit for a header.  `expires_in` gets its lifetime in seconds (0 when unsaid,
 * at most a day). */
char *registry_token_reply (const char *body, size_t len, int64_t *expires_in);

/* Blobs above this size are uploaded in chunks (PATCH), smaller ones in one PUT. */
extern uint64_t registry_chunk_size;
