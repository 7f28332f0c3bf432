/* util/curl_lazy.c — see curl_lazy.h. */
#include "util/curl_lazy.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#define LIBCURL_SONAME "libcurl.so.4"

struct curl_api kiln_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void
load (void)
{
  void *lib = dlopen (LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    {
      snprintf (load_error, sizeof load_error, "%s", dlerror ());
      return;
    }
  struct
  {
    const char *name;
    void **slot;
  } const syms[] = {
    {"curl_easy_init", (void **) &kiln_curl.easy_init},
    {"curl_easy_setopt", (void **) &kiln_curl.easy_setopt},
    {"curl_easy_perform", (void **) &kiln_curl.easy_perform},
    {"curl_easy_getinfo", (void **) &kiln_curl.easy_getinfo},
    {"curl_easy_cleanup", (void **) &kiln_curl.easy_cleanup},
    {"curl_easy_reset", (void **) &kiln_curl.easy_reset},
    {"curl_easy_strerror", (void **) &kiln_curl.easy_strerror},
    {"curl_easy_escape", (void **) &kiln_curl.easy_escape},
    {"curl_free", (void **) &kiln_curl.free},
    {"curl_slist_append", (void **) &kiln_curl.slist_append},
    {"curl_slist_free_all", (void **) &kiln_curl.slist_free_all},
  };
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
    if ((*syms[i].slot = dlsym (lib, syms[i].name)) == NULL)
      {
        snprintf (load_error, sizeof load_error, "%s: no %s", LIBCURL_SONAME, syms[i].name);
        return;
      }
  CURLcode (*global_init) (long) = (CURLcode (*) (long)) dlsym (lib, "curl_global_init");
  if (global_init == NULL || global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
    {
      snprintf (load_error, sizeof load_error, "%s: curl_global_init failed", LIBCURL_SONAME);
      return;
    }
  /* The library stays loaded for the life of the process. */
}

int
curl_lazy_load (struct kiln_err *err)
{
  pthread_once (&load_once, load);
  if (load_error[0])
    return kiln_err_set (err, ENOENT, "HTTP needs libcurl (Debian package libcurl4): %s", load_error);
  return 0;
}

void
curl_transfer_defaults (CURL *h, const char *url, char errbuf[static CURL_ERROR_SIZE])
{
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "kiln");
}
