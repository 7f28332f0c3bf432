/* solver/exec_op.c — an exec op (graph/ops.h) as a build step: its mounts made
 * (binds of the context or another root, cache directories and their locks,
 * secrets, the SSH agent, tmpfs), its key, and on a miss the process run in the
 * sandbox (worker/sandbox.h) on the stage's root, its upper committed. */
#include "solver/op_solve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net.h"
#include "solver/builder.h"
#include "util/cleanup.h"
#include "util/envmap.h"
#include "worker/fileop.h"
#include "worker/sandbox.h"

/* A new cache mount's directory: empty, with the mount's owner and mode. */
static int
cache_make (struct builder *b, const struct op_mount *rm, const char *dir)
{
  if (mkdir (dir, 0755) < 0)
    return errno == EEXIST ? 0 : kiln_err_set (b->err, errno, "cache mount %s: %s", dir, strerror (errno));
  if ((rm->uid >= 0 || rm->gid >= 0)
      && chown (dir, rm->uid >= 0 ? (uid_t) rm->uid : 0, rm->gid >= 0 ? (gid_t) rm->gid : 0) < 0)
    return kiln_err_set (b->err, errno, "cache mount %s: chown: %s", rm->target, strerror (errno));
  if (rm->mode >= 0 && chmod (dir, (mode_t) rm->mode) < 0)
    return kiln_err_set (b->err, errno, "cache mount %s: chmod: %s", rm->target, strerror (errno));
  return 0;
}

/* A new cache mount with from=: a copy of that stage's (or image's) `source`
 * directory, made aside and renamed into place (BuildKit bases the cache on it). */
static int
cache_seed (struct builder *b, const struct strv *lowers, const char *source, const char *dir)
{
  struct stat st;
  if (stat (dir, &st) == 0)
    return 0;
  struct step_dirs sd;
  if (step_begin (b, &sd) < 0)
    return -1;
  struct fileop op = {.kind = FOP_COPY, .context_fd = -1};
  for (size_t i = 0; i < lowers->n; i++)
    strv_push (&op.src_lowers, lowers->v[i]);
  strv_push (&op.sources, source ? source : "/");
  op.store_root = store_root (b->st);
  op.upper = sd.upper;
  op.work = sd.work;
  op.merged = sd.merged;
  op.merged_src = sd.merged_src;
  op.dest = "/";
  int r = fileop_run (&op, b->err);
  fileop_clear (&op);
  /* Another build may have made it meanwhile: theirs is as good. */
  if (r == 0 && rename (sd.upper, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)
    r = kiln_err_set (b->err, errno, "cache mount from %s: %s", source ? source : "/", strerror (errno));
  snapshot_abort (&sd.sn);
  return r;
}

/* BuildKit's MaxSecretSize. */
#define SECRET_MAX (500u * 1024)

/* RUN --mount=type=secret: the secret's bytes in a file the sandbox makes, and/or
 * an environment variable.  1: a mount to make; 0: none (not given and not
 * required, or env only); -1: error. */
static int
secret_mount (struct builder *b, const struct op_mount *rm, struct sandbox_mount *sm, struct strv *env, json_t *jk)
{
  const char *srcf = b->rq->secrets_src ? envmap_get (b->rq->secrets_src, rm->id, strlen (rm->id)) : NULL;
  const char *envv = b->rq->secrets_env ? envmap_get (b->rq->secrets_env, rm->id, strlen (rm->id)) : NULL;
  json_object_set_new (jk, "secret", json_string (rm->id));
  if (srcf == NULL && envv == NULL)
    {
      if (rm->required)
        return kiln_err_set (b->err, ENOENT, "secret \"%s\" is required but was not given (--secret id=%s,...)",
                             rm->id, rm->id);
      return 0;
    }
  /* The secret's bytes go to a private file bound read-only; never to a layer or a key. */
  _cleanup_buf_ struct buf val = BUF_INIT;
  if (srcf)
    {
      int fd = open (srcf, O_RDONLY | O_CLOEXEC);
      char chunk[4096];
      ssize_t n;
      while (fd >= 0 && (n = read (fd, chunk, sizeof chunk)) > 0 && val.len <= SECRET_MAX)
        buf_append (&val, chunk, (size_t) n);
      if (fd < 0)
        return kiln_err_set (b->err, errno, "secret %s: %s: %s", rm->id, srcf, strerror (errno));
      close (fd);
    }
  else
    buf_puts (&val, envv);
  /* Never cut short without a word: a truncated key fails far from here. */
  if (val.len > SECRET_MAX)
    return kiln_err_set (b->err, EFBIG, "secret %s is larger than %u KiB, BuildKit's limit", rm->id,
                         SECRET_MAX / 1024);
  if (rm->env)
    {
      struct buf e = BUF_INIT;
      buf_printf (&e, "%s=%s", rm->env, buf_str (&val));
      strv_push_owned (env, buf_steal (&e));
    }
  if (rm->target == NULL)
    return 0;
  /* Made by the sandbox in its own tmpfs: no host file to race for or to
   * leave behind. */
  sm->type = SMOUNT_FILE;
  sm->content_len = val.len;
  sm->content = buf_steal (&val);
  sm->mode = rm->mode >= 0 ? rm->mode : 0400;
  sm->uid = rm->uid >= 0 ? (uid_t) rm->uid : 0;
  sm->gid = rm->gid >= 0 ? (gid_t) rm->gid : 0;
  sm->readonly = true;
  return 1;
}

/* RUN --mount=type=ssh: the --ssh agent's socket bound at the target, and
 * SSH_AUTH_SOCK naming the first such mount.  Without an agent for the id an
 * optional mount is left out (2) and a required one fails, as BuildKit's. */
static int
ssh_mount (struct builder *b, const struct op_mount *rm, struct sandbox_mount *sm, struct strv *env, json_t *jk)
{
  const char *sock = b->rq->ssh_agents ? envmap_get (b->rq->ssh_agents, rm->id, strlen (rm->id)) : NULL;
  if (sock == NULL && rm->required)
    return kiln_err_set (b->err, ENOENT, "no SSH key \"%s\" forwarded from the client", rm->id);
  if (sock == NULL)
    return 2;
  json_object_set_new (jk, "ssh", json_string (rm->id));
  const char *slash = strrchr (sock, '/');
  sm->type = SMOUNT_BIND;
  sm->source = slash && slash != sock ? xstrndup (sock, (size_t) (slash - sock)) : xstrdup (slash ? "/" : ".");
  sm->subpath = xstrdup (slash ? slash + 1 : sock);
  sm->display = xstrdup (rm->id);
  sm->what = xstrdup ("the SSH agent");
  for (size_t i = 0; i < env->n; i++)
    if (strncmp (env->v[i], "SSH_AUTH_SOCK=", 14) == 0)
      return 1;
  struct buf e = BUF_INIT;
  buf_printf (&e, "SSH_AUTH_SOCK=%s", rm->target ? rm->target : "/run/buildkit/ssh_agent.0");
  strv_push_owned (env, buf_steal (&e));
  return 1;
}

/* The context binds of a step that .dockerignore filters (ctxhash.c's views),
 * made only when the step runs. */
struct step_views
{
  bool *of; /* by mount index */
  struct step_dirs *dirs;
  size_t n;
};

static int
views_make (struct builder *b, struct sandbox_spec *spec, struct step_views *v)
{
  for (size_t k = 0; k < spec->n_mounts; k++)
    {
      struct sandbox_mount *sm = &spec->mounts[k];
      if (!v->of[k])
        continue;
      if (context_view (b, sm->subpath, &v->dirs[v->n]) < 0)
        return -1;
      free (sm->source);
      sm->source = xstrdup (v->dirs[v->n++].upper);
      sm->source_is_fd = false;
    }
  return 0;
}

static void
views_clear (struct step_views *v)
{
  for (size_t k = 0; k < v->n; k++)
    snapshot_abort (&v->dirs[k].sn);
  free (v->dirs);
  free (v->of);
}

/* Is fd's directory one of the `n` this step has locked already? */
static bool
locked_already (const int *fds, size_t n, int fd)
{
  struct stat a, b;
  if (fstat (fd, &a) < 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (fstat (fds[i], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
      return true;
  return false;
}

/* Locks a cache mount's directory for the step (waiting, or not), its fd kept in
 * fds: 1 held, 0 held by another, -1 cannot open (then it is not locked). A second
 * locked mount of the same cache in one step shares the lock the first took: a
 * second flock would wait for itself. */
static int
cache_lock (const char *dir, bool wait, int *fds, size_t *n)
{
  int lf = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lf < 0)
    return -1;
  if (wait && locked_already (fds, *n, lf))
    {
      close (lf);
      return 1;
    }
  if (flock (lf, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0)
    {
      close (lf);
      return 0;
    }
  fds[(*n)++] = lf;
  return 1;
}


/* An exec op while it runs: the sandbox's spec, the key's material, what the
 * step holds until it ends. */
struct exec_run
{
  struct sandbox_spec spec;
  enum sandbox_net net;
  json_t *km;
  json_t *jm;              /* km's "mounts" */
  struct buf hosts_more;   /* --add-host lines */
  struct strv mountpoints; /* removed from the upper when the image lacks them */
  int lock_fds[16];
  size_t n_locks;
  struct step_views views;
};

/* Relaxing the sandbox from a Dockerfile takes the caller's word (BuildKit's
 * entitlements); `kiln build --network host` is that word for every step. */
int
exec_allowed (struct builder *b, const struct exec_op *op)
{
  if (op->network == OP_NET_HOST && b->rq->network != SANDBOX_NET_HOST && !b->rq->allow_network_host)
    return kiln_err_set (b->err, EPERM, "RUN --network=host: entitlement network.host is not allowed "
                                        "(kiln build --allow network.host)");
  if (op->security && strcmp (op->security, "insecure") == 0 && !b->rq->allow_insecure)
    return kiln_err_set (b->err, EPERM, "RUN --security=insecure: entitlement security.insecure is not allowed "
                                        "(kiln build --allow security.insecure)");
  return 0;
}

static enum sandbox_net
exec_network (struct builder *b, const struct exec_op *op)
{
  enum sandbox_net net = op->network == OP_NET_INHERIT ? b->rq->network
                         : op->network == OP_NET_NONE  ? SANDBOX_NET_NONE
                         : op->network == OP_NET_HOST  ? SANDBOX_NET_HOST
                                                       : SANDBOX_NET_DEFAULT;
  if (net == SANDBOX_NET_DEFAULT && !sandbox_have_slirp ())
    {
      /* Never the host's network unasked: without slirp4netns a step has none. */
      if (!b->net_warned)
        say (b, "note: slirp4netns is not installed: RUN steps have no network\n");
      b->net_warned = true;
      net = SANDBOX_NET_NONE;
    }
  return net;
}

/* The cache key: everything that decides what the step does (its mounts apart). */
static void
exec_key (struct builder *b, const struct exec_op *op, struct exec_run *er)
{
  json_t *km = json_pack ("{s:s, s:o, s:o, s:s, s:s, s:i, s:s}", "op", "run", "argv", json_array (), "env",
                          json_array (), "user", op->user, "cwd", op->cwd, "net", (int) er->net, "security",
                          op->security ? op->security : "");
  er->km = km;
  for (size_t k = 0; k < op->argv.n; k++)
    json_array_append_new (json_object_get (km, "argv"), json_string (op->argv.v[k]));
  /* --add-host: in the key when given (as BuildKit's ExtraHosts), so earlier keys
   * stay.  host-gateway is the host as the step's network reaches it: its own
   * 127.0.0.1 on the host's network, else the address its default route leaves
   * from (slirp4netns keeps the host's loopback out). */
  char host_gw[16] = "127.0.0.1";
  if (b->rq->add_hosts.n && er->net != SANDBOX_NET_HOST)
    net_host_address (host_gw, "10.0.2.2");
  for (size_t k = 0; k < b->rq->add_hosts.n; k++)
    net_add_host_line (&er->hosts_more, b->rq->add_hosts.v[k], host_gw);
  if (er->hosts_more.len)
    json_object_set_new (km, "hosts", json_string (buf_str (&er->hosts_more)));
  for (size_t k = 0; k < op->key_env.n; k++)
    json_array_append_new (json_object_get (km, "env"), json_string (op->key_env.v[k]));
  er->jm = json_array ();
  json_object_set_new (km, "mounts", er->jm);
  /* In the key only when asked for, as BuildKit's exec meta: earlier keys stay. */
  er->spec.shm_size = b->rq->shm_size;
  if (er->spec.shm_size)
    json_object_set_new (km, "shm", json_integer ((json_int_t) er->spec.shm_size));
  for (size_t k = 0; k < b->rq->n_rlimits; k++)
    {
      const struct sandbox_rlimit *rl = &b->rq->rlimits[k];
      er->spec.rlimits[er->spec.n_rlimits++] = *rl;
      if (json_object_get (km, "ulimit") == NULL)
        json_object_set_new (km, "ulimit", json_array ());
      json_array_append_new (json_object_get (km, "ulimit"),
                             json_pack ("[i, I, I]", rl->resource, (json_int_t) rl->soft, (json_int_t) rl->hard));
    }
}

/* A bind of another root (read-only overlay of its layers) or of the context. */
static int
mount_bind (struct builder *b, const struct op_mount *m, struct sandbox_mount *sm, json_t *jk, bool *view)
{
  if (m->from)
    {
      struct buf src = BUF_INIT;
      for (size_t l = 0; l < m->from->lowers.n; l++)
        buf_printf (&src, "%s%s", l ? ":" : "", m->from->lowers.v[l]);
      sm->type = SMOUNT_OVERLAY_RO;
      sm->source = buf_steal (&src);
      /* Resolved inside the stage's or image's root by the sandbox. */
      sm->subpath = xstrdup (m->source ? m->source : "/");
      sm->display = xstrdup (m->source ? m->source : "/");
      struct buf what = BUF_INIT;
      buf_printf (&what, "\"%s\"", m->from->ref);
      sm->what = buf_steal (&what);
      json_object_set_new (jk, "from", json_string (m->from->key));
    }
  else
    {
      if (b->ctx_fd < 0)
        return kiln_err_set (b->err, EINVAL, "RUN --mount=type=bind needs a build context");
      /* The context is the root the source is resolved in (by the
       * sandbox, from a descriptor): a link in it cannot lead out. */
      sm->type = SMOUNT_BIND;
      sm->source = xstrdup (b->ctx_path);
      sm->source_is_fd = true; /* the context opened once: its path could be swapped */
      sm->source_fd = b->ctx_fd;
      sm->subpath = xstrdup (m->source ? m->source : "/");
      sm->display = xstrdup (m->source ? m->source : ".");
      sm->what = xstrdup ("the build context");
      *view = context_view_needed (b);
      struct hasher *h = hasher_new ();
      struct strv one = STRV_INIT;
      strv_push (&one, m->source ? m->source : ".");
      int hr = hash_context_sources (b, &one, NULL, h, false);
      strv_free (&one);
      struct digest cd;
      hasher_final (h, &cd);
      hasher_free (h);
      if (hr < 0)
        return -1;
      json_object_set_new (jk, "context", json_string (cd.str));
    }
  /* BuildKit's rw binds write to a throwaway layer. */
  sm->readonly = m->readonly;
  sm->scratch = true;
  return 0;
}

/* Cache mounts live in the store, keyed by id, and survive --no-cache; one based
 * on another root (from=) is keyed by that root too, as BuildKit's. */
static int
mount_cache (struct builder *b, const struct op_mount *m, struct sandbox_mount *sm, json_t *jk, struct exec_run *er)
{
  const char *fkey = m->from ? m->from->key : "";
  _cleanup_buf_ struct buf idk = BUF_INIT;
  buf_puts (&idk, m->id);
  if (m->from)
    buf_printf (&idk, "%c%s%c%s", 0, fkey, 0, m->source ? m->source : "/");
  struct digest cid;
  digest_bytes (idk.data, idk.len, &cid);
  _cleanup_buf_ struct buf dir = BUF_INIT;
  buf_printf (&dir, "%s/cache", store_root (b->st));
  mkdir (buf_str (&dir), 0700);
  buf_printf (&dir, "/%.16s", digest_hex (&cid));
  /* locked: wait for the cache.  private: the first instance no other
   * step holds (DIR, DIR-1, …), as BuildKit mounts a new one for a
   * second writer.  shared: no lock. */
  _cleanup_free_ char *base = xstrdup (buf_str (&dir));
  int made = 0;
  for (int inst = 0; made == 0; inst++)
    {
      if (inst)
        {
          buf_reset (&dir);
          buf_printf (&dir, "%s-%d", base, inst);
        }
      made = m->from ? cache_seed (b, &m->from->lowers, m->source, buf_str (&dir)) : cache_make (b, m, buf_str (&dir));
      if (made < 0 || m->sharing == OP_SHARING_SHARED || er->n_locks == 16)
        break;
      bool wait = m->sharing == OP_SHARING_LOCKED || inst == 15;
      int held = cache_lock (buf_str (&dir), wait, er->lock_fds, &er->n_locks);
      if (held != 0 || wait)
        break;
    }
  if (made < 0)
    return -1;
  if (m->from)
    json_object_set_new (jk, "from", json_pack ("{s:s, s:s}", "key", fkey, "source", m->source ? m->source : "/"));
  sm->type = SMOUNT_BIND;
  sm->source = buf_steal (&dir);
  sm->readonly = m->readonly;
  json_object_set_new (jk, "id", json_string (m->id));
  return 0;
}

/* One mount into the spec and the key: 1 mounted, 0 not mounted but in the key,
 * 2 neither (an optional SSH agent not given), -1 error. */
static int
exec_mount (struct builder *b, const struct op_mount *m, struct exec_run *er, json_t *jk)
{
  struct sandbox_mount *sm = &er->spec.mounts[er->spec.n_mounts];
  switch (m->type)
    {
    case OP_MOUNT_BIND:
      return mount_bind (b, m, sm, jk, &er->views.of[er->spec.n_mounts]) < 0 ? -1 : 1;
    case OP_MOUNT_CACHE:
      return mount_cache (b, m, sm, jk, er) < 0 ? -1 : 1;
    case OP_MOUNT_TMPFS:
      sm->type = SMOUNT_TMPFS;
      sm->size = m->size;
      return 1;
    case OP_MOUNT_SECRET:
      return secret_mount (b, m, sm, &er->spec.env, jk);
    case OP_MOUNT_SSH:
      return ssh_mount (b, m, sm, &er->spec.env, jk);
    }
  return kiln_err_set (b->err, EINVAL, "unknown mount type %d", (int) m->type);
}

static int
exec_mounts (struct builder *b, const struct exec_op *op, struct exec_run *er)
{
  er->spec.mounts = xcalloc (op->n_mounts + 1, sizeof *er->spec.mounts);
  er->views.of = xcalloc (op->n_mounts + 1, sizeof (bool));
  er->views.dirs = xcalloc (op->n_mounts + 1, sizeof (struct step_dirs));
  for (const char *const *p = (const char *const[]) {"/proc", "/sys", "/dev", "/etc/hosts", "/etc/resolv.conf", NULL};
       *p; p++)
    strv_push (&er->mountpoints, *p);
  for (size_t k = 0; k < op->n_mounts; k++)
    {
      const struct op_mount *m = &op->mounts[k];
      json_t *jk = json_pack ("{s:i, s:s}", "type", (int) m->type, "target", m->target ? m->target : "");
      int r = exec_mount (b, m, er, jk);
      if (r == 1 || r == 0)
        json_array_append_new (er->jm, jk);
      else
        json_decref (jk);
      if (r != 1) /* a slot not counted in n_mounts: what it was given is freed here */
        sandbox_mount_clear (&er->spec.mounts[er->spec.n_mounts]);
      if (r < 0)
        return -1;
      if (r != 1)
        continue;
      struct sandbox_mount *sm = &er->spec.mounts[er->spec.n_mounts++];
      sm->target = xstrdup (m->target ? m->target : "/");
      strv_push (&er->mountpoints, sm->target);
    }
  if (op->script)
    {
      /* In /dev (the sandbox's tmpfs), so no mount point reaches the layer. */
      struct sandbox_mount *sm = &er->spec.mounts[er->spec.n_mounts++];
      sm->type = SMOUNT_FILE;
      sm->target = xstrdup (op->argv.v[op->argv.n - 1]);
      sm->content_len = strlen (op->script);
      sm->content = xstrdup (op->script);
      sm->mode = 0755;
      sm->readonly = true;
      json_object_set_new (er->km, "script", json_string (op->script));
    }
  return 0;
}

/* A process that failed: its exit code and the last lines of its output. */
static void
exec_failed (struct builder *b, const struct exec_op *op, const struct output_reader *rd, int code)
{
  struct buf msg = BUF_INIT;
  buf_printf (&msg, "process \"%s\" did not complete successfully: exit code: %d",
              op->created_by + 4 /* after "RUN " */, code);
  /* Drop the " # buildkit" suffix from the quoted command. */
  char *tagp = strstr (msg.data, " # buildkit\"");
  if (tagp)
    memmove (tagp, tagp + 11, strlen (tagp + 11) + 1), msg.len = strlen (msg.data);
  size_t first = rd->n_tail > TAIL_LINES ? rd->n_tail - TAIL_LINES : 0;
  if (rd->n_tail)
    buf_puts (&msg, "\nlast lines of its output:");
  for (size_t k = first; k < rd->n_tail; k++)
    buf_printf (&msg, "\n  %s", rd->tail[k % TAIL_LINES]);
  kiln_err_set (b->err, EIO, "%s", buf_str (&msg));
  buf_free (&msg);
}

/* The process in the sandbox on the step's scratch overlay. */
static int
exec_sandbox (struct builder *b, const struct exec_op *op, struct exec_run *er, struct step_dirs *sd, double t0)
{
  struct sandbox_spec *spec = &er->spec;
  spec->store_root = store_root (b->st);
  spec->upper = sd->upper;
  spec->work = sd->work;
  spec->merged = sd->merged;
  spec->cwd = op->cwd;
  spec->user = op->user;
  spec->hostname = "buildkitsandbox";
  spec->no_hostname_env = true;
  spec->network = er->net;
  spec->hosts_more = er->hosts_more.len ? buf_str (&er->hosts_more) : NULL;
  spec->stdin_fd = -1;
  spec->netns_fd = -1;
  spec->cancel_on_signal = true;
  spec->runtime = b->rq->runtime;
  spec->privileged = op->security && strcmp (op->security, "insecure") == 0;
  if (er->net == SANDBOX_NET_DEFAULT)
    {
      if (!b->net_started && sandbox_net_start (&b->net, b->err) < 0)
        return -1;
      b->net_started = true;
      spec->netns_fd = b->net.fd;
    }
  if (views_make (b, spec, &er->views) < 0)
    return -1;
  struct output_reader rd = {.b = b, .step = b->step, .start = t0};
  spec->on_output = on_output;
  spec->output_ud = &rd;
  int code = 0;
  int r = sandbox_run (spec, &code, b->err);
  if (r == 0 && code != 0)
    exec_failed (b, op, &rd, code);
  for (size_t k = 0; k < TAIL_LINES; k++)
    free (rd.tail[k]);
  return r < 0 || code != 0 ? -1 : 0;
}

int
exec_op_solve (struct builder *b, struct stage_out *o, const struct exec_op *op, const struct step_desc *d)
{
  if (exec_allowed (b, op) < 0)
    return -1;
  struct exec_run er = {.mountpoints = STRV_INIT, .hosts_more = BUF_INIT};
  int ret = -1;
  for (size_t k = 0; k < op->argv.n; k++)
    strv_push (&er.spec.argv, op->argv.v[k]);
  for (size_t k = 0; k < op->env.n; k++)
    strv_push (&er.spec.env, op->env.v[k]);
  er.net = exec_network (b, op);
  exec_key (b, op, &er);
  if (exec_mounts (b, op, &er) < 0)
    goto out;
  char key[DIGEST_STR_LEN + 1];
  if (step_lookup (b, o, er.km, d, op->created_by, key))
    {
      ret = 0;
      goto out;
    }
  double t0 = now_s ();
  struct step_dirs sd;
  if (step_prepare (b, o, &sd, &er.spec.lowers) < 0)
    goto out;
  if (exec_sandbox (b, op, &er, &sd, t0) < 0)
    {
      snapshot_abort (&sd.sn);
      goto out;
    }
  clean_mountpoints (b, sd.sn.fs_fd, &er.spec.lowers, &er.mountpoints);
  if (step_commit (b, o, &sd, key, op->created_by, t0, true, true) < 0)
    goto out;
  ret = 0;
out:
  views_clear (&er.views);
  for (size_t k = 0; k < er.n_locks; k++)
    close (er.lock_fds[k]);
  strv_free (&er.mountpoints);
  buf_free (&er.hosts_more);
  json_decref (er.km);
  sandbox_spec_clear (&er.spec);
  return ret;
}
