/* store/containers.h — container records: a row in kiln.db and a directory.
 *
 *   ROOT/containers/<id>/config.json        docker-shaped Config and HostConfig (container/config.h)
 *   ROOT/containers/<id>/state.json         docker's State, written by the monitor (container/state.h)
 *   ROOT/containers/<id>/<id>-json.log      docker's json-file log
 *   ROOT/containers/<id>/{upper,work,merged} the container's root: an overlay over its image
 *   ROOT/containers.lock                    serialises every change of a container's state
 *
 * Invariants, kept through any kill of any process:
 *   - a record always has its directory: the directory is moved into place before
 *     the record commits, and a removal deletes the record before the directory;
 *   - a directory without a record is a leftover (`kiln system check` reports it,
 *     `--repair` removes it); none is ever made while a `check` runs (creators hold
 *     the store's shared lock, check the exclusive one);
 *   - the image a record names exists (a foreign key: it cannot be deleted under it).
 *
 * Lock order: containers.lock before a kiln.db transaction, never the other way. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#define CONTAINER_ID_LEN 64

struct container_rec
{
  char *id;      /* 64 hex */
  char *name;    /* without the leading "/" */
  char *image;   /* the image id, "sha256:…" */
  int64_t created; /* ns since the epoch */
  const struct strv *volumes; /* containers_add: the volumes it uses (store/volumes.h), or NULL */
};

void container_rec_clear (struct container_rec *r);
void container_recs_free (struct container_rec *r, size_t n);

/* `name` is used by another container: err->code is EEXIST and the message docker's. */
#define CONTAINER_ENAME_IN_USE EEXIST

/* Makes tmp/ctr-PID-… for a new container's files; the caller fills it and hands it
 * to containers_add (or removes it). */
char *containers_new_dir (struct kiln_store *st, struct kiln_err *err);
/* Records `rec` and moves `tmpdir` (from containers_new_dir) to containers/<id>, in
 * one transaction. A name in use fails with CONTAINER_ENAME_IN_USE and docker's
 * message; an image that is gone fails too. */
int containers_add (struct kiln_store *st, const struct container_rec *rec, const char *tmpdir, struct kiln_err *err);
/* Every record, newest first. */
int containers_list (struct kiln_store *st, struct container_rec **out, size_t *n, struct kiln_err *err);
/* Deletes the record, then the directory (moved to tmp/ first, so a kill half-way
 * leaves only what the next writer sweeps). */
int containers_remove (struct kiln_store *st, const char *id, struct kiln_err *err);
/* Gives container `id` the name `name` (valid, without "/"): one UPDATE, so the UNIQUE
 * constraint refuses a name in use (CONTAINER_ENAME_IN_USE, docker's message). */
int containers_rename (struct kiln_store *st, const char *id, const char *name, struct kiln_err *err);
/* The ids of the containers made from `image_id`. */
int containers_using_image (struct kiln_store *st, const char *image_id, struct strv *ids, struct kiln_err *err);

/* "ROOT/containers/<id>[/file]", for opening a container's files. */
char *container_path (const char *root, const char *id, const char *file);

/* Takes ROOT/containers.lock (blocking); returns its descriptor, -1 on error.
 * Only the root is needed: a monitor takes it without opening the store. */
int containers_lock (const char *root, struct kiln_err *err);
void containers_unlock (int fd);

/* For `system check`: container directories without a record and records
 * without a directory (each a line in `found`); with `repair`, both are removed.
 * Needs the store's exclusive lock. */
int containers_check (struct kiln_store *st, bool repair, struct strv *found, struct kiln_err *err);
