/* container/names.h — container ids, names, references, and what ps shows of
 * them: pure functions of their inputs (tests/unit/test_container.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/state.h"
#include "store/containers.h"
#include "util/buf.h"

/* docker's rule for --name: [a-zA-Z0-9][a-zA-Z0-9_.-]+, one leading "/" allowed
 * (and dropped: `name` points past it). */
bool container_name_valid (const char *name);

/* A generated name, docker's form "adjective_surname", from two random numbers. */
void container_name_generate (uint32_t a, uint32_t b, char out[static 64]);

/* 64 hex digits from 32 random bytes (the kernel's). */
void container_id_generate (char out[static 65]);

enum container_match
{
  CONTAINER_FOUND,
  CONTAINER_NONE,
  CONTAINER_AMBIGUOUS, /* a prefix of several ids */
};

/* docker's lookup of a reference: a full id, then a name (a leading "/" allowed),
 * then a unique id prefix. *idx is the record's index when found. */
enum container_match container_ref_match (const struct container_rec *recs, size_t n, const char *ref, size_t *idx);

/* ps's STATUS: "Up 5 seconds", "Exited (3) 2 minutes ago", "Created". */
void container_status_text (const struct container_state *s, int64_t now_ns, char out[static 96]);

/* ps's COMMAND before quoting: Path and Args, an argument with a space in single
 * quotes ("sh -c 'echo hi'"). */
void container_command_text (const struct strv *argv, struct buf *out);

/* ps's COMMAND cell: strconv.Quote of the command, cut to 20 characters with "…"
 * unless `no_trunc` (docker's Ellipsis). */
void container_command_cell (const char *command, bool no_trunc, struct buf *out);
