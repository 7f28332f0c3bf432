/* image/archive.c — the formats' names and an archive's metadata
 * (manifest.json, index.json, OCI manifests) read into plain names.  Writing is
 * archive_save.c, loading archive_load.c. */
#include "image/archive.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/platform.h"
#include "image/ref.h"
#include "util/cleanup.h"

int
archive_format_parse (const char *s)
{
  if (strcmp (s, "docker-archive") == 0 || strcmp (s, "docker") == 0)
    return FORMAT_DOCKER_ARCHIVE;
  if (strcmp (s, "oci-archive") == 0 || strcmp (s, "oci") == 0)
    return FORMAT_OCI_ARCHIVE;
  if (strcmp (s, "oci-dir") == 0)
    return FORMAT_OCI_DIR;
  return -1;
}

/* ---------- an archive's metadata: outside input, read into plain names ---------- */

void
archive_image_clear (struct archive_image *im)
{
  free (im->manifest);
  free (im->config);
  strv_free (&im->layers);
  strv_free (&im->tags);
  memset (im, 0, sizeof *im);
}

void
archive_images_free (struct archive_image *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++)
    archive_image_clear (&v[i]);
  free (v);
}

/* The member an OCI descriptor's digest names ("blobs/sha256/" alone when it names none). */
static char *
blob_member (json_t *desc)
{
  const char *d = json_string_value (json_object_get (desc, "digest"));
  struct buf b = BUF_INIT;
  buf_printf (&b, "blobs/sha256/%s", d && strlen (d) > 7 ? d + 7 : "");
  return buf_steal (&b);
}

/* The tags an archive gives an image, normalised.  A name that is no valid tag
 * refuses the whole archive, as docker load does: loading the image under fewer
 * names than asked would go unnoticed.  `what` names the list in errors. */
static int
normalize_tags (json_t *names, const char *what, struct strv *out, struct kiln_err *err)
{
  if (names == NULL || json_is_null (names))
    return 0;
  if (!json_is_array (names))
    return kiln_err_set (err, EINVAL, "%s is not a list", what);
  size_t i;
  json_t *v;
  json_array_foreach (names, i, v)
  {
    struct image_ref r;
    if (!json_is_string (v))
      return kiln_err_set (err, EINVAL, "%s: entry %zu is not a string", what, i + 1);
    if (ref_parse (json_string_value (v), true, &r, err) < 0)
      return kiln_err_wrap (err, "%s", what);
    if (r.digest)
      {
        ref_clear (&r);
        return kiln_err_set (err, EINVAL, "%s: invalid tag \"%s\": a tag holds no digest", what,
                             json_string_value (v));
      }
    strv_push_owned (out, ref_string (&r));
    ref_clear (&r);
  }
  return 0;
}

int
archive_parse_docker_manifest (const char *s, size_t len, struct archive_image **out, size_t *n_out,
                               struct kiln_err *err)
{
  *out = NULL;
  *n_out = 0;
  json_error_t je;
  json_t *arr = json_loadb (s, len, 0, &je);
  if (!json_is_array (arr))
    {
      json_decref (arr);
      return kiln_err_set (err, EINVAL, "manifest.json is not a JSON array");
    }
  size_t n = json_array_size (arr);
  struct archive_image *v = xcalloc (n ? n : 1, sizeof *v);
  size_t i;
  json_t *img;
  int ret = 0;
  json_array_foreach (arr, i, img)
  {
    v[i].config = xstrdup (json_string_value (json_object_get (img, "Config")) ?: "");
    json_t *layers = json_object_get (img, "Layers");
    for (size_t l = 0; l < json_array_size (layers); l++)
      strv_push (&v[i].layers, json_string_value (json_array_get (layers, l)) ?: "");
    char what[64];
    snprintf (what, sizeof what, "manifest.json: RepoTags of image %zu", i + 1);
    if ((ret = normalize_tags (json_object_get (img, "RepoTags"), what, &v[i].tags, err)) < 0)
      break;
  }
  json_decref (arr);
  if (ret < 0)
    {
      archive_images_free (v, n);
      return -1;
    }
  *out = v;
  *n_out = n;
  return 0;
}

int
archive_parse_index (const char *s, size_t len, struct archive_image **out, size_t *n_out, struct kiln_err *err)
{
  *out = NULL;
  *n_out = 0;
  json_error_t je;
  json_t *index = json_loadb (s, len, 0, &je);
  if (!json_is_object (index))
    {
      json_decref (index);
      return kiln_err_set (err, KILN_EPARSE, "index.json is not a JSON object");
    }
  json_t *descs = json_object_get (index, "manifests");
  size_t n = json_array_size (descs);
  struct archive_image *v = xcalloc (n ? n : 1, sizeof *v);
  size_t i;
  json_t *desc;
  int ret = 0;
  json_array_foreach (descs, i, desc)
  {
    json_t *ann = json_object_get (desc, "annotations");
    const char *name = json_string_value (json_object_get (ann, "io.containerd.image.name"));
    if (name == NULL)
      name = json_string_value (json_object_get (ann, "org.opencontainers.image.ref.name"));
    v[i].manifest = blob_member (desc);
    /* A bare ref.name ("latest") is a tag of nothing in particular: not an image name. */
    if (name && (strchr (name, '/') || strchr (name, ':')))
      {
        char what[64];
        snprintf (what, sizeof what, "index.json: the name of manifest %zu", i + 1);
        json_t *one = json_pack ("[s]", name);
        ret = normalize_tags (one, what, &v[i].tags, err);
        json_decref (one);
        if (ret < 0)
          break;
      }
  }
  json_decref (index);
  if (ret < 0)
    {
      archive_images_free (v, n);
      return -1;
    }
  *out = v;
  *n_out = n;
  return 0;
}

/* Picks the manifest for this host out of an index: the host's platform, else the
 * only one, or one that names no platform (docker save's index.json). */
static json_t *
pick_platform (json_t *manifests)
{
  struct platform host;
  platform_parse (NULL, &host, NULL);
  json_t *m = platform_pick (manifests, &host);
  if (m || json_array_size (manifests) == 1)
    return m ? m : json_array_get (manifests, 0);
  size_t i;
  json_array_foreach (manifests, i, m)
  {
    if (json_object_get (m, "platform") == NULL)
      return m;
  }
  return NULL;
}

int
archive_parse_oci_manifest (const char *s, size_t len, struct archive_image *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  json_error_t je;
  json_t *m = json_loadb (s, len, 0, &je);
  if (!json_is_object (m))
    {
      json_decref (m);
      return kiln_err_set (err, EINVAL, "not a JSON object (%s)", m ? "" : je.text);
    }
  int ret = 0;
  const char *mt = json_string_value (json_object_get (m, "mediaType"));
  if (json_is_array (json_object_get (m, "manifests"))
      || (mt && (strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0)))
    {
      json_t *pick = pick_platform (json_object_get (m, "manifests"));
      if (pick == NULL)
        ret = kiln_err_set (err, ENOENT, "the image index has no manifest for this platform");
      else
        {
          out->manifest = blob_member (pick);
          ret = 1;
        }
      json_decref (m);
      return ret;
    }
  json_t *layers = json_object_get (m, "layers");
  if (!json_is_array (layers))
    ret = kiln_err_set (err, EINVAL, "no layers list");
  else
    {
      out->config = blob_member (json_object_get (m, "config"));
      for (size_t i = 0; i < json_array_size (layers); i++)
        strv_push_owned (&out->layers, blob_member (json_array_get (layers, i)));
    }
  json_decref (m);
  return ret;
}

