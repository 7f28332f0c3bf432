/* solver/cache.c — the build cache: a step's recorded result by key, the keys made
 * in this invocation, and the batched commit of snapshots and records. */
#include "solver/builder.h"
#include "store/stepinfo.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static void
note_key_used (struct builder *b, const char *key)
{
  if (b->rq->cache_keys == NULL)
    return;
  b->used_stage = xgrow (b->used_stage, &b->used_cap, b->used_keys.n + 1, sizeof *b->used_stage);
  b->used_stage[b->used_keys.n] = b->cur_stage;
  strv_push (&b->used_keys, key);
}
/* ---------- cache ---------- */

/* --no-cache, or --no-cache-filter naming the current stage: only this
 * invocation's own keys are hits. */
bool
cache_skipped (const struct builder *b)
{
  if (b->rq->no_cache)
    return true;
  const char *stage = b->def->stages[b->cur_stage].name;
  for (size_t i = 0; stage && i < b->rq->no_cache_stages.n; i++)
    if (strcasecmp (b->rq->no_cache_stages.v[i], stage) == 0)
      return true;
  return false;
}

/* The recorded result of a step and when the step first ran (which its history keeps,
 * so a cached rebuild, here or on another machine, gives the same image). */
char *
cache_get (struct builder *b, const char *key, int64_t *created)
{
  const char *mine = envmap_get (&b->made, key, strlen (key));
  if (mine)
    {
      *created = b->now;
      note_key_used (b, key);
      return xstrdup (mine);
    }
  if (cache_skipped (b))
    return NULL;
  char *r = NULL;
  int64_t when = 0;
  int have = cache_records_get (b->st, key, &r, &when, b->err);
  if (have < 0)
    return NULL;
  if (have)
    {
      /* With SOURCE_DATE_EPOCH every step carries that time instead. */
      *created = b->epoch_pinned ? b->now : when;
      note_key_used (b, key);
    }
  /* A cached layer whose snapshot has gone is a miss. */
  if (r && digest_valid (r))
    {
      struct digest d;
      struct kiln_err e = {0};
      digest_parse (r, &d, &e);
      if (snapshot_lookup (b->st, &d, NULL, NULL, &e) != 1)
        {
          free (r);
          r = NULL;
        }
      kiln_err_clear (&e);
    }
  return r;
}

/* A build's snapshots and cache records wait in memory for at most this many
 * snapshots: the lowerdir option of a mount holds one page, and pending trees
 * have longer names than recorded ones. */
#define BATCH_STEPS 32

static int
put_cache_records (void *ud, struct kiln_err *err)
{
  struct builder *b = ud;
  for (size_t i = 0; i < b->pending_cache.n; i++)
    if (cache_records_put (b->st, b->pending_cache.keys[i], b->pending_cache.values[i], b->now, err) < 0)
      return -1;
  if (stepinfo_put (b->st, &b->pending_info, err) < 0)
    return -1;
  return stepfiles_put (b->st, &b->pending_files, err);
}

/* Commits what the build made since the last commit. After an error too: the
 * steps that succeeded stay cached. */
int
build_flush (struct builder *b, struct kiln_err *err)
{
  if (b->pending.n == 0 && b->pending_cache.n == 0 && b->pending_info.n == 0)
    {
      snapshot_batch_abort (&b->pending); /* waits for an early sync, if one runs */
      return 0;
    }
  size_t n = b->pending.n;
  struct digest *made = xcalloc (n ? n : 1, sizeof *made);
  for (size_t i = 0; i < n; i++)
    made[i] = b->pending.v[i].diff_id;
  b->pending.st = b->st;
  int r = snapshot_batch_commit (&b->pending, put_cache_records, b, err);
  envmap_free (&b->pending_cache);
  envmap_free (&b->pending_info);
  envmap_free (&b->pending_files);
  /* Later steps mount the committed trees from their place in snapshots/. */
  for (size_t i = 0; i < n && r == 0; i++)
    {
      char id[17], lower[24];
      snapshot_id_for (&made[i], id);
      snprintf (lower, sizeof lower, "%s/fs", id);
      envmap_set (&b->snapshot_ids, made[i].str, lower);
    }
  free (made);
  return r;
}

int
cache_put (struct builder *b, const char *key, const char *result)
{
  if (b->probing)
    return probe_miss (b);
  note_key_used (b, key);
  envmap_set (&b->pending_cache, key, result);
  stepinfo_pend (b, key);
  envmap_set (&b->made, key, result);
  return b->pending.n >= BATCH_STEPS ? build_flush (b, b->err) : 0;
}

void
key_of (const char *parent, const char *material, size_t len, char out[static DIGEST_STR_LEN + 1])
{
  struct hasher *h = hasher_new ();
  hasher_update (h, parent, strlen (parent));
  hasher_update (h, "\n", 1);
  hasher_update (h, material, len);
  struct digest d;
  hasher_final (h, &d);
  hasher_free (h);
  memcpy (out, d.str, DIGEST_STR_LEN + 1);
}

int
probe_miss (struct builder *b)
{
  b->probe_missed = true;
  return kiln_err_set (b->err, EAGAIN, "a step misses the cache (probe walk)");
}
