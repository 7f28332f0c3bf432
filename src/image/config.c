/* image/config.c — image config changes, as docker's builder makes them. */
#include "image/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ignore.h"
#include "frontend/stages.h"
#include "image/image.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/utf8.h"

json_t *
config_new (const char *platform, int64_t created)
{
  _cleanup_free_ char *p = xstrdup (platform ? platform : host_platform ());
  char *arch = strchr (p, '/');
  char *variant = NULL;
  if (arch)
    {
      *arch++ = '\0';
      variant = strchr (arch, '/');
      if (variant)
        *variant++ = '\0';
    }
  char ts[32];
  format_rfc3339 (created, ts);
  json_t *cfg = json_pack ("{s:s, s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", arch ? arch : "amd64", "os",
                           p, "created", ts, "config", "rootfs", "type", "layers", "diff_ids", "history");
  if (variant && *variant)
    json_object_set_new (cfg, "variant", json_string (variant));
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

void
config_add_layer (json_t *cfg, const char *diff_id)
{
  json_t *rootfs = json_object_get (cfg, "rootfs");
  json_t *ids = json_object_get (rootfs, "diff_ids");
  json_array_append_new (ids, json_string (diff_id));
}

static json_t *
strv_json (const struct strv *v, size_t from)
{
  json_t *a = json_array ();
  for (size_t i = from; i < v->n; i++)
    json_array_append_new (a, json_string (v->v[i]));
  return a;
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

int
config_apply (json_t *cfg, const struct inst *in, struct kiln_err *err)
{
  (void) err;
  json_t *c = json_object_get (cfg, "config");
  if (!json_is_object (c))
    {
      c = json_object ();
      json_object_set_new (cfg, "config", c);
    }
  switch (in->kind)
    {
    case I_ENV:
      {
        json_t *env = json_object_get (c, "Env");
        if (!json_is_array (env))
          {
            env = json_array ();
            json_object_set_new (c, "Env", env);
          }
        for (size_t k = 0; k < in->n_kvs; k++)
          {
            _cleanup_buf_ struct buf kv = BUF_INIT;
            buf_printf (&kv, "%s=%s", in->kvs[k].key, in->kvs[k].value);
            size_t kl = strlen (in->kvs[k].key);
            bool replaced = false;
            size_t i;
            json_t *e;
            json_array_foreach (env, i, e)
            {
              const char *s = json_string_value (e);
              if (s && strncmp (s, in->kvs[k].key, kl) == 0 && (s[kl] == '=' || s[kl] == '\0'))
                {
                  json_array_set_new (env, i, json_string (buf_str (&kv)));
                  replaced = true;
                  break;
                }
            }
            if (!replaced)
              json_array_append_new (env, json_string (buf_str (&kv)));
          }
        break;
      }
    case I_LABEL:
      for (size_t k = 0; k < in->n_kvs; k++)
        json_object_set_new (sub_object (c, "Labels"), in->kvs[k].key, json_string (in->kvs[k].value));
      break;
    case I_USER:
      json_object_set_new (c, "User", json_string (in->args.v[0]));
      break;
    case I_WORKDIR:
      {
        char *w = join_workdir (json_string_value (json_object_get (c, "WorkingDir")), in->args.v[0]);
        json_object_set_new (c, "WorkingDir", json_string (w));
        free (w);
        break;
      }
    case I_EXPOSE:
      for (size_t i = 0; i < in->args.n; i++)
        {
          struct strv ports = STRV_INIT;
          if (expose_parse (in->args.v[i], &ports))
            for (size_t p = 0; p < ports.n; p++)
              json_object_set_new (sub_object (c, "ExposedPorts"), ports.v[p], json_object ());
          strv_free (&ports);
        }
      break;
    case I_VOLUME:
      for (size_t i = 0; i < in->args.n; i++)
        json_object_set_new (sub_object (c, "Volumes"), in->args.v[i], json_object ());
      break;
    case I_STOPSIGNAL:
      json_object_set_new (c, "StopSignal", json_string (in->args.v[0]));
      break;
    case I_CMD:
    case I_ENTRYPOINT:
      {
        const char *key = in->kind == I_CMD ? "Cmd" : "Entrypoint";
        /* An empty list is left out, as BuildKit's config (`json:"Cmd,omitempty"`). */
        if (in->json && in->args.n == 0)
          json_object_del (c, key);
        else if (in->json)
          json_object_set_new (c, key, strv_json (&in->args, 0));
        else if (in->args.n == 0)
          json_object_set_new (c, key, json_null ());
        else
          json_object_set_new (c, key, shell_form (c, in->args.v[0]));
        break;
      }
    case I_SHELL:
      json_object_set_new (c, "Shell", strv_json (&in->args, 0));
      break;
    case I_HEALTHCHECK:
      {
        json_t *hc = json_object ();
        json_t *test = json_array ();
        if (in->hc.none)
          json_array_append_new (test, json_string ("NONE"));
        else
          {
            json_array_append_new (test, json_string (in->hc.shell ? "CMD-SHELL" : "CMD"));
            for (size_t i = 0; i < in->hc.test.n; i++)
              json_array_append_new (test, json_string (in->hc.test.v[i]));
          }
        json_object_set_new (hc, "Test", test);
        if (in->hc.interval_ns)
          json_object_set_new (hc, "Interval", json_integer (in->hc.interval_ns));
        if (in->hc.timeout_ns)
          json_object_set_new (hc, "Timeout", json_integer (in->hc.timeout_ns));
        if (in->hc.start_period_ns)
          json_object_set_new (hc, "StartPeriod", json_integer (in->hc.start_period_ns));
        if (in->hc.start_interval_ns)
          json_object_set_new (hc, "StartInterval", json_integer (in->hc.start_interval_ns));
        if (in->hc.retries)
          json_object_set_new (hc, "Retries", json_integer (in->hc.retries));
        json_object_set_new (c, "Healthcheck", hc);
        break;
      }
    case I_ONBUILD:
      {
        json_t *ob = json_object_get (c, "OnBuild");
        if (!json_is_array (ob))
          {
            ob = json_array ();
            json_object_set_new (c, "OnBuild", ob);
          }
        json_array_append_new (ob, json_string (in->trigger));
        break;
      }
    case I_MAINTAINER:
      json_object_set_new (cfg, "author", json_string (in->args.v[0]));
      break;
    default:
      break;
    }
  return 0;
}

static void
append_go_list (struct buf *b, const struct strv *v, size_t from)
{
  /* Go's %q of a []string: ["a" "b"] */
  buf_putc (b, '[');
  for (size_t i = from; i < v->n; i++)
    {
      if (i > from)
        buf_putc (b, ' ');
      utf8_go_quote (b, v->v[i], strlen (v->v[i]));
    }
  buf_putc (b, ']');
}

char *
config_created_by (const struct inst *in)
{
  struct buf b = BUF_INIT;
  switch (in->kind)
    {
    case I_ENV:
    case I_LABEL:
    case I_ARG:
      buf_puts (&b, inst_kind_name (in->kind));
      for (size_t k = 0; k < in->n_kvs; k++)
        {
          buf_printf (&b, " %s", in->kvs[k].key);
          if (in->kvs[k].value)
            buf_printf (&b, "=%s", in->kvs[k].value);
        }
      break;
    case I_CMD:
    case I_ENTRYPOINT:
    case I_SHELL:
      buf_printf (&b, "%s ", inst_kind_name (in->kind));
      if (in->json)
        {
          json_t *a = strv_json (&in->args, 0);
          char *s = json_dumps (a, JSON_COMPACT);
          buf_puts (&b, s);
          free (s);
          json_decref (a);
        }
      else
        buf_printf (&b, "[\"/bin/sh\" \"-c\" \"%s\"]", in->args.n ? in->args.v[0] : "");
      break;
    case I_EXPOSE:
      buf_puts (&b, "EXPOSE map[");
      {
        struct strv ports = STRV_INIT;
        for (size_t i = 0; i < in->args.n; i++)
          expose_parse (in->args.v[i], &ports);
        strv_sort (&ports);
        for (size_t i = 0; i < ports.n; i++)
          buf_printf (&b, "%s%s:{}", i ? " " : "", ports.v[i]);
        strv_free (&ports);
      }
      buf_putc (&b, ']');
      break;
    case I_VOLUME:
      buf_puts (&b, "VOLUME ");
      append_go_list (&b, &in->args, 0);
      break;
    case I_HEALTHCHECK:
      if (in->hc.none)
        buf_puts (&b, "HEALTHCHECK NONE");
      else
        {
          buf_puts (&b, "HEALTHCHECK &{");
          struct strv t = STRV_INIT;
          strv_push (&t, in->hc.shell ? "CMD-SHELL" : "CMD");
          for (size_t i = 0; i < in->hc.test.n; i++)
            strv_push (&t, in->hc.test.v[i]);
          append_go_list (&b, &t, 0);
          strv_free (&t);
          buf_printf (&b, " \"%llds\" \"%llds\" \"%llds\" \"%llds\" '\\x%02x'}",
                      (long long) (in->hc.interval_ns / 1000000000), (long long) (in->hc.timeout_ns / 1000000000),
                      (long long) (in->hc.start_period_ns / 1000000000),
                      (long long) (in->hc.start_interval_ns / 1000000000), in->hc.retries & 0xff);
        }
      break;
    case I_ONBUILD:
      buf_printf (&b, "ONBUILD %s", in->trigger);
      break;
    case I_WORKDIR:
    case I_USER:
    case I_STOPSIGNAL:
    case I_MAINTAINER:
      buf_printf (&b, "%s %s", inst_kind_name (in->kind), in->args.v[0]);
      break;
    default:
      buf_printf (&b, "%s", in->node ? in->node->original : inst_kind_name (in->kind));
      break;
    }
  return buf_steal (&b);
}
