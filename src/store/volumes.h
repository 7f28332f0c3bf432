/* store/volumes.h — named and anonymous volumes: a row in kiln.db and a directory.
 *
 *   ROOT/volumes/<name>/_data      what containers see at the mount point
 *
 * docker's local driver, without a daemon: a volume is a directory of the store,
 * bound into the containers that name it.  Which containers use a volume is a
 * table (container_volumes) written in the same transaction as the container's
 * record and deleted with it (ON DELETE CASCADE), so "in use" is a query and a
 * volume in use cannot be removed (a foreign key refuses it too).
 *
 * Invariants, kept through any kill:
 *   - a record always has its directory: the directory is made under tmp/ and
 *     renamed into place in the transaction that inserts the row; a removal deletes
 *     the row, then moves the directory to tmp/ and removes it there;
 *   - a volume row never goes while a container row names it. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

struct volume_rec
{
  char *name;
  char *driver;     /* "local" */
  json_t *labels;   /* object of strings; null for a volume made by -v without any (docker's) */
  json_t *options;  /* object of strings (the local driver takes none kiln applies), or null */
  bool anonymous;   /* made for an image's VOLUME or `-v /path`: 64 hex, removed with rm -v */
  int64_t created;  /* seconds since the epoch */
};

void volume_rec_clear (struct volume_rec *v);
void volume_recs_free (struct volume_rec *v, size_t n);

/* The volume `name`, made if missing (with `labels`/`options`; NULL: JSON null, as
 * docker shows a volume `-v` made).  `name` NULL makes an anonymous volume with 64 random hex
 * digits.  *made (optional) says whether it was new.  `out` (optional) gets the record. */
int volumes_create (struct kiln_store *st, const char *name, const json_t *labels, const json_t *options,
                    struct volume_rec *out, bool *made, struct kiln_err *err);
/* 1 and `out` filled if `name` exists, 0 if not. */
int volumes_get (struct kiln_store *st, const char *name, struct volume_rec *out, struct kiln_err *err);
/* Every volume, by name. */
int volumes_list (struct kiln_store *st, struct volume_rec **out, size_t *n, struct kiln_err *err);
/* The containers that use `name` (ids, oldest first). */
int volumes_users (struct kiln_store *st, const char *name, struct strv *ids, struct kiln_err *err);
/* Removes a volume no container uses; one in use fails with EBUSY and docker's
 * "remove NAME: volume is in use - [ID …]"; a missing one with ENOENT and
 * "get NAME: no such volume". */
int volumes_remove (struct kiln_store *st, const char *name, struct kiln_err *err);
/* "ROOT/volumes/<name>/_data" */
char *volume_data_path (const char *root, const char *name);

/* Inside containers_add's transaction: container `id` uses the volumes `names`. */
int volumes_attach (struct kiln_store *st, const char *id, const struct strv *names, struct kiln_err *err);
/* The anonymous volumes container `id` uses. */
int volumes_anonymous_of (struct kiln_store *st, const char *id, struct strv *names, struct kiln_err *err);

/* The label docker gives anonymous volumes. */
#define VOLUME_ANONYMOUS_LABEL "com.docker.volume.anonymous"

/* The bytes under the volume's directory, as docker counts them (0 and -1 if it cannot be read). */
int volumes_size (struct kiln_store *st, const char *name, uint64_t *bytes);

/* The bytes under each volume's directory (`system df`), and how many volumes
 * are in use. */
int volumes_disk_usage (struct kiln_store *st, uint64_t *total, uint64_t *reclaimable, size_t *count, size_t *active,
                        struct kiln_err *err);

/* For `system check`: volume directories without a record and records without a
 * directory (each a line in `found`); with `repair`, the first are removed and the
 * second get an empty directory again (a container may name the volume).  Needs
 * the store's exclusive lock. */
int volumes_check (struct kiln_store *st, bool repair, struct strv *found, struct kiln_err *err);
