/* frontend/inst_config.c — instructions as image config changes and history text. */
#include "frontend/inst_config.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "util/jsonutil.h"
#include "util/cleanup.h"
#include "util/utf8.h"

static void
copy_kvs (const struct inst *in, struct strv *pairs)
{
  for (size_t k = 0; k < in->n_kvs; k++)
    {
      strv_push (pairs, in->kvs[k].key);
      strv_push (pairs, in->kvs[k].value ? in->kvs[k].value : "");
    }
}

static void
copy_command (const struct inst *in, struct config_command *c)
{
  c->set = true;
  if (in->json)
    for (size_t i = 0; i < in->args.n; i++)
      strv_push (&c->argv, in->args.v[i]);
  else if (in->args.n == 0)
    c->null = true;
  else
    {
      c->shell_form = true;
      strv_push (&c->argv, in->args.v[0]);
    }
}

static void
copy_healthcheck (const struct healthcheck *hc, struct config_healthcheck *h)
{
  h->set = true;
  if (hc->none)
    strv_push (&h->test, "NONE");
  else
    {
      strv_push (&h->test, hc->shell ? "CMD-SHELL" : "CMD");
      for (size_t i = 0; i < hc->test.n; i++)
        strv_push (&h->test, hc->test.v[i]);
    }
  h->interval_ns = hc->interval_ns;
  h->timeout_ns = hc->timeout_ns;
  h->start_period_ns = hc->start_period_ns;
  h->start_interval_ns = hc->start_interval_ns;
  h->retries = hc->retries;
}

void
inst_config_delta (const struct inst *in, struct config_delta *d)
{
  memset (d, 0, sizeof *d);
  switch (in->kind)
    {
    case I_ENV: copy_kvs (in, &d->env); break;
    case I_LABEL: copy_kvs (in, &d->labels); break;
    case I_USER: d->user = xstrdup (in->args.v[0]); break;
    case I_WORKDIR: d->workdir = xstrdup (in->args.v[0]); break;
    case I_EXPOSE:
      for (size_t i = 0; i < in->args.n; i++)
        {
          _cleanup_strv_ struct strv ports = STRV_INIT;
          if (expose_parse (in->args.v[i], &ports))
            for (size_t p = 0; p < ports.n; p++)
              strv_push (&d->expose, ports.v[p]);
        }
      break;
    case I_VOLUME:
      for (size_t i = 0; i < in->args.n; i++)
        strv_push (&d->volumes, in->args.v[i]);
      break;
    case I_STOPSIGNAL: d->stopsignal = xstrdup (in->args.v[0]); break;
    case I_CMD: copy_command (in, &d->cmd); break;
    case I_ENTRYPOINT: copy_command (in, &d->entrypoint); break;
    case I_SHELL:
      for (size_t i = 0; i < in->args.n; i++)
        strv_push (&d->shell, in->args.v[i]);
      break;
    case I_HEALTHCHECK: copy_healthcheck (&in->hc, &d->healthcheck); break;
    case I_ONBUILD: strv_push (&d->onbuild, in->trigger); break;
    case I_MAINTAINER: d->author = xstrdup (in->args.v[0]); break;
    default: break;
    }
}

int
inst_config_apply (json_t *cfg, const struct inst *in, struct kiln_err *err)
{
  struct config_delta d;
  inst_config_delta (in, &d);
  int r = config_apply (cfg, &d, err);
  config_delta_free (&d);
  return r;
}

int
df_changes_parse (const struct strv *lines, const char *cmd, struct config_changes *out, struct kiln_err *err)
{
  for (size_t i = 0; lines && i < lines->n; i++)
    {
      struct df_ast *ast = df_parse ("--change", lines->v[i], strlen (lines->v[i]), err);
      if (ast == NULL)
        goto fail;
      int r = 0;
      for (size_t n = 0; n < ast->n_nodes && r == 0; n++)
        {
          struct inst *in = inst_from_node (ast, &ast->nodes[n], err);
          struct inst *ex = in ? inst_expand (ast, in, NULL, err) : NULL;
          if (ex == NULL)
            r = -1;
          else if (ex->kind == I_RUN || ex->kind == I_COPY || ex->kind == I_ADD || ex->kind == I_FROM
                   || ex->kind == I_ARG)
            r = kiln_err_set (err, KILN_EUSAGE, "--change \"%s\": %s cannot be used with %s", lines->v[i],
                              inst_kind_name (ex->kind), cmd);
          else
            {
              out->v = xrealloc (out->v, (out->n + 1) * sizeof *out->v);
              inst_config_delta (ex, &out->v[out->n++]);
            }
          inst_free (ex);
          inst_free (in);
        }
      df_ast_free (ast);
      if (r < 0)
        goto fail;
    }
  return 0;
fail:
  config_changes_free (out);
  return -1;
}

/* ---------- history ---------- */

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
inst_created_by (const struct inst *in)
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
          json_t *a = json_strings (&in->args, 0);
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
