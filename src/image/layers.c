/* image/layers.c — layer bytes: streamed out, compressed once, unpacked once. */
#include "image/layers.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/blobs.h"
#include "store/layer_blobs.h"
#include "store/snapshots.h"
#include "util/cleanup.h"

#define CHUNK (1u << 20)

const char *
layer_media_type_sniff (const unsigned char *head, size_t n, bool docker_types)
{
  if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
    return docker_types ? MT_DOCKER_LAYER_GZIP : MT_OCI_LAYER_GZIP;
  if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
    return docker_types ? "application/vnd.docker.image.rootfs.diff.tar.zstd" : MT_OCI_LAYER_ZSTD;
  return docker_types ? MT_DOCKER_LAYER : MT_OCI_LAYER;
}

static enum compression
media_compression (const char *mt)
{
  size_t n = strlen (mt);
  if ((n > 5 && strcmp (mt + n - 5, "+gzip") == 0) || (n > 5 && strcmp (mt + n - 5, ".gzip") == 0))
    return COMPRESS_GZIP;
  if ((n > 5 && strcmp (mt + n - 5, "+zstd") == 0) || (n > 5 && strcmp (mt + n - 5, ".zstd") == 0))
    return COMPRESS_ZSTD;
  return COMPRESS_NONE;
}

int
layer_size (struct kiln_store *st, const struct digest *diff_id, uint64_t *size, struct kiln_err *err)
{
  int r = snapshot_lookup (st, diff_id, NULL, size, err);
  if (r == 0)
    return kiln_err_set (err, ENOENT, "layer %s is not in the store", diff_id->str);
  return r < 0 ? -1 : 0;
}

/* A stored blob holding the layer (any compression), or -1. */
static int
open_stored_blob (struct kiln_store *st, const struct digest *diff_id, char *media, size_t media_len)
{
  struct kiln_err err = {0};
  struct layer_blob *held = NULL;
  size_t n = 0;
  if (layer_blobs_find (st, diff_id, &held, &n, &err) < 0)
    {
      kiln_err_clear (&err);
      return -1;
    }
  int fd = -1;
  for (size_t i = 0; fd < 0 && i < n; i++)
    if (blob_exists (st, &held[i].digest))
      {
        fd = blob_open (st, &held[i].digest, &err);
        if (media)
          snprintf (media, media_len, "%s", held[i].media_type);
        kiln_err_clear (&err);
      }
  free (held);
  return fd;
}

struct hashing_sink
{
  const struct layer_sink *inner;
  struct hasher *h;
};

static int
hashing_write (void *ud, const void *buf, size_t len, struct kiln_err *err)
{
  struct hashing_sink *hs = ud;
  hasher_update (hs->h, buf, len);
  return hs->inner && hs->inner->write ? hs->inner->write (hs->inner->ud, buf, len, err) : 0;
}

int
layer_stream (struct kiln_store *st, const struct digest *diff_id, const struct layer_sink *sink, struct kiln_err *err)
{
  struct digest got;
  _cleanup_close_ int bfd = open_stored_blob (st, diff_id, NULL, 0);
  if (bfd >= 0)
    {
      /* Decompress the stored blob (whatever its compression) as it streams. */
      struct hashing_sink hs = {sink, hasher_new ()};
      struct archive *a = archive_read_new ();
      archive_read_support_filter_all (a);
      archive_read_support_format_raw (a);
      struct archive_entry *e;
      int ret = 0;
      if (archive_read_open_fd (a, bfd, CHUNK) != ARCHIVE_OK || archive_read_next_header (a, &e) != ARCHIVE_OK)
        ret = kiln_err_set (err, EIO, "layer %s: %s", diff_id->str, archive_error_string (a));
      char *buf = xmalloc (CHUNK);
      while (ret == 0)
        {
          la_ssize_t n = archive_read_data (a, buf, CHUNK);
          if (n < 0)
            ret = kiln_err_set (err, EIO, "layer %s: %s", diff_id->str, archive_error_string (a));
          else if (n == 0)
            break;
          else
            ret = hashing_write (&hs, buf, (size_t) n, err);
        }
      free (buf);
      archive_read_free (a);
      hasher_final (hs.h, &got);
      hasher_free (hs.h);
      if (ret < 0)
        return -1;
    }
  else
    {
      _cleanup_free_ char *sid = NULL;
      int found = snapshot_lookup (st, diff_id, &sid, NULL, err);
      if (found <= 0)
        return found < 0 ? -1 : kiln_err_set (err, ENOENT, "layer %s is not in the store", diff_id->str);
      _cleanup_close_ int sfd = snapshot_open (st, sid, err);
      if (sfd < 0)
        return -1;
      struct layer_write_opts o = {.clamp_mtime = -1};
      if (layer_write_tar (sfd, &o, sink, &got, NULL, err) < 0)
        return -1;
    }
  if (strcmp (got.str, diff_id->str) != 0)
    return kiln_err_set (err, EIO,
                         "layer %s: its content hashes to %s: the store is damaged (run kiln system check)",
                         diff_id->str, got.str);
  return 0;
}

struct compress_ctx
{
  struct compressor *z;
  struct blob_writer *w;
};

static int
to_blob (void *ud, const void *buf, size_t len, struct kiln_err *err)
{
  return blob_write (ud, buf, len, err);
}

static int
to_compressor (void *ud, const void *buf, size_t len, struct kiln_err *err)
{
  return compressor_write (ud, buf, len, err);
}

int
layer_blob_for (struct kiln_store *st, const struct digest *diff_id, enum compression c, bool docker_types,
                struct image_layer *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  out->diff_id = *diff_id;
  /* A variant made earlier (or the blob the layer came in)? */
  struct layer_blob *held = NULL;
  size_t n_held = 0;
  if (layer_blobs_find (st, diff_id, &held, &n_held, err) < 0)
    return -1;
  bool found = false;
  for (size_t i = 0; !found && i < n_held; i++)
    if (media_compression (held[i].media_type) == c && blob_exists (st, &held[i].digest))
      {
        out->blob = held[i].digest;
        out->blob_size = held[i].size;
        found = true;
      }
  free (held);
  if (!found)
    {
      struct blob_writer *w = blob_begin (st, err);
      if (w == NULL)
        return -1;
      long cores = sysconf (_SC_NPROCESSORS_ONLN);
      struct compressor *z = compressor_new (c, cores > 0 ? (int) cores : 1, to_blob, w, err);
      if (z == NULL)
        {
          blob_abort (w);
          return -1;
        }
      struct layer_sink sink = {to_compressor, z};
      if (layer_stream (st, diff_id, &sink, err) < 0)
        {
          compressor_free (z);
          blob_abort (w);
          return -1;
        }
      if (compressor_finish (z, err) < 0)
        {
          blob_abort (w);
          return -1;
        }
      out->blob_size = blob_written (w);
      if (blob_commit (w, NULL, &out->blob, err) < 0)
        return -1;
      struct layer_blob made = {.digest = out->blob, .diff_id = *diff_id, .size = out->blob_size};
      snprintf (made.media_type, sizeof made.media_type, "%s",
                c == COMPRESS_GZIP ? MT_OCI_LAYER_GZIP : MT_OCI_LAYER_ZSTD);
      if (layer_blobs_add (st, &made, err) < 0)
        return -1;
    }
  const char *mt = c == COMPRESS_GZIP   ? (docker_types ? MT_DOCKER_LAYER_GZIP : MT_OCI_LAYER_GZIP)
                   : c == COMPRESS_ZSTD ? (docker_types ? "application/vnd.docker.image.rootfs.diff.tar.zstd"
                                                        : MT_OCI_LAYER_ZSTD)
                                        : (docker_types ? MT_DOCKER_LAYER : MT_OCI_LAYER);
  snprintf (out->media_type, sizeof out->media_type, "%s", mt);
  return 0;
}

int
layer_ensure_snapshot (struct kiln_store *st, const struct digest *diff_id, int blob_fd, struct kiln_err *err)
{
  int found = snapshot_lookup (st, diff_id, NULL, NULL, err);
  if (found != 0)
    return found < 0 ? -1 : 0;
  _cleanup_close_ int lock = snapshot_lock (st, diff_id, err);
  if (lock < 0)
    return -1;
  /* Someone may have unpacked it while we waited for the lock. */
  found = snapshot_lookup (st, diff_id, NULL, NULL, err);
  if (found != 0)
    return found < 0 ? -1 : 0;
  struct snapshot_new sn;
  if (snapshot_begin (st, &sn, err) < 0)
    return -1;
  struct digest got;
  uint64_t size;
  if (layer_apply_tar (sn.fs_fd, blob_fd, &got, &size, NULL, err) < 0)
    {
      snapshot_abort (&sn);
      return kiln_err_wrap (err, "layer %s", diff_id->str);
    }
  if (strcmp (got.str, diff_id->str) != 0)
    {
      snapshot_abort (&sn);
      return kiln_err_set (err, EIO, "layer content hashes to %s, but the image says %s: refusing it", got.str,
                           diff_id->str);
    }
  return snapshot_commit (&sn, diff_id, size, err);
}
