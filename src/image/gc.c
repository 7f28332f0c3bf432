/* image/gc.c — mark (from the images) and sweep (blobs, snapshots, tmp). */
#include "image/gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "store/blobs.h"
#include "store/cache_records.h"
#include "store/images.h"
#include "store/layer_blobs.h"
#include "store/snapshots.h"
#include "util/cleanup.h"
#include "util/envmap.h"

struct marks
{
  struct envmap blobs;    /* digests images reference */
  struct envmap diff_ids; /* layers images reference */
};

static void
marks_free (struct marks *m)
{
  envmap_free (&m->blobs);
  envmap_free (&m->diff_ids);
}

/* Marks what every image needs. Images that cannot be read are reported in
 * `damage` (when given) and marked as far as they can be, never swept. */
static int
mark (struct kiln_store *st, struct marks *m, struct strv *damage, struct kiln_err *err)
{
  struct image_row *rows = NULL;
  size_t n_rows = 0;
  if (images_rows (st, &rows, &n_rows, err) < 0)
    return -1;
  for (size_t i = 0; i < n_rows; i++)
    {
      envmap_set (&m->blobs, rows[i].id, "");
      envmap_set (&m->blobs, rows[i].manifest, "");
      struct digest id;
      struct image_info ii;
      struct kiln_err ierr = {0};
      if (digest_parse (rows[i].id, &id, &ierr) < 0 || image_load (st, &id, &ii, &ierr) < 0)
        {
          if (damage)
            {
              struct buf b = BUF_INIT;
              buf_printf (&b, "image %s: %s", rows[i].id, ierr.msg);
              strv_push_owned (damage, buf_steal (&b));
            }
          kiln_err_clear (&ierr);
          continue;
        }
      for (size_t l = 0; l < ii.n_layers; l++)
        {
          envmap_set (&m->blobs, ii.layers[l].blob.str, "");
          envmap_set (&m->diff_ids, ii.layers[l].diff_id.str, "");
        }
      image_info_clear (&ii);
    }
  image_rows_free (rows, n_rows);
  /* Layers the build cache refers to are kept too. */
  _cleanup_strv_ struct strv cached = STRV_INIT;
  if (cache_records_results (st, &cached, err) < 0)
    return -1;
  for (size_t i = 0; i < cached.n; i++)
    if (digest_valid (cached.v[i]))
      envmap_set (&m->diff_ids, cached.v[i], "");
  /* Every stored variant of a kept layer (compressed for export) is kept. */
  struct layer_blob *variants = NULL;
  size_t n_variants = 0;
  if (layer_blobs_find (st, NULL, &variants, &n_variants, err) < 0)
    return -1;
  for (size_t i = 0; i < n_variants; i++)
    if (envmap_get (&m->diff_ids, variants[i].diff_id.str, strlen (variants[i].diff_id.str)))
      envmap_set (&m->blobs, variants[i].digest.str, "");
  free (variants);
  return 0;
}

/* Lists a directory of the store (names only, no . and ..). */
static int
list_dir (struct kiln_store *st, const char *rel, struct strv *out, struct kiln_err *err)
{
  int fd = openat (store_root_fd (st), rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : kiln_err_set (err, errno, "%s/%s: %s", store_root (st), rel, strerror (errno));
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return kiln_err_set (err, errno, "%s/%s: %s", store_root (st), rel, strerror (errno));
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      strv_push (out, de->d_name);
  closedir (d);
  return 0;
}

/* One sweep, shared by gc and check --repair: calls `found` for each leftover. */
struct sweep
{
  struct kiln_store *st;
  bool remove;
  struct gc_stats *stats;
  struct strv *report; /* leftovers of interrupted work */
  struct strv *unused; /* complete things nothing needs */
  struct kiln_err *err;
};

static int
found (struct sweep *sw, const char *dir, const char *name, const char *what, bool is_unused)
{
  _cleanup_buf_ struct buf rel = BUF_INIT;
  buf_printf (&rel, "%s/%s", dir, name);
  struct strv *to = is_unused ? sw->unused : sw->report;
  if (to)
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "%s: %s", buf_str (&rel), what);
      strv_push_owned (to, buf_steal (&b));
    }
  if (sw->remove
      && store_remove_tree_counted (store_root_fd (sw->st), buf_str (&rel), sw->stats ? &sw->stats->bytes : NULL, sw->err)
             < 0)
    return -1;
  return 0;
}

static int
sweep (struct sweep *sw, struct marks *m)
{
  struct kiln_store *st = sw->st;
  struct layer_rec *layers = NULL;
  size_t n_layers = 0;
  _cleanup_strv_ struct strv snaps = STRV_INIT;
  _cleanup_strv_ struct strv blobs = STRV_INIT;
  _cleanup_strv_ struct strv tmp = STRV_INIT;
  _cleanup_ (envmap_free) struct envmap live_snaps = ENVMAP_INIT;
  _cleanup_ (envmap_free) struct envmap recorded = ENVMAP_INIT;

  /* Layer records (and their snapshots) no image or cache entry needs. */
  if (layer_recs_list (st, &layers, &n_layers, sw->err) < 0)
    return -1;
  for (size_t i = 0; i < n_layers; i++)
    {
      envmap_set (&recorded, layers[i].snapshot, "");
      if (envmap_get (&m->diff_ids, layers[i].diff_id, strlen (layers[i].diff_id)))
        {
          envmap_set (&live_snaps, layers[i].snapshot, "");
          continue;
        }
      if (sw->remove && layer_recs_forget (st, layers[i].diff_id, sw->err) < 0)
        {
          layer_recs_free (layers, n_layers);
          return -1;
        }
    }
  layer_recs_free (layers, n_layers);
  if (list_dir (st, "snapshots", &snaps, sw->err) < 0)
    return -1;
  for (size_t i = 0; i < snaps.n; i++)
    if (!envmap_get (&live_snaps, snaps.v[i], strlen (snaps.v[i])))
      {
        if (sw->stats)
          sw->stats->snapshots++;
        bool rec = envmap_get (&recorded, snaps.v[i], strlen (snaps.v[i])) != NULL;
        if (found (sw, "snapshots", snaps.v[i], rec ? "layer no image uses" : "snapshot without a record", rec) < 0)
          return -1;
      }

  if (list_dir (st, "blobs/sha256", &blobs, sw->err) < 0)
    return -1;
  for (size_t i = 0; i < blobs.n; i++)
    {
      _cleanup_buf_ struct buf d = BUF_INIT;
      buf_printf (&d, "sha256:%s", blobs.v[i]);
      if (envmap_get (&m->blobs, buf_str (&d), d.len))
        continue;
      if (sw->stats)
        sw->stats->blobs++;
      if (found (sw, "blobs/sha256", blobs.v[i], "blob no image uses", true) < 0)
        return -1;
    }
  if (list_dir (st, "tmp", &tmp, sw->err) < 0)
    return -1;
  for (size_t i = 0; i < tmp.n; i++)
    {
      if (strcmp (tmp.v[i], "locks") == 0)
        continue; /* lock files are how others wait; they hold no data */
      if (sw->stats)
        sw->stats->tmp++;
      if (found (sw, "tmp", tmp.v[i], "unfinished write", false) < 0)
        return -1;
    }
  return 0;
}

int
image_gc (struct kiln_store *st, bool dry_run, struct gc_stats *stats, struct kiln_err *err)
{
  memset (stats, 0, sizeof *stats);
  if (store_lock_exclusive (st, err) < 0)
    return -1;
  struct marks m = {ENVMAP_INIT, ENVMAP_INIT};
  int r = mark (st, &m, NULL, err);
  if (r == 0)
    {
      struct sweep sw = {st, !dry_run, stats, NULL, NULL, err};
      r = sweep (&sw, &m);
    }
  marks_free (&m);
  return r;
}

void
check_report_clear (struct check_report *rep)
{
  strv_free (&rep->damage);
  strv_free (&rep->garbage);
  strv_free (&rep->unused);
  strv_free (&rep->repaired);
}

int
store_check (struct kiln_store *st, bool repair, struct check_report *rep, struct kiln_err *err)
{
  memset (rep, 0, sizeof *rep);
  if (store_lock_exclusive (st, err) < 0)
    return -1;
  _cleanup_strv_ struct strv ic = STRV_INIT;
  if (store_integrity_check (st, &ic, err) < 0)
    return -1;
  if (ic.n != 1 || strcmp (ic.v[0], "ok") != 0)
    for (size_t i = 0; i < ic.n; i++)
      {
        struct buf b = BUF_INIT;
        buf_printf (&b, "kiln.db: %s", ic.v[i]);
        strv_push_owned (&rep->damage, buf_steal (&b));
      }
  struct marks m = {ENVMAP_INIT, ENVMAP_INIT};
  int r = mark (st, &m, &rep->damage, err);
  if (r < 0)
    goto out;
  /* Every blob an image needs is there and hashes to its name; a layer's blob may
   * be absent only when the layer is kept as a snapshot (layers built here). */
  for (size_t i = 0; i < m.blobs.n; i++)
    {
      struct digest d;
      if (digest_parse (m.blobs.keys[i], &d, err) < 0)
        {
          r = -1;
          goto out;
        }
      struct kiln_err berr = {0};
      if (!blob_exists (st, &d))
        {
          int snap = snapshot_lookup (st, &d, NULL, NULL, &berr);
          if (snap != 1)
            {
              struct buf b = BUF_INIT;
              buf_printf (&b, "blob %s: needed by an image but missing", d.str);
              strv_push_owned (&rep->damage, buf_steal (&b));
            }
        }
      else if (blob_verify (st, &d, NULL, &berr) < 0)
        strv_push (&rep->damage, berr.msg);
      kiln_err_clear (&berr);
    }
  /* Every layer an image needs has its snapshot on disk. */
  for (size_t i = 0; i < m.diff_ids.n; i++)
    {
      struct digest d;
      if (digest_parse (m.diff_ids.keys[i], &d, err) < 0)
        {
          r = -1;
          goto out;
        }
      _cleanup_free_ char *sid = NULL;
      int found = snapshot_lookup (st, &d, &sid, NULL, err);
      if (found < 0)
        {
          r = -1;
          goto out;
        }
      _cleanup_buf_ struct buf p = BUF_INIT;
      if (found)
        buf_printf (&p, "snapshots/%s/fs", sid);
      if (found && faccessat (store_root_fd (st), buf_str (&p), F_OK, AT_SYMLINK_NOFOLLOW) < 0)
        {
          struct buf b = BUF_INIT;
          buf_printf (&b, "layer %s: its snapshot %s is missing", d.str, sid);
          strv_push_owned (&rep->damage, buf_steal (&b));
        }
      else if (!found)
        {
          /* A layer with a stored blob can be unpacked again; without one it is lost. */
          bool has_blob = false;
          struct layer_blob *held = NULL;
          size_t n_held = 0;
          if (layer_blobs_find (st, &d, &held, &n_held, err) == 0)
            for (size_t k = 0; k < n_held && !has_blob; k++)
              has_blob = blob_exists (st, &held[k].digest);
          free (held);
          if (!has_blob)
            {
              struct buf b = BUF_INIT;
              buf_printf (&b, "layer %s: neither a snapshot nor a blob holds it", d.str);
              strv_push_owned (&rep->damage, buf_steal (&b));
            }
        }
    }
  {
    struct sweep sw = {st, false, NULL, &rep->garbage, &rep->unused, err};
    r = sweep (&sw, &m);
    if (r == 0 && repair && (rep->garbage.n || rep->unused.n))
      {
        struct gc_stats gs = {0};
        struct sweep fix = {st, true, &gs, &rep->repaired, &rep->repaired, err};
        r = sweep (&fix, &m);
      }
  }
out:
  marks_free (&m);
  return r;
}

/* A layer's size as df counts it: its snapshot's, or its blob's when it has none. */
static uint64_t
layer_size (struct kiln_store *st, const struct digest *diff_id, uint64_t blob_size)
{
  uint64_t sz = 0;
  struct kiln_err ignored = {0};
  if (snapshot_lookup (st, diff_id, NULL, &sz, &ignored) != 1)
    sz = blob_size;
  kiln_err_clear (&ignored);
  return sz;
}

/* Images: every layer counted once; reclaimable is what only untagged images use.
 * Build cache: the layers cache records keep that no image uses (docker's df
 * counts a build's intermediate snapshots there too); all of it is reclaimable,
 * as prune drops the whole cache. */
int
store_df (struct kiln_store *st, struct df_row *images, struct df_row *cache, struct kiln_err *err)
{
  memset (images, 0, sizeof *images);
  memset (cache, 0, sizeof *cache);
  _cleanup_strv_ struct strv ids = STRV_INIT;
  if (image_list (st, &ids, err) < 0)
    return -1;
  /* diff_id → "t<size>" when a tagged image uses it, "d<size>" when only untagged ones do */
  _cleanup_ (envmap_free) struct envmap uses = ENVMAP_INIT;
  for (size_t i = 0; i < ids.n; i++)
    {
      struct digest id;
      struct image_info ii;
      struct kiln_err ierr = {0};
      if (digest_parse (ids.v[i], &id, &ierr) < 0 || image_load (st, &id, &ii, &ierr) < 0)
        {
          kiln_err_clear (&ierr);
          continue;
        }
      images->total++;
      _cleanup_strv_ struct strv tags = STRV_INIT;
      image_tags (st, &id, &tags, &ierr);
      kiln_err_clear (&ierr);
      bool tagged = tags.n > 0;
      if (tagged)
        images->active++;
      for (size_t l = 0; l < ii.n_layers; l++)
        {
          const char *key = ii.layers[l].diff_id.str;
          const char *prev = envmap_get (&uses, key, strlen (key));
          char v[32];
          if (prev == NULL)
            {
              uint64_t sz = layer_size (st, &ii.layers[l].diff_id, ii.layers[l].blob_size);
              images->size += sz;
              snprintf (v, sizeof v, "%c%llu", tagged ? 't' : 'd', (unsigned long long) sz);
              envmap_set (&uses, key, v);
            }
          else if (tagged && prev[0] == 'd')
            {
              snprintf (v, sizeof v, "t%s", prev + 1);
              envmap_set (&uses, key, v);
            }
        }
      image_info_clear (&ii);
    }
  for (size_t i = 0; i < uses.n; i++)
    if (uses.values[i][0] == 'd')
      images->reclaimable += strtoull (uses.values[i] + 1, NULL, 10);

  _cleanup_strv_ struct strv results = STRV_INIT;
  if (cache_records_results (st, &results, err) < 0)
    return -1;
  cache->total = results.n;
  _cleanup_ (envmap_free) struct envmap counted = ENVMAP_INIT;
  for (size_t i = 0; i < results.n; i++)
    {
      const char *r = results.v[i];
      struct digest d;
      struct kiln_err ierr = {0};
      if (!digest_valid (r) || envmap_get (&uses, r, strlen (r)) || envmap_get (&counted, r, strlen (r))
          || digest_parse (r, &d, &ierr) < 0)
        {
          kiln_err_clear (&ierr);
          continue;
        }
      envmap_set (&counted, r, "");
      cache->size += layer_size (st, &d, 0);
    }
  cache->reclaimable = cache->size;
  return 0;
}
