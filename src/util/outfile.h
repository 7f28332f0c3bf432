/* util/outfile.h — a file the user names for kiln to write: `save -o`, `build -o
 * type=tar|oci|docker,dest=`, `--iidfile`.
 *
 * What is at the path decides how it is written:
 *
 *   "-"            standard output, where the caller allows it (OUTFILE_STDOUT).
 *   nothing, or a regular file
 *                  an unnamed file (O_TMPFILE) in the same directory, named by
 *                  outfile_commit() only: until then an older file stays whole, and a
 *                  process killed before the commit leaves nothing behind.  Committing
 *                  links the file in under its name when the name is free; when an
 *                  older file is there it links it under a temporary name beside it
 *                  (NAME.kiln-tmp-PID-N) and renames that over the old one, so a kill
 *                  between those two calls leaves the temporary name.  A file system
 *                  that refuses O_TMPFILE gets the temporary name from the start (and
 *                  keeps it if killed mid-write).  The new file has mode 0644 less the
 *                  umask, like a file the shell makes; it is fsynced, and so is the
 *                  directory after the rename.
 *   a named pipe   opened and written in place: a reader is on the other end.
 *   a device, a socket, a directory
 *                  refused, as docker refuses them, before anything is opened:
 *                    invalid output path: "/dev/null" must be a directory or a regular file: got a device
 *
 * A symlink is followed, as opening the path would: its target is written (and
 * replaced), the link stays.  Nothing is created outside the directory of the file
 * that ends up written. */
#pragma once
#include <stddef.h>

#include "util/err.h"

enum
{
  OUTFILE_STDOUT = 1 << 0, /* "-" means standard output */
  OUTFILE_DIR = 1 << 1,    /* outfile_check(): the command makes a directory at the path */
};

struct outfile;

/* Refuses, with the messages above, what outfile_open() would refuse (with
 * OUTFILE_DIR: what cannot become a directory: a device, a socket, a named pipe),
 * and a path whose directory does not exist; opens and creates nothing.  For
 * commands that check their arguments before doing the work. */
int outfile_check (const char *path, unsigned flags, struct kiln_err *err);

/* Opens `path` for writing as described above.  A named pipe blocks here until a
 * reader opens it. */
struct outfile *outfile_open (const char *path, unsigned flags, struct kiln_err *err);

/* The descriptor to write to; it stays owned by `f`. */
int outfile_fd (const struct outfile *f);

/* Makes what was written visible under the name (see above).  Frees `f` whether it
 * succeeds or not; on failure nothing is left but an older file, untouched. */
int outfile_commit (struct outfile *f, struct kiln_err *err);

/* Drops what was written; an older file stays as it was.  Frees `f`; NULL is fine. */
void outfile_abort (struct outfile *f);

/* The whole cycle for a small file: open, write `len` bytes, commit. */
int outfile_put (const char *path, const void *data, size_t len, struct kiln_err *err);
