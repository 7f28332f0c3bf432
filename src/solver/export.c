/* solver/export.c — --output: the built image written as files (local), a tar, an
 * OCI layout or a docker archive, beside the store's copy. */
#include "solver/builder.h"

#include <errno.h>
#include <string.h>

#include "image/archive.h"
#include "image/layers.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/outfile.h"
#include "worker/fileop.h"

static int
write_all_sink (void *ud, const void *buf, size_t len, struct kiln_err *err)
{
  return write_all (*(int *) ud, buf, len, "--output", err);
}

static bool
output_type_known (const char *type)
{
  static const char *const known[] = {"image", "local", "tar", "oci", "docker"};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (strcmp (type, known[i]) == 0)
      return true;
  return false;
}

/* Refuses an --output dest= or --iidfile that cannot be written (a device, a
 * socket...) before anything is built, as docker refuses them. */
int
outputs_check (const struct build_request *rq, struct kiln_err *err)
{
  if (rq->iidfile && outfile_check (rq->iidfile, 0, err) < 0)
    return -1;
  if (rq->output == NULL)
    return 0;
  const struct build_output *os = rq->output;
  /* A mistyped type= fails here, not after the whole build. */
  if (!output_type_known (os->type))
    return kiln_err_set (err, KILN_EUSAGE, "--output: unknown type \"%s\" (image, local, tar, oci, docker)", os->type);
  if (os->dest == NULL && strcmp (os->type, "image") != 0)
    return kiln_err_set (err, KILN_EUSAGE, "--output type=%s needs dest=PATH", os->type);
  if (os->dest && strcmp (os->type, "image") != 0)
    return outfile_check (os->dest, strcmp (os->type, "local") == 0 ? OUTFILE_DIR : OUTFILE_STDOUT, err);
  return 0;
}

int
export_output (struct builder *b, const struct stage_out *o, const struct digest *id)
{
  const char *type = b->rq->output->type, *dest = b->rq->output->dest;
  if (strcmp (type, "image") == 0)
    return 0;
  if (dest == NULL)
    return kiln_err_set (b->err, KILN_EUSAGE, "--output type=%s needs dest=PATH", type);
  if (strcmp (type, "local") == 0)
    {
      if (outfile_check (dest, OUTFILE_DIR, b->err) < 0)
        return -1;
      if (mkdir (dest, 0755) < 0 && errno != EEXIST)
        return kiln_err_set (b->err, errno, "%s: %s", dest, strerror (errno));
      struct step_dirs sd;
      if (step_begin (b, &sd) < 0)
        return -1;
      struct fileop op = {.kind = FOP_EXPORT, .context_fd = -1};
      int r = lowers_of (b, &o->layers, &op.lowers);
      _cleanup_free_ char *absdest = realpath (dest, NULL);
      op.store_root = store_root (b->st);
      op.merged = sd.merged;
      op.dest = absdest ? absdest : dest;
      if (r == 0)
        r = fileop_run (&op, b->err);
      op.dest = NULL;
      fileop_clear (&op);
      snapshot_abort (&sd.sn);
      return r;
    }
  if (strcmp (type, "tar") == 0)
    {
      /* The final filesystem as one tar: the layers applied in order. */
      struct step_dirs sd;
      if (step_begin (b, &sd) < 0)
        return -1;
      struct fileop op = {.kind = FOP_EXPORT, .context_fd = -1};
      int r = lowers_of (b, &o->layers, &op.lowers);
      op.store_root = store_root (b->st);
      op.merged = sd.merged;
      op.dest = sd.upper;
      if (r == 0)
        r = fileop_run (&op, b->err);
      op.dest = NULL;
      fileop_clear (&op);
      struct outfile *out = r == 0 ? outfile_open (dest, OUTFILE_STDOUT, b->err) : NULL;
      if (out)
        {
          int fd = outfile_fd (out);
          struct layer_write_opts lo = {.clamp_mtime = -1};
          struct layer_sink sink = {write_all_sink, &fd};
          struct digest d;
          r = layer_write_tar (sd.sn.fs_fd, &lo, &sink, &d, NULL, b->err);
          if (r == 0)
            r = outfile_commit (out, b->err);
          else
            outfile_abort (out);
        }
      else
        r = -1;
      snapshot_abort (&sd.sn);
      return r;
    }
  if (strcmp (type, "oci") == 0 || strcmp (type, "docker") == 0)
    {
      struct save_opts so = {.format = strcmp (type, "oci") == 0 ? FORMAT_OCI_ARCHIVE : FORMAT_DOCKER_ARCHIVE,
                             .compression = b->rq->compression, .output = dest};
      if (strcmp (type, "docker") == 0 && b->rq->compression == COMPRESS_GZIP)
        so.compression = COMPRESS_NONE;
      struct strv imgs = STRV_INIT;
      if (b->rq->tags.n)
        strv_push (&imgs, b->rq->tags.v[0]);
      else
        strv_push (&imgs, id->str);
      int r = image_save (b->st, &so, &imgs, b->err);
      strv_free (&imgs);
      return r;
    }
  return kiln_err_set (b->err, KILN_EUSAGE, "--output: unknown type \"%s\" (image, local, tar, oci, docker)", type);
}
