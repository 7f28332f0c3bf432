/* image/imagefmt.c — docker's imageContext and NewImageFormat. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/imagefmt.h"

#include <fnmatch.h>
#include "image/ref.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/formatter.h"

#define DEFAULT_TABLE "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
#define DEFAULT_TABLE_DIGEST                                                                       \
  "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
#define RAW "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n"
#define RAW_DIGEST                                                                                 \
  "repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: "         \
  "{{.CreatedAt}}\nvirtual_size: {{.Size}}\n"

/* Go's zero time.Time as Unix seconds: docker shows no CreatedSince for it. */
#define GO_ZERO_TIME (-62135596800LL)

char *
imagefmt_format (const char *source, bool quiet, bool digest)
{
  if (*source == 0 || strcmp (source, "table") == 0)
    return xstrdup (quiet ? "{{.ID}}" : digest ? DEFAULT_TABLE_DIGEST : DEFAULT_TABLE);
  if (strcmp (source, "raw") == 0)
    return xstrdup (quiet ? "image_id: {{.ID}}" : digest ? RAW_DIGEST : RAW);
  struct buf b = BUF_INIT;
  buf_puts (&b, source);
  if (digest && strncmp (source, "table", 5) == 0 && strstr (source, "{{.Digest}}") == NULL)
    buf_puts (&b, "\t{{.Digest}}");
  return buf_steal (&b);
}

bool
imagefmt_need_digest (const char *format, bool digests)
{
  return digests || strstr (format, "{{.Digest}}") != NULL;
}

static json_int_t
int_field (const json_t *o, const char *k, json_int_t dflt)
{
  json_t *v = json_object_get (o, k);
  return json_is_integer (v) ? json_integer_value (v) : dflt;
}

json_t *
imagefmt_context (const json_t *s, const char *repo, const char *tag, const char *digest,
                  const struct imagefmt_opts *o)
{
  const char *id = json_string_value (json_object_get (s, "ID"));
  id = id ? id : "";
  json_int_t created = int_field (s, "Created", 0), size = int_field (s, "Size", 0);
  json_int_t shared = int_field (s, "SharedSize", 0), containers = int_field (s, "Containers", 0);
  char since[48] = "", at[64], sz[32], sh[32] = "N/A", uq[32] = "N/A", ct[32] = "N/A";
  if (created != GO_ZERO_TIME)
    format_ago (created, o->now, since);
  format_go_time (created, at);
  format_size_prec ((double) size, 3, sz);
  if (shared != -1)
    format_size_prec ((double) shared, 4, sh);
  if (size != -1 && shared != -1)
    format_size_prec ((double) (size - shared), 4, uq);
  if (containers != -1)
    snprintf (ct, sizeof ct, "%" JSON_INTEGER_FORMAT, containers);
  _cleanup_free_ char *short_id = formatter_truncate_id (id);
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", repo, "Tag", tag,
                    "Digest", digest, "ID", o->trunc ? short_id : id, "CreatedSince", since, "CreatedAt", at, "Size",
                    sz, "VirtualSize", sz, "SharedSize", sh, "UniqueSize", uq, "Containers", ct);
}

static bool
dangling (const json_t *s)
{
  const json_t *tags = json_object_get (s, "RepoTags"), *digests = json_object_get (s, "RepoDigests");
  size_t nt = json_array_size (tags), nd = json_array_size (digests);
  if (nt == 0 && nd == 0)
    return true;
  return nt == 1 && nd == 1 && strcmp (json_string_value (json_array_get (tags, 0)) ?: "", "<none>:<none>") == 0
         && strcmp (json_string_value (json_array_get (digests, 0)) ?: "", "<none>@<none>") == 0;
}

/* Groups "repo:tag" or "repo@digest" references by familiar repository, in the order met:
 * an object of repository → array of tags (or digests). */
static json_t *
group (const json_t *refs, bool want_digest)
{
  json_t *g = json_object ();
  for (size_t i = 0; i < json_array_size (refs); i++)
    {
      const char *s = json_string_value (json_array_get (refs, i));
      struct image_ref r;
      struct kiln_err err = {0};
      if (s == NULL || ref_parse (s, false, &r, &err) < 0)
        {
          kiln_err_clear (&err);
          continue;
        }
      const char *what = want_digest ? r.digest : r.tag;
      if (what)
        {
          _cleanup_free_ char *repo = ref_familiar_repository (&r);
          json_t *list = json_object_get (g, repo);
          if (list == NULL)
            json_object_set_new (g, repo, list = json_array ());
          json_array_append_new (list, json_string (what));
        }
      ref_clear (&r);
    }
  return g;
}

void
imagefmt_rows (const json_t *s, const struct imagefmt_opts *o, json_t *rows)
{
  if (dangling (s))
    {
      json_array_append_new (rows, imagefmt_context (s, "<none>", "<none>", "<none>", o));
      return;
    }
  _cleanup_json_ json_t *tags = group (json_object_get (s, "RepoTags"), false);
  _cleanup_json_ json_t *digests = group (json_object_get (s, "RepoDigests"), true);
  const char *repo;
  json_t *list;
  json_object_foreach (tags, repo, list)
  {
    json_t *ds = o->digest ? json_object_get (digests, repo) : NULL;
    for (size_t t = 0; t < json_array_size (list); t++)
      {
        const char *tag = json_string_value (json_array_get (list, t));
        if (json_array_size (ds) == 0)
          json_array_append_new (rows, imagefmt_context (s, repo, tag, "<none>", o));
        for (size_t d = 0; d < json_array_size (ds); d++)
          json_array_append_new (rows, imagefmt_context (s, repo, tag, json_string_value (json_array_get (ds, d)), o));
      }
  }
  /* repositories known only by digest */
  json_object_foreach (digests, repo, list)
  {
    if (json_object_get (tags, repo))
      continue;
    if (!o->digest)
      json_array_append_new (rows, imagefmt_context (s, repo, "<none>", "", o));
    else
      for (size_t d = 0; d < json_array_size (list); d++)
        json_array_append_new (rows, imagefmt_context (s, repo, "<none>", json_string_value (json_array_get (list, d)), o));
  }
}

/* "busybox:latest" → "busybox"; "localhost:5000/a@sha256:…" → "localhost:5000/a". */
static char *
familiar_name (const char *familiar)
{
  const char *at = strchr (familiar, '@');
  const char *slash = strrchr (familiar, '/');
  const char *colon = strrchr (familiar, ':');
  size_t n = at ? (size_t) (at - familiar) : colon && (!slash || colon > slash) ? (size_t) (colon - familiar) : strlen (familiar);
  return xstrndup (familiar, n);
}

bool
imagefmt_ref_matches (const char *pattern, const char *ref)
{
  _cleanup_free_ char *fam = ref_familiar (ref);
  if (fnmatch (pattern, fam, FNM_PATHNAME) == 0)
    return true;
  _cleanup_free_ char *name = familiar_name (fam);
  return fnmatch (pattern, name, FNM_PATHNAME) == 0;
}

bool
imagefmt_keep_matching (json_t *summary, const struct strv *patterns)
{
  static const char *const keys[] = {"RepoTags", "RepoDigests"};
  bool any = false;
  for (size_t k = 0; k < 2; k++)
    {
      json_t *refs = json_object_get (summary, keys[k]);
      for (size_t i = json_array_size (refs); i-- > 0;)
        {
          const char *ref = json_string_value (json_array_get (refs, i));
          bool keep = false;
          for (size_t p = 0; p < patterns->n && !keep && ref; p++)
            keep = imagefmt_ref_matches (patterns->v[p], ref);
          if (!keep)
            json_array_remove (refs, i);
        }
      any = any || json_array_size (refs) > 0;
    }
  return any;
}

json_t *
imagefmt_header (void)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", "REPOSITORY", "Tag", "TAG",
                    "Digest", "DIGEST", "ID", "IMAGE ID", "CreatedSince", "CREATED", "CreatedAt", "CREATED AT", "Size",
                    "SIZE", "VirtualSize", "VIRTUAL SIZE", "SharedSize", "SHARED SIZE", "UniqueSize", "UNIQUE SIZE",
                    "Containers", "CONTAINERS");
}
