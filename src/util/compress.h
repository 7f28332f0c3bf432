/* util/compress.h — layer compression for what leaves the machine, on all cores.
 *
 * gzip: the input is cut into 1 MiB blocks deflated in parallel (each primed with
 * the previous block's last 32 KiB, as pigz does) and joined with sync flushes
 * into one standard gzip member; the output depends only on the input.
 * zstd: libzstd with its own worker threads. */
#pragma once
#include <stddef.h>

#include "util/err.h"

enum compression
{
  COMPRESS_NONE,
  COMPRESS_GZIP,
  COMPRESS_ZSTD,
};

/* "gzip", "zstd", "none" → the enum; -1 for anything else. */
int compression_parse (const char *s);

/* Where compressed bytes go. */
typedef int (*compress_out_fn) (void *ud, const void *buf, size_t len, struct kiln_err *err);

struct compressor;

struct compressor *compressor_new (enum compression c, int threads, compress_out_fn out, void *ud,
                                   struct kiln_err *err);
int compressor_write (struct compressor *z, const void *buf, size_t len, struct kiln_err *err);
/* Flushes everything and frees the compressor. */
int compressor_finish (struct compressor *z, struct kiln_err *err);
void compressor_free (struct compressor *z);
