/* cli/build_ctx.c — named contexts, git contexts and --ssh agents (see build_ctx.h). */
#include "cli/build_ctx.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/build_io.h"
#include "context/ignore.h"
#include "image/archive.h"
#include "image/import.h"
#include "image/ref.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/path.h"

extern char **environ;

#define TOOL_ERR_MAX 4096 /* of a tool's stderr kept for the message */

/* ---------- running git and ssh-agent ---------- */

/* Runs argv (found in PATH) in `cwd`, stdin from /dev/null, stdout to `out_fd`
 * (-1: /dev/null); its stderr ends in the error when it fails. */
static int
run_tool (char *const argv[], const char *cwd, int out_fd, struct kiln_err *err)
{
  int ep[2];
  if (pipe2 (ep, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0)
    posix_spawn_file_actions_adddup2 (&fa, out_fd, 1);
  else
    posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, ep[1], 2);
  if (cwd)
    posix_spawn_file_actions_addchdir_np (&fa, cwd);
  pid_t pid;
  int sr = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (ep[1]);
  if (sr != 0)
    {
      close (ep[0]);
      return kiln_err_set (err, sr, "%s: %s", argv[0], sr == ENOENT ? "not installed (not found in PATH)"
                                                                      : strerror (sr));
    }
  _cleanup_buf_ struct buf msg = BUF_INIT;
  char chunk[1024];
  ssize_t n;
  while ((n = read (ep[0], chunk, sizeof chunk)) > 0)
    if (msg.len < TOOL_ERR_MAX)
      buf_append (&msg, chunk, (size_t) n);
  close (ep[0]);
  int st;
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
    return 0;
  while (msg.len && isspace ((unsigned char) msg.data[msg.len - 1]))
    msg.data[--msg.len] = '\0';
  return kiln_err_set (err, EIO, "%s %s failed: %s", argv[0], argv[1] ? argv[1] : "",
                       msg.len ? buf_str (&msg) : "(no message)");
}

/* ---------- --build-context ---------- */

/* The image id of the manifest `want` (NULL: the only one) of an OCI layout:
 * its config's digest, which is the id kiln stores the image under. */
static int
layout_image_id (const char *dir, const char *want, struct buf *id, struct kiln_err *err)
{
  _cleanup_buf_ struct buf path = BUF_INIT;
  buf_printf (&path, "%s/index.json", dir);
  json_error_t je;
  json_t *index = json_load_file (buf_str (&path), 0, &je);
  json_t *mans = json_object_get (index, "manifests");
  const char *mdigest = NULL;
  size_t i;
  json_t *m;
  json_array_foreach (mans, i, m)
  {
    const char *d = json_string_value (json_object_get (m, "digest"));
    if (d && (want == NULL || strcmp (d, want) == 0))
      {
        if (mdigest && want == NULL)
          {
            json_decref (index);
            return kiln_err_set (err, KILN_EUSAGE, "oci-layout://%s holds several images: name one with @DIGEST", dir);
          }
        mdigest = d;
      }
  }
  if (mdigest == NULL || strncmp (mdigest, "sha256:", 7) != 0 || strchr (mdigest, '/'))
    {
      json_decref (index);
      return kiln_err_set (err, ENOENT, "oci-layout://%s: %s", dir,
                           want ? "no manifest with that digest in index.json" : "no image in index.json");
    }
  buf_reset (&path);
  buf_printf (&path, "%s/blobs/sha256/%s", dir, mdigest + 7);
  json_decref (index);
  json_t *man = json_load_file (buf_str (&path), 0, &je);
  const char *cfg = json_string_value (json_object_get (json_object_get (man, "config"), "digest"));
  if (cfg == NULL)
    {
      json_decref (man);
      return kiln_err_set (err, EINVAL, "%s: not an image manifest", buf_str (&path));
    }
  buf_puts (id, cfg);
  json_decref (man);
  return 0;
}

static enum layer_pick
pick_by_ignore (void *arg, const char *path, const struct stat *st)
{
  switch (ignore_decide (arg, path, S_ISDIR (st->st_mode)))
    {
    case IGNORE_SKIP: return LAYER_SKIP;
    case IGNORE_LOOK_INSIDE: return LAYER_PARENT_ONLY;
    default: return LAYER_KEEP;
    }
}

int
build_context_add (struct kiln_store *st, const char *spec, struct envmap *named, struct kiln_err *err)
{
  const char *eq = strchr (spec, '=');
  if (eq == NULL || eq == spec || eq[1] == '\0')
    return kiln_err_set (err, KILN_EUSAGE, "invalid --build-context \"%s\": expected NAME=VALUE", spec);
  _cleanup_free_ char *name = xstrndup (spec, (size_t) (eq - spec));
  for (char *p = name; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  const char *value = eq + 1;
  _cleanup_buf_ struct buf ref = BUF_INIT;
  if (strncmp (value, "docker-image://", 15) == 0)
    {
      struct image_ref r;
      if (ref_parse (value + 15, true, &r, err) < 0)
        return kiln_err_wrap (err, "--build-context %s", name);
      ref_clear (&r);
      buf_puts (&ref, value + 15);
    }
  else if (strncmp (value, "oci-layout://", 13) == 0)
    {
      _cleanup_free_ char *dir = xstrdup (value + 13);
      char *at = strrchr (dir, '@');
      if (at)
        *at++ = '\0';
      struct stat sb;
      if (stat (dir, &sb) < 0 || !S_ISDIR (sb.st_mode))
        return kiln_err_set (err, KILN_EUSAGE, "--build-context %s: %s is not an OCI layout directory", name, dir);
      _cleanup_strv_ struct strv report = STRV_INIT;
      if (image_load_archive (st, dir, &report, err) < 0 || layout_image_id (dir, at, &ref, err) < 0)
        return kiln_err_wrap (err, "--build-context %s", name);
    }
  else if (strstr (value, "://"))
    return kiln_err_set (err, KILN_EUSAGE,
                         "--build-context %s: unsupported source \"%s\" (a directory, docker-image:// or oci-layout://)",
                         name, value);
  else
    {
      struct stat sb;
      if (stat (value, &sb) < 0 || !S_ISDIR (sb.st_mode))
        return kiln_err_set (err, KILN_EUSAGE, "--build-context %s: %s is not a directory", name, value);
      /* A directory is a root filesystem to FROM, COPY --from and mount from=,
       * without what its own .dockerignore leaves out (as BuildKit loads a named
       * local context; the main context's rules do not apply to it). */
      _cleanup_buf_ struct buf ignore_path = BUF_INIT;
      buf_printf (&ignore_path, "%s/.dockerignore", value);
      struct ignore_rules *rules = ignore_load (buf_str (&ignore_path), true, err);
      if (rules == NULL)
        return kiln_err_wrap (err, "--build-context %s", name);
      struct import_opts io = {.source = value, .message = "--build-context", .at_epoch = true,
                               .pick = ignore_count (rules) ? pick_by_ignore : NULL, .pick_arg = rules};
      struct digest id;
      int r = image_import (st, &io, &id, err);
      ignore_free (rules);
      if (r < 0)
        return kiln_err_wrap (err, "--build-context %s", name);
      buf_puts (&ref, id.str);
    }
  envmap_set (named, name, buf_str (&ref));
  return 0;
}

/* ---------- git contexts ---------- */

bool
build_is_git_url (const char *arg)
{
  if (strncmp (arg, "git@", 4) == 0 || strncmp (arg, "git://", 6) == 0 || strncmp (arg, "github.com/", 11) == 0)
    return true;
  if (strncmp (arg, "http://", 7) != 0 && strncmp (arg, "https://", 8) != 0)
    return false;
  size_t n = strcspn (arg, "#");
  return n >= 4 && strncmp (arg + n - 4, ".git", 4) == 0;
}

static int git_fetch_parsed (struct kiln_store *st, const char *url, const struct git_url *g, char **ctx_dir,
                             struct kiln_err *err);

int
git_url_parse (const char *url, struct git_url *g, struct kiln_err *err)
{
  *g = (struct git_url) {0};
  /* docker's shorthand: github.com/OWNER/REPO is an https URL. */
  struct buf u = BUF_INIT;
  buf_printf (&u, "%s%s", strncmp (url, "github.com/", 11) == 0 ? "https://" : "", url);
  g->repo = buf_steal (&u);
  char *frag = strchr (g->repo, '#');
  if (frag)
    {
      *frag++ = '\0';
      char *colon = strchr (frag, ':');
      if (colon)
        *colon++ = '\0';
      if (*frag)
        g->ref = xstrdup (frag);
      if (colon && *colon)
        {
          char *clean = path_clean (colon);
          const char *c = clean;
          while (*c == '/')
            c++;
          if (strcmp (c, ".") != 0 && *c)
            g->subdir = xstrdup (c);
          free (clean);
        }
    }
  /* Neither may pass for an option of git's, nor climb out of the checkout. */
  if ((g->ref && (g->ref[0] == '-' || strstr (g->ref, ".."))) || g->repo[0] == '-' || g->repo[0] == '\0')
    {
      git_url_clear (g);
      return kiln_err_set (err, KILN_EUSAGE, "invalid git context \"%s\"", url);
    }
  if (g->subdir && (strcmp (g->subdir, "..") == 0 || strncmp (g->subdir, "../", 3) == 0))
    {
      git_url_clear (g);
      return kiln_err_set (err, KILN_EUSAGE, "invalid git context \"%s\": the directory leaves the repository", url);
    }
  return 0;
}

void
git_url_clear (struct git_url *g)
{
  free (g->repo);
  free (g->ref);
  free (g->subdir);
  *g = (struct git_url) {0};
}

int
build_git_fetch (struct kiln_store *st, const char *url, char **ctx_dir, struct kiln_err *err)
{
  struct git_url g;
  if (git_url_parse (url, &g, err) < 0)
    return -1;
  int r = git_fetch_parsed (st, url, &g, ctx_dir, err);
  git_url_clear (&g);
  return r;
}

static int
git_fetch_parsed (struct kiln_store *st, const char *url, const struct git_url *g, char **ctx_dir,
                  struct kiln_err *err)
{
  const char *repo = g->repo, *ref = g->ref, *sub = g->subdir;
  _cleanup_free_ char *tmp = store_tmp_dir (st, "context", err);
  if (tmp == NULL)
    return -1;
  _cleanup_buf_ struct buf work = BUF_INIT;
  buf_printf (&work, "%s/%s/context", store_root (st), tmp);
  if (mkdir (buf_str (&work), 0755) < 0)
    return kiln_err_set (err, errno, "%s: %s", buf_str (&work), strerror (errno));
  const char *dir = buf_str (&work);
  /* As docker's git source: a shallow fetch of the one ref, then a checkout. */
  char *init[] = {"git", "init", "-q", (char *) dir, NULL};
  char *remote[] = {"git", "remote", "add", "origin", (char *) repo, NULL};
  char *fetch[] = {"git", "fetch", "-q", "--depth", "1", "origin", (char *) (ref ? ref : "HEAD"), NULL};
  char *checkout[] = {"git", "-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD", NULL};
  char *subs[] = {"git", "submodule", "update", "-q", "--init", "--recursive", "--depth", "1", NULL};
  int r = run_tool (init, NULL, -1, err);
  if (r == 0)
    r = run_tool (remote, dir, -1, err);
  if (r == 0 && run_tool (fetch, dir, -1, err) < 0)
    {
      /* A commit that is not a ref's tip: fetch everything, then check it out. */
      struct kiln_err first = *err;
      *err = (struct kiln_err) {0};
      char *all[] = {"git", "fetch", "-q", "origin", NULL};
      char *co[] = {"git", "-c", "advice.detachedHead=false", "checkout", "-q", (char *) ref, "--", NULL};
      if (ref == NULL || run_tool (all, dir, -1, err) < 0 || run_tool (co, dir, -1, err) < 0)
        {
          kiln_err_clear (err);
          *err = first;
          r = -1;
        }
      else
        kiln_err_clear (&first);
    }
  else if (r == 0)
    r = run_tool (checkout, dir, -1, err);
  if (r == 0)
    r = run_tool (subs, dir, -1, err);
  struct kiln_err ignored = {0};
  if (r == 0)
    {
      /* .git is never part of the context. */
      int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0)
        store_remove_tree (dfd, ".git", &ignored);
      kiln_err_clear (&ignored);
      if (dfd >= 0)
        close (dfd);
      if (sub)
        {
          const char *s = sub;
          while (*s == '/')
            s++;
          /* No symlink of the repository's may lead the context out of it. */
          int top = open (buf_str (&work), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          int fd = top < 0 ? -1
                           : open_resolved (top, s, O_RDONLY | O_DIRECTORY, 0,
                                            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
          if (fd < 0)
            r = kiln_err_set (err, ENOENT, "git context %s: no directory \"%s\" in the repository", url, sub);
          else
            close (fd);
          if (top >= 0)
            close (top);
          buf_printf (&work, "/%s", s);
        }
    }
  if (r < 0)
    {
      store_remove_tree (store_root_fd (st), tmp, &ignored);
      kiln_err_clear (&ignored);
      return kiln_err_wrap (err, "git context %s", repo);
    }
  if (sub)
    {
      /* build_stdin_done removes the tmp/ entry above the last path element:
       * the subdirectory moves to be that element. */
      _cleanup_buf_ struct buf final = BUF_INIT;
      buf_printf (&final, "%s/%s/subdir", store_root (st), tmp);
      if (rename (buf_str (&work), buf_str (&final)) < 0)
        {
          int e = errno;
          store_remove_tree (store_root_fd (st), tmp, &ignored);
          kiln_err_clear (&ignored);
          return kiln_err_set (err, e, "git context %s: %s", url, strerror (e));
        }
      *ctx_dir = buf_steal (&final);
      return 0;
    }
  *ctx_dir = buf_steal (&work);
  return 0;
}

/* ---------- --ssh ---------- */

int
build_ssh_add (const char *spec, const char *dir, struct envmap *agents, struct strv *pids, struct kiln_err *err)
{
  _cleanup_free_ char *id = xstrdup (spec);
  char *eq = strchr (id, '=');
  char *paths = NULL;
  if (eq)
    {
      *eq = '\0';
      paths = eq + 1;
    }
  if (*id == '\0' || strchr (id, ','))
    return kiln_err_set (err, KILN_EUSAGE, "invalid --ssh \"%s\": expected default|ID[=SOCKET|KEY[,KEY...]]", spec);
  if (paths == NULL || *paths == '\0')
    {
      const char *sock = getenv ("SSH_AUTH_SOCK");
      if (sock == NULL || *sock == '\0')
        return kiln_err_set (err, KILN_EUSAGE, "--ssh %s: SSH_AUTH_SOCK is not set (no agent to forward)", id);
      envmap_set (agents, id, sock);
      return 0;
    }
  struct stat sb;
  if (strchr (paths, ',') == NULL && stat (paths, &sb) == 0 && S_ISSOCK (sb.st_mode))
    {
      envmap_set (agents, id, paths);
      return 0;
    }
  /* Key files: an agent of kiln's own holds them for this build. */
  _cleanup_buf_ struct buf sock = BUF_INIT;
  buf_printf (&sock, "%s/agent-%zu.sock", dir, agents->n);
  _cleanup_buf_ struct buf pidout = BUF_INIT;
  /* What ssh-agent prints goes to a file: its daemon may hold a pipe open. */
  _cleanup_buf_ struct buf outp = BUF_INIT;
  buf_printf (&outp, "%s/agent-%zu.out", dir, agents->n);
  int out = open (buf_str (&outp), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0)
    return kiln_err_set (err, errno, "--ssh %s: %s: %s", id, buf_str (&outp), strerror (errno));
  unlink (buf_str (&outp));
  char *agent[] = {"ssh-agent", "-s", "-a", (char *) buf_str (&sock), NULL};
  int r = run_tool (agent, NULL, out, err);
  if (r == 0)
    {
      /* "SSH_AGENT_PID=123; export SSH_AGENT_PID;" in what it printed. */
      lseek (out, 0, SEEK_SET);
      struct kiln_err e = {0};
      read_all (out, 4096, &pidout, "ssh-agent", &e);
      kiln_err_clear (&e);
      const char *p = strstr (buf_str (&pidout), "SSH_AGENT_PID=");
      if (p)
        {
          char num[32];
          snprintf (num, sizeof num, "%ld", strtol (p + 14, NULL, 10));
          strv_push (pids, num);
        }
    }
  close (out);
  if (r < 0)
    return kiln_err_wrap (err, "--ssh %s", id);
  _cleanup_free_ char *list = xstrdup (paths);
  for (char *save = NULL, *k = strtok_r (list, ",", &save); k && r == 0; k = strtok_r (NULL, ",", &save))
    {
      if (access (k, R_OK) < 0)
        r = kiln_err_set (err, errno, "--ssh %s: %s: %s", id, k, strerror (errno));
      else
        {
          /* ssh-add finds the agent through the environment. */
          char *add[] = {"env", "-u", "SSH_AGENT_PID", NULL, "ssh-add", "-q", k, NULL};
          _cleanup_buf_ struct buf envv = BUF_INIT;
          buf_printf (&envv, "SSH_AUTH_SOCK=%s", buf_str (&sock));
          add[3] = (char *) buf_str (&envv);
          if (run_tool (add, NULL, -1, err) < 0)
            r = kiln_err_wrap (err, "--ssh %s: loading %s", id, k);
        }
    }
  if (r < 0)
    return -1;
  envmap_set (agents, id, buf_str (&sock));
  return 0;
}

void
build_ssh_stop (struct strv *pids)
{
  for (size_t i = 0; i < pids->n; i++)
    {
      pid_t pid = (pid_t) strtol (pids->v[i], NULL, 10);
      /* Reaped when kiln is its subreaper; anyone else's child: ECHILD at once. */
      if (pid > 1 && kill (pid, SIGTERM) == 0)
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
          ;
    }
  strv_free (pids);
}

/* ---------- the inputs of one build ---------- */

int
build_inputs_check (const char *arg, const char *dockerfile, struct kiln_err *err)
{
  bool from_stdin = strcmp (arg, "-") == 0;
  struct stat sb;
  if (!from_stdin && !build_is_git_url (arg) && (stat (arg, &sb) < 0 || !S_ISDIR (sb.st_mode)))
    return kiln_err_set (err, KILN_EUSAGE, "the context \"%s\" is not a directory", arg);
  if (from_stdin && dockerfile && strcmp (dockerfile, "-") == 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid argument: can't use stdin for both build context and dockerfile");
  return 0;
}

/* -f names a file inside a context kiln made, as docker's. */
static void
context_made (struct build_request *rq, struct build_inputs *in)
{
  rq->context = in->ctx_dir;
  if (rq->dockerfile)
    {
      struct buf p = BUF_INIT;
      buf_printf (&p, "%s/%s", in->ctx_dir, rq->dockerfile);
      in->df_path = buf_steal (&p);
      rq->dockerfile = in->df_path;
    }
}

int
build_inputs_prepare (struct kiln_store *st, const char *arg, struct build_request *rq, struct build_inputs *in,
                      struct kiln_err *err)
{
  for (size_t i = 0; i < in->contexts.n; i++)
    if (build_context_add (st, in->contexts.v[i], &in->named, err) < 0)
      return -1;
  rq->named_contexts = &in->named;
  if (in->ssh.n && (in->ssh_tmp = store_tmp_dir (st, "ssh", err)) == NULL)
    return -1;
  for (size_t i = 0; i < in->ssh.n; i++)
    {
      _cleanup_buf_ struct buf dir = BUF_INIT;
      buf_printf (&dir, "%s/%s", store_root (st), in->ssh_tmp);
      if (build_ssh_add (in->ssh.v[i], buf_str (&dir), &in->agents, &in->agent_pids, err) < 0)
        return -1;
    }
  rq->ssh_agents = &in->agents;
  bool from_stdin = strcmp (arg, "-") == 0;
  if (!from_stdin && build_is_git_url (arg))
    {
      if (build_git_fetch (st, arg, &in->ctx_dir, err) < 0)
        return -1;
      context_made (rq, in);
    }
  else if (!from_stdin)
    rq->context = arg;
  /* Standard input: a tar context, or a Dockerfile (with CONTEXT -, or -f -). */
  if (from_stdin || (rq->dockerfile && strcmp (rq->dockerfile, "-") == 0))
    {
      char *tar_dir = NULL;
      if (build_stdin_read (st, &in->df_text, &tar_dir, err) < 0)
        return -1;
      if (tar_dir && !from_stdin)
        {
          build_stdin_done (st, tar_dir);
          return kiln_err_set (err, KILN_EUSAGE, "kiln build: -f -: standard input is an archive, not a Dockerfile");
        }
      if (tar_dir)
        {
          in->ctx_dir = tar_dir;
          context_made (rq, in);
        }
      else
        {
          rq->dockerfile_text = in->df_text;
          rq->dockerfile = NULL;
        }
    }
  return 0;
}

void
build_inputs_done (struct kiln_store *st, struct build_inputs *in)
{
  build_stdin_done (st, in->ctx_dir); /* frees it */
  build_ssh_stop (&in->agent_pids);
  if (in->ssh_tmp)
    {
      struct kiln_err e = {0};
      store_remove_tree (store_root_fd (st), in->ssh_tmp, &e);
      kiln_err_clear (&e);
    }
  envmap_free (&in->named);
  envmap_free (&in->agents);
  free (in->ssh_tmp);
  free (in->df_path);
  free (in->df_text);
  in->ctx_dir = in->ssh_tmp = in->df_path = in->df_text = NULL;
}
