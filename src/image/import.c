/* image/import.c — rootfs → snapshot → one-layer image. */
#include "image/import.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/config.h"
#include "image/platform.h"
#include "image/image.h"
#include "store/layer.h"
#include "store/snapshots.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

struct pipe_writer
{
  int dirfd;
  int out_fd;
  const struct layer_write_opts *opts; /* NULL: mtimes kept, nothing skipped */
  struct digest diff_id;
  uint64_t size;
  struct kiln_err err;
  int ret;
};

static int
write_fd (void *ud, const void *buf, size_t len, struct kiln_err *err)
{
  return write_all (*(int *) ud, buf, len, "streaming the layer", err);
}

static void *
produce (void *arg)
{
  struct pipe_writer *pw = arg;
  struct layer_write_opts dflt = {.clamp_mtime = -1};
  struct layer_sink sink = {write_fd, &pw->out_fd};
  pw->ret = layer_write_tar (pw->dirfd, pw->opts ? pw->opts : &dflt, &sink, &pw->diff_id, &pw->size, &pw->err);
  close (pw->out_fd);
  return NULL;
}

int
snapshot_from_dir (struct kiln_store *st, int dirfd, struct digest *diff_id, uint64_t *size, struct kiln_err *err)
{
  return snapshot_from_dir_opts (st, dirfd, NULL, diff_id, size, err);
}

int
snapshot_from_dir_opts (struct kiln_store *st, int dirfd, const struct layer_write_opts *o, struct digest *diff_id,
                        uint64_t *size, struct kiln_err *err)
{
  struct snapshot_new sn;
  if (snapshot_begin (st, &sn, err) < 0)
    return -1;
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      snapshot_abort (&sn);
      return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
    }
  /* One pass: the tree's tar is produced by a thread and applied as it comes. */
  struct pipe_writer pw = {.dirfd = dirfd, .out_fd = p[1], .opts = o};
  pthread_t t;
  if (pthread_create (&t, NULL, produce, &pw) != 0)
    {
      close (p[0]);
      close (p[1]);
      snapshot_abort (&sn);
      return kiln_err_set (err, EAGAIN, "cannot start a thread");
    }
  struct digest applied;
  uint64_t applied_size;
  int r = layer_apply_tar (sn.fs_fd, p[0], &applied, &applied_size, NULL, err);
  close (p[0]); /* unblocks the writer if the reader stopped early */
  pthread_join (t, NULL);
  if (pw.ret < 0)
    {
      kiln_err_clear (err);
      *err = pw.err;
      snapshot_abort (&sn);
      return -1;
    }
  kiln_err_clear (&pw.err);
  if (r < 0)
    {
      snapshot_abort (&sn);
      return -1;
    }
  *diff_id = pw.diff_id;
  *size = pw.size;
  return snapshot_commit (&sn, diff_id, *size, err);
}

static int
snapshot_from_tar (struct kiln_store *st, int fd, struct digest *diff_id, uint64_t *size, struct kiln_err *err)
{
  struct snapshot_new sn;
  if (snapshot_begin (st, &sn, err) < 0)
    return -1;
  struct layer_apply_stats stats;
  if (layer_apply_tar (sn.fs_fd, fd, NULL, NULL, &stats, err) < 0)
    {
      snapshot_abort (&sn);
      return -1;
    }
  /* The layer is the snapshot's own deterministic tar, so that exporting it later
   * regenerates exactly these bytes. */
  struct layer_write_opts o = {.clamp_mtime = -1};
  if (layer_write_tar (sn.fs_fd, &o, NULL, diff_id, size, err) < 0)
    {
      snapshot_abort (&sn);
      return -1;
    }
  return snapshot_commit (&sn, diff_id, *size, err);
}

int
image_import (struct kiln_store *st, const struct import_opts *o, struct digest *id, struct kiln_err *err)
{
  struct platform pf;
  if (platform_parse (o->platform, &pf, err) < 0 || store_lock_shared (st, err) < 0)
    return -1;
  int64_t now = o->at_epoch ? 0 : store_now ();
  json_t *cfg = config_new (o->platform, now);
  if (config_apply_changes (cfg, o->changes, err) < 0)
    {
      json_decref (cfg);
      return -1;
    }
  struct digest diff_id;
  uint64_t size;
  int r;
  struct stat sb;
  if (strcmp (o->source, "-") == 0)
    r = snapshot_from_tar (st, 0, &diff_id, &size, err);
  else if (stat (o->source, &sb) < 0)
    r = kiln_err_set (err, errno, "%s: %s", o->source, strerror (errno));
  else if (S_ISDIR (sb.st_mode))
    {
      _cleanup_close_ int fd = open (o->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      r = fd < 0 ? kiln_err_set (err, errno, "%s: %s", o->source, strerror (errno))
                 : snapshot_from_dir_opts (st, fd, &(struct layer_write_opts){.clamp_mtime = -1, .pick = o->pick, .pick_arg = o->pick_arg},
                                           &diff_id, &size, err);
    }
  else
    {
      _cleanup_close_ int fd = open (o->source, O_RDONLY | O_CLOEXEC);
      r = fd < 0 ? kiln_err_set (err, errno, "%s: %s", o->source, strerror (errno))
                 : snapshot_from_tar (st, fd, &diff_id, &size, err);
    }
  if (r < 0)
    {
      json_decref (cfg);
      return kiln_err_wrap (err, "importing %s", o->source);
    }
  config_add_layer (cfg, diff_id.str);
  _cleanup_buf_ struct buf msg = BUF_INIT;
  if (o->message)
    buf_puts (&msg, o->message);
  else
    buf_printf (&msg, "Imported from %s", o->source);
  config_add_history (cfg, now, "", buf_str (&msg), false);
  struct image_layer l = {.diff_id = diff_id, .blob = diff_id, .blob_size = size};
  snprintf (l.media_type, sizeof l.media_type, "%s", MT_OCI_LAYER);
  struct strv tags = STRV_INIT;
  if (o->tag)
    strv_push (&tags, o->tag);
  r = image_commit (st, cfg, &l, 1, &tags, id, err);
  strv_free (&tags);
  json_decref (cfg);
  return r;
}
