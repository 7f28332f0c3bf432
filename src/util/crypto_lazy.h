/* util/crypto_lazy.h — OpenSSL's libcrypto, loaded when kiln first hashes.
 *
 * libcrypto is the largest library kiln links: the dynamic loader relocates some
 * 400 kB of its data at every exec (private memory of each process), and most
 * kiln processes never hash — above all a container's monitor, idle for the
 * container's life (issue 13: RssAnon <= 1 MiB).  Include this instead of calling
 * <openssl/evp.h>'s functions: kiln_crypto () loads libcrypto.so.3 once per process
 * (thread-safe) and returns its table; kiln cannot work without sha256, so a
 * library that cannot be loaded ends the process with a message naming it. */
#pragma once
#include <openssl/evp.h>

struct crypto_api
{
  __typeof__ (EVP_MD_CTX_new) *md_ctx_new;
  __typeof__ (EVP_MD_CTX_free) *md_ctx_free;
  __typeof__ (EVP_DigestInit_ex) *digest_init_ex;
  __typeof__ (EVP_DigestUpdate) *digest_update;
  __typeof__ (EVP_DigestFinal_ex) *digest_final_ex;
  __typeof__ (EVP_sha256) *sha256;
  __typeof__ (EVP_get_digestbyname) *get_digestbyname;
  __typeof__ (EVP_EncodeBlock) *encode_block;
  __typeof__ (EVP_DecodeBlock) *decode_block;
};

const struct crypto_api *kiln_crypto (void);
