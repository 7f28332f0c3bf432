/* solver/file_op.c — a file op (graph/ops.h) as a build step: its sources (the
 * context's selection, another stage's root, downloads, heredocs) keyed, and on a
 * miss copied onto the stage's root by the worker (worker/fileop.h). */
#include "solver/op_solve.h"

#include <errno.h>
#include <fcntl.h>

#include "solver/builder.h"
#include "util/cleanup.h"
#include "worker/fetch.h"
#include "worker/fileop.h"

/* A file op while it runs: the worker's request, the URLs and where they land. */
struct file_run
{
  struct fileop w;
  struct strv urls;
  char *fetch_dir; /* below the store's root; NULL: no download */
  int fetch_fd;
  json_t *km;      /* the key's material */
};

static const char *
kind_name (const struct file_op *op)
{
  return op->add ? "ADD" : "COPY";
}

/* The key's material but for the source root; the worker's sources and heredocs. */
static void
file_key_sources (const struct file_op *op, struct file_run *fr)
{
  fr->km = json_pack ("{s:s, s:s, s:[], s:s?, s:s?, s:b, s:b, s:[]}", "op", op->add ? "add" : "copy", "dest",
                      op->dest, "src", "chown", op->chown, "chmod", op->chmod, "parents", op->parents, "link", op->link,
                      "exclude");
  for (size_t k = 0; k < op->excludes.n; k++)
    json_array_append_new (json_object_get (fr->km, "exclude"), json_string (op->excludes.v[k]));
  json_t *src = json_object_get (fr->km, "src");
  for (size_t k = 0; k < op->n_srcs; k++)
    {
      const struct file_src *s = &op->srcs[k];
      switch (s->kind)
        {
        case FILE_SRC_HEREDOC:
          strv_push (&fr->w.heredoc_names, s->name);
          strv_push (&fr->w.heredoc_contents, s->body);
          json_array_append_new (src, json_pack ("{s:s, s:s}", "heredoc", s->name, "body", s->body));
          break;
        case FILE_SRC_URL:
          strv_push (&fr->urls, s->name);
          json_array_append_new (src, json_string (s->name));
          break;
        case FILE_SRC_PATH:
          strv_push (&fr->w.sources, s->name);
          json_array_append_new (src, json_string (s->name));
          break;
        }
    }
}

/* ADD <url>: the downloads become the source root.  With --checksum the content is
 * known before downloading, so a cache hit downloads nothing (file_fetch_checked);
 * without, each is fetched now and its digest keyed. */
static int
file_fetch (struct builder *b, const struct file_op *op, struct file_run *fr)
{
  if (fr->w.sources.n || op->from)
    return kiln_err_set (b->err, ENOTSUP, "ADD: URLs cannot be mixed with local files or --from in one instruction");
  fr->fetch_dir = store_tmp_dir (b->st, "fetch", b->err);
  if (fr->fetch_dir == NULL)
    return -1;
  fr->fetch_fd = openat (store_root_fd (b->st), fr->fetch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (size_t u = 0; u < fr->urls.n; u++)
    {
      char *name = fetch_url_basename (fr->urls.v[u]);
      strv_push_owned (&fr->w.sources, name);
      if (op->checksum)
        continue;
      struct digest got;
      step_status (b, "downloading %s", fr->urls.v[u]);
      if (fetch_url (fr->urls.v[u], fr->fetch_fd, name, NULL, &got, b->err) < 0)
        return -1;
      json_array_append_new (json_object_get (fr->km, "src"), json_string (got.str));
    }
  return 0;
}

/* --checksum: downloaded only on a miss, and verified. */
static int
file_fetch_checked (struct builder *b, const struct file_op *op, struct file_run *fr)
{
  for (size_t u = 0; op->checksum && u < fr->urls.n; u++)
    {
      struct digest got;
      step_status (b, "downloading %s", fr->urls.v[u]);
      if (fetch_url (fr->urls.v[u], fr->fetch_fd, fr->w.sources.v[u], op->checksum, &got, b->err) < 0)
        return -1;
    }
  return 0;
}

/* Where the sources are found, and its part of the key: another root (its key),
 * the downloads (the checksum), or the context (the digest of what it selects). */
static int
file_source_root (struct builder *b, const struct file_op *op, struct file_run *fr)
{
  if (op->from)
    {
      for (size_t l = 0; l < op->from->lowers.n; l++)
        strv_push (&fr->w.src_lowers, op->from->lowers.v[l]);
      json_object_set_new (fr->km, "from", json_string (op->from->key));
      return 0;
    }
  if (fr->urls.n)
    {
      fr->w.context_fd = fr->fetch_fd;
      json_object_set_new (fr->km, "checksum", json_string (op->checksum ? op->checksum : ""));
      return 0;
    }
  if (b->ctx_fd < 0 && fr->w.sources.n)
    return kiln_err_set (b->err, EINVAL, "%s needs a build context (the Dockerfile came on stdin)", kind_name (op));
  struct hasher *h = hasher_new ();
  int hr = hash_context_sources (b, &fr->w.sources, &op->excludes, h, true);
  struct digest cd;
  hasher_final (h, &cd);
  hasher_free (h);
  if (hr < 0)
    return -1;
  json_object_set_new (fr->km, "context", json_string (cd.str));
  b->note_sources = &fr->w.sources; /* listed on a miss (step_missed) */
  b->note_excludes = &op->excludes;
  fr->w.context_fd = b->ctx_fd;
  fr->w.selection = b->copy_sel; /* what the key hashed is what the copy sees */
  return 0;
}

/* A miss: the copy onto the stage's root, committed. */
static int
file_copy (struct builder *b, struct stage_out *o, const struct file_op *op, struct file_run *fr, const char *key)
{
  double t0 = now_s ();
  if (file_fetch_checked (b, op, fr) < 0)
    return -1;
  struct step_dirs sd;
  if (step_prepare (b, o, &sd, &fr->w.lowers) < 0)
    return -1;
  struct fileop *w = &fr->w;
  w->store_root = store_root (b->st);
  w->upper = sd.upper;
  w->work = sd.work;
  w->merged = sd.merged;
  w->merged_src = sd.merged_src;
  w->dest = op->dest;
  w->chown = op->chown;
  w->chmod = op->chmod;
  w->add = op->add && fr->urls.n == 0; /* a downloaded archive is not extracted (docker) */
  w->parents = op->parents;
  for (size_t k = 0; k < op->excludes.n; k++)
    strv_push (&w->excludes, op->excludes.v[k]);
  if (fileop_run (w, b->err) < 0)
    {
      snapshot_abort (&sd.sn);
      return -1;
    }
  return step_commit (b, o, &sd, key, op->created_by, t0, true, true);
}

int
file_op_solve (struct builder *b, struct stage_out *o, const struct file_op *op, const struct step_desc *d)
{
  struct file_run fr = {.w = {.kind = FOP_COPY, .context_fd = -1}, .urls = STRV_INIT, .fetch_fd = -1};
  int ret = -1;
  file_key_sources (op, &fr);
  if (fr.urls.n && file_fetch (b, op, &fr) < 0)
    goto out;
  if (file_source_root (b, op, &fr) < 0)
    goto out;
  /* The owner a name resolves to depends on the image: keyed by its layers. */
  char key[DIGEST_STR_LEN + 1];
  int hit = step_lookup (b, o, fr.km, d, op->created_by, key);
  ret = hit ? 0 : file_copy (b, o, op, &fr, key);
out:
  b->note_sources = b->note_excludes = NULL; /* fr.w.sources goes */
  fileop_clear (&fr.w);
  strv_free (&fr.urls);
  json_decref (fr.km);
  if (fr.fetch_fd >= 0)
    close (fr.fetch_fd);
  if (fr.fetch_dir)
    {
      struct kiln_err e = {0};
      store_remove_tree (store_root_fd (b->st), fr.fetch_dir, &e);
      kiln_err_clear (&e);
      free (fr.fetch_dir);
    }
  return ret;
}
