/* image/archive_load.c — `kiln load`: an archive's members read into the store as
 * blobs, then its images (docker-archive manifest.json or OCI index.json) tagged. */
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

