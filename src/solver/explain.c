/* solver/explain.c — the cache-miss diff (solver/explain.h) and its use in the build:
 * each step's info noted, a miss compared with the step's last key. */
#include "solver/explain.h"

#include <string.h>

#include "solver/builder.h"
#include "store/stepinfo.h"
#include "util/cleanup.h"

static const char *
str_of (const json_t *o, const char *k)
{
  return json_string_value (json_object_get (o, k));
}

static bool
same_str (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static json_t *
str_or_null (const char *s)
{
  return s ? json_string (s) : json_null ();
}

/* Entries of two {name: string} objects that differ, as reasons of `type`. */
static size_t
diff_maps (const json_t *old, const json_t *new, const char *type, const char *field, size_t max, json_t *reasons)
{
  size_t n = 0, shown = 0;
  const char *k;
  json_t *v;
  json_t *names = json_object ();
  json_object_foreach ((json_t *) old, k, v) json_object_set_new (names, k, json_true ());
  json_object_foreach ((json_t *) new, k, v) json_object_set_new (names, k, json_true ());
  /* Sorted, so the lines come out in the same order every time. */
  _cleanup_strv_ struct strv keys = STRV_INIT;
  json_object_foreach (names, k, v) strv_push (&keys, k);
  strv_sort (&keys);
  for (size_t i = 0; i < keys.n; i++)
    {
      const char *a = str_of (old, keys.v[i]), *b = str_of (new, keys.v[i]);
      if (same_str (a, b))
        continue;
      n++;
      if (shown++ < max)
        json_array_append_new (reasons, json_pack ("{s:s, s:s, s:o, s:o}", "type", type, field, keys.v[i], "old",
                                                   str_or_null (a), "new", str_or_null (b)));
    }
  if (n > max)
    json_array_append_new (reasons, json_pack ("{s:s, s:I}", "type", "more_files", "count", (json_int_t) (n - max)));
  json_decref (names);
  return n;
}

bool
explain_diff (const json_t *old_info, const json_t *new_info, json_t *reasons)
{
  const char *om = str_of (old_info, "material"), *nm = str_of (new_info, "material");
  const char *ob = str_of (old_info, "base"), *nb = str_of (new_info, "base");
  if (same_str (om, nm) && same_str (ob, nb) && same_str (str_of (old_info, "text"), str_of (new_info, "text")))
    return false;
  size_t before = json_array_size (reasons);
  const char *ot = str_of (old_info, "text"), *nt = str_of (new_info, "text");
  bool text_changed = !same_str (ot, nt);
  if (text_changed)
    json_array_append_new (reasons, json_pack ("{s:s, s:o, s:o}", "type", "instruction", "old", str_or_null (ot), "new",
                                               str_or_null (nt)));
  json_t *empty = json_object ();
  /* Another instruction in the step's place: its args say nothing more. */
  json_t *oa = json_object_get (old_info, "args"), *na = json_object_get (new_info, "args");
  if (!text_changed)
    diff_maps (oa ? oa : empty, na ? na : empty, "arg", "name", SIZE_MAX, reasons);
  json_decref (empty);
  json_t *of = json_object_get (old_info, "files"), *nf = json_object_get (new_info, "files");
  if (json_is_object (of) && json_is_object (nf))
    diff_maps (of, nf, "file", "path", EXPLAIN_MAX_FILES, reasons);
  if (json_array_size (reasons) == before)
    {
      /* Name the parts of a JSON material that differ (mounts, user, workdir, env, ...). */
      json_t *oj = om ? json_loads (om, 0, NULL) : NULL, *nj = nm ? json_loads (nm, 0, NULL) : NULL;
      if (json_is_object (oj) && json_is_object (nj))
        {
          const char *k;
          json_t *v;
          json_object_foreach (nj, k, v) if (!json_equal (v, json_object_get (oj, k)))
            json_array_append_new (reasons, json_pack ("{s:s, s:s}", "type", "input", "name", k));
          json_object_foreach (oj, k, v) if (json_object_get (nj, k) == NULL)
            json_array_append_new (reasons, json_pack ("{s:s, s:s}", "type", "input", "name", k));
        }
      json_decref (oj);
      json_decref (nj);
    }
  if (json_array_size (reasons) == before)
    json_array_append_new (reasons, json_pack ("{s:s, s:s}", "type", "input", "name", "material"));
  return true;
}

static const char *
or_none (const json_t *r, const char *k)
{
  const char *s = str_of (r, k);
  return s ? s : "(none)";
}

static void explain_what (const json_t *r, struct buf *out);

void
explain_text (const json_t *r, struct buf *out)
{
  explain_what (r, out);
  if (str_of (r, "at"))
    buf_printf (out, " (at %s)", str_of (r, "at"));
}

static void
explain_what (const json_t *r, struct buf *out)
{
  const char *type = str_of (r, "type");
  if (type == NULL)
    type = "";
  if (strcmp (type, "file") == 0)
    {
      const char *o = str_of (r, "old"), *n = str_of (r, "new");
      if (o == NULL)
        buf_printf (out, "context file %s added: %s", or_none (r, "path"), n);
      else if (n == NULL)
        buf_printf (out, "context file %s removed: was %s", or_none (r, "path"), o);
      else
        buf_printf (out, "context file %s changed: %s -> %s", or_none (r, "path"), o, n);
    }
  else if (strcmp (type, "more_files") == 0)
    buf_printf (out, "and %lld more context files changed", (long long) json_integer_value (json_object_get (r, "count")));
  else if (strcmp (type, "arg") == 0)
    {
      const char *o = str_of (r, "old"), *n = str_of (r, "new");
      buf_printf (out, "build arg %s changed: ", or_none (r, "name"));
      buf_printf (out, o ? "\"%s\"" : "%s", o ? o : "(unset)");
      buf_puts (out, " -> ");
      buf_printf (out, n ? "\"%s\"" : "%s", n ? n : "(unset)");
    }
  else if (strcmp (type, "instruction") == 0)
    buf_printf (out, "instruction changed: %s -> %s", or_none (r, "old"), or_none (r, "new"));
  else if (strcmp (type, "base") == 0)
    buf_printf (out, "base image %s changed: %s -> %s", or_none (r, "name"), or_none (r, "old"), or_none (r, "new"));
  else if (strcmp (type, "input") == 0)
    buf_printf (out, "step input changed: %s", or_none (r, "name"));
  else if (strcmp (type, "gone") == 0)
    buf_puts (out, "the earlier result's layer is no longer in the store");
  else
    buf_puts (out, "the earlier build's record has no key material (made by an older kiln)");
}

/* ---------- in the build ---------- */

void
step_note (struct builder *b, const char *parent, const char *key, const char *text, const char *material, size_t len,
           const struct envmap *args)
{
  json_t *info = json_pack ("{s:s, s:s?, s:s%}", "parent", parent, "text", text, "material", material ? material : "",
                            material ? len : 0);
  if (args && args->n)
    {
      json_t *a = json_object ();
      for (size_t i = 0; i < args->n; i++)
        json_object_set_new (a, args->keys[i], json_string (args->values[i]));
      json_object_set_new (info, "args", a);
    }
  _cleanup_free_ char *s = json_dumps (info, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (info);
  if (s)
    envmap_set (&b->infos, key, s);
  /* The step's place: the same in every build of this Dockerfile and target. */
  _cleanup_buf_ struct buf sl = BUF_INIT;
  buf_printf (&sl, "%s\n%zu\n%zu", b->slot_ident ? b->slot_ident : "", b->cur_stage, b->slot_idx++);
  struct digest d;
  digest_bytes (buf_str (&sl), sl.len, &d);
  memcpy (b->cur_slot, d.str, sizeof b->cur_slot);
  if (b->slot_ident)
    envmap_set (&b->slots, b->cur_slot, key);
}

void
stage_note_base (struct builder *b, const char *image_id, const char *ref)
{
  json_t *info = json_pack ("{s:s, s:s}", "base", ref, "text", ref);
  _cleanup_free_ char *s = json_dumps (info, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (info);
  if (s == NULL || b->probing)
    return;
  envmap_set (&b->infos, image_id, s);
  /* Written once per image: a cached rebuild writes nothing. */
  struct kiln_err e = {0};
  _cleanup_free_ char *stored = stepinfo_get (b->st, image_id, &e);
  kiln_err_clear (&e);
  if (stored == NULL || strcmp (stored, s) != 0)
    envmap_set (&b->pending_info, image_id, s);
}

void
stepinfo_pend (struct builder *b, const char *key)
{
  const char *text = envmap_get (&b->infos, key, strlen (key));
  _cleanup_json_ json_t *info = text ? json_loads (text, 0, NULL) : NULL;
  json_t *files = json_object_get (info, "files");
  if (files)
    {
      _cleanup_free_ char *f = json_dumps (files, JSON_COMPACT | JSON_SORT_KEYS);
      if (f)
        envmap_set (&b->pending_files, key, f);
      json_object_del (info, "files");
    }
  _cleanup_free_ char *rest = info ? json_dumps (info, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (rest)
    envmap_set (&b->pending_info, key, rest);
}

/* The info of a key: noted in this build, else recorded by an earlier one (with its
 * file list, while a slot keeps it). */
static json_t *
info_load (struct builder *b, const char *key)
{
  const char *mine = envmap_get (&b->infos, key, strlen (key));
  if (mine)
    return json_loads (mine, 0, NULL);
  struct kiln_err e = {0};
  _cleanup_free_ char *stored = stepinfo_get (b->st, key, &e);
  _cleanup_free_ char *files = stored ? stepfiles_get (b->st, key, &e) : NULL;
  kiln_err_clear (&e);
  json_t *info = stored ? json_loads (stored, 0, NULL) : NULL;
  if (json_is_object (info) && files)
    json_object_set_new (info, "files", json_loads (files, 0, NULL));
  return info;
}

/* The stage a COPY --from copied from, when that is all that differs between two
 * infos' materials: its key in each (pointers into the loaded JSON), or false. */
static bool
only_from_differs (const json_t *reasons, size_t first, json_t **oj, json_t **nj, const json_t *oi, const json_t *ni,
                   const char **of, const char **nf)
{
  if (json_array_size (reasons) != first + 1)
    return false;
  const json_t *r = json_array_get (reasons, first);
  if (strcmp (str_of (r, "type") ?: "", "input") != 0 || strcmp (str_of (r, "name") ?: "", "from") != 0)
    return false;
  *oj = json_loads (str_of (oi, "material") ?: "", 0, NULL);
  *nj = json_loads (str_of (ni, "material") ?: "", 0, NULL);
  *of = str_of (*oj, "from");
  *nf = str_of (*nj, "from");
  return *of && *nf;
}

/* What changed between the step's last key and this one: its own material, or
 * walking up the parents, an earlier step's or the base image; through a COPY
 * --from, the other stage's (nested: every reason says where it is). */
static void
explain_keys (struct builder *b, const char *prev, const char *key, json_t *reasons, int nested)
{
  json_t *oi = info_load (b, prev), *ni = info_load (b, key);
  for (int depth = 0;; depth++)
    {
      if (oi == NULL || ni == NULL || depth > 1000)
        {
          json_array_append_new (reasons, json_pack ("{s:s}", "type", "unknown"));
          break;
        }
      size_t before = json_array_size (reasons);
      if (explain_diff (oi, ni, reasons))
        {
          json_t *oj = NULL, *nj = NULL;
          const char *of, *nf;
          if (nested < 8 && only_from_differs (reasons, before, &oj, &nj, oi, ni, &of, &nf))
            {
              json_array_remove (reasons, before);
              explain_keys (b, of, nf, reasons, nested + 1);
            }
          json_decref (oj);
          json_decref (nj);
          /* An earlier step changed: say which, the step itself did not. */
          for (size_t i = before; (depth > 0 || nested) && str_of (ni, "text") && i < json_array_size (reasons); i++)
            if (json_object_get (json_array_get (reasons, i), "at") == NULL)
              json_object_set_new (json_array_get (reasons, i), "at", json_string (str_of (ni, "text")));
          break;
        }
      const char *op = str_of (oi, "parent"), *np = str_of (ni, "parent");
      if (op == NULL || np == NULL || strcmp (op, np) == 0)
        {
          json_array_append_new (reasons, json_pack ("{s:s}", "type", "unknown"));
          break;
        }
      json_t *npi = info_load (b, np);
      if (npi && str_of (npi, "base"))
        {
          json_array_append_new (reasons, json_pack ("{s:s, s:s, s:s, s:s}", "type", "base", "name", str_of (npi, "base"),
                                                     "old", op, "new", np));
          json_decref (npi);
          break;
        }
      json_t *opi = info_load (b, op);
      json_decref (oi);
      json_decref (ni);
      oi = opi;
      ni = npi;
    }
  json_decref (oi);
  json_decref (ni);
}

/* A context COPY that runs: its files, listed by the walker that made its key. */
static void
note_files (struct builder *b, const char *key)
{
  struct envmap files = ENVMAP_INIT;
  b->collect_files = &files;
  struct hasher *h = hasher_new ();
  struct kiln_err e = {0}, *saved = b->err;
  b->err = &e;
  int r = hash_context_sources (b, b->note_sources, b->note_excludes, h, false);
  b->err = saved;
  b->collect_files = NULL;
  struct digest unused;
  hasher_final (h, &unused);
  hasher_free (h);
  kiln_err_clear (&e);
  const char *text = envmap_get (&b->infos, key, strlen (key));
  json_t *info = text ? json_loads (text, 0, NULL) : NULL;
  if (r == 0 && info)
    {
      json_t *f = json_object ();
      for (size_t i = 0; i < files.n; i++)
        json_object_set_new (f, files.keys[i], json_string (files.values[i]));
      json_object_set_new (info, "files", f);
      _cleanup_free_ char *s = json_dumps (info, JSON_COMPACT | JSON_SORT_KEYS);
      if (s)
        envmap_set (&b->infos, key, s);
    }
  json_decref (info);
  envmap_free (&files);
}

void
step_missed (struct builder *b, const char *key, const char *label)
{
  if (b->probing)
    return;
  /* A second walk of the context: only when explanations are asked for (the hot
   * path of a COPY that misses stays one walk).  A later --explain build then has no
   * file list of this one to compare with and names the context as a whole. */
  bool explaining = b->rq->explain || b->rq->explained != NULL;
  if (b->note_sources && explaining)
    note_files (b, key);
  if (!explaining || cache_skipped (b) || b->slot_ident == NULL)
    return;
  struct kiln_err e = {0};
  _cleanup_free_ char *prev = stepslot_get (b->st, b->cur_slot, &e);
  kiln_err_clear (&e);
  if (prev == NULL)
    return; /* never built before: nothing changed */
  json_t *reasons = json_array ();
  if (strcmp (prev, key) == 0)
    json_array_append_new (reasons, json_pack ("{s:s}", "type", "gone"));
  else
    explain_keys (b, prev, key, reasons, 0);
  size_t i;
  json_t *r;
  if (b->rq->explain && !b->quiet)
    json_array_foreach (reasons, i, r)
    {
      _cleanup_buf_ struct buf line = BUF_INIT;
      explain_text (r, &line);
      /* On a terminal the mark stands out from the step's output. */
      /* The terminal view marks it (solver/ttyview.c). */
      step_status (b, "cache miss: %s", buf_str (&line));
    }
  if (b->rq->explained)
    {
      const char *text = NULL;
      json_t *ni = info_load (b, key);
      text = str_of (ni, "text");
      json_array_append_new (b->rq->explained, json_pack ("{s:i, s:s?, s:s?, s:o}", "step", b->step, "name", label,
                                                          "instruction", text, "reasons", reasons));
      json_decref (ni);
    }
  else
    json_decref (reasons);
}

int
explain_finish (struct builder *b)
{
  if (b->slots.n == 0)
    return 0;
  struct kiln_err e = {0};
  /* Only a hint for the next build: a failure to write it fails nothing. */
  stepslots_put (b->st, &b->slots, &e);
  kiln_err_clear (&e);
  return 0;
}
