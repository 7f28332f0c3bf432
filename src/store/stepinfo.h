/* store/stepinfo.h — what each build cache key was made of, and the key each step of
 * a Dockerfile last had, so a cache miss can say what changed (`kiln build --explain`).
 *
 *   step_info   (key, info JSON)  one row per cache key made (and per base image a
 *                                 stage started from); info: solver/explain.h
 *   step_files  (key, files JSON) a context COPY's files (path → digest), kept only
 *                                 while a slot names the key: a list of a large
 *                                 context weighs megabytes, so one per step's place
 *   step_slots  (slot, key)       slot: a step's place (context, Dockerfile, target,
 *                                 stage, index) → the key it had in the last build
 *
 * Kept apart from the cache table, whose rows and key bytes stay as older kilns
 * made them: a record without info is a hit as before, it only cannot be explained. */
#pragma once
#include "store/store.h"
#include "util/envmap.h"
#include "util/err.h"

/* Writes every key → info of `infos` (in the caller's transaction, if any). */
int stepinfo_put (struct kiln_store *st, const struct envmap *infos, struct kiln_err *err);
/* The info recorded for key (malloc'd), or NULL with err clear when there is none. */
char *stepinfo_get (struct kiln_store *st, const char *key, struct kiln_err *err);
/* Writes every key → files of `files` (in the caller's transaction, if any). */
int stepfiles_put (struct kiln_store *st, const struct envmap *files, struct kiln_err *err);
/* The files recorded for key (malloc'd), or NULL with err clear when there are none. */
char *stepfiles_get (struct kiln_store *st, const char *key, struct kiln_err *err);
/* Writes every slot → key of `slots` in one transaction, and drops the file lists
 * of keys no slot names any more. */
int stepslots_put (struct kiln_store *st, const struct envmap *slots, struct kiln_err *err);
/* The key a slot had (malloc'd), or NULL with err clear when there is none. */
char *stepslot_get (struct kiln_store *st, const char *slot, struct kiln_err *err);
