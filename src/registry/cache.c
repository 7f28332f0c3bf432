/* registry/cache.c — build cache records and their layers, to and from a registry or a directory. */
#include "registry/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/layers.h"
#include "image/ref.h"
#include "registry/transfer.h"
#include "store/blobs.h"
#include "store/cache_records.h"
#include "store/layer_blobs.h"
#include "store/snapshots.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

#define MAX_RECORDS 200000u
#define MAX_LAYERS 20000u
#define CACHE_JSON_MAX (64u * 1024 * 1024)

void
cache_spec_clear (struct cache_spec *s)
{
  free (s->ref);
  free (s->dir);
  memset (s, 0, sizeof *s);
}

int
cache_spec_parse (const char *s, bool export, struct cache_spec *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  const char *flag = export ? "--cache-to" : "--cache-from";
  if (strchr (s, '=') == NULL)
    {
      out->registry = true;
      out->ref = xstrdup (s);
      return 0;
    }
  _cleanup_free_ char *type = NULL;
  const char *p = s;
  while (*p)
    {
      size_t n = strcspn (p, ",");
      _cleanup_free_ char *kv = xstrndup (p, n);
      p += n;
      if (*p == ',')
        p++;
      char *eq = strchr (kv, '=');
      if (eq == NULL)
        {
          cache_spec_clear (out);
          return kiln_err_set (err, KILN_EUSAGE, "%s %s: \"%s\" is not KEY=VALUE", flag, s, kv);
        }
      *eq = '\0';
      const char *k = kv, *v = eq + 1;
      if (strcmp (k, "type") == 0)
        {
          free (type);
          type = xstrdup (v);
        }
      else if (strcmp (k, "ref") == 0)
        {
          free (out->ref);
          out->ref = xstrdup (v);
        }
      else if (strcmp (k, export ? "dest" : "src") == 0)
        {
          free (out->dir);
          out->dir = xstrdup (v);
        }
      else if (strcmp (k, "mode") == 0 && export)
        {
          if (strcmp (v, "min") == 0)
            out->mode = CACHE_MODE_MIN;
          else if (strcmp (v, "max") == 0)
            out->mode = CACHE_MODE_MAX;
          else
            {
              cache_spec_clear (out);
              return kiln_err_set (err, KILN_EUSAGE, "%s: mode is min or max, not \"%s\"", flag, v);
            }
        }
      else if (strcmp (k, "compression") == 0 || strcmp (k, "oci-mediatypes") == 0 || strcmp (k, "ignore-error") == 0)
        ; /* BuildKit's knobs kiln has no use for: accepted, as scripts pass them */
      else
        {
          cache_spec_clear (out);
          return kiln_err_set (err, KILN_EUSAGE, "%s: unknown option \"%s\"", flag, k);
        }
    }
  if (type == NULL || strcmp (type, "registry") == 0)
    {
      out->registry = true;
      if (out->ref == NULL)
        {
          cache_spec_clear (out);
          return kiln_err_set (err, KILN_EUSAGE, "%s type=registry needs ref=NAME[:TAG]", flag);
        }
      return 0;
    }
  if (strcmp (type, "local") == 0)
    {
      if (out->dir == NULL)
        {
          cache_spec_clear (out);
          return kiln_err_set (err, KILN_EUSAGE, "%s type=local needs %s=DIR", flag, export ? "dest" : "src");
        }
      return 0;
    }
  cache_spec_clear (out);
  return kiln_err_set (err, KILN_EUSAGE, "%s: type is registry or local, not \"%s\"", flag, type);
}

/* ---------- export ---------- */

struct packed
{
  char *config;        /* the cache config JSON */
  size_t config_len;
  struct digest config_digest;
  char *manifest;
  size_t manifest_len;
  struct digest manifest_digest;
  struct image_layer *layers;
  size_t n_layers;
  size_t n_records;
};

static void
packed_clear (struct packed *p)
{
  free (p->config);
  free (p->manifest);
  free (p->layers);
  memset (p, 0, sizeof *p);
}

static int
pack (struct kiln_store *st, const struct strv *keys, struct packed *p, struct kiln_err *err)
{
  memset (p, 0, sizeof *p);
  json_t *records = json_array ();
  json_t *layers = json_array ();
  _cleanup_json_ json_t *seen = json_object ();
  int ret = 0;
  for (size_t i = 0; ret == 0 && i < keys->n; i++)
    {
      if (json_object_get (seen, keys->v[i]))
        continue;
      _cleanup_free_ char *result = NULL;
      int64_t created = 0;
      int have = cache_records_get (st, keys->v[i], &result, &created, err);
      if (have < 0)
        ret = -1;
      if (have <= 0)
        continue;
      json_object_set_new (seen, keys->v[i], json_true ());
      json_array_append_new (records, json_pack ("{s:s, s:s, s:I}", "key", keys->v[i], "result", result, "created",
                                                 (json_int_t) created));
      if (!digest_valid (result) || json_object_get (seen, result))
        continue;
      json_object_set_new (seen, result, json_true ());
      struct digest diff;
      struct image_layer l;
      if (digest_parse (result, &diff, err) < 0 || layer_blob_for (st, &diff, COMPRESS_GZIP, false, &l, err) < 0)
        {
          ret = -1;
          break;
        }
      p->layers = xrealloc (p->layers, (p->n_layers + 1) * sizeof *p->layers);
      p->layers[p->n_layers++] = l;
      json_array_append_new (layers, json_pack ("{s:s, s:s, s:s, s:I}", "diff_id", l.diff_id.str, "digest", l.blob.str,
                                                "mediaType", l.media_type, "size", (json_int_t) l.blob_size));
    }
  p->n_records = json_array_size (records);
  _cleanup_json_ json_t *cfg = json_pack ("{s:i, s:o, s:o}", "version", 1, "records", records, "layers", layers);
  if (ret < 0)
    {
      packed_clear (p);
      return -1;
    }
  p->config = json_canonical (cfg, &p->config_len);
  digest_bytes (p->config, p->config_len, &p->config_digest);
  _cleanup_json_ json_t *m
      = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST, "config",
                   "mediaType", MT_KILN_CACHE_CONFIG, "digest", p->config_digest.str, "size", (json_int_t) p->config_len);
  json_t *jl = json_array ();
  for (size_t i = 0; i < p->n_layers; i++)
    json_array_append_new (jl, json_pack ("{s:s, s:s, s:I}", "mediaType", p->layers[i].media_type, "digest",
                                          p->layers[i].blob.str, "size", (json_int_t) p->layers[i].blob_size));
  json_object_set_new (m, "layers", jl);
  p->manifest = json_canonical (m, &p->manifest_len);
  digest_bytes (p->manifest, p->manifest_len, &p->manifest_digest);
  return 0;
}

/* Writes `len` bytes (or, with data NULL, the store's blob `d`) as DIR/blobs/sha256/HEX, unless there. */
static int
layout_put (int dirfd, const char *dir, struct kiln_store *st, const struct digest *d, const void *data, size_t len,
            struct kiln_err *err)
{
  char name[80];
  blob_path (d, name);
  struct stat sb;
  if (fstatat (dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (sb.st_mode))
    return 0;
  char tmp[128];
  snprintf (tmp, sizeof tmp, "%s.tmp-%d", name, (int) getpid ());
  _cleanup_close_ int out = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (out < 0)
    return kiln_err_set (err, errno, "%s/%s: %s", dir, tmp, strerror (errno));
  int r = 0;
  if (data)
    r = write_all (out, data, len, tmp, err);
  else
    {
      _cleanup_close_ int in = blob_open (st, d, err);
      if (in < 0)
        r = -1;
      char buf[1 << 16];
      ssize_t n;
      while (r == 0 && (n = read (in, buf, sizeof buf)) != 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            r = kiln_err_set (err, errno, "blob %s: %s", d->str, strerror (errno));
          else
            r = write_all (out, buf, (size_t) n, tmp, err);
        }
    }
  if (r == 0 && (fsync (out) < 0 || renameat (dirfd, tmp, dirfd, name) < 0))
    r = kiln_err_set (err, errno, "%s/%s: %s", dir, name, strerror (errno));
  if (r < 0)
    unlinkat (dirfd, tmp, 0);
  return r;
}

static int
export_local (struct kiln_store *st, const char *dir, const struct packed *p, struct kiln_err *err)
{
  if ((mkdir (dir, 0755) < 0 && errno != EEXIST))
    return kiln_err_set (err, errno, "%s: %s", dir, strerror (errno));
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return kiln_err_set (err, errno, "%s: %s", dir, strerror (errno));
  if ((mkdirat (dfd, "blobs", 0755) < 0 && errno != EEXIST) || (mkdirat (dfd, "blobs/sha256", 0755) < 0 && errno != EEXIST))
    return kiln_err_set (err, errno, "%s/blobs: %s", dir, strerror (errno));
  for (size_t i = 0; i < p->n_layers; i++)
    if (layout_put (dfd, dir, st, &p->layers[i].blob, NULL, 0, err) < 0)
      return -1;
  if (layout_put (dfd, dir, st, &p->config_digest, p->config, p->config_len, err) < 0
      || layout_put (dfd, dir, st, &p->manifest_digest, p->manifest, p->manifest_len, err) < 0)
    return -1;
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  _cleanup_json_ json_t *index
      = json_pack ("{s:i, s:s, s:[{s:s, s:s, s:I, s:{s:s}}]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                   "manifests", "mediaType", MT_OCI_MANIFEST, "digest", p->manifest_digest.str, "size",
                   (json_int_t) p->manifest_len, "annotations", "org.opencontainers.image.ref.name", "latest");
  size_t ilen;
  _cleanup_free_ char *is = json_canonical (index, &ilen);
  const char *names[2] = {"oci-layout", "index.json"};
  const char *bodies[2] = {layout, is};
  size_t lens[2] = {sizeof layout - 1, ilen};
  for (int i = 0; i < 2; i++)
    {
      char tmp[64];
      snprintf (tmp, sizeof tmp, "%s.tmp-%d", names[i], (int) getpid ());
      _cleanup_close_ int fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0 || write_all (fd, bodies[i], lens[i], tmp, err) < 0 || fsync (fd) < 0
          || renameat (dfd, tmp, dfd, names[i]) < 0)
        {
          if (!kiln_err_is_set (err))
            kiln_err_set (err, errno, "%s/%s: %s", dir, names[i], strerror (errno));
          unlinkat (dfd, tmp, 0);
          return -1;
        }
    }
  return 0;
}

static int
export_registry (struct kiln_store *st, const char *refstr, const struct packed *p, const struct registry_opts *ro,
                 struct kiln_err *err)
{
  struct image_ref ref;
  if (ref_parse (refstr, true, &ref, err) < 0)
    return -1;
  int ret = -1;
  struct digest cfg_stored, md;
  struct registry *reg = NULL;
  if (ref.tag == NULL)
    {
      kiln_err_set (err, KILN_EUSAGE, "--cache-to: ref=%s needs a tag, not a digest", refstr);
      goto out;
    }
  if (blob_put (st, p->config, p->config_len, &cfg_stored, err) < 0)
    goto out;
  reg = registry_open (ref.domain, ro, err);
  if (reg == NULL)
    goto out;
  for (size_t i = 0; i < p->n_layers; i++)
    if (registry_push_stored_blob (st, reg, ref.path, &p->layers[i].blob, NULL, NULL, 0, err) < 0)
      goto out;
  if (registry_push_stored_blob (st, reg, ref.path, &cfg_stored, NULL, NULL, 0, err) < 0
      || registry_put_manifest (reg, ref.path, ref.tag, p->manifest, p->manifest_len, MT_OCI_MANIFEST, &md, err) < 0)
    goto out;
  ret = 0;
out:
  registry_close (reg);
  ref_clear (&ref);
  return ret;
}

int
cache_export (struct kiln_store *st, const struct cache_spec *spec, const struct strv *keys,
              const struct registry_opts *ro, FILE *out, struct kiln_err *err)
{
  struct packed p;
  if (pack (st, keys, &p, err) < 0)
    return kiln_err_wrap (err, "exporting the build cache");
  const char *where = spec->registry ? spec->ref : spec->dir;
  int r = spec->registry ? export_registry (st, spec->ref, &p, ro, err) : export_local (st, spec->dir, &p, err);
  if (r == 0 && out)
    fprintf (out, "exported the build cache to %s: %zu records, %zu layers\n", where, p.n_records, p.n_layers);
  packed_clear (&p);
  if (r < 0)
    kiln_err_wrap (err, "exporting the build cache to %s", where);
  return r;
}

/* ---------- import ---------- */

struct source
{
  struct registry *reg; /* type=registry */
  char *repo;
  int dirfd;            /* type=local */
  const char *dir;
};

/* Brings blob `d` into the store (verified), from the registry or the layout. */
static int
source_fetch (struct kiln_store *st, struct source *src, const struct digest *d, int64_t size, struct kiln_err *err)
{
  if (blob_exists (st, d))
    return 0;
  if (src->reg)
    return registry_fetch_blob (src->reg, src->repo, d, size, st, NULL, NULL, err);
  char name[80];
  blob_path (d, name);
  _cleanup_close_ int in = openat (src->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0)
    return kiln_err_set (err, errno, "%s/%s: %s", src->dir, name, strerror (errno));
  struct blob_writer *w = blob_begin (st, err);
  if (w == NULL)
    return -1;
  char buf[1 << 16];
  ssize_t n;
  while ((n = read (in, buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || blob_write (w, buf, (size_t) n, err) < 0)
        {
          if (n < 0)
            kiln_err_set (err, errno, "%s/%s: %s", src->dir, name, strerror (errno));
          blob_abort (w);
          return -1;
        }
    }
  if (blob_commit (w, d, NULL, err) < 0)
    return kiln_err_wrap (err, "%s/%s", src->dir, name);
  return 0;
}

/* The manifest, as bytes: 1 when there is none yet. */
static int
source_manifest (struct source *src, const struct cache_spec *spec, const char *tag, struct buf *out,
                 struct kiln_err *err)
{
  if (src->reg)
    {
      struct registry_manifest m;
      struct kiln_err e = {0};
      if (registry_get_manifest (src->reg, src->repo, tag, &m, &e) < 0)
        {
          if (e.code == ENOENT)
            {
              kiln_err_clear (&e);
              return 1;
            }
          *err = e;
          return -1;
        }
      buf_append (out, m.body, m.len);
      registry_manifest_clear (&m);
      return 0;
    }
  _cleanup_close_ int fd = openat (src->dirfd, "index.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    return 1;
  _cleanup_buf_ struct buf ib = BUF_INIT;
  if (fd < 0)
    return kiln_err_set (err, errno, "%s/index.json: %s", spec->dir, strerror (errno));
  if (read_all (fd, CACHE_JSON_MAX, &ib, "index.json", err) < 0)
    return -1;
  _cleanup_json_ json_t *index = json_loadb (buf_str (&ib), ib.len, 0, NULL);
  const char *md = json_string_value (json_object_get (json_array_get (json_object_get (index, "manifests"), 0), "digest"));
  struct digest d;
  int r = md && digest_parse (md, &d, err) == 0 ? 0 : -1;
  if (r < 0)
    return kiln_err_set (err, EBADMSG, "%s/index.json names no manifest", spec->dir);
  char name[80];
  blob_path (&d, name);
  _cleanup_close_ int mfd = openat (src->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (mfd < 0)
    return kiln_err_set (err, errno, "%s/%s: %s", spec->dir, name, strerror (errno));
  if (read_all (mfd, IMAGE_MAX_JSON, out, name, err) < 0)
    return -1;
  struct digest got;
  digest_bytes (buf_str (out), out->len, &got);
  if (strcmp (got.str, d.str) != 0)
    return kiln_err_set (err, EBADMSG, "%s/%s does not match its digest", spec->dir, name);
  return 0;
}

static int
import_records (struct kiln_store *st, json_t *records, size_t *added, struct kiln_err *err)
{
  if (store_begin (st, err) < 0)
    return -1;
  size_t i;
  json_t *r;
  json_array_foreach (records, i, r)
  {
    const char *key = json_string_value (json_object_get (r, "key"));
    const char *result = json_string_value (json_object_get (r, "result"));
    json_t *created = json_object_get (r, "created");
    if (!key || !digest_valid (key) || !result || (strcmp (result, "none") != 0 && !digest_valid (result))
        || !json_is_integer (created) || json_integer_value (created) < 0)
      {
        store_rollback (st);
        return kiln_err_set (err, EBADMSG, "cache record %zu is malformed", i + 1);
      }
    if (digest_valid (result))
      {
        struct digest d;
        struct kiln_err e = {0};
        int have = digest_parse (result, &d, &e) == 0 ? snapshot_lookup (st, &d, NULL, NULL, &e) : -1;
        kiln_err_clear (&e);
        if (have != 1)
          continue; /* its layer did not come with the cache */
      }
    if (cache_records_add (st, key, result, (int64_t) json_integer_value (created), err) < 0)
      {
        store_rollback (st);
        return -1;
      }
    (*added)++;
  }
  return store_commit (st, err);
}

int
cache_import (struct kiln_store *st, const struct cache_spec *spec, const struct registry_opts *ro, FILE *out,
              struct kiln_err *err)
{
  struct source src = {.dirfd = -1, .dir = spec->dir};
  struct image_ref ref = {0};
  _cleanup_json_ json_t *m = NULL;
  _cleanup_json_ json_t *cfg = NULL;
  struct buf mb = BUF_INIT;
  char *cs = NULL;
  int ret = -1;
  const char *where = spec->registry ? spec->ref : spec->dir;
  if (store_lock_shared (st, err) < 0)
    return -1;
  if (spec->registry)
    {
      if (ref_parse (spec->ref, true, &ref, err) < 0)
        goto out;
      src.reg = registry_open (ref.domain, ro, err);
      if (src.reg == NULL)
        goto out;
      src.repo = ref.path;
    }
  else
    {
      src.dirfd = open (spec->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (src.dirfd < 0 && errno == ENOENT)
        {
          if (out)
            fprintf (out, "no build cache at %s yet\n", where);
          ret = 0;
          goto out;
        }
      if (src.dirfd < 0)
        {
          kiln_err_set (err, errno, "%s: %s", spec->dir, strerror (errno));
          goto out;
        }
    }
  int found = source_manifest (&src, spec, ref.digest ? ref.digest : ref.tag, &mb, err);
  if (found < 0)
    goto out;
  if (found == 1)
    {
      if (out)
        fprintf (out, "no build cache at %s yet\n", where);
      ret = 0;
      goto out;
    }
  m = json_loadb (buf_str (&mb), mb.len, 0, NULL);
  json_t *cd = json_object_get (m, "config");
  const char *cmt = json_string_value (json_object_get (cd, "mediaType"));
  struct digest cfg_digest;
  if (!json_is_object (m) || !cmt || strcmp (cmt, MT_KILN_CACHE_CONFIG) != 0
      || digest_parse (json_string_value (json_object_get (cd, "digest")) ?: "", &cfg_digest, err) < 0)
    {
      kiln_err_set (err, EBADMSG, "this is not a kiln build cache (the manifest's config is not %s)",
                    MT_KILN_CACHE_CONFIG);
      goto out;
    }
  if (source_fetch (st, &src, &cfg_digest, json_integer_value (json_object_get (cd, "size")), err) < 0)
    goto out;
  size_t clen;
  cs = blob_read (st, &cfg_digest, CACHE_JSON_MAX, &clen, err);
  if (cs == NULL)
    goto out;
  cfg = json_loadb (cs, clen, 0, NULL);
  json_t *records = json_object_get (cfg, "records");
  json_t *layers = json_object_get (cfg, "layers");
  if (!json_is_array (records) || !json_is_array (layers) || json_array_size (records) > MAX_RECORDS
      || json_array_size (layers) > MAX_LAYERS)
    {
      kiln_err_set (err, EBADMSG, "the cache config has no usable records and layers");
      goto out;
    }
  size_t fetched = 0, i;
  json_t *l;
  json_array_foreach (layers, i, l)
  {
    struct digest diff, blob;
    const char *mt = json_string_value (json_object_get (l, "mediaType"));
    json_int_t size = json_integer_value (json_object_get (l, "size"));
    if (digest_parse (json_string_value (json_object_get (l, "diff_id")) ?: "", &diff, err) < 0
        || digest_parse (json_string_value (json_object_get (l, "digest")) ?: "", &blob, err) < 0 || mt == NULL
        || (strcmp (mt, MT_OCI_LAYER_GZIP) != 0 && strcmp (mt, MT_OCI_LAYER_ZSTD) != 0 && strcmp (mt, MT_OCI_LAYER) != 0)
        || size < 0)
      {
        kiln_err_set (err, EBADMSG, "cache layer %zu is malformed", i + 1);
        goto out;
      }
    if (snapshot_lookup (st, &diff, NULL, NULL, err) == 1)
      continue;
    kiln_err_clear (err);
    bool had = blob_exists (st, &blob);
    if (source_fetch (st, &src, &blob, size, err) < 0)
      goto out;
    _cleanup_close_ int fd = blob_open (st, &blob, err);
    if (fd < 0 || layer_ensure_snapshot (st, &diff, fd, err) < 0)
      {
        kiln_err_wrap (err, "cache layer %s", blob.str);
        goto out;
      }
    struct layer_blob row = {.digest = blob, .diff_id = diff, .size = (uint64_t) size};
    snprintf (row.media_type, sizeof row.media_type, "%s", mt);
    if (layer_blobs_add (st, &row, err) < 0)
      goto out;
    if (!had)
      fetched++;
  }
  size_t added = 0;
  if (import_records (st, records, &added, err) < 0)
    goto out;
  if (out)
    fprintf (out, "imported the build cache from %s: %zu new records, %zu layers downloaded\n", where, added, fetched);
  ret = 0;
out:
  if (ret < 0)
    kiln_err_wrap (err, "importing the build cache from %s", where);
  free (cs);
  buf_free (&mb);
  if (src.dirfd >= 0)
    close (src.dirfd);
  registry_close (src.reg);
  ref_clear (&ref);
  return ret;
}
