/* image/config.c — image config changes, as docker's builder makes them. */
#include "image/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/platform.h"
#include "util/jsonutil.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/path.h"
#include "util/utf8.h"

json_t *
config_new (const char *platform, int64_t created)
{
  /* Callers checked `platform` (platform_parse); one parser reads it. */
  struct platform pf;
  if (platform_parse (platform, &pf, NULL) < 0)
    platform_parse (NULL, &pf, NULL);
  char ts[32];
  format_rfc3339 (created, ts);
  json_t *cfg = json_pack ("{s:s, s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", pf.arch, "os", pf.os,
                           "created", ts, "config", "rootfs", "type", "layers", "diff_ids", "history");
  if (pf.variant[0])
    json_object_set_new (cfg, "variant", json_string (pf.variant));
  return cfg;
}

json_t *
config_new_scratch (const char *platform, int64_t created)
{
  json_t *cfg = config_new (platform, created);
  json_object_set_new (json_object_get (cfg, "config"), "Env",
                       json_pack ("[s]", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  json_object_set_new (json_object_get (cfg, "config"), "WorkingDir", json_string ("/"));
  return cfg;
}

void
config_add_history (json_t *cfg, int64_t created, const char *created_by, const char *comment, bool empty_layer)
{
  char ts[32];
  format_rfc3339 (created, ts);
  json_t *h = json_pack ("{s:s}", "created", ts);
  if (created_by)
    json_object_set_new (h, "created_by", json_string (created_by));
  if (comment)
    json_object_set_new (h, "comment", json_string (comment));
  if (empty_layer)
    json_object_set_new (h, "empty_layer", json_true ());
  json_t *hist = json_object_get (cfg, "history");
  if (!json_is_array (hist))
    {
      hist = json_array ();
      json_object_set_new (cfg, "history", hist);
    }
  json_array_append_new (hist, h);
}

char *
config_user (const json_t *cfg)
{
  const char *u = json_string_value (json_object_get (json_object_get (cfg, "config"), "User"));
  return xstrdup (u ? u : "");
}

char *
config_workdir (const json_t *cfg)
{
  const char *w = json_string_value (json_object_get (json_object_get (cfg, "config"), "WorkingDir"));
  return xstrdup (w && *w ? w : "/");
}

json_t *
config_env (const json_t *cfg)
{
  json_t *e = json_object_get (json_object_get (cfg, "config"), "Env");
  return json_is_array (e) ? e : NULL;
}

void
config_add_layer (json_t *cfg, const char *diff_id)
{
  json_t *rootfs = json_object_get (cfg, "rootfs");
  json_t *ids = json_object_get (rootfs, "diff_ids");
  json_array_append_new (ids, json_string (diff_id));
}

static json_t *
shell_form (json_t *c, const char *cmd)
{
  json_t *shell = json_object_get (c, "Shell");
  json_t *a = json_array ();
  if (json_is_array (shell) && json_array_size (shell) > 0)
    {
      size_t i;
      json_t *v;
      json_array_foreach (shell, i, v) json_array_append (a, v);
    }
  else
    {
      json_array_append_new (a, json_string ("/bin/sh"));
      json_array_append_new (a, json_string ("-c"));
    }
  json_array_append_new (a, json_string (cmd));
  return a;
}

static json_t *
sub_object (json_t *c, const char *key)
{
  json_t *o = json_object_get (c, key);
  if (!json_is_object (o))
    {
      o = json_object ();
      json_object_set_new (c, key, o);
    }
  return o;
}

/* path.Join(base, p) for WORKDIR, with "/" as the root. */
static char *
join_workdir (const char *base, const char *p)
{
  struct buf b = BUF_INIT;
  if (p[0] == '/' || base == NULL || *base == '\0')
    buf_printf (&b, "%s%s", p[0] == '/' ? "" : "/", p);
  else
    buf_printf (&b, "%s/%s", base, p);
  char *clean = path_clean (buf_str (&b));
  buf_free (&b);
  return clean;
}

void
config_delta_free (struct config_delta *d)
{
  strv_free (&d->env);
  strv_free (&d->labels);
  free (d->user);
  free (d->workdir);
  strv_free (&d->expose);
  strv_free (&d->volumes);
  free (d->stopsignal);
  strv_free (&d->cmd.argv);
  strv_free (&d->entrypoint.argv);
  strv_free (&d->shell);
  strv_free (&d->healthcheck.test);
  strv_free (&d->onbuild);
  free (d->author);
  memset (d, 0, sizeof *d);
}

static void
apply_env (json_t *c, const struct strv *pairs)
{
  json_t *env = json_object_get (c, "Env");
  if (!json_is_array (env))
    {
      env = json_array ();
      json_object_set_new (c, "Env", env);
    }
  for (size_t k = 0; k + 1 < pairs->n; k += 2)
    {
      const char *key = pairs->v[k];
      _cleanup_buf_ struct buf kv = BUF_INIT;
      buf_printf (&kv, "%s=%s", key, pairs->v[k + 1]);
      size_t kl = strlen (key);
      bool replaced = false;
      size_t i;
      json_t *e;
      json_array_foreach (env, i, e)
      {
        const char *s = json_string_value (e);
        if (s && strncmp (s, key, kl) == 0 && (s[kl] == '=' || s[kl] == '\0'))
          {
            json_array_set_new (env, i, json_string (buf_str (&kv)));
            replaced = true;
            break;
          }
      }
      if (!replaced)
        json_array_append_new (env, json_string (buf_str (&kv)));
    }
}

static void
apply_command (json_t *c, const char *key, const struct config_command *cmd)
{
  if (!cmd->set)
    return;
  if (cmd->null)
    json_object_set_new (c, key, json_null ());
  else if (!cmd->shell_form && cmd->argv.n == 0)
    json_object_del (c, key); /* an empty list is left out, as BuildKit's config (`json:"Cmd,omitempty"`) */
  else if (cmd->shell_form)
    json_object_set_new (c, key, shell_form (c, cmd->argv.n ? cmd->argv.v[0] : ""));
  else
    json_object_set_new (c, key, json_strings (&cmd->argv, 0));
}

static void
apply_healthcheck (json_t *c, const struct config_healthcheck *h)
{
  if (!h->set)
    return;
  json_t *hc = json_object ();
  json_object_set_new (hc, "Test", json_strings (&h->test, 0));
  if (h->interval_ns)
    json_object_set_new (hc, "Interval", json_integer (h->interval_ns));
  if (h->timeout_ns)
    json_object_set_new (hc, "Timeout", json_integer (h->timeout_ns));
  if (h->start_period_ns)
    json_object_set_new (hc, "StartPeriod", json_integer (h->start_period_ns));
  if (h->start_interval_ns)
    json_object_set_new (hc, "StartInterval", json_integer (h->start_interval_ns));
  if (h->retries)
    json_object_set_new (hc, "Retries", json_integer (h->retries));
  json_object_set_new (c, "Healthcheck", hc);
}

int
config_apply (json_t *cfg, const struct config_delta *d, struct kiln_err *err)
{
  (void) err;
  json_t *c = json_object_get (cfg, "config");
  if (!json_is_object (c))
    {
      c = json_object ();
      json_object_set_new (cfg, "config", c);
    }
  if (d->env.n)
    apply_env (c, &d->env);
  for (size_t k = 0; k + 1 < d->labels.n; k += 2)
    json_object_set_new (sub_object (c, "Labels"), d->labels.v[k], json_string (d->labels.v[k + 1]));
  if (d->user)
    json_object_set_new (c, "User", json_string (d->user));
  if (d->workdir)
    {
      char *w = join_workdir (json_string_value (json_object_get (c, "WorkingDir")), d->workdir);
      json_object_set_new (c, "WorkingDir", json_string (w));
      free (w);
    }
  for (size_t i = 0; i < d->expose.n; i++)
    json_object_set_new (sub_object (c, "ExposedPorts"), d->expose.v[i], json_object ());
  for (size_t i = 0; i < d->volumes.n; i++)
    json_object_set_new (sub_object (c, "Volumes"), d->volumes.v[i], json_object ());
  if (d->stopsignal)
    json_object_set_new (c, "StopSignal", json_string (d->stopsignal));
  apply_command (c, "Cmd", &d->cmd);
  apply_command (c, "Entrypoint", &d->entrypoint);
  if (d->shell.n)
    json_object_set_new (c, "Shell", json_strings (&d->shell, 0));
  apply_healthcheck (c, &d->healthcheck);
  if (d->onbuild.n)
    {
      json_t *ob = json_object_get (c, "OnBuild");
      if (!json_is_array (ob))
        {
          ob = json_array ();
          json_object_set_new (c, "OnBuild", ob);
        }
      for (size_t i = 0; i < d->onbuild.n; i++)
        json_array_append_new (ob, json_string (d->onbuild.v[i]));
    }
  if (d->author)
    json_object_set_new (cfg, "author", json_string (d->author));
  return 0;
}

void
config_changes_free (struct config_changes *c)
{
  for (size_t i = 0; i < c->n; i++)
    config_delta_free (&c->v[i]);
  free (c->v);
  c->v = NULL;
  c->n = 0;
}

int
config_apply_changes (json_t *cfg, const struct config_changes *c, struct kiln_err *err)
{
  for (size_t i = 0; c && i < c->n; i++)
    if (config_apply (cfg, &c->v[i], err) < 0)
      return -1;
  return 0;
}
