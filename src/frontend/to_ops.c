/* frontend/to_ops.c — RUN and COPY/ADD as graph ops (frontend/to_ops.h). */
#include "frontend/to_ops.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "frontend/shell.h"
#include "image/config.h"
#include "util/cleanup.h"
#include "util/envmap.h"
#include "util/path.h"
#include "util/utf8.h"

const char *
inst_as_written (const struct inst *in)
{
  const char *t = in->node->original;
  return t + utf8_space_prefix (t, strlen (t));
}

/* cmd after the image's SHELL (BuildKit's default: /bin/sh -c). */
static void
shell_join (const json_t *cfg, const char *cmd, struct strv *argv)
{
  json_t *shell = json_object_get (json_object_get (cfg, "config"), "Shell");
  if (json_is_array (shell) && json_array_size (shell))
    {
      size_t i;
      json_t *v;
      json_array_foreach (shell, i, v) strv_push (argv, json_string_value (v) ? json_string_value (v) : "");
    }
  else
    {
      strv_push (argv, "/bin/sh");
      strv_push (argv, "-c");
    }
  strv_push (argv, cmd);
}

/* RUN's argv: exec form as is; shell form and heredocs through the SHELL.  A `#!`
 * heredoc is run as a file by its interpreter, as BuildKit does (op->script). */
static void
run_argv (const struct op_convert *c, const struct inst *in, struct exec_op *op)
{
  if (in->json)
    {
      for (size_t i = 0; i < in->args.n; i++)
        strv_push (&op->argv, in->args.v[i]);
      return;
    }
  const struct df_node *n = in->node;
  const char *cmd = in->args.v[0];
  if (n->n_heredocs == 1 && strncmp (cmd, "<<", 2) == 0 && strchr (cmd, ' ') == NULL)
    {
      /* RUN <<EOF: the body is the script. */
      _cleanup_free_ char *body = n->heredocs[0].chomp ? df_heredoc_chomp (n->heredocs[0].content)
                                                      : xstrdup (n->heredocs[0].content);
      if (strncmp (body, "#!", 2) == 0)
        {
          /* The kernel runs it through its interpreter, from BuildKit's path. */
          _cleanup_buf_ struct buf path = BUF_INIT;
          buf_printf (&path, "/dev/pipes/%s", n->heredocs[0].name);
          shell_join (c->config, buf_str (&path), &op->argv);
          op->script = steal_pointer (&body);
        }
      else
        shell_join (c->config, body, &op->argv);
    }
  else if (n->n_heredocs)
    {
      _cleanup_buf_ struct buf script = BUF_INIT;
      buf_printf (&script, "%s\n", cmd);
      for (size_t h = 0; h < n->n_heredocs; h++)
        buf_printf (&script, "%s%s\n", n->heredocs[h].content, n->heredocs[h].name);
      shell_join (c->config, buf_str (&script), &op->argv);
    }
  else
    shell_join (c->config, cmd, &op->argv);
}

/* RUN's environment: the image's, then the declared build args ENV does not
 * override (both in the key), then the proxy args, undeclared, in both spellings
 * (a given spelling wins), kept out of the key. */
static void
run_env (const struct op_convert *c, struct exec_op *op)
{
  struct envmap seen = ENVMAP_INIT;
  size_t i;
  json_t *v;
  json_array_foreach (config_env (c->config), i, v)
  {
    const char *s = json_string_value (v);
    if (!s)
      continue;
    strv_push (&op->env, s);
    strv_push (&op->key_env, s);
    const char *eq = strchr (s, '=');
    envmap_setn (&seen, s, eq ? (size_t) (eq - s) : strlen (s), "");
  }
  for (size_t k = 0; k < c->ss->args.n; k++)
    if (!envmap_get (&seen, c->ss->args.keys[k], strlen (c->ss->args.keys[k])))
      {
        struct buf e = BUF_INIT;
        buf_printf (&e, "%s=%s", c->ss->args.keys[k], c->ss->args.values[k]);
        strv_push (&op->key_env, buf_str (&e));
        strv_push_owned (&op->env, buf_steal (&e));
        envmap_set (&seen, c->ss->args.keys[k], "");
      }
  for (int pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < c->m->build_args.n; k++)
      {
        const char *name = c->m->build_args.keys[k];
        if (!is_predefined_arg (name))
          continue;
        char alt[32];
        snprintf (alt, sizeof alt, "%s", name);
        for (char *c = alt; *c; c++)
          *c = (char) (islower ((unsigned char) name[0]) ? toupper ((unsigned char) *c) : tolower ((unsigned char) *c));
        const char *key = pass == 0 ? name : alt;
        if (pass == 1 && envmap_get (&c->m->build_args, alt, strlen (alt)))
          continue;
        if (envmap_get (&seen, key, strlen (key)))
          continue;
        envmap_set (&seen, key, "");
        struct buf e = BUF_INIT;
        buf_printf (&e, "%s=%s", key, c->m->build_args.values[k]);
        strv_push_owned (&op->env, buf_steal (&e));
      }
  envmap_free (&seen);
}

/* The frontend's mount types and sharing modes are the op's, number for number
 * (the numbers are in cache keys). */
_Static_assert (MOUNT_BIND == (int) OP_MOUNT_BIND && MOUNT_CACHE == (int) OP_MOUNT_CACHE
                    && MOUNT_TMPFS == (int) OP_MOUNT_TMPFS && MOUNT_SECRET == (int) OP_MOUNT_SECRET
                    && MOUNT_SSH == (int) OP_MOUNT_SSH,
                "mount types");
_Static_assert (SHARING_SHARED == (int) OP_SHARING_SHARED && SHARING_PRIVATE == (int) OP_SHARING_PRIVATE
                    && SHARING_LOCKED == (int) OP_SHARING_LOCKED,
                "sharing modes");

static char *
dup_or_null (const char *s)
{
  return s ? xstrdup (s) : NULL;
}

/* RUN --mount flags as op mounts: targets made absolute in cwd, from= resolved. */
static int
run_mounts (const struct op_convert *c, const char *cwd, const struct inst *in, struct exec_op *op)
{
  op->mounts = xcalloc (in->n_mounts + 1, sizeof *op->mounts);
  for (size_t k = 0; k < in->n_mounts; k++)
    {
      const struct run_mount *rm = &in->mounts[k];
      struct op_mount *m = &op->mounts[op->n_mounts++];
      m->type = (enum op_mount_type) rm->type;
      if (rm->target)
        {
          _cleanup_buf_ struct buf t = BUF_INIT;
          if (rm->target[0] == '/')
            buf_puts (&t, rm->target);
          else
            buf_printf (&t, "%s/%s", cwd, rm->target);
          m->target = path_clean (buf_str (&t));
        }
      m->source = dup_or_null (rm->source);
      m->id = dup_or_null (rm->id);
      m->env = dup_or_null (rm->env);
      m->readonly = rm->readonly;
      m->required = rm->required;
      m->sharing = (enum op_sharing) rm->sharing;
      m->mode = rm->mode;
      m->uid = rm->uid;
      m->gid = rm->gid;
      m->size = rm->size;
      /* from= names a root for binds and caches only (other types never have it). */
      if (rm->from && (rm->type == MOUNT_BIND || rm->type == MOUNT_CACHE))
        {
          m->from = op_input_new (rm->from);
          if (c->resolve (c->ud, in, m->from) < 0)
            return -1;
        }
    }
  return 0;
}

/* RUN as an exec op: its command, environment, user, directory and mounts. */
int
inst_to_exec_op (const struct op_convert *c, const struct inst *in, struct exec_op *op)
{
  run_argv (c, in, op);
  run_env (c, op);
  op->user = config_user (c->config);
  op->cwd = config_workdir (c->config);
  op->network = in->network == NULL                 ? OP_NET_INHERIT
                : strcmp (in->network, "none") == 0 ? OP_NET_NONE
                : strcmp (in->network, "host") == 0 ? OP_NET_HOST
                                                     : OP_NET_DEFAULT;
  op->security = dup_or_null (in->security);
  struct buf cb = BUF_INIT;
  if (in->json)
    buf_printf (&cb, "RUN %s # buildkit", inst_as_written (in) + 3);
  else
    {
      buf_puts (&cb, "RUN");
      for (size_t k = 0; k < op->argv.n; k++)
        buf_printf (&cb, " %s", op->argv.v[k]);
      buf_puts (&cb, " # buildkit");
    }
  op->created_by = buf_steal (&cb);
  if (c->allowed && c->allowed (c->ud, op) < 0)
    return -1;
  return run_mounts (c, op->cwd, in, op);
}

/* COPY/ADD's destination: absolute in the image, clean, its trailing '/' kept. */
static char *
copy_dest (const char *cwd, const char *dest_raw)
{
  _cleanup_buf_ struct buf dest = BUF_INIT;
  if (dest_raw[0] == '/')
    buf_puts (&dest, dest_raw);
  else if (*dest_raw == '\0')
    buf_printf (&dest, "%s/", cwd);
  else
    buf_printf (&dest, "%s%s%s", cwd, cwd[strlen (cwd) - 1] == '/' ? "" : "/", dest_raw);
  size_t dl = strlen (dest_raw);
  bool slash = dl && (dest_raw[dl - 1] == '/' || (dl >= 2 && strcmp (dest_raw + dl - 2, "/.") == 0) || strcmp (dest_raw, ".") == 0);
  char *clean = path_clean (buf_str (&dest));
  if ((slash || *dest_raw == '\0') && strcmp (clean, "/") != 0)
    {
      buf_reset (&dest);
      buf_printf (&dest, "%s/", clean);
      free (clean);
      return buf_steal (&dest);
    }
  return clean;
}

/* COPY/ADD's sources in order: heredoc words name the heredocs in order (their
 * bodies expanded when the delimiter is unquoted), URLs (ADD), paths. */
static int
copy_sources (const struct op_convert *c, const struct inst *in, struct file_op *op)
{
  op->srcs = xcalloc (in->args.n, sizeof *op->srcs);
  size_t next_hd = 0;
  for (size_t k = 0; k + 1 < in->args.n; k++)
    {
      const char *s = in->args.v[k];
      struct file_src *fs = &op->srcs[op->n_srcs++];
      fs->name = xstrdup (s);
      fs->kind = FILE_SRC_PATH;
      if (next_hd < in->node->n_heredocs && strncmp (s, "<<", 2) == 0)
        {
          const struct df_heredoc *hd = &in->node->heredocs[next_hd++];
          _cleanup_free_ char *body = hd->chomp ? df_heredoc_chomp (hd->content) : xstrdup (hd->content);
          fs->kind = FILE_SRC_HEREDOC;
          free (fs->name);
          fs->name = xstrdup (hd->name);
          if (!hd->expand)
            fs->body = steal_pointer (&body);
          else
            {
              struct shell_opts so = {.escape = c->escape, .skip_process_quotes = true, .raw_escapes = true};
              struct shell_env env = {&c->ss->env, &c->ss->args};
              if (shell_expand (&so, body, strlen (body), &env, &fs->body, NULL, c->err) < 0)
                return -1;
            }
        }
      else if (in->kind == I_ADD && (strncmp (s, "http://", 7) == 0 || strncmp (s, "https://", 8) == 0))
        fs->kind = FILE_SRC_URL;
    }
  return 0;
}

/* COPY/ADD as a file op: expanded, its --from resolved. */
int
inst_to_file_op (const struct op_convert *c, const struct inst *in, struct file_op *op)
{
  _cleanup_free_ char *cwd = config_workdir (c->config);
  op->add = in->kind == I_ADD;
  op->dest = copy_dest (cwd, in->args.v[in->args.n - 1]);
  op->chown = in->chown ? xstrdup (in->chown) : NULL;
  op->chmod = in->chmod ? xstrdup (in->chmod) : NULL;
  op->link = in->link;
  op->parents = in->parents;
  op->checksum = in->checksum ? xstrdup (in->checksum) : NULL;
  for (size_t k = 0; k < in->excludes.n; k++)
    strv_push (&op->excludes, in->excludes.v[k]);
  struct buf cb = BUF_INIT;
  buf_printf (&cb, "%s ", inst_kind_name (in->kind));
  if (in->from)
    buf_printf (&cb, "--from=%s ", in->from);
  for (size_t k = 0; k < in->args.n; k++)
    buf_printf (&cb, "%s%s", k ? " " : "", in->args.v[k]);
  buf_puts (&cb, " # buildkit");
  op->created_by = buf_steal (&cb);
  if (copy_sources (c, in, op) < 0)
    return -1;
  if (in->from)
    {
      op->from = op_input_new (in->from);
      if (c->resolve (c->ud, in, op->from) < 0)
        return -1;
    }
  return 0;
}

