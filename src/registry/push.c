/* registry/push.c — an image in the store → a registry. */
#include "registry/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/image.h"
#include "image/ref.h"
#include "registry/http.h"
#include "registry/progress.h"
#include "store/blobs.h"
#include "util/cleanup.h"

/* Another repository of the same registry that holds this image, for a mount. */
static char *
mount_source (struct kiln_store *st, const struct digest *id, const struct image_ref *dest)
{
  _cleanup_strv_ struct strv rds = STRV_INIT;
  struct kiln_err ignored = {0};
  image_repo_digests (st, id, &rds, &ignored);
  kiln_err_clear (&ignored);
  for (size_t i = 0; i < rds.n; i++)
    {
      struct image_ref r;
      if (ref_parse (rds.v[i], false, &r, &ignored) == 0)
        {
          bool same_registry = strcmp (r.domain, dest->domain) == 0;
          bool other_repo = strcmp (r.path, dest->path) != 0;
          char *path = same_registry && other_repo ? xstrdup (r.path) : NULL;
          ref_clear (&r);
          if (path)
            return path;
        }
      kiln_err_clear (&ignored);
    }
  return NULL;
}

struct blob_progress
{
  struct xfer_view *view;
  size_t index;
  uint64_t size;
};

static void
on_push_progress (void *ud, uint64_t done)
{
  struct blob_progress *bp = ud;
  xfer_view_bytes (bp->view, bp->index, "Pushing", done, (int64_t) bp->size);
}

int
registry_push_stored_blob (struct kiln_store *st, struct registry *reg, const char *repo, const struct digest *d,
                           const char *mount_from, struct xfer_view *view, size_t index, struct kiln_err *err)
{
  int has = registry_blob_exists (reg, repo, d, err);
  if (has < 0)
    return -1;
  if (has)
    {
      xfer_view_status (view, index, "Layer already exists");
      return 0;
    }
  _cleanup_close_ int fd = blob_open (st, d, err);
  if (fd < 0)
    return -1;
  struct stat sb;
  if (fstat (fd, &sb) < 0)
    return kiln_err_set (err, errno, "blob %s: %s", d->str, strerror (errno));
  struct blob_progress bp = {view, index, (uint64_t) sb.st_size};
  int r = registry_push_blob (reg, repo, d, fd, (uint64_t) sb.st_size, mount_from, on_push_progress, &bp, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      struct buf m = BUF_INIT;
      buf_printf (&m, "Mounted from %s", mount_from);
      xfer_view_status (view, index, buf_str (&m));
      buf_free (&m);
    }
  else
    xfer_view_status (view, index, "Pushed");
  return 0;
}

#define PUSH_THREADS 4

struct push_pool
{
  struct kiln_store *st;
  struct registry *reg;
  const char *repo;
  const char *mount_from;
  struct xfer_view *view;
  const struct image_layer *layers;
  size_t n;
  size_t next;
  bool failed;
  struct kiln_err err; /* the first failure */
  pthread_mutex_t lock;
};

static void *
push_worker (void *ud)
{
  struct push_pool *p = ud;
  for (;;)
    {
      pthread_mutex_lock (&p->lock);
      size_t i = p->next++;
      bool stop = p->failed || i >= p->n;
      pthread_mutex_unlock (&p->lock);
      if (stop)
        break;
      struct kiln_err e = {0};
      if (registry_push_stored_blob (p->st, p->reg, p->repo, &p->layers[i].blob, p->mount_from, p->view, i, &e) < 0)
        {
          pthread_mutex_lock (&p->lock);
          if (!p->failed)
            {
              p->failed = true;
              p->err = e;
              e = (struct kiln_err){0};
            }
          pthread_mutex_unlock (&p->lock);
          kiln_err_clear (&e);
        }
    }
  http_thread_done ();
  return NULL;
}

/* Uploads the layers a few at a time: a registry takes parallel uploads much faster. */
static int
push_layers (struct push_pool *p, struct kiln_err *err)
{
  pthread_mutex_init (&p->lock, NULL);
  size_t n_threads = p->n < PUSH_THREADS ? p->n : PUSH_THREADS;
  pthread_t threads[PUSH_THREADS];
  size_t started = 0;
  for (; started < n_threads; started++)
    if (pthread_create (&threads[started], NULL, push_worker, p) != 0)
      break;
  if (started == 0)
    push_worker (p);
  for (size_t t = 0; t < started; t++)
    pthread_join (threads[t], NULL);
  pthread_mutex_destroy (&p->lock);
  if (p->failed)
    {
      *err = p->err;
      return -1;
    }
  return 0;
}

int
image_push (struct kiln_store *st, const char *image, const char *dest, const struct push_opts *o,
            struct digest *manifest, struct kiln_err *err)
{
  struct export_plan plan;
  memset (&plan, 0, sizeof plan);
  struct image_ref ref = {0};
  struct registry *reg = NULL;
  char *target = NULL;
  char *mount_from = NULL;
  char *media_type = NULL;
  char *repo_full = NULL;
  struct buf rd = BUF_INIT;
  int ret = -1;
  if (store_lock_shared (st, err) < 0)
    return -1;
  if (ref_parse (dest ? dest : image, true, &ref, err) < 0)
    return -1;
  target = ref_string (&ref);
  if (ref.digest && ref.tag == NULL)
    {
      kiln_err_set (err, KILN_EUSAGE, "push to a tag, not to a digest (%s)", dest ? dest : image);
      goto out;
    }
  if (export_plan_make (st, o->compression, image, &plan, err) < 0)
    goto out;
  reg = registry_open (ref.domain, &o->reg, err);
  if (reg == NULL)
    goto out;
  if (o->out)
    {
      _cleanup_free_ char *repo = ref_familiar_repository (&ref);
      fprintf (o->out, "The push refers to repository [%s]\n", repo);
    }
  mount_from = mount_source (st, &plan.id, &ref);
  char (*ids)[13] = xcalloc (plan.n_layers ? plan.n_layers : 1, sizeof *ids);
  for (size_t i = 0; i < plan.n_layers; i++)
    snprintf (ids[i], sizeof ids[i], "%.12s", digest_hex (&plan.layers[i].blob));
  struct push_pool pool = {.st = st, .reg = reg, .repo = ref.path, .mount_from = mount_from,
                           .view = xfer_view_new (o->out, plan.n_layers, ids), .layers = plan.layers,
                           .n = plan.n_layers};
  free (ids);
  for (size_t i = 0; i < plan.n_layers; i++)
    xfer_view_transient (pool.view, i, "Preparing");
  int pushed = push_layers (&pool, err);
  xfer_view_free (pool.view);
  if (pushed < 0)
    goto out;
  if (registry_push_stored_blob (st, reg, ref.path, &plan.id, mount_from, NULL, 0, err) < 0)
    goto out;
  json_t *mj = json_loadb (plan.manifest, plan.manifest_len, 0, NULL);
  const char *mt = json_string_value (json_object_get (mj, "mediaType"));
  media_type = xstrdup (mt ? mt : MT_OCI_MANIFEST);
  json_decref (mj);
  struct digest md;
  if (registry_put_manifest (reg, ref.path, ref.tag, plan.manifest, plan.manifest_len, media_type, &md, err) < 0)
    goto out;
  /* Keep the manifest kiln just published, so a later save or push gives the same digest. */
  struct digest stored;
  if (blob_put (st, plan.manifest, plan.manifest_len, &stored, err) < 0)
    goto out;
  repo_full = ref_repository (&ref);
  buf_printf (&rd, "%s@%s", repo_full, md.str);
  if (image_add_repo_digest (st, &plan.id, buf_str (&rd), err) < 0)
    goto out;
  if (o->out)
    fprintf (o->out, "%s: digest: %s size: %zu\n", ref.tag, md.str, plan.manifest_len);
  if (manifest)
    *manifest = md;
  ret = 0;
out:
  if (ret < 0)
    kiln_err_wrap (err, "pushing %s", target ? target : image);
  free (mount_from);
  free (media_type);
  free (repo_full);
  buf_free (&rd);
  free (target);
  export_plan_clear (&plan);
  registry_close (reg);
  ref_clear (&ref);
  return ret;
}
