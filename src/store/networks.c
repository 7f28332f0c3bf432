/* store/networks.c — network and endpoint rows. */
#include "store/networks.h"
#include "store/store_private.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

void
net_rec_clear (struct net_rec *r)
{
  free (r->id);
  free (r->name);
  json_decref (r->config);
  memset (r, 0, sizeof *r);
}

void
net_recs_free (struct net_rec *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    net_rec_clear (&r[i]);
  free (r);
}

void
endpoint_recs_free (struct endpoint_rec *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (r[i].network);
      free (r[i].container);
      free (r[i].ip);
      json_decref (r[i].info);
    }
  free (r);
}

static json_t *
col_json (sqlite3_stmt *q, int col)
{
  const char *t = (const char *) sqlite3_column_text (q, col);
  json_t *j = t ? json_loads (t, 0, NULL) : NULL;
  return j ? j : json_object ();
}

static void
row_net (sqlite3_stmt *q, struct net_rec *r)
{
  r->id = xstrdup ((const char *) sqlite3_column_text (q, 0));
  r->name = xstrdup ((const char *) sqlite3_column_text (q, 1));
  r->config = col_json (q, 2);
  r->created = sqlite3_column_int64 (q, 3);
}

int
networks_get (struct kiln_store *st, const char *ref, struct net_rec *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  /* docker: an exact name or id first, then a unique id prefix. */
  sqlite3_stmt *q = store_prepare (st,
                                   "SELECT id, name, config, created FROM networks WHERE name = ?1 OR id = ?1 "
                                   "UNION ALL SELECT id, name, config, created FROM networks WHERE "
                                   "substr(id, 1, length(?1)) = ?1 AND NOT EXISTS "
                                   "(SELECT 1 FROM networks WHERE name = ?1 OR id = ?1) LIMIT 2",
                                   err);
  if (q == NULL)
    return -1;
  sqlite3_bind_text (q, 1, ref, -1, SQLITE_STATIC);
  int found = 0, rc;
  while ((rc = sqlite3_step (q)) == SQLITE_ROW)
    {
      if (found++ == 0)
        row_net (q, out);
    }
  sqlite3_finalize (q);
  if (rc != SQLITE_DONE)
    {
      net_rec_clear (out);
      return store_db_error (st, err, "reading networks");
    }
  if (found > 1)
    {
      net_rec_clear (out);
      return 0; /* ambiguous prefix: docker says not found too */
    }
  return found;
}

static int
step_done (struct kiln_store *st, sqlite3_stmt *q, const char *what, struct kiln_err *err)
{
  if (q == NULL)
    return -1;
  int rc = sqlite3_step (q);
  int ext = sqlite3_extended_errcode (st->db);
  sqlite3_finalize (q);
  if (rc == SQLITE_DONE)
    return 0;
  if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
    return kiln_err_set (err, EEXIST, "%s: already there", what);
  return store_db_error (st, err, what);
}

int
networks_add (struct kiln_store *st, const struct net_rec *r, struct kiln_err *err)
{
  sqlite3_stmt *q = store_prepare (st, "INSERT INTO networks (id, name, config, created) VALUES (?, ?, ?, ?)", err);
  if (q == NULL)
    return -1;
  _cleanup_free_ char *cfg = json_dumps (r->config, JSON_COMPACT);
  sqlite3_bind_text (q, 1, r->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 2, r->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 3, cfg, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (q, 4, r->created);
  if (step_done (st, q, "recording the network", err) < 0)
    {
      if (err->code == EEXIST)
        kiln_err_set (err, EEXIST, "network with name %s already exists", r->name);
      return -1;
    }
  return 0;
}

int
networks_update (struct kiln_store *st, const char *id, const json_t *config, struct kiln_err *err)
{
  _cleanup_free_ char *cfg = json_dumps (config, JSON_COMPACT);
  return store_exec (st, err, "UPDATE networks SET config = ? WHERE id = ?", 2, cfg, id);
}

int
networks_list (struct kiln_store *st, struct net_rec **out, size_t *n, struct kiln_err *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *q = store_prepare (st, "SELECT id, name, config, created FROM networks ORDER BY name", err);
  if (q == NULL)
    return -1;
  int rc;
  while ((rc = sqlite3_step (q)) == SQLITE_ROW)
    {
      *out = xrealloc (*out, (*n + 1) * sizeof **out);
      row_net (q, &(*out)[(*n)++]);
    }
  sqlite3_finalize (q);
  return rc == SQLITE_DONE ? 0 : store_db_error (st, err, "listing networks");
}

int
networks_remove (struct kiln_store *st, const char *id, struct kiln_err *err)
{
  return store_exec (st, err, "DELETE FROM networks WHERE id = ?", 1, id);
}

int
endpoints_list (struct kiln_store *st, const char *network, const char *container, struct endpoint_rec **out,
                size_t *n, struct kiln_err *err)
{
  *out = NULL;
  *n = 0;
  sqlite3_stmt *q = store_prepare (st,
                                   "SELECT network, container, ip, info FROM net_endpoints WHERE "
                                   "(?1 IS NULL OR network = ?1) AND (?2 IS NULL OR container = ?2) "
                                   "ORDER BY network, container",
                                   err);
  if (q == NULL)
    return -1;
  if (network)
    sqlite3_bind_text (q, 1, network, -1, SQLITE_STATIC);
  if (container)
    sqlite3_bind_text (q, 2, container, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step (q)) == SQLITE_ROW)
    {
      *out = xrealloc (*out, (*n + 1) * sizeof **out);
      struct endpoint_rec *e = &(*out)[(*n)++];
      e->network = xstrdup ((const char *) sqlite3_column_text (q, 0));
      e->container = xstrdup ((const char *) sqlite3_column_text (q, 1));
      e->ip = xstrdup ((const char *) sqlite3_column_text (q, 2));
      e->info = col_json (q, 3);
    }
  sqlite3_finalize (q);
  return rc == SQLITE_DONE ? 0 : store_db_error (st, err, "listing endpoints");
}

int
endpoint_add (struct kiln_store *st, const char *network, const char *container, const char *ip,
              const json_t *info, struct kiln_err *err)
{
  _cleanup_free_ char *i = json_dumps (info, JSON_COMPACT);
  sqlite3_stmt *q
      = store_prepare (st, "INSERT INTO net_endpoints (network, container, ip, info) VALUES (?, ?, ?, ?)", err);
  if (q == NULL)
    return -1;
  sqlite3_bind_text (q, 1, network, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 2, container, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 3, ip, -1, SQLITE_STATIC);
  sqlite3_bind_text (q, 4, i, -1, SQLITE_STATIC);
  return step_done (st, q, "recording the endpoint", err);
}

int
endpoint_update (struct kiln_store *st, const char *network, const char *container, const json_t *info,
                 struct kiln_err *err)
{
  _cleanup_free_ char *i = json_dumps (info, JSON_COMPACT);
  return store_exec (st, err, "UPDATE net_endpoints SET info = ? WHERE network = ? AND container = ?", 3, i, network,
                     container);
}

int
endpoint_remove (struct kiln_store *st, const char *network, const char *container, struct kiln_err *err)
{
  return store_exec (st, err, "DELETE FROM net_endpoints WHERE network = ? AND container = ?", 2, network, container);
}

char *
endpoint_container_name (struct kiln_store *st, const char *id)
{
  struct kiln_err ignored = {0};
  sqlite3_stmt *q = store_prepare (st, "SELECT name FROM containers WHERE id = ?", &ignored);
  kiln_err_clear (&ignored);
  if (q == NULL)
    return NULL;
  sqlite3_bind_text (q, 1, id, -1, SQLITE_STATIC);
  char *name = sqlite3_step (q) == SQLITE_ROW ? xstrdup ((const char *) sqlite3_column_text (q, 0)) : NULL;
  sqlite3_finalize (q);
  return name;
}
