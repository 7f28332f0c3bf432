/* container/config.c — flags and an image into config.json; config.json into a
 * sandbox spec. */
#include "container/config.h"
#include "container/logopts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/mounts.h"
#include "image/image.h"
#include "net/net.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/jsonutil.h"
#include "util/cleanup.h"
#include "util/envmap.h"
#include "util/fsutil.h"
#include "worker/overlay.h"
#include "worker/seccomp.h"

void
container_opts_clear (struct container_opts *o)
{
  strv_free (&o->env);
  strv_free (&o->cmd);
  strv_free (&o->binds);
  strv_free (&o->mounts);
  strv_free (&o->tmpfs);
  strv_free (&o->labels);
  strv_free (&o->log_opts);
  strv_free (&o->cap_add);
  strv_free (&o->cap_drop);
  strv_free (&o->security_opt);
  strv_free (&o->publish);
  strv_free (&o->expose);
  strv_free (&o->aliases);
  strv_free (&o->add_hosts);
  strv_free (&o->dns);
  strv_free (&o->dns_search);
  strv_free (&o->dns_options);
  container_resources_clear (&o->res);
}

/* docker's nil slice for an empty list. */
static json_t *
strv_json (const struct strv *v)
{
  return v->n ? json_strings (v, 0) : json_null ();
}

static void
json_strv (const json_t *a, struct strv *out)
{
  size_t i;
  json_t *v;
  json_array_foreach (a, i, v) strv_push (out, json_string_value (v) ? json_string_value (v) : "");
}

/* A capability as docker writes it: "NET_ADMIN", "CAP_NET_ADMIN", any case. */
static int
cap_bit (const char *name, int *bit, struct kiln_err *err)
{
  char full[64];
  snprintf (full, sizeof full, "%s%s", strncasecmp (name, "CAP_", 4) == 0 ? "" : "CAP_", name);
  cap_value_t v;
  if (strlen (name) > 40 || cap_from_name (full, &v) < 0 || v < 0 || v > 63)
    {
      for (char *c = full; *c; c++)
        *c = (char) toupper ((unsigned char) *c);
      return kiln_err_set (err, KILN_EUSAGE, "unknown capability: \"%s\"", full);
    }
  *bit = v;
  return 0;
}

/* --cap-add, --cap-drop and --security-opt into the spec, as docker reads them:
 * drops first (ALL: every one), then adds (ALL: every one).  A seccomp profile is
 * the profile's text (as config.json keeps it) or, given on the command line, a file. */
static int
security_into_spec (struct sandbox_spec *spec, const struct strv *add, const struct strv *drop,
                    const struct strv *opts, struct seccomp_profile **profile, struct kiln_err *err)
{
  uint64_t caps = sandbox_default_caps ();
  for (size_t i = 0; i < drop->n; i++)
    {
      int b;
      if (strcasecmp (drop->v[i], "ALL") == 0)
        caps = 0;
      else if (cap_bit (drop->v[i], &b, err) < 0)
        return kiln_err_wrap (err, "invalid --cap-drop");
      else
        caps &= ~(1ULL << b);
    }
  for (size_t i = 0; i < add->n; i++)
    {
      int b;
      if (strcasecmp (add->v[i], "ALL") == 0)
        for (int c = 0; c <= CAP_LAST_CAP; c++)
          caps |= 1ULL << c;
      else if (cap_bit (add->v[i], &b, err) < 0)
        return kiln_err_wrap (err, "invalid --cap-add");
      else
        caps |= 1ULL << b;
    }
  spec->caps_given = add->n || drop->n;
  spec->caps = caps;
  for (size_t i = 0; i < opts->n; i++)
    {
      const char *o = opts->v[i];
      const char *eq = strpbrk (o, "=:");
      size_t kl = eq ? (size_t) (eq - o) : strlen (o);
      const char *val = eq ? eq + 1 : NULL;
      if (kl == 17 && strncmp (o, "no-new-privileges", kl) == 0)
        {
          if (val && strcmp (val, "true") != 0 && strcmp (val, "false") != 0)
            return kiln_err_set (err, KILN_EUSAGE, "invalid --security-opt %s: no-new-privileges takes true or false", o);
          spec->no_new_privs = val == NULL || strcmp (val, "true") == 0;
        }
      else if (kl == 7 && strncmp (o, "seccomp", kl) == 0 && val && *val)
        {
          if (strcmp (val, "unconfined") == 0)
            spec->seccomp_unconfined = true;
          else if (strcmp (val, "builtin") != 0)
            {
              _cleanup_buf_ struct buf text = BUF_INIT;
              bool inline_text = *val == '{';
              if (inline_text)
                buf_puts (&text, val);
              else
                {
                  _cleanup_close_ int fd = open (val, O_RDONLY | O_CLOEXEC);
                  if (fd < 0)
                    return kiln_err_set (err, errno, "--security-opt seccomp=%s: %s", val, strerror (errno));
                  if (read_all (fd, 4u << 20, &text, val, err) < 0)
                    return kiln_err_wrap (err, "--security-opt seccomp");
                }
              seccomp_profile_free (*profile);
              if ((*profile = seccomp_profile_parse (buf_str (&text), text.len, err)) == NULL)
                return kiln_err_wrap (err, "--security-opt seccomp=%s", inline_text ? "PROFILE" : val);
              spec->seccomp_profile = *profile;
            }
        }
      else if (kl == 8 && strncmp (o, "apparmor", kl) == 0)
        ; /* kiln has no AppArmor profile to choose */
      else
        return kiln_err_set (err, KILN_EUSAGE, "invalid --security-opt: \"%s\"", o);
    }
  return 0;
}

/* --security-opt as config.json keeps it: a seccomp profile file becomes its text,
 * as docker's client sends it (the file may change or go before a later start). */
static int
security_opts_json (const struct strv *opts, json_t **out, struct kiln_err *err)
{
  struct strv kept = STRV_INIT;
  for (size_t i = 0; i < opts->n; i++)
    {
      const char *o = opts->v[i];
      const char *val = strncmp (o, "seccomp=", 8) == 0 || strncmp (o, "seccomp:", 8) == 0 ? o + 8 : NULL;
      if (val == NULL || *val == '{' || strcmp (val, "unconfined") == 0 || strcmp (val, "builtin") == 0)
        {
          strv_push (&kept, o);
          continue;
        }
      _cleanup_buf_ struct buf text = BUF_INIT;
      _cleanup_close_ int fd = open (val, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || read_all (fd, 4u << 20, &text, val, err) < 0)
        {
          if (fd < 0)
            kiln_err_set (err, errno, "--security-opt seccomp=%s: %s", val, strerror (errno));
          strv_free (&kept);
          return -1;
        }
      /* Compact, as docker's client keeps it. */
      json_error_t je;
      json_t *p = json_loadb (buf_str (&text), text.len, 0, &je);
      if (p == NULL)
        {
          strv_free (&kept);
          return kiln_err_set (err, KILN_EUSAGE, "--security-opt seccomp=%s: %s", val, je.text);
        }
      char *compact = json_dumps (p, JSON_COMPACT | JSON_PRESERVE_ORDER);
      json_decref (p);
      struct buf b = BUF_INIT;
      buf_printf (&b, "seccomp=%s", compact);
      free (compact);
      strv_push_owned (&kept, buf_steal (&b));
    }
  *out = strv_json (&kept);
  strv_free (&kept);
  return 0;
}

int
container_signal_parse (const char *s)
{
  if (s == NULL || *s == '\0')
    return -1;
  if (isdigit ((unsigned char) *s))
    {
      char *end;
      long v = strtol (s, &end, 10);
      return *end == '\0' && v > 0 && v < NSIG ? (int) v : -1;
    }
  const char *n = strncasecmp (s, "SIG", 3) == 0 ? s + 3 : s;
  for (int sig = 1; sig < SIGRTMIN; sig++)
    {
      const char *abbrev = sigabbrev_np (sig);
      if (abbrev && strcasecmp (abbrev, n) == 0)
        return sig;
    }
  return -1;
}

int
container_stop_signal (const json_t *config)
{
  const char *s = json_string_value (json_object_get (json_object_get (config, "Config"), "StopSignal"));
  int sig = container_signal_parse (s);
  return sig > 0 ? sig : SIGTERM;
}

int
container_stop_timeout (const json_t *config)
{
  const json_t *t = json_object_get (json_object_get (config, "Config"), "StopTimeout");
  return json_is_integer (t) ? (int) json_integer_value (t) : 10;
}

/* -h/--hostname: the UTS name (64 bytes at most, with its NUL) of an RFC 1123
 * shape, as docker's daemon asks. */
static int
hostname_check (const char *h, struct kiln_err *err)
{
  size_t n = strlen (h);
  bool ok = n > 0 && n < 64 && h[0] != '-' && h[0] != '.';
  for (size_t i = 0; ok && i < n; i++)
    ok = isalnum ((unsigned char) h[i]) || h[i] == '-' || h[i] == '.';
  if (!ok)
    return kiln_err_set (err, KILN_EUSAGE, "invalid hostname format: %s", h);
  return 0;
}

void
container_config_argv (const json_t *config, struct strv *argv)
{
  const json_t *c = json_object_get (config, "Config");
  json_strv (json_object_get (c, "Entrypoint"), argv);
  json_strv (json_object_get (c, "Cmd"), argv);
}

/* Config.Healthcheck (container/health.h) into *c, where docker's Config has it:
 * after Cmd. */
static int
config_healthcheck (json_t **c, const json_t *image_hc, const struct health_opts *o, struct kiln_err *err)
{
  json_t *hc;
  if (health_config_merge (image_hc, o, &hc, err) < 0)
    return -1;
  if (hc)
    json_object_set_new_after (*c, "Cmd", "Healthcheck", hc);
  return 0;
}

json_t *
container_config_new (const struct container_opts *o, const char *id, const struct image_info *ii,
                      struct kiln_err *err)
{
  const json_t *ic = json_object_get (ii->config, "config");
  json_t *ep, *cmd;
  if (o->entrypoint_set)
    ep = *o->entrypoint ? json_pack ("[s]", o->entrypoint) : json_null ();
  else
    ep = json_is_array (json_object_get (ic, "Entrypoint")) ? json_deep_copy (json_object_get (ic, "Entrypoint"))
                                                            : json_null ();
  /* As docker: a new ENTRYPOINT drops the image's CMD. */
  if (o->cmd.n)
    cmd = strv_json (&o->cmd);
  else if (!o->entrypoint_set && json_is_array (json_object_get (ic, "Cmd")))
    cmd = json_deep_copy (json_object_get (ic, "Cmd"));
  else
    cmd = json_null ();
  if (json_array_size (ep) + json_array_size (cmd) == 0)
    {
      json_decref (ep);
      json_decref (cmd);
      kiln_err_set (err, KILN_EUSAGE, "no command specified: the image has no ENTRYPOINT or CMD; give one");
      return NULL;
    }
  /* The image's environment, then the flags' (a later K=V replaces an earlier K). */
  _cleanup_strv_ struct strv env_in = STRV_INIT;
  json_strv (json_object_get (ic, "Env"), &env_in);
  for (size_t i = 0; i < o->env.n; i++)
    strv_push (&env_in, o->env.v[i]);
  struct envmap em = ENVMAP_INIT;
  envmap_from_strv (&em, &env_in);
  _cleanup_strv_ struct strv env = STRV_INIT;
  envmap_to_strv (&em, &env);
  envmap_free (&em);
  json_t *labels = json_is_object (json_object_get (ic, "Labels")) ? json_deep_copy (json_object_get (ic, "Labels"))
                                                                   : json_object ();
  for (size_t i = 0; i < o->labels.n; i++)
    {
      const char *eq = strchr (o->labels.v[i], '=');
      _cleanup_free_ char *k = eq ? xstrndup (o->labels.v[i], (size_t) (eq - o->labels.v[i])) : xstrdup (o->labels.v[i]);
      json_object_set_new (labels, k, json_string (eq ? eq + 1 : ""));
    }
  /* -v, --mount, --tmpfs: HostConfig's Binds, Mounts and Tmpfs, the mount points,
   * and the image's VOLUMEs with -v's anonymous ones (container/mounts.h). */
  json_t *mount_host = json_object (), *points = json_array ();
  json_t *volumes = json_is_object (json_object_get (ic, "Volumes")) ? json_deep_copy (json_object_get (ic, "Volumes"))
                                                                     : json_object ();
  if (mounts_config (&o->binds, &o->mounts, &o->tmpfs, mount_host, volumes, points, err) < 0)
    {
      json_decref (mount_host);
      json_decref (points);
      json_decref (volumes);
      json_decref (ep);
      json_decref (cmd);
      json_decref (labels);
      return NULL;
    }
  /* Capabilities and security options are checked now, not at the first start. */
  struct sandbox_spec probe = {0};
  struct seccomp_profile *profile = NULL;
  int sec = security_into_spec (&probe, &o->cap_add, &o->cap_drop, &o->security_opt, &profile, err);
  seccomp_profile_free (profile);
  json_t *secopts = NULL;
  if (sec < 0 || security_opts_json (&o->security_opt, &secopts, err) < 0)
    {
      err->code = KILN_EUSAGE; /* a flag that does not make a sandbox is bad usage */
      json_decref (mount_host);
      json_decref (points);
      json_decref (volumes);
      json_decref (ep);
      json_decref (cmd);
      json_decref (labels);
      return NULL;
    }
  const char *user = o->user ? o->user : json_string_value (json_object_get (ic, "User"));
  const char *wd = o->workdir ? o->workdir : json_string_value (json_object_get (ic, "WorkingDir"));
  char hostname[13];
  snprintf (hostname, sizeof hostname, "%.12s", id);
  if (o->hostname && hostname_check (o->hostname, err) < 0)
    {
      json_decref (ep);
      json_decref (cmd);
      json_decref (labels);
      json_decref (secopts);
      return NULL;
    }
  bool attach = !o->detach;
  json_t *c = json_pack ("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:s, s:o, s:s, s:o, s:n, s:o}",
                         "Hostname", o->hostname ? o->hostname : hostname, "Domainname", "", "User", user ? user : "", "AttachStdin",
                         attach && o->interactive, "AttachStdout", attach, "AttachStderr", attach, "Tty", o->tty,
                         "OpenStdin", o->interactive, "StdinOnce", attach && o->interactive, "Env", strv_json (&env),
                         "Cmd", cmd, "Image", o->image_ref, "Volumes", json_object_size (volumes) ? json_incref (volumes) : json_null (), "WorkingDir", wd ? wd : "", "Entrypoint", ep,
                         "OnBuild", "Labels", labels);
  if (config_healthcheck (&c, json_object_get (ic, "Healthcheck"), &o->health, err) < 0)
    {
      json_decref (c);
      json_decref (secopts);
      json_decref (mount_host);
      json_decref (points);
      json_decref (volumes);
      return NULL;
    }
  const char *stop = o->stop_signal ? o->stop_signal : json_string_value (json_object_get (ic, "StopSignal"));
  if (stop)
    json_object_set_new (c, "StopSignal", json_string (stop));
  if (o->stop_timeout_set)
    json_object_set_new (c, "StopTimeout", json_integer (o->stop_timeout));
  json_decref (volumes);
  json_t *h = json_pack ("{s:o, s:s, s:b, s:o, s:o, s:b, s:b, s:o, s:s}", "Binds", json_incref (json_object_get (mount_host, "Binds")),
                         "NetworkMode", o->network ? o->network : "default", "AutoRemove", o->auto_remove, "CapAdd",
                         strv_json (&o->cap_add), "CapDrop", strv_json (&o->cap_drop), "Privileged", o->privileged,
                         "ReadonlyRootfs", o->readonly, "SecurityOpt", secopts, "Runtime",
                         o->runtime ? o->runtime : "kiln");
  json_object_set_new (h, "RestartPolicy", restart_policy_json (&o->restart));
  if (o->init)
    json_object_set_new (h, "Init", json_true ());
  if (o->console_rows)
    json_object_set_new (h, "ConsoleSize", json_pack ("[i, i]", o->console_rows, o->console_cols));
  if (o->log_opts.n)
    json_object_set_new (h, "LogConfig", log_opts_config (&o->log_opts));
  json_object_update_missing (h, mount_host);
  json_decref (mount_host);
  if (container_resources_host_config (&o->res, h, err) < 0)
    {
      json_decref (c);
      json_decref (h);
      json_decref (points);
      return NULL;
    }
  json_t *top = json_pack ("{s:s, s:o, s:o, s:o}", "Image", ii->id.str, "Config", c, "HostConfig", h, "MountPoints", points);
  if (net_config_into (o, ic, top, err) < 0)
    {
      json_decref (top);
      return NULL;
    }
  return top;
}

void
container_spec_clear (struct container_spec *cs)
{
  sandbox_spec_clear (&cs->sb);
  seccomp_profile_free (cs->profile);
  container_sandbox_extras_clear (&cs->extras);
  json_decref (cs->config);
  free (cs->upper);
  free (cs->work);
  free (cs->merged);
  free (cs->root);
  memset (cs, 0, sizeof *cs);
}

int
container_image_lowers (struct kiln_store *st, const char *image_id, struct strv *lowers, struct kiln_err *err)
{
  struct digest id;
  struct image_info ii = {0};
  if (digest_parse (image_id, &id, err) < 0 || image_load (st, &id, &ii, err) < 0)
    return -1;
  _cleanup_free_ struct digest *diff_ids = xcalloc (ii.n_layers ? ii.n_layers : 1, sizeof *diff_ids);
  for (size_t k = 0; k < ii.n_layers; k++)
    diff_ids[k] = ii.layers[k].diff_id;
  int ret = overlay_lowers (st, diff_ids, ii.n_layers, NULL, lowers, err);
  image_info_clear (&ii);
  return ret < 0 ? kiln_err_wrap (err, "image %s", image_id) : 0;
}

static int
mkdir_scratch (char *path, mode_t mode, struct kiln_err *err)
{
  if (mkdir (path, mode) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  return 0;
}

int
container_process_spec (const json_t *config, struct sandbox_spec *sb, struct seccomp_profile **profile,
                        struct kiln_err *err)
{
  const json_t *c = json_object_get (config, "Config");
  const json_t *h = json_object_get (config, "HostConfig");
  json_strv (json_object_get (c, "Env"), &sb->env);
  _cleanup_strv_ struct strv add = STRV_INIT, drop = STRV_INIT, opts = STRV_INIT;
  json_strv (json_object_get (h, "CapAdd"), &add);
  json_strv (json_object_get (h, "CapDrop"), &drop);
  json_strv (json_object_get (h, "SecurityOpt"), &opts);
  sb->privileged = json_is_true (json_object_get (h, "Privileged"));
  if (security_into_spec (sb, &add, &drop, &opts, profile, err) < 0)
    return -1;
  const char *user = json_string_value (json_object_get (c, "User"));
  const char *wd = json_string_value (json_object_get (c, "WorkingDir"));
  sb->user = user ? user : "";
  sb->cwd = wd && *wd ? wd : "/";
  sb->hostname = json_string_value (json_object_get (c, "Hostname"));
  return 0;
}

int
container_spec_build (struct kiln_store *st, const char *id, const char *image_id, json_t *config,
                      struct container_spec *cs, struct kiln_err *err)
{
  memset (cs, 0, sizeof *cs);
  cs->config = json_incref (config);
  struct sandbox_spec *sb = &cs->sb;
  sb->stdin_fd = sb->stdout_fd = sb->stderr_fd = -1;
  sb->netns_fd = -1;
  cs->root = xstrdup (store_root (st));
  sb->store_root = cs->root;
  const json_t *h = json_object_get (config, "HostConfig");
  if (container_image_lowers (st, image_id, &sb->lowers, err) < 0)
    return -1;
  container_config_argv (config, &sb->argv);
  if (sb->argv.n == 0)
    return kiln_err_set (err, KILN_EUSAGE, "no command specified: the image has no ENTRYPOINT or CMD; give one");
  if (container_process_spec (config, sb, &cs->profile, err) < 0)
    return -1;
  if (mounts_into_spec (config, store_root (st), id, sb, err) < 0
      || container_resources_spec (h, sb, &cs->extras, err) < 0)
    return -1;
  /* The overlay is mounted `volatile`, which leaves a mark in its work dir that
   * refuses a second mount: every start gets a new work dir (the upper, the
   * container's changes, stays). */
  _cleanup_buf_ struct buf work_rel = BUF_INIT;
  buf_printf (&work_rel, "containers/%s/work", id);
  if (store_remove_tree (store_root_fd (st), buf_str (&work_rel), err) < 0)
    return -1;
  cs->upper = container_path (store_root (st), id, "upper");
  cs->work = container_path (store_root (st), id, "work");
  cs->merged = container_path (store_root (st), id, "merged");
  if (mkdir_scratch (cs->upper, 0755, err) < 0 || mkdir_scratch (cs->work, 0700, err) < 0
      || mkdir_scratch (cs->merged, 0755, err) < 0)
    return -1;
  sb->upper = cs->upper;
  sb->work = cs->work;
  sb->merged = cs->merged;
  sb->readonly_root = json_is_true (json_object_get (h, "ReadonlyRootfs"));
  enum sandbox_net net = SANDBOX_NET_DEFAULT;
  const char *mode = json_string_value (json_object_get (h, "NetworkMode"));
  /* A kiln network (the default one as root, a network's name): the monitor
   * makes the namespace (net/net.h) and the sandbox joins it. */
  bool bridged = net_mode_attaches (mode);
  if (!bridged && mode && sandbox_net_parse (mode, &net) < 0)
    return kiln_err_set (err, KILN_EUSAGE, "--network must be default, none or host");
  sb->network = net == SANDBOX_NET_DEFAULT && !bridged && !sandbox_have_slirp () ? SANDBOX_NET_NONE : net;
  const char *rt = json_string_value (json_object_get (h, "Runtime"));
  sb->runtime = rt && *rt && strcmp (rt, "kiln") != 0 ? rt : NULL;
  const json_t *size = json_object_get (h, "ConsoleSize");
  json_int_t rows = json_integer_value (json_array_get (size, 0)), cols = json_integer_value (json_array_get (size, 1));
  if (rows > 0 && rows < 65536 && cols > 0 && cols < 65536)
    sb->pty_rows = (unsigned short) rows, sb->pty_cols = (unsigned short) cols;
  sb->forward_signals = true;
  sb->init = true;
  sb->pipe_stdio = true;
  return 0;
}
