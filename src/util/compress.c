/* util/compress.c — parallel gzip (zlib) and multi-threaded zstd. */
#include "util/compress.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util/buf.h"

#define BLOCK (1u << 20)
#define DICT (32u * 1024)
#define LEVEL 6

int
compression_parse (const char *s)
{
  if (strcmp (s, "gzip") == 0)
    return COMPRESS_GZIP;
  if (strcmp (s, "zstd") == 0)
    return COMPRESS_ZSTD;
  if (strcmp (s, "none") == 0 || strcmp (s, "uncompressed") == 0)
    return COMPRESS_NONE;
  return -1;
}

struct gz_job
{
  const unsigned char *in;
  size_t in_len;
  const unsigned char *dict; /* the 32 KiB before `in`, or NULL */
  size_t dict_len;
  bool last;
  unsigned char *out;
  size_t out_len;
  unsigned long crc;
  int status;
};

struct compressor
{
  enum compression kind;
  compress_out_fn out;
  void *ud;
  int threads;
  /* gzip */
  unsigned char *pending;   /* input not yet compressed: up to threads * BLOCK */
  size_t pending_len;
  unsigned char prev_tail[DICT];
  size_t prev_tail_len;
  unsigned long crc;
  uint64_t total_in;
  bool header_done;
  /* zstd */
  ZSTD_CCtx *zc;
  unsigned char *zbuf;
  size_t zbuf_len;
};

static void *
gz_work (void *arg)
{
  struct gz_job *j = arg;
  z_stream s;
  memset (&s, 0, sizeof s);
  j->status = -1;
  if (deflateInit2 (&s, LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  if (j->dict_len)
    deflateSetDictionary (&s, j->dict, (uInt) j->dict_len);
  size_t cap = deflateBound (&s, (uLong) j->in_len) + 64;
  j->out = xmalloc (cap);
  s.next_in = (Bytef *) j->in;
  s.avail_in = (uInt) j->in_len;
  s.next_out = j->out;
  s.avail_out = (uInt) cap;
  int r = deflate (&s, j->last ? Z_FINISH : Z_SYNC_FLUSH);
  if ((j->last && r == Z_STREAM_END) || (!j->last && r == Z_OK))
    {
      j->out_len = cap - s.avail_out;
      j->status = 0;
    }
  deflateEnd (&s);
  j->crc = crc32 (0L, j->in, (uInt) j->in_len);
  return NULL;
}

/* Compresses the pending input in parallel blocks and emits it in order. */
static int
gz_flush (struct compressor *z, bool last, struct kiln_err *err)
{
  if (!z->header_done)
    {
      /* gzip header: no name, no time, so the output depends only on the input. */
      static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
      if (z->out (z->ud, hdr, sizeof hdr, err) < 0)
        return -1;
      z->header_done = true;
    }
  size_t nblocks = (z->pending_len + BLOCK - 1) / BLOCK;
  if (nblocks == 0 && last)
    nblocks = 1; /* an empty final block still ends the deflate stream */
  struct gz_job *jobs = xcalloc (nblocks ? nblocks : 1, sizeof *jobs);
  pthread_t *tids = xcalloc (nblocks ? nblocks : 1, sizeof *tids);
  for (size_t i = 0; i < nblocks; i++)
    {
      size_t off = i * BLOCK;
      jobs[i].in = z->pending + off;
      jobs[i].in_len = z->pending_len - off < BLOCK ? z->pending_len - off : BLOCK;
      if (i == 0)
        {
          jobs[i].dict = z->prev_tail;
          jobs[i].dict_len = z->prev_tail_len;
        }
      else
        {
          jobs[i].dict = z->pending + off - DICT;
          jobs[i].dict_len = DICT;
        }
      jobs[i].last = last && i + 1 == nblocks;
    }
  /* At most `threads` blocks at a time; the main thread takes one itself. */
  for (size_t base = 0; base < nblocks; base += (size_t) z->threads)
    {
      size_t end = base + (size_t) z->threads < nblocks ? base + (size_t) z->threads : nblocks;
      for (size_t i = base + 1; i < end; i++)
        if (pthread_create (&tids[i], NULL, gz_work, &jobs[i]) != 0)
          gz_work (&jobs[i]), tids[i] = 0;
      gz_work (&jobs[base]);
      for (size_t i = base + 1; i < end; i++)
        if (tids[i])
          pthread_join (tids[i], NULL);
    }
  int ret = 0;
  for (size_t i = 0; i < nblocks; i++)
    {
      if (ret == 0 && jobs[i].status < 0)
        ret = kiln_err_set (err, EIO, "gzip: compression failed");
      if (ret == 0 && z->out (z->ud, jobs[i].out, jobs[i].out_len, err) < 0)
        ret = -1;
      z->crc = crc32_combine (z->crc, jobs[i].crc, (z_off_t) jobs[i].in_len);
      z->total_in += jobs[i].in_len;
      free (jobs[i].out);
    }
  free (jobs);
  free (tids);
  if (ret == 0 && z->pending_len)
    {
      size_t t = z->pending_len < DICT ? z->pending_len : DICT;
      if (t < DICT && z->prev_tail_len)
        {
          /* Keep the dictionary full across small flushes. */
          size_t keep = z->prev_tail_len + t > DICT ? DICT - t : z->prev_tail_len;
          memmove (z->prev_tail, z->prev_tail + z->prev_tail_len - keep, keep);
          memcpy (z->prev_tail + keep, z->pending + z->pending_len - t, t);
          z->prev_tail_len = keep + t;
        }
      else
        {
          memcpy (z->prev_tail, z->pending + z->pending_len - t, t);
          z->prev_tail_len = t;
        }
    }
  z->pending_len = 0;
  if (ret == 0 && last)
    {
      unsigned char trailer[8];
      for (int i = 0; i < 4; i++)
        {
          trailer[i] = (unsigned char) (z->crc >> (8 * i));
          trailer[4 + i] = (unsigned char) (z->total_in >> (8 * i));
        }
      ret = z->out (z->ud, trailer, 8, err);
    }
  return ret;
}

struct compressor *
compressor_new (enum compression c, int threads, compress_out_fn out, void *ud, struct kiln_err *err)
{
  struct compressor *z = xcalloc (1, sizeof *z);
  z->kind = c;
  z->out = out;
  z->ud = ud;
  z->threads = threads > 0 ? threads : 1;
  z->crc = crc32 (0L, Z_NULL, 0);
  if (c == COMPRESS_GZIP)
    z->pending = xmalloc ((size_t) z->threads * BLOCK);
  else if (c == COMPRESS_ZSTD)
    {
      z->zc = ZSTD_createCCtx ();
      z->zbuf_len = ZSTD_CStreamOutSize ();
      z->zbuf = xmalloc (z->zbuf_len);
      if (z->zc == NULL || ZSTD_isError (ZSTD_CCtx_setParameter (z->zc, ZSTD_c_compressionLevel, 3)))
        {
          compressor_free (z);
          kiln_err_set (err, EIO, "zstd: cannot start");
          return NULL;
        }
      if (z->threads > 1)
        ZSTD_CCtx_setParameter (z->zc, ZSTD_c_nbWorkers, z->threads);
      ZSTD_CCtx_setParameter (z->zc, ZSTD_c_checksumFlag, 1);
    }
  return z;
}

static int
zstd_drain (struct compressor *z, const void *buf, size_t len, ZSTD_EndDirective mode, struct kiln_err *err)
{
  ZSTD_inBuffer in = {buf, len, 0};
  for (;;)
    {
      ZSTD_outBuffer o = {z->zbuf, z->zbuf_len, 0};
      size_t left = ZSTD_compressStream2 (z->zc, &o, &in, mode);
      if (ZSTD_isError (left))
        return kiln_err_set (err, EIO, "zstd: %s", ZSTD_getErrorName (left));
      if (o.pos && z->out (z->ud, z->zbuf, o.pos, err) < 0)
        return -1;
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
        return 0;
    }
}

int
compressor_write (struct compressor *z, const void *buf, size_t len, struct kiln_err *err)
{
  switch (z->kind)
    {
    case COMPRESS_NONE:
      return z->out (z->ud, buf, len, err);
    case COMPRESS_ZSTD:
      return zstd_drain (z, buf, len, ZSTD_e_continue, err);
    case COMPRESS_GZIP:
      {
        const unsigned char *p = buf;
        size_t cap = (size_t) z->threads * BLOCK;
        while (len)
          {
            size_t n = cap - z->pending_len < len ? cap - z->pending_len : len;
            memcpy (z->pending + z->pending_len, p, n);
            z->pending_len += n;
            p += n;
            len -= n;
            if (z->pending_len == cap && gz_flush (z, false, err) < 0)
              return -1;
          }
        return 0;
      }
    }
  return 0;
}

int
compressor_finish (struct compressor *z, struct kiln_err *err)
{
  int r = 0;
  if (z->kind == COMPRESS_GZIP)
    r = gz_flush (z, true, err);
  else if (z->kind == COMPRESS_ZSTD)
    r = zstd_drain (z, NULL, 0, ZSTD_e_end, err);
  compressor_free (z);
  return r;
}

void
compressor_free (struct compressor *z)
{
  if (z == NULL)
    return;
  free (z->pending);
  if (z->zc)
    ZSTD_freeCCtx (z->zc);
  free (z->zbuf);
  free (z);
}
