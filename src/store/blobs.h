/* store/blobs.h — content-addressed blobs: write once, verify, never change. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/digest.h"
#include "util/err.h"

struct blob_writer;

/* Opens a writer for a new blob under tmp/. Nothing is visible until blob_commit(). */
struct blob_writer *blob_begin (struct kiln_store *st, struct kiln_err *err);
int blob_write (struct blob_writer *w, const void *buf, size_t len, struct kiln_err *err);
uint64_t blob_written (const struct blob_writer *w);
/* Verifies the digest if `expect` is set, fsyncs, renames into place, fsyncs the
 * directory. Frees the writer whatever happens. */
int blob_commit (struct blob_writer *w, const struct digest *expect, struct digest *out, struct kiln_err *err);
void blob_abort (struct blob_writer *w);

/* Stores bytes as a blob (configs, manifests). */
int blob_put (struct kiln_store *st, const void *data, size_t len, struct digest *out, struct kiln_err *err);
bool blob_exists (struct kiln_store *st, const struct digest *d);
/* Opens a blob for reading; -1 with err set if missing. */
int blob_open (struct kiln_store *st, const struct digest *d, struct kiln_err *err);
/* Reads a whole blob (configs, manifests: at most `max` bytes) and verifies it. */
char *blob_read (struct kiln_store *st, const struct digest *d, size_t max, size_t *len, struct kiln_err *err);
/* Re-hashes a blob: 0 if its content matches its name. */
int blob_verify (struct kiln_store *st, const struct digest *d, uint64_t *size, struct kiln_err *err);
int blob_remove (struct kiln_store *st, const struct digest *d, struct kiln_err *err);
/* "blobs/sha256/<hex>" */
void blob_path (const struct digest *d, char out[static 80]);
