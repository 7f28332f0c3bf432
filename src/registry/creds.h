/* registry/creds.h — registry credentials as docker keeps them.
 *
 * docker's config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json):
 * `auths` entries (base64 "user:password" in "auth", or "username"/"password",
 * or an "identitytoken"), and `credHelpers` / `credsStore`, which name
 * docker-credential-NAME programs that keep the secret elsewhere.  Secrets never
 * appear in errors or output. */
#pragma once
#include "util/err.h"

struct registry_creds
{
  char *username;
  char *secret;   /* password or identity token */
};

void registry_creds_clear (struct registry_creds *c);

/* The key docker files a registry under: "https://index.docker.io/v1/" for
 * Docker Hub, the host[:port] otherwise. */
const char *creds_key (const char *domain);

/* 0 and `out` filled when credentials exist, 1 when there are none. */
int creds_lookup (const char *domain, struct registry_creds *out, struct kiln_err *err);
/* Saves credentials (through the helper when one is configured, else in config.json, 0600). */
int creds_store (const char *domain, const char *username, const char *secret, struct kiln_err *err);
/* 0 removed, 1 there was nothing to remove. */
int creds_erase (const char *domain, struct kiln_err *err);
