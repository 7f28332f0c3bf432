/* registry/pull.c — a reference in a registry → an image in the store. */
#include "registry/transfer.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "image/layers.h"
#include "image/ref.h"
#include "registry/http.h"
#include "registry/progress.h"
#include "store/blobs.h"
#include "store/snapshots.h"
#include "util/cleanup.h"

#define MAX_LAYERS 1000
#define PULL_THREADS 4

static bool
is_index (json_t *m, const char *content_type)
{
  const char *mt = json_string_value (json_object_get (m, "mediaType"));
  if (!mt)
    mt = content_type;
  if (mt && (strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0))
    return true;
  return json_is_array (json_object_get (m, "manifests")) && !json_is_array (json_object_get (m, "layers"));
}

static bool
known_layer_type (const char *mt)
{
  static const char *const ok[] = {MT_OCI_LAYER, MT_OCI_LAYER_GZIP, MT_OCI_LAYER_ZSTD, MT_DOCKER_LAYER,
                                   MT_DOCKER_LAYER_GZIP, "application/vnd.docker.image.rootfs.diff.tar.zstd",
                                   "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                                   "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", NULL};
  for (size_t i = 0; ok[i]; i++)
    if (strcmp (mt, ok[i]) == 0)
      return true;
  return false;
}

struct fetch_pool;

struct layer_job
{
  struct fetch_pool *pool;
  size_t index;
  struct digest blob;
  struct digest diff_id;
  int64_t size;
  char short_id[13];
  bool need_fetch;
  int state;            /* 0 waiting, 1 done, -1 failed */
  struct kiln_err err;
};

struct fetch_pool
{
  struct kiln_store *st;
  struct registry *reg;
  const char *repo;
  struct xfer_view *view;
  struct layer_job *jobs;
  size_t n;
  size_t next;
  bool stop;
  pthread_mutex_t lock;
  pthread_cond_t changed;
};

static void
on_fetch_progress (void *ud, uint64_t done)
{
  struct layer_job *j = ud;
  xfer_view_bytes (j->pool->view, j->index, "Downloading", done, j->size);
}

static void *
fetch_worker (void *ud)
{
  struct fetch_pool *p = ud;
  for (;;)
    {
      pthread_mutex_lock (&p->lock);
      while (p->next < p->n && !p->jobs[p->next].need_fetch)
        p->next++;
      if (p->stop || p->next >= p->n)
        {
          pthread_mutex_unlock (&p->lock);
          break;
        }
      struct layer_job *j = &p->jobs[p->next++];
      pthread_mutex_unlock (&p->lock);
      struct kiln_err e = {0};
      int rc = registry_fetch_blob (p->reg, p->repo, &j->blob, j->size, p->st, on_fetch_progress, j, &e);
      if (rc == 0)
        xfer_view_status (p->view, j->index, "Download complete");
      pthread_mutex_lock (&p->lock);
      j->err = e;
      j->state = rc == 0 ? 1 : -1;
      pthread_cond_broadcast (&p->changed);
      pthread_mutex_unlock (&p->lock);
    }
  http_thread_done ();
  return NULL;
}

/* Downloads the missing layer blobs on a few threads while this one unpacks them in order. */
static int
fetch_and_unpack (struct fetch_pool *p, struct kiln_err *err)
{
  size_t n_fetch = 0;
  for (size_t i = 0; i < p->n; i++)
    {
      if (p->jobs[i].need_fetch)
        n_fetch++;
      else
        p->jobs[i].state = 1;
      xfer_view_status (p->view, i, p->jobs[i].need_fetch ? "Pulling fs layer" : "Already exists");
    }
  size_t n_threads = n_fetch < PULL_THREADS ? n_fetch : PULL_THREADS;
  pthread_t threads[PULL_THREADS];
  size_t started = 0;
  for (; started < n_threads; started++)
    if (pthread_create (&threads[started], NULL, fetch_worker, p) != 0)
      break;
  if (n_fetch && started == 0)
    return kiln_err_set (err, EAGAIN, "cannot start download threads");
  int ret = 0;
  for (size_t i = 0; i < p->n && ret == 0; i++)
    {
      struct layer_job *j = &p->jobs[i];
      pthread_mutex_lock (&p->lock);
      while (j->state == 0)
        pthread_cond_wait (&p->changed, &p->lock);
      pthread_mutex_unlock (&p->lock);
      if (j->state < 0)
        {
          *err = j->err;
          memset (&j->err, 0, sizeof j->err);
          ret = -1;
          break;
        }
      if (j->need_fetch)
        xfer_view_transient (p->view, i, "Extracting");
      _cleanup_close_ int fd = blob_open (p->st, &j->blob, err);
      if (fd < 0 || layer_ensure_snapshot (p->st, &j->diff_id, fd, err) < 0)
        {
          kiln_err_wrap (err, "layer %s", j->blob.str);
          ret = -1;
          break;
        }
      if (j->need_fetch)
        xfer_view_status (p->view, i, "Pull complete");
    }
  pthread_mutex_lock (&p->lock);
  p->stop = true;
  pthread_mutex_unlock (&p->lock);
  for (size_t t = 0; t < started; t++)
    pthread_join (threads[t], NULL);
  for (size_t i = 0; i < p->n; i++)
    kiln_err_clear (&p->jobs[i].err);
  return ret;
}

static json_t *
parse_object (const char *s, size_t len, const char *what, struct kiln_err *err)
{
  json_error_t je;
  json_t *j = json_loadb (s, len, 0, &je);
  if (!json_is_object (j))
    {
      json_decref (j);
      kiln_err_set (err, EBADMSG, "%s is not a JSON object (%s)", what, je.text);
      return NULL;
    }
  return j;
}

static int
descriptor_digest (json_t *desc, struct digest *d, int64_t *size, struct kiln_err *err)
{
  const char *ds = json_string_value (json_object_get (desc, "digest"));
  json_t *sz = json_object_get (desc, "size");
  if (ds == NULL || digest_parse (ds, d, err) < 0)
    return kiln_err_set (err, EBADMSG, "a descriptor has no valid sha256 digest");
  *size = json_is_integer (sz) && json_integer_value (sz) >= 0 ? (int64_t) json_integer_value (sz) : -1;
  return 0;
}

int
pull_manifest_parse (const char *body, size_t len, const char *content_type, const struct platform *want,
                     struct pull_desc *next, struct kiln_err *err)
{
  _cleanup_json_ json_t *m = parse_object (body, len, "the manifest", err);
  if (m == NULL)
    return -1;
  int ret = 0;
  if (is_index (m, content_type))
    {
      json_t *d = platform_pick (json_object_get (m, "manifests"), want);
      if (d == NULL)
        ret = kiln_err_set (err, ENOENT, "the index has no image for %s/%s%s%s", want->os, want->arch,
                            want->variant[0] ? "/" : "", want->variant);
      else
        ret = descriptor_digest (d, &next->digest, &next->size, err) < 0 ? -1 : 1;
      return ret;
    }
  json_t *layers = json_object_get (m, "layers");
  if (!json_is_array (layers) || json_array_size (layers) > MAX_LAYERS)
    ret = kiln_err_set (err, EBADMSG, "the manifest has no usable layer list (schema 1 manifests are not supported)");
  else if (descriptor_digest (json_object_get (m, "config"), &next->digest, &next->size, err) < 0)
    ret = -1;
  else if (next->size > (int64_t) IMAGE_MAX_JSON)
    ret = kiln_err_set (err, EFBIG, "the image config is larger than %u MiB", IMAGE_MAX_JSON >> 20);
  return ret;
}

int
pull_layers_parse (const char *manifest, size_t mlen, const char *config, size_t clen, struct pull_layer **out,
                   size_t *n_out, struct kiln_err *err)
{
  *out = NULL;
  *n_out = 0;
  _cleanup_json_ json_t *man = parse_object (manifest, mlen, "the manifest", err);
  if (man == NULL)
    return -1;
  _cleanup_json_ json_t *cfg = parse_object (config, clen, "the image config", err);
  if (cfg == NULL)
    return -1;
  json_t *layers = json_object_get (man, "layers");
  json_t *diffs = json_object_get (json_object_get (cfg, "rootfs"), "diff_ids");
  size_t n = json_array_size (layers);
  struct pull_layer *v = NULL;
  int ret = -1;
  if (!json_is_array (layers) || n > MAX_LAYERS)
    kiln_err_set (err, EBADMSG, "the manifest has no usable layer list");
  else if (!json_is_array (diffs) || json_array_size (diffs) != n)
    kiln_err_set (err, EBADMSG, "the config lists %zu layers, the manifest %zu", json_array_size (diffs), n);
  else
    {
      v = xcalloc (n ? n : 1, sizeof *v);
      ret = 0;
      for (size_t i = 0; i < n && ret == 0; i++)
        {
          json_t *l = json_array_get (layers, i);
          const char *mt = json_string_value (json_object_get (l, "mediaType"));
          if (mt == NULL || !known_layer_type (mt))
            ret = kiln_err_set (err, EBADMSG, "layer %zu has media type \"%s\", which is not a layer kiln can unpack",
                                i + 1, mt ? mt : "");
          else if (descriptor_digest (l, &v[i].blob, &v[i].size, err) < 0
                   || digest_parse (json_string_value (json_array_get (diffs, i)), &v[i].diff_id, err) < 0)
            ret = -1;
        }
    }
  if (ret < 0)
    {
      free (v);
      return -1;
    }
  *out = v;
  *n_out = n;
  return 0;
}

int
image_pull (struct kiln_store *st, const char *refstr, const struct pull_opts *o, struct digest *id,
            struct kiln_err *err)
{
  struct platform want;
  if (platform_parse (o->platform, &want, err) < 0)
    return -1;
  struct image_ref ref;
  if (ref_parse (refstr, true, &ref, err) < 0)
    return -1;
  _cleanup_free_ char *full = ref_string (&ref);
  _cleanup_free_ char *repo_full = ref_repository (&ref);
  struct registry *reg = NULL;
  struct registry_manifest m = {0}, sub = {0};
  struct layer_job *jobs = NULL;
  size_t n = 0;
  char *cs = NULL;
  struct strv tags = STRV_INIT;
  struct buf rd = BUF_INIT;
  int ret = -1;
  if (store_lock_shared (st, err) < 0)
    goto out;
  reg = registry_open (ref.domain, &o->reg, err);
  if (reg == NULL)
    goto out;
  const char *reference = ref.digest ? ref.digest : ref.tag;
  if (o->out)
    fprintf (o->out, "%s: Pulling from %s\n", ref.digest ? ref.digest : ref.tag, ref.path);
  if (registry_get_manifest (reg, ref.path, reference, &m, err) < 0)
    goto out;
  struct registry_manifest *chosen = &m;
  struct pull_desc next;
  int kind = pull_manifest_parse (m.body, m.len, m.media_type, &want, &next, err);
  if (kind == 1)
    {
      if (registry_get_manifest (reg, ref.path, next.digest.str, &sub, err) < 0)
        goto out;
      chosen = &sub;
      kind = pull_manifest_parse (sub.body, sub.len, sub.media_type, &want, &next, err);
      if (kind == 1)
        {
          kiln_err_set (err, EBADMSG, "an index inside an index is not supported");
          goto out;
        }
    }
  if (kind < 0)
    goto out;
  struct digest cfg = next.digest;
  if (!blob_exists (st, &cfg) && registry_fetch_blob (reg, ref.path, &cfg, next.size, st, NULL, NULL, err) < 0)
    goto out;
  size_t clen;
  cs = blob_read (st, &cfg, IMAGE_MAX_JSON, &clen, err);
  struct pull_layer *pl;
  if (cs == NULL || pull_layers_parse (chosen->body, chosen->len, cs, clen, &pl, &n, err) < 0)
    goto out;
  jobs = xcalloc (n ? n : 1, sizeof *jobs);
  for (size_t i = 0; i < n; i++)
    {
      jobs[i].blob = pl[i].blob;
      jobs[i].diff_id = pl[i].diff_id;
      jobs[i].size = pl[i].size;
      snprintf (jobs[i].short_id, sizeof jobs[i].short_id, "%.12s", digest_hex (&jobs[i].blob));
      jobs[i].need_fetch = !blob_exists (st, &jobs[i].blob);
      jobs[i].index = i;
    }
  free (pl);
  struct fetch_pool pool = {.st = st, .reg = reg, .repo = ref.path, .jobs = jobs, .n = n};
  for (size_t i = 0; i < n; i++)
    jobs[i].pool = &pool;
  char (*ids)[13] = xcalloc (n ? n : 1, sizeof *ids);
  for (size_t i = 0; i < n; i++)
    memcpy (ids[i], jobs[i].short_id, sizeof ids[i]);
  pool.view = xfer_view_new (o->out, n, ids);
  free (ids);
  pthread_mutex_init (&pool.lock, NULL);
  pthread_cond_init (&pool.changed, NULL);
  int fr = fetch_and_unpack (&pool, err);
  xfer_view_free (pool.view);
  pthread_mutex_destroy (&pool.lock);
  pthread_cond_destroy (&pool.changed);
  if (fr < 0)
    goto out;

  /* Every piece is in: keep the manifest as it came, then record the image. */
  struct digest md;
  if (blob_put (st, chosen->body, chosen->len, &md, err) < 0)
    goto out;
  bool had = false;
  struct digest old;
  struct kiln_err ignored = {0};
  if (ref.tag && image_resolve (st, full, &old, &ignored) == 0)
    had = strcmp (old.str, cfg.str) == 0;
  kiln_err_clear (&ignored);
  if (ref.tag)
    strv_push (&tags, full);
  if (image_record (st, &cfg, &md, &tags, err) < 0)
    goto out;
  buf_printf (&rd, "%s@%s", repo_full, m.digest.str);
  if (image_add_repo_digest (st, &cfg, buf_str (&rd), err) < 0)
    goto out;
  if (o->out)
    {
      _cleanup_free_ char *fam = ref_familiar (full);
      fprintf (o->out, "Digest: %s\n", m.digest.str);
      fprintf (o->out, "Status: %s for %s\n", had ? "Image is up to date" : "Downloaded newer image", fam);
    }
  if (id)
    *id = cfg;
  ret = 0;
out:
  if (ret < 0)
    kiln_err_wrap (err, "pulling %s", full ? full : refstr);
  free (jobs);
  free (cs);
  strv_free (&tags);
  buf_free (&rd);
  registry_manifest_clear (&m);
  registry_manifest_clear (&sub);
  registry_close (reg);
  ref_clear (&ref);
  return ret;
}
