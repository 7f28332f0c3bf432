/* cli/build_io.h — what `kiln build` reads and writes around the build itself:
 * standard input as a context (`kiln build -`), and --metadata-file. */
#pragma once
#include <jansson.h>
#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

/* `kiln build -`: standard input is a context when it is a tar (plain, or gzip,
 * bzip2, xz or zstd compressed: docker's DetectArchiveReader), and then it is
 * extracted, contained, into a new directory under the store's tmp/ (*ctx_dir, its
 * absolute path; the caller removes it with build_stdin_done).  Anything else is a
 * Dockerfile (*dockerfile, at most 64 MiB).  Exactly one of the two is set. */
int build_stdin_read (struct kiln_store *st, char **dockerfile, char **ctx_dir, struct kiln_err *err);
void build_stdin_done (struct kiln_store *st, char *ctx_dir);

/* --metadata-file: BuildKit's result keys for the image exporter, as docker's
 * daemon gives them (containerimage.config.digest, containerimage.digest,
 * containerimage.descriptor, image.name when tagged), written through outfile;
 * plus kiln's own "kiln.cache.misses": the steps that ran although the last build
 * had them cached, each {step, name, instruction, reasons} (solver/explain.h). */
int build_metadata_write (struct kiln_store *st, const char *path, const struct digest *id, const struct strv *tags,
                          const json_t *explained, struct kiln_err *err);
