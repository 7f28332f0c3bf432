/* image/archive.c — save (docker-archive, oci-archive, oci-dir) and load. */
#include "image/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/layers.h"
#include "image/ref.h"
#include "store/blobs.h"
#include "store/images.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/outfile.h"
#include "util/envmap.h"

#define CHUNK (1u << 20)
#define META_MAX (16u * 1024 * 1024)

int
archive_format_parse (const char *s)
{
  if (strcmp (s, "docker-archive") == 0 || strcmp (s, "docker") == 0)
    return FORMAT_DOCKER_ARCHIVE;
  if (strcmp (s, "oci-archive") == 0 || strcmp (s, "oci") == 0)
    return FORMAT_OCI_ARCHIVE;
  if (strcmp (s, "oci-dir") == 0)
    return FORMAT_OCI_DIR;
  return -1;
}

/* ---------- writing: a tar (util/outfile) or a directory under a temporary name ---------- */

struct out
{
  enum archive_format fmt;
  struct archive *a;
  struct outfile *file; /* tar output */
  int fd;               /* its descriptor */
  int dirfd;            /* oci-dir output */
  char *tmp;            /* oci-dir: temporary path, renamed to final on success */
  char *final;
  struct kiln_err *err;
};

static la_ssize_t
out_write_cb (struct archive *a, void *ud, const void *buf, size_t len)
{
  struct out *o = ud;
  const char *p = buf;
  size_t left = len;
  while (left)
    {
      ssize_t n = write (o->fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          archive_set_error (a, errno, "%s", strerror (errno));
          return -1;
        }
      p += n;
      left -= (size_t) n;
    }
  return (la_ssize_t) len;
}

static int
out_open (struct out *o, enum archive_format fmt, const char *path, struct kiln_err *err)
{
  memset (o, 0, sizeof *o);
  o->fmt = fmt;
  o->fd = o->dirfd = -1;
  o->err = err;
  if (fmt == FORMAT_OCI_DIR)
    {
      if (strcmp (path, "-") == 0)
        return kiln_err_set (err, KILN_EUSAGE, "oci-dir needs a directory, not standard output");
      if (outfile_check (path, OUTFILE_DIR, err) < 0)
        return -1;
      o->final = xstrdup (path);
      struct buf b = BUF_INIT;
      buf_printf (&b, "%s.kiln-tmp-%d", path, (int) getpid ());
      o->tmp = buf_steal (&b);
      struct stat sb;
      if (stat (path, &sb) == 0 && (!S_ISDIR (sb.st_mode) || rmdir (path) < 0))
        return kiln_err_set (err, EEXIST, "%s already exists and is not an empty directory", path);
      if (mkdir (o->tmp, 0755) < 0 || (o->dirfd = open (o->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
          || mkdirat (o->dirfd, "blobs", 0755) < 0 || mkdirat (o->dirfd, "blobs/sha256", 0755) < 0)
        return kiln_err_set (err, errno, "%s: %s", o->tmp, strerror (errno));
      return 0;
    }
  if ((o->file = outfile_open (path, OUTFILE_STDOUT, err)) == NULL)
    return -1;
  o->fd = outfile_fd (o->file);
  o->a = archive_write_new ();
  archive_write_set_format_pax_restricted (o->a);
  archive_write_set_bytes_per_block (o->a, 65536);
  archive_write_set_bytes_in_last_block (o->a, 1);
  if (archive_write_open2 (o->a, o, NULL, out_write_cb, NULL, NULL) != ARCHIVE_OK)
    return kiln_err_set (err, EIO, "%s: %s", path, archive_error_string (o->a));
  return 0;
}

/* Frees what out_open() made; `keep` when the output was committed. */
static void
out_free (struct out *o, bool keep)
{
  if (o->a)
    archive_write_free (o->a);
  outfile_abort (o->file);
  if (o->dirfd >= 0)
    close (o->dirfd);
  if (o->tmp && !keep)
    {
      struct kiln_err ignored = {0};
      store_remove_tree (AT_FDCWD, o->tmp, &ignored);
      kiln_err_clear (&ignored);
    }
  free (o->tmp);
  free (o->final);
  memset (o, 0, sizeof *o);
  o->fd = o->dirfd = -1;
}

static void
out_abort (struct out *o)
{
  out_free (o, false);
}

static int
out_close (struct out *o, struct kiln_err *err)
{
  int r = 0;
  if (o->a && archive_write_close (o->a) != ARCHIVE_OK)
    r = kiln_err_set (err, EIO, "writing the archive: %s", archive_error_string (o->a));
  if (r == 0 && o->file)
    {
      r = outfile_commit (o->file, err);
      o->file = NULL;
    }
  if (r == 0 && o->dirfd >= 0 && syncfs (o->dirfd) < 0)
    r = kiln_err_set (err, errno, "%s: %s", o->tmp, strerror (errno));
  if (r == 0 && o->tmp && rename (o->tmp, o->final) < 0)
    r = kiln_err_set (err, errno, "%s: %s", o->final, strerror (errno));
  out_free (o, r == 0);
  return r;
}

static void
entry_defaults (struct archive_entry *e, const char *name, mode_t type, uint64_t size)
{
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size (e, (la_int64_t) size);
  archive_entry_set_mtime (e, 0, 0); /* fixed, so the same images give the same archive */
}

static int
out_dir (struct out *o, const char *name)
{
  if (o->fmt == FORMAT_OCI_DIR)
    return 0;
  struct archive_entry *e = archive_entry_new ();
  entry_defaults (e, name, AE_IFDIR, 0);
  int r = archive_write_header (o->a, e) == ARCHIVE_OK ? 0 : kiln_err_set (o->err, EIO, "%s", archive_error_string (o->a));
  archive_entry_free (e);
  return r;
}

/* A file entry: begin, data, end. For oci-dir the data goes to a new file. */
static int file_fd = -1;

static int
out_begin (struct out *o, const char *name, uint64_t size)
{
  if (o->fmt == FORMAT_OCI_DIR)
    {
      file_fd = openat (o->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      return file_fd < 0 ? kiln_err_set (o->err, errno, "%s/%s: %s", o->tmp, name, strerror (errno)) : 0;
    }
  struct archive_entry *e = archive_entry_new ();
  entry_defaults (e, name, AE_IFREG, size);
  int r = archive_write_header (o->a, e) == ARCHIVE_OK ? 0 : kiln_err_set (o->err, EIO, "%s", archive_error_string (o->a));
  archive_entry_free (e);
  return r;
}

static int
out_data (void *ud, const void *buf, size_t len, struct kiln_err *err)
{
  struct out *o = ud;
  if (o->fmt == FORMAT_OCI_DIR)
    return write_all (file_fd, buf, len, o->tmp, err);
  if (archive_write_data (o->a, buf, len) != (la_ssize_t) len)
    return kiln_err_set (err, EIO, "writing the archive: %s", archive_error_string (o->a));
  return 0;
}

static int
out_end (struct out *o)
{
  if (o->fmt == FORMAT_OCI_DIR && file_fd >= 0)
    {
      close (file_fd);
      file_fd = -1;
    }
  return 0;
}

static int
out_bytes (struct out *o, const char *name, const void *data, size_t len)
{
  if (out_begin (o, name, len) < 0 || out_data (o, data, len, o->err) < 0)
    return -1;
  return out_end (o);
}

static int
out_blob_file (struct out *o, struct kiln_store *st, const struct digest *d, uint64_t size)
{
  char name[80];
  blob_path (d, name);
  _cleanup_close_ int fd = blob_open (st, d, o->err);
  if (fd < 0 || out_begin (o, name, size) < 0)
    return -1;
  char *buf = xmalloc (CHUNK);
  uint64_t done = 0;
  int r = 0;
  while (r == 0)
    {
      ssize_t n = read (fd, buf, CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        r = kiln_err_set (o->err, errno, "blob %s: %s", d->str, strerror (errno));
      else if (n == 0)
        break;
      else
        {
          done += (uint64_t) n;
          r = out_data (o, buf, (size_t) n, o->err);
        }
    }
  free (buf);
  if (r == 0 && done != size)
    r = kiln_err_set (o->err, EIO, "blob %s changed size while being saved", d->str);
  out_end (o);
  return r;
}

/* ---------- save ---------- */

void
export_plan_clear (struct export_plan *p)
{
  free (p->manifest);
  free (p->layers);
  strv_free (&p->tags);
}

int
export_plan_make (struct kiln_store *st, enum compression compression, const char *name, struct export_plan *p,
                  struct kiln_err *err)
{
  memset (p, 0, sizeof *p);
  if (image_resolve (st, name, &p->id, err) < 0)
    return -1;
  struct image_info ii;
  if (image_load (st, &p->id, &ii, err) < 0)
    return -1;
  /* Named by a tag: that tag; by id: all its tags. */
  struct image_ref r;
  struct kiln_err perr = {0};
  _cleanup_strv_ struct strv tags = STRV_INIT;
  image_tags (st, &p->id, &tags, err);
  if (ref_parse (name, true, &r, &perr) == 0 && r.digest == NULL)
    {
      char *full = ref_string (&r);
      for (size_t i = 0; i < tags.n; i++)
        if (strcmp (tags.v[i], full) == 0)
          strv_push (&p->tags, full);
      free (full);
      ref_clear (&r);
    }
  kiln_err_clear (&perr);
  if (p->tags.n == 0)
    for (size_t i = 0; i < tags.n; i++)
      strv_push (&p->tags, tags.v[i]);

  p->n_layers = ii.n_layers;
  p->layers = xcalloc (ii.n_layers ? ii.n_layers : 1, sizeof *p->layers);
  int ret = 0;
  for (size_t i = 0; i < ii.n_layers && ret == 0; i++)
    {
      struct image_layer *l = &p->layers[i];
      if (compression == COMPRESS_NONE)
        {
          l->diff_id = ii.layers[i].diff_id;
          l->blob = ii.layers[i].diff_id;
          snprintf (l->media_type, sizeof l->media_type, "%s", MT_OCI_LAYER);
          ret = layer_size (st, &l->diff_id, &l->blob_size, err);
        }
      else
        ret = layer_blob_for (st, &ii.layers[i].diff_id, compression, false, l, err);
    }
  if (ret == 0)
    {
      char cp[80];
      blob_path (&p->id, cp);
      struct stat sb;
      p->config_size = fstatat (store_root_fd (st), cp, &sb, 0) == 0 ? (uint64_t) sb.st_size : 0;
      /* The stored manifest, if it already describes these blobs: its digest is kept. */
      bool same = true;
      for (size_t i = 0; i < ii.n_layers && same; i++)
        same = strcmp (ii.layers[i].blob.str, p->layers[i].blob.str) == 0
               && strcmp (ii.layers[i].media_type, p->layers[i].media_type) == 0;
      if (same)
        {
          p->manifest = blob_read (st, &ii.manifest, IMAGE_MAX_JSON, &p->manifest_len, err);
          p->manifest_digest = ii.manifest;
          ret = p->manifest ? 0 : -1;
        }
      else
        {
          json_t *m = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
                                 "config", "mediaType", MT_OCI_CONFIG, "digest", p->id.str, "size",
                                 (json_int_t) p->config_size);
          json_t *jl = json_array ();
          for (size_t i = 0; i < p->n_layers; i++)
            json_array_append_new (jl, json_pack ("{s:s, s:s, s:I}", "mediaType", p->layers[i].media_type,
                                                  "digest", p->layers[i].blob.str, "size",
                                                  (json_int_t) p->layers[i].blob_size));
          json_object_set_new (m, "layers", jl);
          p->manifest = json_canonical (m, &p->manifest_len);
          json_decref (m);
          digest_bytes (p->manifest, p->manifest_len, &p->manifest_digest);
        }
    }
  image_info_clear (&ii);
  return ret;
}

static int
write_layer_entry (struct out *o, struct kiln_store *st, const struct image_layer *l, enum compression c,
                   struct kiln_err *err)
{
  if (c != COMPRESS_NONE)
    return out_blob_file (o, st, &l->blob, l->blob_size);
  char name[80];
  blob_path (&l->blob, name);
  if (out_begin (o, name, l->blob_size) < 0)
    return -1;
  struct layer_sink sink = {out_data, o};
  int r = layer_stream (st, &l->diff_id, &sink, err);
  out_end (o);
  return r;
}

int
image_save (struct kiln_store *st, const struct save_opts *o, const struct strv *images, struct kiln_err *err)
{
  /* A path that cannot be written is refused before any work; out_open() looks again. */
  if (outfile_check (o->output, o->format == FORMAT_OCI_DIR ? OUTFILE_DIR : OUTFILE_STDOUT, err) < 0)
    return -1;
  if (store_lock_shared (st, err) < 0)
    return -1;
  struct export_plan *plan = xcalloc (images->n ? images->n : 1, sizeof *plan);
  size_t n = 0;
  struct out out;
  int ret = -1;
  bool opened = false;
  for (; n < images->n; n++)
    if (export_plan_make (st, o->compression, images->v[n], &plan[n], err) < 0)
      {
        export_plan_clear (&plan[n]);
        goto done;
      }
  if (out_open (&out, o->format, o->output, err) < 0)
    {
      out_abort (&out);
      goto done;
    }
  opened = true;
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  if (out_bytes (&out, "oci-layout", layout, sizeof layout - 1) < 0 || out_dir (&out, "blobs/") < 0
      || out_dir (&out, "blobs/sha256/") < 0)
    goto done;
  struct envmap written = ENVMAP_INIT;
  for (size_t i = 0; i < n; i++)
    {
      struct export_plan *p = &plan[i];
      for (size_t l = 0; l < p->n_layers; l++)
        {
          if (envmap_get (&written, p->layers[l].blob.str, DIGEST_STR_LEN))
            continue;
          envmap_set (&written, p->layers[l].blob.str, "");
          if (write_layer_entry (&out, st, &p->layers[l], o->compression, err) < 0)
            goto done_map;
        }
      if (!envmap_get (&written, p->id.str, DIGEST_STR_LEN))
        {
          envmap_set (&written, p->id.str, "");
          if (out_blob_file (&out, st, &p->id, p->config_size) < 0)
            goto done_map;
        }
      if (!envmap_get (&written, p->manifest_digest.str, DIGEST_STR_LEN))
        {
          envmap_set (&written, p->manifest_digest.str, "");
          char name[80];
          blob_path (&p->manifest_digest, name);
          if (out_bytes (&out, name, p->manifest, p->manifest_len) < 0)
            goto done_map;
        }
    }
  {
    json_t *index = json_pack ("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests");
    json_t *docker = json_array ();
    json_t *repos = json_object ();
    for (size_t i = 0; i < n; i++)
      {
        struct export_plan *p = &plan[i];
        size_t entries = p->tags.n ? p->tags.n : 1;
        for (size_t t = 0; t < entries; t++)
          {
            json_t *desc = json_pack ("{s:s, s:s, s:I}", "mediaType", MT_OCI_MANIFEST, "digest",
                                      p->manifest_digest.str, "size", (json_int_t) p->manifest_len);
            if (p->tags.n)
              {
                struct image_ref r;
                ref_parse (p->tags.v[t], false, &r, err);
                json_object_set_new (desc, "annotations",
                                     json_pack ("{s:s, s:s}", "io.containerd.image.name", p->tags.v[t],
                                                "org.opencontainers.image.ref.name", r.tag ? r.tag : "latest"));
                char *fam = ref_familiar_repository (&r);
                json_t *repo = json_object_get (repos, fam);
                if (repo == NULL)
                  json_object_set_new (repos, fam, repo = json_object ());
                json_object_set_new (repo, r.tag ? r.tag : "latest",
                                     json_string (p->n_layers ? digest_hex (&p->layers[p->n_layers - 1].diff_id) : ""));
                free (fam);
                ref_clear (&r);
              }
            json_array_append_new (json_object_get (index, "manifests"), desc);
          }
        char cfg[80];
        blob_path (&p->id, cfg);
        json_t *tags = json_array ();
        for (size_t t = 0; t < p->tags.n; t++)
          {
            char *f = ref_familiar (p->tags.v[t]);
            json_array_append_new (tags, json_string (f));
            free (f);
          }
        json_t *layers = json_array ();
        for (size_t l = 0; l < p->n_layers; l++)
          {
            char lp[80];
            blob_path (&p->layers[l].blob, lp);
            json_array_append_new (layers, json_string (lp));
          }
        json_array_append_new (docker, json_pack ("{s:s, s:o, s:o}", "Config", cfg, "RepoTags",
                                                  p->tags.n ? tags : (json_decref (tags), json_null ()), "Layers",
                                                  layers));
      }
    size_t len;
    char *s = json_canonical (index, &len);
    int r = out_bytes (&out, "index.json", s, len);
    free (s);
    if (r == 0 && o->format == FORMAT_DOCKER_ARCHIVE)
      {
        s = json_canonical (docker, &len);
        r = out_bytes (&out, "manifest.json", s, len);
        free (s);
        if (r == 0 && json_object_size (repos))
          {
            s = json_canonical (repos, &len);
            r = out_bytes (&out, "repositories", s, len);
            free (s);
          }
      }
    json_decref (index);
    json_decref (docker);
    json_decref (repos);
    if (r < 0)
      goto done_map;
  }
  envmap_free (&written);
  opened = false;
  ret = out_close (&out, err);
  goto done;
done_map:
  envmap_free (&written);
done:
  if (opened)
    out_abort (&out);
  for (size_t i = 0; i < n; i++)
    export_plan_clear (&plan[i]);
  free (plan);
  return ret;
}

/* ---------- load ---------- */

/* ---------- an archive's metadata: outside input, read into plain names ---------- */

void
archive_image_clear (struct archive_image *im)
{
  free (im->manifest);
  free (im->config);
  strv_free (&im->layers);
  strv_free (&im->tags);
  memset (im, 0, sizeof *im);
}

void
archive_images_free (struct archive_image *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    archive_image_clear (&v[i]);
  free (v);
}

/* The member an OCI descriptor's digest names ("blobs/sha256/" alone when it names none). */
static char *
blob_member (json_t *desc)
{
  const char *d = json_string_value (json_object_get (desc, "digest"));
  struct buf b = BUF_INIT;
  buf_printf (&b, "blobs/sha256/%s", d && strlen (d) > 7 ? d + 7 : "");
  return buf_steal (&b);
}

/* The tags an archive gives an image, normalised.  A name that is no valid tag
 * refuses the whole archive, as docker load does: loading the image under fewer
 * names than asked would go unnoticed.  `what` names the list in errors. */
static int
normalize_tags (json_t *names, const char *what, struct strv *out, struct kiln_err *err)
{
  if (names == NULL || json_is_null (names))
    return 0;
  if (!json_is_array (names))
    return kiln_err_set (err, EINVAL, "%s is not a list", what);
  size_t i;
  json_t *v;
  json_array_foreach (names, i, v)
  {
    struct image_ref r;
    if (!json_is_string (v))
      return kiln_err_set (err, EINVAL, "%s: entry %zu is not a string", what, i + 1);
    if (ref_parse (json_string_value (v), true, &r, err) < 0)
      return kiln_err_wrap (err, "%s", what);
    if (r.digest)
      {
        ref_clear (&r);
        return kiln_err_set (err, EINVAL, "%s: invalid tag \"%s\": a tag holds no digest", what,
                             json_string_value (v));
      }
    strv_push_owned (out, ref_string (&r));
    ref_clear (&r);
  }
  return 0;
}

int
archive_parse_docker_manifest (const char *s, size_t len, struct archive_image **out, size_t *n_out,
                               struct kiln_err *err)
{
  *out = NULL;
  *n_out = 0;
  json_error_t je;
  json_t *arr = json_loadb (s, len, 0, &je);
  if (!json_is_array (arr))
    {
      json_decref (arr);
      return kiln_err_set (err, EINVAL, "manifest.json is not a JSON array");
    }
  size_t n = json_array_size (arr);
  struct archive_image *v = xcalloc (n ? n : 1, sizeof *v);
  size_t i;
  json_t *img;
  int ret = 0;
  json_array_foreach (arr, i, img)
  {
    v[i].config = xstrdup (json_string_value (json_object_get (img, "Config")) ?: "");
    json_t *layers = json_object_get (img, "Layers");
    for (size_t l = 0; l < json_array_size (layers); l++)
      strv_push (&v[i].layers, json_string_value (json_array_get (layers, l)) ?: "");
    char what[64];
    snprintf (what, sizeof what, "manifest.json: RepoTags of image %zu", i + 1);
    if ((ret = normalize_tags (json_object_get (img, "RepoTags"), what, &v[i].tags, err)) < 0)
      break;
  }
  json_decref (arr);
  if (ret < 0)
    {
      archive_images_free (v, n);
      return -1;
    }
  *out = v;
  *n_out = n;
  return 0;
}

int
archive_parse_index (const char *s, size_t len, struct archive_image **out, size_t *n_out, struct kiln_err *err)
{
  *out = NULL;
  *n_out = 0;
  json_error_t je;
  json_t *index = json_loadb (s, len, 0, &je);
  if (!json_is_object (index))
    {
      json_decref (index);
      return kiln_err_set (err, KILN_EPARSE, "index.json is not a JSON object");
    }
  json_t *descs = json_object_get (index, "manifests");
  size_t n = json_array_size (descs);
  struct archive_image *v = xcalloc (n ? n : 1, sizeof *v);
  size_t i;
  json_t *desc;
  int ret = 0;
  json_array_foreach (descs, i, desc)
  {
    json_t *ann = json_object_get (desc, "annotations");
    const char *name = json_string_value (json_object_get (ann, "io.containerd.image.name"));
    if (name == NULL)
      name = json_string_value (json_object_get (ann, "org.opencontainers.image.ref.name"));
    v[i].manifest = blob_member (desc);
    /* A bare ref.name ("latest") is a tag of nothing in particular: not an image name. */
    if (name && (strchr (name, '/') || strchr (name, ':')))
      {
        char what[64];
        snprintf (what, sizeof what, "index.json: the name of manifest %zu", i + 1);
        json_t *one = json_pack ("[s]", name);
        ret = normalize_tags (one, what, &v[i].tags, err);
        json_decref (one);
        if (ret < 0)
          break;
      }
  }
  json_decref (index);
  if (ret < 0)
    {
      archive_images_free (v, n);
      return -1;
    }
  *out = v;
  *n_out = n;
  return 0;
}

/* Picks the manifest for this platform out of an index. */
static json_t *
pick_platform (json_t *manifests)
{
  const char *host = "amd64";
#if defined(__aarch64__)
  host = "arm64";
#endif
  size_t i;
  json_t *m;
  json_array_foreach (manifests, i, m)
  {
    json_t *p = json_object_get (m, "platform");
    const char *arch = json_string_value (json_object_get (p, "architecture"));
    const char *os = json_string_value (json_object_get (p, "os"));
    if (p == NULL || (arch && strcmp (arch, host) == 0 && (!os || strcmp (os, "linux") == 0)))
      return m;
  }
  return json_array_size (manifests) == 1 ? json_array_get (manifests, 0) : NULL;
}

int
archive_parse_oci_manifest (const char *s, size_t len, struct archive_image *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  json_error_t je;
  json_t *m = json_loadb (s, len, 0, &je);
  if (!json_is_object (m))
    {
      json_decref (m);
      return kiln_err_set (err, EINVAL, "not a JSON object (%s)", m ? "" : je.text);
    }
  int ret = 0;
  const char *mt = json_string_value (json_object_get (m, "mediaType"));
  if (json_is_array (json_object_get (m, "manifests"))
      || (mt && (strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0)))
    {
      json_t *pick = pick_platform (json_object_get (m, "manifests"));
      if (pick == NULL)
        ret = kiln_err_set (err, ENOENT, "the image index has no manifest for this platform");
      else
        {
          out->manifest = blob_member (pick);
          ret = 1;
        }
      json_decref (m);
      return ret;
    }
  json_t *layers = json_object_get (m, "layers");
  if (!json_is_array (layers))
    ret = kiln_err_set (err, EINVAL, "no layers list");
  else
    {
      out->config = blob_member (json_object_get (m, "config"));
      for (size_t i = 0; i < json_array_size (layers); i++)
        strv_push_owned (&out->layers, blob_member (json_array_get (layers, i)));
    }
  json_decref (m);
  return ret;
}

/* ---------- loading ---------- */

struct source
{
  struct kiln_store *st;
  int dirfd;             /* an OCI layout directory, or -1 */
  struct envmap names;   /* archive member name → blob digest */
  struct envmap created; /* blobs this load added (removed again if unused) */
  struct envmap used;
  char *meta[4];         /* manifest.json, index.json, repositories, oci-layout */
  size_t meta_len[4];
};

static const char *const meta_names[] = {"manifest.json", "index.json", "repositories", "oci-layout"};

static char *
clean_member (const char *name)
{
  while (name[0] == '.' && name[1] == '/')
    name += 2;
  while (*name == '/')
    name++;
  return xstrdup (name);
}

static int
store_member (struct source *src, const char *name, struct archive *a, int fd, struct kiln_err *err)
{
  /* blobs/sha256/<hex> must hash to <hex>. */
  struct digest expect;
  bool named = strncmp (name, "blobs/sha256/", 13) == 0;
  if (named)
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "sha256:%s", name + 13);
      int r = digest_parse (buf_str (&b), &expect, err);
      buf_free (&b);
      if (r < 0)
        return kiln_err_wrap (err, "archive member %s", name);
    }
  struct blob_writer *w = blob_begin (src->st, err);
  if (w == NULL)
    return -1;
  char *buf = xmalloc (CHUNK);
  int r = 0;
  for (;;)
    {
      ssize_t n = a ? archive_read_data (a, buf, CHUNK) : read (fd, buf, CHUNK);
      if (n < 0 && !a && errno == EINTR)
        continue;
      if (n < 0)
        {
          r = kiln_err_set (err, EIO, "%s: %s", name, a ? archive_error_string (a) : strerror (errno));
          break;
        }
      if (n == 0)
        break;
      if ((r = blob_write (w, buf, (size_t) n, err)) < 0)
        break;
    }
  free (buf);
  if (r < 0)
    {
      blob_abort (w);
      return -1;
    }
  struct digest got;
  if (blob_commit (w, named ? &expect : NULL, &got, err) < 0)
    return kiln_err_wrap (err, "archive member %s", name);
  envmap_set (&src->names, name, got.str);
  /* Removed again at the end unless an image uses it or something recorded needs it. */
  envmap_set (&src->created, got.str, "");
  return 0;
}

static int
read_archive (struct source *src, const char *input, struct kiln_err *err)
{
  struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  int r = strcmp (input, "-") == 0 ? archive_read_open_fd (a, 0, CHUNK) : archive_read_open_filename (a, input, CHUNK);
  if (r != ARCHIVE_OK)
    {
      kiln_err_set (err, EIO, "%s: %s", input, archive_error_string (a));
      archive_read_free (a);
      return -1;
    }
  int ret = 0;
  for (;;)
    {
      struct archive_entry *e;
      r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        {
          ret = kiln_err_set (err, EIO, "%s: %s", input, archive_error_string (a));
          break;
        }
      if (archive_entry_filetype (e) != AE_IFREG)
        continue;
      _cleanup_free_ char *name = clean_member (archive_entry_pathname (e));
      const char *base = strrchr (name, '/') ? strrchr (name, '/') + 1 : name;
      size_t mi;
      for (mi = 0; mi < 4; mi++)
        if (strcmp (name, meta_names[mi]) == 0)
          break;
      if (mi < 4)
        {
          struct buf b = BUF_INIT;
          char chunk[65536];
          la_ssize_t n;
          while ((n = archive_read_data (a, chunk, sizeof chunk)) > 0 && b.len <= META_MAX)
            buf_append (&b, chunk, (size_t) n);
          if (n < 0 || b.len > META_MAX)
            {
              buf_free (&b);
              ret = kiln_err_set (err, EIO, "%s: %s is unreadable or too large", input, name);
              break;
            }
          free (src->meta[mi]);
          src->meta_len[mi] = b.len;
          src->meta[mi] = buf_steal (&b);
          continue;
        }
      if (strcmp (base, "VERSION") == 0 || strcmp (base, "json") == 0)
        continue; /* per-layer metadata of the classic docker format: not needed */
      if (store_member (src, name, a, -1, err) < 0)
        {
          ret = kiln_err_wrap (err, "%s", input);
          break;
        }
    }
  archive_read_free (a);
  return ret;
}

/* The digest of an archive member (for a directory source, the blob is stored now). */
static int
member_digest (struct source *src, const char *name, struct digest *d, struct kiln_err *err)
{
  _cleanup_free_ char *clean = clean_member (name);
  const char *v = envmap_get (&src->names, clean, strlen (clean));
  if (v == NULL && src->dirfd >= 0)
    {
      if (strstr (clean, "..") != NULL)
        return kiln_err_set (err, EINVAL, "archive names \"%s\", outside its blobs", clean);
      _cleanup_close_ int fd = openat (src->dirfd, clean, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return kiln_err_set (err, errno, "%s: %s", clean, strerror (errno));
      if (store_member (src, clean, NULL, fd, err) < 0)
        return -1;
      v = envmap_get (&src->names, clean, strlen (clean));
    }
  if (v == NULL)
    return kiln_err_set (err, ENOENT, "the archive names \"%s\" but does not contain it", clean);
  envmap_set (&src->used, v, "");
  return digest_parse (v, d, err);
}

static json_t *
load_json_blob (struct kiln_store *st, const struct digest *d, struct kiln_err *err)
{
  size_t len;
  _cleanup_free_ char *s = blob_read (st, d, IMAGE_MAX_JSON, &len, err);
  if (s == NULL)
    return NULL;
  json_error_t je;
  json_t *j = json_loadb (s, len, 0, &je);
  if (j == NULL || !json_is_object (j))
    {
      json_decref (j);
      kiln_err_set (err, EINVAL, "blob %s is not a JSON object (%s)", d->str, je.text);
      return NULL;
    }
  return j;
}

/* Unpacks each layer into a snapshot, checking it against the config's diff_ids. */
static int
ensure_layers (struct kiln_store *st, json_t *config, const struct digest *blobs, size_t n, struct kiln_err *err)
{
  json_t *diffs = json_object_get (json_object_get (config, "rootfs"), "diff_ids");
  if (!json_is_array (diffs) || json_array_size (diffs) != n)
    return kiln_err_set (err, EINVAL, "the image config lists %zu layers, the manifest %zu",
                         json_array_size (diffs), n);
  for (size_t i = 0; i < n; i++)
    {
      struct digest diff;
      if (digest_parse (json_string_value (json_array_get (diffs, i)), &diff, err) < 0)
        return -1;
      _cleanup_close_ int fd = blob_open (st, &blobs[i], err);
      if (fd < 0 || layer_ensure_snapshot (st, &diff, fd, err) < 0)
        return kiln_err_wrap (err, "layer %zu", i + 1);
    }
  return 0;
}

static void
report_loaded (struct strv *report, const struct strv *tags, const struct digest *id)
{
  struct buf b = BUF_INIT;
  if (tags->n == 0)
    {
      buf_printf (&b, "Loaded image ID: %s", id->str);
      strv_push_owned (report, buf_steal (&b));
    }
  for (size_t i = 0; i < tags->n; i++)
    {
      char *f = ref_familiar (tags->v[i]);
      buf_printf (&b, "Loaded image: %s", f);
      free (f);
      strv_push_owned (report, buf_steal (&b));
    }
}

static int
load_oci_manifest (struct source *src, const struct digest *md, const struct strv *tags, struct strv *report,
                   unsigned depth, struct kiln_err *err)
{
  size_t len;
  _cleanup_free_ char *s = blob_read (src->st, md, IMAGE_MAX_JSON, &len, err);
  if (s == NULL)
    return -1;
  struct archive_image im;
  int kind = archive_parse_oci_manifest (s, len, &im, err);
  int ret = -1;
  if (kind < 0)
    kiln_err_wrap (err, "manifest %s", md->str);
  else if (kind == 1)
    {
      struct digest sub;
      if (depth > 4)
        kiln_err_set (err, EINVAL, "image indexes nested too deep");
      else if (member_digest (src, im.manifest, &sub, err) == 0)
        ret = load_oci_manifest (src, &sub, tags, report, depth + 1, err);
    }
  else
    {
      size_t n = im.layers.n;
      struct digest *blobs = xcalloc (n ? n : 1, sizeof *blobs);
      struct digest cfg;
      json_t *config = NULL;
      int r = member_digest (src, im.config, &cfg, err);
      for (size_t i = 0; r == 0 && i < n; i++)
        r = member_digest (src, im.layers.v[i], &blobs[i], err);
      if (r == 0 && (config = load_json_blob (src->st, &cfg, err)) != NULL
          && ensure_layers (src->st, config, blobs, n, err) == 0 && image_record (src->st, &cfg, md, tags, err) == 0)
        {
          report_loaded (report, tags, &cfg);
          ret = 0;
        }
      json_decref (config);
      free (blobs);
    }
  archive_image_clear (&im);
  return ret;
}

static int
load_docker_manifest (struct source *src, const struct archive_image *index, size_t n_index, struct strv *report,
                      struct kiln_err *err)
{
  struct archive_image *imgs;
  size_t n_imgs;
  if (archive_parse_docker_manifest (src->meta[0], src->meta_len[0], &imgs, &n_imgs, err) < 0)
    return -1;
  int ret = 0;
  for (size_t i = 0; i < n_imgs && ret == 0; i++)
    {
      const struct archive_image *im = &imgs[i];
      struct digest cfg;
      size_t n = im->layers.n;
      struct digest *blobs = xcalloc (n ? n : 1, sizeof *blobs);
      json_t *config = NULL;
      ret = member_digest (src, im->config, &cfg, err);
      for (size_t l = 0; ret == 0 && l < n; l++)
        ret = member_digest (src, im->layers.v[l], &blobs[l], err);
      if (ret == 0 && (config = load_json_blob (src->st, &cfg, err)) == NULL)
        ret = -1;
      if (ret == 0)
        ret = ensure_layers (src->st, config, blobs, n, err);
      /* docker 25+ also wrote an OCI manifest for it: keep that one (its digest). */
      struct digest md;
      bool have_manifest = false;
      for (size_t k = 0; ret == 0 && !have_manifest && k < n_index; k++)
        {
          struct kiln_err e2 = {0};
          if (member_digest (src, index[k].manifest, &md, &e2) == 0)
            {
              json_t *m = load_json_blob (src->st, &md, &e2);
              const char *mc = json_string_value (json_object_get (json_object_get (m, "config"), "digest"));
              have_manifest = mc && strcmp (mc, cfg.str) == 0;
              json_decref (m);
            }
          kiln_err_clear (&e2);
        }
      if (ret == 0 && !have_manifest)
        {
          /* Classic docker-archive: describe the layers as they are. */
          char cp[80];
          blob_path (&cfg, cp);
          struct stat sb;
          fstatat (store_root_fd (src->st), cp, &sb, 0);
          json_t *m = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
                                 MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", cfg.str, "size",
                                 (json_int_t) sb.st_size, "layers");
          for (size_t l = 0; l < n; l++)
            {
              unsigned char head[4] = {0};
              _cleanup_close_ int fd = blob_open (src->st, &blobs[l], err);
              ssize_t got = fd >= 0 ? read (fd, head, sizeof head) : -1;
              struct stat lb;
              fstat (fd, &lb);
              json_array_append_new (json_object_get (m, "layers"),
                                     json_pack ("{s:s, s:s, s:I}", "mediaType",
                                                layer_media_type_sniff (head, got > 0 ? (size_t) got : 0, false),
                                                "digest", blobs[l].str, "size", (json_int_t) lb.st_size));
            }
          size_t len;
          char *s = json_canonical (m, &len);
          json_decref (m);
          ret = blob_put (src->st, s, len, &md, err);
          free (s);
          envmap_set (&src->used, md.str, "");
        }
      if (ret == 0)
        ret = image_record (src->st, &cfg, &md, &im->tags, err);
      if (ret == 0)
        report_loaded (report, &im->tags, &cfg);
      json_decref (config);
      free (blobs);
    }
  archive_images_free (imgs, n_imgs);
  return ret;
}

int
image_load_archive (struct kiln_store *st, const char *input, struct strv *report, struct kiln_err *err)
{
  if (store_lock_shared (st, err) < 0)
    return -1;
  struct source src = {.st = st, .dirfd = -1};
  struct stat sb;
  int ret = -1;
  if (strcmp (input, "-") != 0 && stat (input, &sb) == 0 && S_ISDIR (sb.st_mode))
    {
      src.dirfd = open (input, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (src.dirfd < 0)
        {
          kiln_err_set (err, errno, "%s: %s", input, strerror (errno));
          goto out;
        }
      for (size_t mi = 0; mi < 4; mi++)
        {
          _cleanup_close_ int fd = openat (src.dirfd, meta_names[mi], O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            continue;
          struct buf b = BUF_INIT;
          char chunk[65536];
          ssize_t n;
          while ((n = read (fd, chunk, sizeof chunk)) > 0 && b.len <= META_MAX)
            buf_append (&b, chunk, (size_t) n);
          src.meta_len[mi] = b.len;
          src.meta[mi] = buf_steal (&b);
        }
    }
  else if (read_archive (&src, input, err) < 0)
    goto out;

  /* index.json: the OCI layout's images (docker 25+ writes one next to manifest.json).
   * Every image's names are read, and checked, before any image is stored. */
  struct archive_image *index = NULL;
  size_t n_index = 0;
  struct kiln_err ierr = {0};
  int ir = src.meta[1] ? archive_parse_index (src.meta[1], src.meta_len[1], &index, &n_index, &ierr) : -1;
  if (src.meta[0])
    ret = load_docker_manifest (&src, index, n_index, report, err); /* its names are manifest.json's */
  else if (ir < 0 && src.meta[1] && ierr.code != KILN_EPARSE)
    {
      *err = ierr; /* an image named with no valid tag */
      memset (&ierr, 0, sizeof ierr);
    }
  else if (ir == 0)
    {
      ret = 0;
      for (size_t i = 0; i < n_index && ret == 0; i++)
        {
          struct digest md;
          ret = member_digest (&src, index[i].manifest, &md, err);
          if (ret == 0)
            ret = load_oci_manifest (&src, &md, &index[i].tags, report, 0, err);
        }
    }
  else
    kiln_err_set (err, EINVAL, "%s: neither manifest.json nor index.json: not a docker or OCI archive", input);
  kiln_err_clear (&ierr);
  archive_images_free (index, n_index);
out:
  /* Blobs this load added that no image uses (a failed load, or extra members). */
  for (size_t i = 0; i < src.created.n; i++)
    if (ret < 0 || !envmap_get (&src.used, src.created.keys[i], strlen (src.created.keys[i])))
      {
        struct digest d;
        struct kiln_err e2 = {0};
        if (digest_parse (src.created.keys[i], &d, &e2) == 0)
          {
            /* Only if nothing recorded needs it (an image loaded before a failure does). */
            if (!images_need_blob (st, &d))
              blob_remove (st, &d, &e2);
          }
        kiln_err_clear (&e2);
      }
  envmap_free (&src.names);
  envmap_free (&src.created);
  envmap_free (&src.used);
  for (size_t mi = 0; mi < 4; mi++)
    free (src.meta[mi]);
  if (src.dirfd >= 0)
    close (src.dirfd);
  return ret;
}
