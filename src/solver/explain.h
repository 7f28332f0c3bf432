/* solver/explain.h — why a build step missed the cache (`kiln build --explain`).
 *
 * Every cache key is stored with its material (store/stepinfo.h) as an "info"
 * object:
 *   {"parent": KEY, "text": "COPY a /a" (as written), "material": the bytes hashed,
 *    "args": {NAME: VALUE} (the stage's build args), "files": {PATH: DIGEST} (a
 *    context COPY that ran), "base": "busybox" (only the start of a stage on an
 *    image, keyed by the image id)}
 * A miss is compared with the key the same step had in the last build of the same
 * Dockerfile and target: explain_diff names what differs; when only the parent
 * differs the caller walks up the chain to the step (or base image) that changed.
 *
 * A reason is a JSON object (the same one goes to --metadata-file):
 *   {"type": "file", "path", "old", "new"}   old or new null: added or removed
 *   {"type": "arg", "name", "old", "new"}     a build arg (null: unset)
 *   {"type": "instruction", "old", "new"}     the instruction as written
 *   {"type": "base", "name", "old", "new"}    the base image's id
 *   {"type": "input", "name"}                 another part of the key (env, user, ...)
 *   {"type": "gone"}                          same key, but its layer is gone
 *   {"type": "unknown"}                       the earlier record has no material */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "util/buf.h"

/* At most this many files are named per step (then one "and N more"). */
#define EXPLAIN_MAX_FILES 10

/* Appends to `reasons` what differs between an old and a new info.  Returns true
 * when their own material differs; false when it is the same (the difference is
 * in the parent: the caller walks up) and nothing is appended. */
bool explain_diff (const json_t *old_info, const json_t *new_info, json_t *reasons);

/* One reason as a line of plain progress, without the "#N " prefix. */
void explain_text (const json_t *reason, struct buf *out);
