/* context/ignore.h — .dockerignore: which file applies, reading it and deciding paths.
 *
 * Docker's semantics (moby/patternmatcher + ignorefile): patterns in file order,
 * `!` exceptions, the last applicable line wins, a pattern that matches a parent
 * directory excludes everything below it, `**` spans directories. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define IGNORE_MAX_PATTERNS 100000u /* more lines than this is refused */

struct ignore_rules;

/* The ignore file that applies: `<dockerfile>.dockerignore` beside the Dockerfile
 * when it exists, else `<context>/.dockerignore`. The caller frees the result. */
char *context_ignore_path (const char *context_dir, const char *dockerfile);

/* Reads .dockerignore text (comments, `!`, path cleaning) and compiles it.
 * `file` names the source in errors ("FILE:LINE: ..."). */
struct ignore_rules *ignore_parse (const char *file, const char *data, size_t len, struct kiln_err *err);
/* Reads a file; a missing file gives empty rules when `missing_ok`. */
struct ignore_rules *ignore_load (const char *path, bool missing_ok, struct kiln_err *err);
void ignore_free (struct ignore_rules *r);

/* True if `path` (relative to the context root, '/'-separated) is excluded. */
bool ignore_excluded (const struct ignore_rules *r, const char *path);

/* For an excluded directory: true if an exception could still match something
 * below it, so the walker must look inside instead of skipping it whole. */
bool ignore_may_include_below (const struct ignore_rules *r, const char *dir);

/* The walkers' one decision for `path` (NULL rules keep everything): kept; left
 * out with all it holds; or an excluded directory to look into, kept only as the
 * parent of what an exception keeps below it. */
enum ignore_decision
{
  IGNORE_KEEP,
  IGNORE_SKIP,
  IGNORE_LOOK_INSIDE,
};
enum ignore_decision ignore_decide (const struct ignore_rules *r, const char *path, bool is_dir);

size_t ignore_count (const struct ignore_rules *r);

