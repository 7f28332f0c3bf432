/* util/curl_lazy.h — libcurl, loaded when kiln first speaks HTTP.
 *
 * libcurl brings some 26 libraries with it (TLS, Kerberos, LDAP, SSH, IDN …):
 * linked at start they cost every kiln command ~7 ms in the dynamic loader, and
 * every fork their page tables, while most commands never open a connection.
 * Include this instead of <curl/curl.h>: the curl_* calls below go through the
 * table filled by curl_lazy_load, which each HTTP entry point calls first. */
#pragma once
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "util/err.h"

struct curl_api
{
  CURL *(*easy_init) (void);
  CURLcode (*easy_setopt) (CURL *, CURLoption, ...);
  CURLcode (*easy_perform) (CURL *);
  CURLcode (*easy_getinfo) (CURL *, CURLINFO, ...);
  void (*easy_cleanup) (CURL *);
  void (*easy_reset) (CURL *);
  const char *(*easy_strerror) (CURLcode);
  char *(*easy_escape) (CURL *, const char *, int);
  void (*free) (void *);
  struct curl_slist *(*slist_append) (struct curl_slist *, const char *);
  void (*slist_free_all) (struct curl_slist *);
};

extern struct curl_api kiln_curl;

/* Loads libcurl.so.4 and runs curl_global_init, once per process (thread-safe).
 * -1 with a message naming the library when it cannot be loaded. */
int curl_lazy_load (struct kiln_err *err);

/* The options every kiln transfer has, a registry's or ADD <url>'s: `url`, http and
 * https only (redirects too), at most 10 redirects (Go's http.Client, so docker's
 * registries and ADD alike), a 30 s connect timeout, a transfer under 1 byte/s for a
 * minute fails (the caller may retry), no signals (kiln's threads), kiln's
 * User-Agent, curl's messages in `errbuf`.  Callers add what is theirs (body,
 * headers, TLS).  After curl_lazy_load. */
void curl_transfer_defaults (CURL *h, const char *url, char errbuf[static CURL_ERROR_SIZE]);

/* curl.h defines these two as macros that only count arguments. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init (*kiln_curl.easy_init)
#define curl_easy_setopt (*kiln_curl.easy_setopt)
#define curl_easy_perform (*kiln_curl.easy_perform)
#define curl_easy_getinfo (*kiln_curl.easy_getinfo)
#define curl_easy_cleanup (*kiln_curl.easy_cleanup)
#define curl_easy_reset (*kiln_curl.easy_reset)
#define curl_easy_strerror (*kiln_curl.easy_strerror)
#define curl_easy_escape (*kiln_curl.easy_escape)
#define curl_free (*kiln_curl.free)
#define curl_slist_append (*kiln_curl.slist_append)
#define curl_slist_free_all (*kiln_curl.slist_free_all)
