/* util/crypto_lazy.c — see crypto_lazy.h. */
#include "util/crypto_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define LIBCRYPTO_SONAME "libcrypto.so.3"

static struct crypto_api api;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void
load (void)
{
  void *lib = dlopen (LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    {
      fprintf (stderr, "kiln: cannot load %s (Debian package libssl3): %s\n", LIBCRYPTO_SONAME, dlerror ());
      exit (125);
    }
  struct
  {
    const char *name;
    void **slot;
  } const syms[] = {
    {"EVP_MD_CTX_new", (void **) &api.md_ctx_new},
    {"EVP_MD_CTX_free", (void **) &api.md_ctx_free},
    {"EVP_DigestInit_ex", (void **) &api.digest_init_ex},
    {"EVP_DigestUpdate", (void **) &api.digest_update},
    {"EVP_DigestFinal_ex", (void **) &api.digest_final_ex},
    {"EVP_sha256", (void **) &api.sha256},
    {"EVP_get_digestbyname", (void **) &api.get_digestbyname},
    {"EVP_EncodeBlock", (void **) &api.encode_block},
    {"EVP_DecodeBlock", (void **) &api.decode_block},
  };
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
    if ((*syms[i].slot = dlsym (lib, syms[i].name)) == NULL)
      {
        fprintf (stderr, "kiln: %s has no %s\n", LIBCRYPTO_SONAME, syms[i].name);
        exit (125);
      }
  /* The library stays loaded for the life of the process. */
}

const struct crypto_api *
kiln_crypto (void)
{
  pthread_once (&load_once, load);
  return &api;
}
