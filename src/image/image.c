/* image/image.c — image records: blobs in, rows in one transaction. */
#include "image/image.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/blobs.h"
#include "store/images.h"
#include "store/snapshots.h"
#include "util/cleanup.h"

char *
json_canonical (const json_t *j, size_t *len)
{
  char *s = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  if (s == NULL)
    {
      fputs ("kiln: out of memory\n", stderr);
      abort ();
    }
  if (len)
    *len = strlen (s);
  return s;
}

void
image_info_clear (struct image_info *ii)
{
  json_decref (ii->config);
  json_decref (ii->manifest_json);
  free (ii->layers);
  memset (ii, 0, sizeof *ii);
}

static int
record (struct kiln_store *st, const struct digest *config, const struct digest *manifest,
        const struct image_layer *layers, size_t n_layers, const struct strv *tags, struct kiln_err *err)
{
  struct layer_blob *blobs = xcalloc (n_layers ? n_layers : 1, sizeof *blobs);
  for (size_t i = 0; i < n_layers; i++)
    {
      blobs[i].digest = layers[i].blob;
      blobs[i].diff_id = layers[i].diff_id;
      snprintf (blobs[i].media_type, sizeof blobs[i].media_type, "%s", layers[i].media_type);
      blobs[i].size = layers[i].blob_size;
    }
  int r = images_add (st, config, manifest, store_now (), blobs, n_layers, tags, err);
  free (blobs);
  return r;
}

int
image_commit (struct kiln_store *st, const json_t *config, const struct image_layer *layers, size_t n_layers,
              const struct strv *tags, struct digest *id, struct kiln_err *err)
{
  size_t clen;
  _cleanup_free_ char *cfg = json_canonical (config, &clen);
  struct digest cd;
  if (blob_put (st, cfg, clen, &cd, err) < 0)
    return -1;
  _cleanup_json_ json_t *m = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}}", "schemaVersion", 2, "mediaType",
                                        MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", cd.str, "size",
                                        (json_int_t) clen);
  json_t *jl = json_array ();
  for (size_t i = 0; i < n_layers; i++)
    json_array_append_new (jl, json_pack ("{s:s, s:s, s:I}", "mediaType", layers[i].media_type, "digest",
                                          layers[i].blob.str, "size", (json_int_t) layers[i].blob_size));
  json_object_set_new (m, "layers", jl);
  size_t mlen;
  _cleanup_free_ char *man = json_canonical (m, &mlen);
  struct digest md;
  if (blob_put (st, man, mlen, &md, err) < 0)
    return -1;
  if (record (st, &cd, &md, layers, n_layers, tags, err) < 0)
    return -1;
  if (id)
    *id = cd;
  return 0;
}

int
image_layers_parse (const json_t *manifest, const json_t *config, struct image_layer **out, size_t *n_out,
                    struct kiln_err *err)
{
  *out = NULL;
  *n_out = 0;
  json_t *layers = json_object_get (manifest, "layers");
  json_t *diffs = json_object_get (json_object_get (config, "rootfs"), "diff_ids");
  size_t n = json_array_size (layers);
  if (!json_is_array (layers) || !json_is_array (diffs) || json_array_size (diffs) != n)
    return kiln_err_set (err, EINVAL, "manifest and config disagree on the layers");
  struct image_layer *ls = xcalloc (n ? n : 1, sizeof *ls);
  for (size_t i = 0; i < n; i++)
    {
      json_t *l = json_array_get (layers, i);
      const char *mt = json_string_value (json_object_get (l, "mediaType"));
      if (digest_parse (json_string_value (json_object_get (l, "digest")), &ls[i].blob, err) < 0
          || digest_parse (json_string_value (json_array_get (diffs, i)), &ls[i].diff_id, err) < 0)
        {
          free (ls);
          return kiln_err_wrap (err, "layer %zu", i + 1);
        }
      snprintf (ls[i].media_type, sizeof ls[i].media_type, "%s", mt ? mt : MT_OCI_LAYER);
      ls[i].blob_size = (uint64_t) json_integer_value (json_object_get (l, "size"));
    }
  *out = ls;
  *n_out = n;
  return 0;
}

int
image_record (struct kiln_store *st, const struct digest *config, const struct digest *manifest,
              const struct strv *tags, struct kiln_err *err)
{
  /* Parse the manifest to record which blob holds which layer. */
  size_t len;
  _cleanup_free_ char *man = blob_read (st, manifest, IMAGE_MAX_JSON, &len, err);
  if (man == NULL)
    return -1;
  json_error_t je;
  _cleanup_json_ json_t *m = json_loadb (man, len, 0, &je);
  _cleanup_free_ char *cfg = blob_read (st, config, IMAGE_MAX_JSON, &len, err);
  if (cfg == NULL)
    return -1;
  _cleanup_json_ json_t *c = json_loadb (cfg, len, 0, &je);
  struct image_layer *ls;
  size_t n;
  int r = image_layers_parse (m, c, &ls, &n, err);
  if (r < 0)
    return kiln_err_wrap (err, "image %s", config->str);
  r = record (st, config, manifest, ls, n, tags, err);
  free (ls);
  return r;
}

static bool
all_hex (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

int
image_resolve (struct kiln_store *st, const char *name, struct digest *id, struct kiln_err *err)
{
  struct image_ref r;
  struct kiln_err perr = {0};
  int found = 0;
  if (ref_parse (name, true, &r, &perr) == 0)
    {
      if (r.digest)
        {
          _cleanup_free_ char *repo = ref_repository (&r);
          found = images_find (st, IMAGE_BY_MANIFEST, r.digest, id, err);
          if (found == 0)
            {
              _cleanup_buf_ struct buf rd = BUF_INIT;
              buf_printf (&rd, "%s@%s", repo, r.digest);
              found = images_find (st, IMAGE_BY_REPO_DIGEST, buf_str (&rd), id, err);
            }
        }
      else
        {
          _cleanup_free_ char *full = ref_string (&r);
          found = images_find (st, IMAGE_BY_TAG, full, id, err);
        }
      ref_clear (&r);
    }
  kiln_err_clear (&perr);
  if (found < 0)
    return -1;
  if (found == 0)
    {
      const char *hex = strncmp (name, "sha256:", 7) == 0 ? name + 7 : name;
      if (all_hex (hex) && strlen (hex) <= 64)
        {
          found = images_find (st, IMAGE_BY_ID_PREFIX, hex, id, err);
          if (found < 0)
            return -1;
          if (found == 2)
            return kiln_err_set (err, KILN_EINVAL, "\"%s\" matches more than one image: give more of the id", name);
        }
    }
  if (found == 0)
    return kiln_err_set (err, ENOENT,
                         "image \"%s\" is not in the store (see kiln images; kiln import or kiln load add images)",
                         name);
  return 0;
}

int
image_load (struct kiln_store *st, const struct digest *id, struct image_info *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  out->id = *id;
  int r = images_get (st, id, &out->manifest, &out->created, err);
  if (r == 0)
    return kiln_err_set (err, ENOENT, "image %s is not in the store", id->str);
  if (r < 0)
    return -1;
  size_t len;
  json_error_t je;
  _cleanup_free_ char *man = blob_read (st, &out->manifest, IMAGE_MAX_JSON, &len, err);
  if (man == NULL)
    return -1;
  out->manifest_json = json_loadb (man, len, 0, &je);
  _cleanup_free_ char *cfg = blob_read (st, id, IMAGE_MAX_JSON, &len, err);
  if (cfg == NULL)
    goto fail;
  out->config = json_loadb (cfg, len, 0, &je);
  if (out->manifest_json == NULL || out->config == NULL)
    {
      kiln_err_set (err, EINVAL, "image %s: config or manifest is not valid JSON", id->str);
      goto fail;
    }
  if (image_layers_parse (out->manifest_json, out->config, &out->layers, &out->n_layers, err) < 0)
    {
      kiln_err_wrap (err, "image %s", id->str);
      goto fail;
    }
  for (size_t i = 0; i < out->n_layers; i++)
    {
      struct image_layer *il = &out->layers[i];
      uint64_t unpacked = 0;
      int have = snapshot_lookup (st, &il->diff_id, NULL, &unpacked, err);
      if (have < 0)
        goto fail;
      out->size += have ? unpacked : il->blob_size;
    }
  return 0;
fail:
  image_info_clear (out);
  return -1;
}

int
image_tags (struct kiln_store *st, const struct digest *id, struct strv *out, struct kiln_err *err)
{
  return images_tags (st, id, out, err);
}

int
image_repo_digests (struct kiln_store *st, const struct digest *id, struct strv *out, struct kiln_err *err)
{
  return images_repo_digests (st, id, out, err);
}

int
image_add_repo_digest (struct kiln_store *st, const struct digest *id, const char *name, struct kiln_err *err)
{
  /* One digest per repository and image, as docker keeps it: the newest wins. */
  const char *at = strchr (name, '@');
  if (at == NULL)
    return kiln_err_set (err, KILN_EINVAL, "\"%s\" is not REPOSITORY@DIGEST", name);
  _cleanup_free_ char *like = xstrndup (name, (size_t) (at - name + 1));
  return images_set_repo_digest (st, id, like, name, err);
}

int
image_list (struct kiln_store *st, struct strv *ids, struct kiln_err *err)
{
  return images_ids (st, ids, err);
}

int
image_tag (struct kiln_store *st, const struct digest *id, const char *tag, struct kiln_err *err)
{
  return images_tag (st, id, tag, err);
}

int
image_untag (struct kiln_store *st, const char *tag, struct kiln_err *err)
{
  return images_untag (st, tag, err);
}

int
image_delete (struct kiln_store *st, const struct digest *id, struct kiln_err *err)
{
  return images_delete (st, id, err);
}

/* ---------- formatting ---------- */

void
format_rfc3339 (int64_t t, char out[static 32])
{
  time_t tt = (time_t) t;
  struct tm tm;
  gmtime_r (&tt, &tm);
  strftime (out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t
parse_rfc3339 (const char *s)
{
  if (s == NULL)
    return -1;
  struct tm tm = {0};
  int n = 0;
  if (sscanf (s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
              &tm.tm_sec, &n)
      != 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const char *p = s + n;
  if (*p == '.')
    {
      p++;
      while (isdigit ((unsigned char) *p))
        p++;
    }
  int64_t off = 0;
  if (*p == '+' || *p == '-')
    {
      int h, m;
      if (sscanf (p + 1, "%2d:%2d", &h, &m) != 2)
        return -1;
      off = (int64_t) (h * 3600 + m * 60) * (*p == '+' ? 1 : -1);
    }
  else if (*p != 'Z' && *p != 'z')
    return -1;
  return (int64_t) timegm (&tm) - off;
}

void
format_size_prec (double bytes, int precision, char out[static 32])
{
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  double v = bytes;
  size_t u = 0;
  while (v >= 1000 && u + 1 < sizeof units / sizeof *units)
    v /= 1000, u++;
  snprintf (out, 32, "%.*g%s", precision, v, units[u]);
}

void
format_size (uint64_t bytes, char out[static 32])
{
  format_size_prec ((double) bytes, 3, out);
}

void
format_go_time (int64_t t, char out[static 64])
{
  time_t tt = (time_t) t;
  struct tm tm;
  if (localtime_r (&tt, &tm) == NULL)
    {
      snprintf (out, 64, "%lld", (long long) t);
      return;
    }
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  off = off < 0 ? -off : off;
  /* Go writes the year with at least four digits (the zero time is 0001-01-01) */
  snprintf (out, 64, "%04d-%02d-%02d %02d:%02d:%02d %c%02ld%02ld %s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
            tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 3600, off / 60 % 60, tm.tm_zone ? tm.tm_zone : "UTC");
}

void
human_duration (int64_t secs, char out[static 48])
{
  /* go-units HumanDuration: hours are rounded, the rest cut. */
  int64_t hours = (secs + 1800) / 3600;
  if (secs < 1)
    snprintf (out, 48, "Less than a second");
  else if (secs == 1)
    snprintf (out, 48, "1 second");
  else if (secs < 60)
    snprintf (out, 48, "%lld seconds", (long long) secs);
  else if (secs / 60 == 1)
    snprintf (out, 48, "About a minute");
  else if (secs / 60 < 60)
    snprintf (out, 48, "%lld minutes", (long long) (secs / 60));
  else if (hours == 1)
    snprintf (out, 48, "About an hour");
  else if (hours < 48)
    snprintf (out, 48, "%lld hours", (long long) hours);
  else if (hours < 24 * 7 * 2)
    snprintf (out, 48, "%lld days", (long long) (hours / 24));
  else if (hours < 24 * 30 * 2)
    snprintf (out, 48, "%lld weeks", (long long) (hours / 24 / 7));
  else if (hours < 24 * 365 * 2)
    snprintf (out, 48, "%lld months", (long long) (hours / 24 / 30));
  else
    snprintf (out, 48, "%lld years", (long long) (secs / 3600 / 24 / 365));
}

void
format_ago (int64_t then, int64_t now, char out[static 48])
{
  char d[48];
  human_duration (now - then, d);
  snprintf (out, 48, "%.40s ago", d);
}

void
format_rfc3339_nano (int64_t ns, char out[static 40])
{
  if (ns <= 0)
    {
      snprintf (out, 40, "0001-01-01T00:00:00Z");
      return;
    }
  char secs[32];
  format_rfc3339 (ns / 1000000000, secs);
  long frac = (long) (ns % 1000000000);
  if (frac == 0)
    {
      snprintf (out, 40, "%s", secs);
      return;
    }
  /* Go's RFC3339Nano: the fraction without its trailing zeros. */
  char f[16];
  snprintf (f, sizeof f, "%09ld", frac);
  for (size_t n = strlen (f); n > 0 && f[n - 1] == '0'; n--)
    f[n - 1] = '\0';
  secs[strlen (secs) - 1] = '\0'; /* the Z */
  snprintf (out, 40, "%.20s.%.9sZ", secs, f);
}

int64_t
parse_rfc3339_nano (const char *s)
{
  int64_t secs = parse_rfc3339 (s);
  if (secs < 0)
    return strcmp (s ? s : "", "0001-01-01T00:00:00Z") == 0 ? 0 : -1;
  const char *dot = strchr (s, '.');
  int64_t frac = 0;
  if (dot)
    {
      int digits = 0;
      for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++)
        if (digits < 9)
          frac = frac * 10 + (*p - '0'), digits++;
      for (; digits < 9; digits++)
        frac *= 10;
    }
  return secs * 1000000000 + frac;
}
