/* image/archive_save.c — `kiln save`: an image's blobs, config and metadata written as
 * a docker-archive, an oci-archive or an oci-dir, to a tar (util/outfile) or a directory. */
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
