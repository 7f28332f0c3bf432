/* worker/overlay.c — an image's layers as overlay lowers, the mount's options, its limits. */
#include "worker/overlay.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "store/snapshots.h"
#include "util/cleanup.h"
#include "util/envmap.h"

int
overlay_lowers (struct kiln_store *st, const struct digest *diff_ids, size_t n, struct envmap *memo,
                struct strv *out, struct kiln_err *err)
{
  for (size_t i = n; i-- > 0;)
    {
      bool dup = false;
      for (size_t k = i + 1; k < n && !dup; k++)
        dup = strcmp (diff_ids[k].str, diff_ids[i].str) == 0;
      if (dup)
        continue;
      const char *d = diff_ids[i].str;
      const char *known = memo ? envmap_get (memo, d, strlen (d)) : NULL;
      if (known)
        {
          strv_push (out, known);
          continue;
        }
      _cleanup_free_ char *id = NULL;
      int r = snapshot_lookup (st, &diff_ids[i], &id, NULL, err);
      if (r <= 0)
        return r < 0 ? -1 : kiln_err_set (err, ENOENT, "layer %s has no snapshot", d);
      struct buf p = BUF_INIT;
      buf_printf (&p, "%s/fs", id);
      if (memo)
        envmap_set (memo, d, buf_str (&p));
      strv_push_owned (out, buf_steal (&p));
    }
  return 0;
}

void
overlay_options (struct buf *out, const struct strv *lowers, const char *empty, const char *upper,
                 const char *work)
{
  buf_puts (out, "lowerdir=");
  size_t n = lowers->n;
  for (size_t i = 0; i < n; i++)
    buf_printf (out, "%s%s", i ? ":" : "", lowers->v[i]);
  if (n == 0)
    buf_puts (out, empty), n++;
  if (upper == NULL && n < 2)
    buf_printf (out, ":%s", empty);
  if (upper)
    buf_printf (out, ",upperdir=%s,workdir=%s,redirect_dir=off,metacopy=off,volatile", upper, work);
}

int
overlay_check (const struct strv *lowers, const char *upper, const char *work, struct kiln_err *err)
{
  if (lowers->n > OVERLAY_MAX_LOWERS)
    return kiln_err_set (err, E2BIG,
                         "the image has %zu layers, more than the %d an overlay mount can stack; "
                         "combine steps (RUN a && b) to make fewer layers",
                         lowers->n, OVERLAY_MAX_LOWERS);
  _cleanup_buf_ struct buf opts = BUF_INIT;
  overlay_options (&opts, lowers, "", upper, work);
  long page = sysconf (_SC_PAGESIZE);
  if (page <= 0)
    page = 4096;
  if (opts.len < (size_t) page) /* and its NUL */
    return 0;
  /* How many layers of these names would fit, for the message. */
  size_t names = 0;
  for (size_t i = 0; i < lowers->n; i++)
    names += strlen (lowers->v[i]) + 1;
  size_t fixed = opts.len + 1 - names, fit = 0; /* the rest, and the NUL */
  if ((size_t) page > fixed && names)
    fit = ((size_t) page - fixed) * lowers->n / names;
  return kiln_err_set (err, E2BIG,
                       "the image has %zu layers, more than the %zu or so an overlay mount can stack here "
                       "(their paths must fit in the one page of mount options the kernel takes, %ld bytes); "
                       "combine steps (RUN a && b) to make fewer layers",
                       lowers->n, fit, page);
}
