/* registry/creds.c — docker's config.json and docker-credential-* helpers. */
#include "registry/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/base64.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

#define CONFIG_MAX (4u * 1024 * 1024)
#define HUB_KEY "https://index.docker.io/v1/"

void
registry_creds_clear (struct registry_creds *c)
{
  if (c->secret)
    explicit_bzero (c->secret, strlen (c->secret));
  free (c->username);
  free (c->secret);
  c->username = c->secret = NULL;
}

const char *
creds_key (const char *domain)
{
  if (strcmp (domain, "docker.io") == 0 || strcmp (domain, "index.docker.io") == 0
      || strcmp (domain, "registry-1.docker.io") == 0)
    return HUB_KEY;
  return domain;
}

static char *
config_dir (void)
{
  const char *d = getenv ("DOCKER_CONFIG");
  if (d && *d)
    return xstrdup (d);
  const char *home = getenv ("HOME");
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s/.docker", home && *home ? home : "/root");
  return buf_steal (&b);
}

static char *
config_path (void)
{
  _cleanup_free_ char *d = config_dir ();
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s/config.json", d);
  return buf_steal (&b);
}

/* The config as an object; an empty one when the file does not exist. */
static json_t *
config_load (const char *path, struct kiln_err *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return json_object ();
  if (fd < 0)
    {
      kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
      return NULL;
    }
  _cleanup_buf_ struct buf s = BUF_INIT;
  if (read_all (fd, CONFIG_MAX, &s, path, err) < 0)
    return NULL;
  json_error_t je;
  json_t *j = json_loadb (buf_str (&s), s.len, 0, &je);
  if (!json_is_object (j))
    {
      json_decref (j);
      kiln_err_set (err, KILN_EPARSE, "%s:%d: not a docker config (%s)", path, je.line, je.text);
      return NULL;
    }
  return j;
}

/* Keys in `auths` may be URLs ("https://host/v1/") or bare hosts. */
static bool
key_matches (const char *key, const char *want)
{
  const char *k = key;
  if (strncmp (k, "https://", 8) == 0)
    k += 8;
  else if (strncmp (k, "http://", 7) == 0)
    k += 7;
  const char *w = want;
  if (strncmp (w, "https://", 8) == 0)
    w += 8;
  size_t wl = strcspn (w, "/");
  size_t kl = strcspn (k, "/");
  return kl == wl && strncmp (k, w, kl) == 0;
}

static char *
helper_for (json_t *cfg, const char *key, const char *domain)
{
  json_t *helpers = json_object_get (cfg, "credHelpers");
  const char *h = json_string_value (json_object_get (helpers, domain));
  if (h == NULL)
    h = json_string_value (json_object_get (helpers, key));
  if (h == NULL)
    h = json_string_value (json_object_get (cfg, "credsStore"));
  return h && *h ? xstrdup (h) : NULL;
}

/* Runs docker-credential-HELPER ACTION with `input` on stdin; returns its stdout. */
static char *
run_helper (const char *helper, const char *action, const char *input, int *status, struct kiln_err *err)
{
  for (const char *p = helper; *p; p++)
    if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
          || (*p >= '0' && *p <= '9')))
      {
        kiln_err_set (err, KILN_EINVAL, "credential helper name \"%s\" is not a plain name", helper);
        return NULL;
      }
  int in[2], out[2];
  if (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (out, O_CLOEXEC) < 0)
    {
      kiln_err_set (err, errno, "pipe: %s", strerror (errno));
      return NULL;
    }
  struct buf prog = BUF_INIT;
  buf_printf (&prog, "docker-credential-%s", helper);
  pid_t pid = fork ();
  if (pid == 0)
    {
      dup2 (in[0], 0);
      dup2 (out[1], 1);
      execlp (buf_str (&prog), buf_str (&prog), action, (char *) NULL);
      _exit (127);
    }
  close (in[0]);
  close (out[1]);
  if (pid < 0)
    {
      close (in[1]);
      close (out[0]);
      buf_free (&prog);
      kiln_err_set (err, errno, "fork: %s", strerror (errno));
      return NULL;
    }
  void (*old) (int) = signal (SIGPIPE, SIG_IGN);
  struct kiln_err ignored = {0};
  write_all (in[1], input, strlen (input), "credential helper", &ignored);
  kiln_err_clear (&ignored);
  close (in[1]);
  struct buf got = BUF_INIT;
  char *res = read_all (out[0], 1u << 20, &got, buf_str (&prog), err) == 0 ? buf_steal (&got) : NULL;
  buf_free (&got);
  close (out[0]);
  int st = 0;
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  signal (SIGPIPE, old);
  *status = WIFEXITED (st) ? WEXITSTATUS (st) : 128;
  if (res && *status == 127)
    {
      kiln_err_set (err, ENOENT, "credential helper %s is not installed", buf_str (&prog));
      free (res);
      res = NULL;
    }
  buf_free (&prog);
  return res;
}

static int
decode_auth (const char *b64, struct registry_creds *out, struct kiln_err *err)
{
  size_t n = strlen (b64);
  if (n > 16384)
    return kiln_err_set (err, KILN_EINVAL, "docker config: an \"auth\" entry is too long");
  size_t got;
  _cleanup_free_ char *raw = b64_decode (b64, &got);
  if (raw == NULL)
    return kiln_err_set (err, KILN_EINVAL, "docker config: an \"auth\" entry is not base64");
  char *colon = strchr (raw, ':');
  if (colon == NULL)
    return kiln_err_set (err, KILN_EINVAL, "docker config: an \"auth\" entry is not user:password");
  out->username = xstrndup (raw, (size_t) (colon - raw));
  out->secret = xstrdup (colon + 1);
  explicit_bzero (raw, (size_t) got);
  return 0;
}

int
creds_lookup (const char *domain, struct registry_creds *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  _cleanup_free_ char *path = config_path ();
  _cleanup_json_ json_t *cfg = config_load (path, err);
  if (cfg == NULL)
    return -1;
  const char *key = creds_key (domain);
  int ret = 1;
  _cleanup_free_ char *helper = helper_for (cfg, key, domain);
  if (helper)
    {
      int status;
      _cleanup_free_ char *reply = run_helper (helper, "get", key, &status, err);
      if (reply == NULL)
        ret = -1;
      else if (status == 0)
        {
          _cleanup_json_ json_t *j = json_loads (reply, 0, NULL);
          const char *u = json_string_value (json_object_get (j, "Username"));
          const char *s = json_string_value (json_object_get (j, "Secret"));
          if (s && *s)
            {
              out->username = xstrdup (u ? u : "");
              out->secret = xstrdup (s);
              ret = 0;
            }
          explicit_bzero (reply, strlen (reply));
        }
      /* A helper that knows nothing of this registry: fall back to auths, as docker does. */
    }
  json_t *auths = json_object_get (cfg, "auths");
  const char *k;
  json_t *v;
  if (ret == 1)
    json_object_foreach (auths, k, v)
    {
      if (!key_matches (k, key))
        continue;
      const char *a = json_string_value (json_object_get (v, "auth"));
      const char *u = json_string_value (json_object_get (v, "username"));
      const char *p = json_string_value (json_object_get (v, "password"));
      const char *t = json_string_value (json_object_get (v, "identitytoken"));
      if (a && *a)
        ret = decode_auth (a, out, err) < 0 ? -1 : 0;
      else if (u && p)
        {
          out->username = xstrdup (u);
          out->secret = xstrdup (p);
          ret = 0;
        }
      else if (t && *t)
        {
          out->username = xstrdup ("<token>");
          out->secret = xstrdup (t);
          ret = 0;
        }
      if (ret != 1)
        break;
    }
  if (ret == -1)
    kiln_err_wrap (err, "credentials for %s", domain);
  return ret;
}

static int
config_save (const char *path, json_t *cfg, struct kiln_err *err)
{
  _cleanup_free_ char *dir = config_dir ();
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s: %s", dir, strerror (errno));
  _cleanup_free_ char *s = json_dumps (cfg, JSON_INDENT (1) | JSON_SORT_KEYS);
  struct buf tmp = BUF_INIT;
  buf_printf (&tmp, "%s.tmp-%d", path, (int) getpid ());
  int fd = open (buf_str (&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int r = -1;
  if (fd < 0)
    kiln_err_set (err, errno, "%s: %s", buf_str (&tmp), strerror (errno));
  else if (write_all (fd, s, strlen (s), buf_str (&tmp), err) == 0 && write_all (fd, "\n", 1, buf_str (&tmp), err) == 0)
    {
      if (fsync (fd) < 0 || rename (buf_str (&tmp), path) < 0)
        kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
      else
        r = 0;
    }
  if (fd >= 0)
    close (fd);
  if (r < 0)
    unlink (buf_str (&tmp));
  buf_free (&tmp);
  return r;
}

int
creds_store (const char *domain, const char *username, const char *secret, struct kiln_err *err)
{
  _cleanup_free_ char *path = config_path ();
  _cleanup_json_ json_t *cfg = config_load (path, err);
  if (cfg == NULL)
    return -1;
  const char *key = creds_key (domain);
  _cleanup_free_ char *helper = helper_for (cfg, key, domain);
  int ret;
  if (helper)
    {
      _cleanup_json_ json_t *in = json_pack ("{s:s, s:s, s:s}", "ServerURL", key, "Username", username, "Secret", secret);
      char *s = json_dumps (in, JSON_COMPACT);
      int status = 0;
      _cleanup_free_ char *reply = run_helper (helper, "store", s, &status, err);
      explicit_bzero (s, strlen (s));
      free (s);
      ret = reply == NULL ? -1 : status != 0 ? kiln_err_set (err, EIO, "credential helper %s could not store the credentials", helper) : 0;
      if (ret == 0)
        {
          /* docker keeps an empty entry so `auths` lists the registry. */
          json_t *auths = json_object_get (cfg, "auths");
          if (!json_is_object (auths))
            json_object_set_new (cfg, "auths", auths = json_object ());
          json_object_set_new (auths, key, json_object ());
          ret = config_save (path, cfg, err);
        }
      return ret;
    }
  struct buf up = BUF_INIT;
  buf_printf (&up, "%s:%s", username, secret);
  char *b64 = b64_encode (up.data, up.len);
  explicit_bzero (up.data, up.len);
  buf_free (&up);
  json_t *auths = json_object_get (cfg, "auths");
  if (!json_is_object (auths))
    json_object_set_new (cfg, "auths", auths = json_object ());
  json_object_set_new (auths, key, json_pack ("{s:s}", "auth", b64));
  explicit_bzero (b64, strlen (b64));
  free (b64);
  ret = config_save (path, cfg, err);
  return ret;
}

int
creds_erase (const char *domain, struct kiln_err *err)
{
  _cleanup_free_ char *path = config_path ();
  _cleanup_json_ json_t *cfg = config_load (path, err);
  if (cfg == NULL)
    return -1;
  const char *key = creds_key (domain);
  int ret = 1;
  _cleanup_free_ char *helper = helper_for (cfg, key, domain);
  if (helper)
    {
      int status = 0;
      _cleanup_free_ char *reply = run_helper (helper, "erase", key, &status, err);
      if (reply && status == 0)
        ret = 0;
    }
  json_t *auths = json_object_get (cfg, "auths");
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe (auths, tmp, k, v)
  {
    if (key_matches (k, key))
      {
        json_object_del (auths, k);
        ret = 0;
      }
  }
  if (ret == 0 && config_save (path, cfg, err) < 0)
    ret = -1;
  return ret;
}
