/* store/file_digests.h — the memo of context file digests (the file_digests table):
 * a key made of a file's stat numbers (or a directory's) → the content digest kiln
 * computed, so an unchanged file is not read again.  The solver keeps one memo for
 * a build (its statements prepared once) and wraps a step's puts in one
 * transaction (store_begin/store_commit).  The SQL stays here. */
#pragma once
#include <stddef.h>

#include "store/store.h"
#include "util/digest.h"
#include "util/err.h"

struct file_digests;

/* A memo over `st` (which must outlive it); prepares nothing until first used. */
struct file_digests *file_digests_new (struct kiln_store *st);
void file_digests_free (struct file_digests *fd);
/* 1 and `*out` if `key` (`len` bytes, binary) has a digest, 0 if not, -1 on error. */
int file_digests_get (struct file_digests *fd, const void *key, size_t len, struct digest *out, struct kiln_err *err);
/* Records key → d (replacing). */
int file_digests_put (struct file_digests *fd, const void *key, size_t len, const struct digest *d,
                      struct kiln_err *err);
