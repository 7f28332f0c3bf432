/* container/commit.c — a container's upper dir as a layer on its image (see the header). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/changes.h"
#include "container/commit.h"
#include "container/config.h"
#include "container/names.h"
#include "image/config.h"
#include "image/image.h"
#include "image/import.h"
#include "store/containers.h"
#include "store/layer.h"
#include "util/cleanup.h"

/* The image config's keys docker takes from the container's Config. */
static const char *const image_keys[] = {"User",       "ExposedPorts", "Env",        "Entrypoint", "Cmd",
                                         "Volumes",    "WorkingDir",   "Labels",     "StopSignal", "Healthcheck",
                                         "OnBuild",    "Shell"};

/* The upper dir as a snapshot: its layer's diff_id and size. */
static int
upper_layer (struct kiln_store *st, const char *id, struct digest *diff_id, uint64_t *size, struct kiln_err *err)
{
  _cleanup_free_ char *upper = container_path (store_root (st), id, "upper");
  if (mkdir (upper, 0755) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s: %s", upper, strerror (errno)); /* never started: an empty layer */
  _cleanup_close_ int ufd = open (upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (ufd < 0)
    return kiln_err_set (err, errno, "%s: %s", upper, strerror (errno));
  if (store_lock_shared (st, err) < 0)
    return -1;
  /* the sandbox's mount points are not the container's: docker's commit leaves its
   * "-init" layer out too */
  struct layer_write_opts lo = {.clamp_mtime = -1, .skip_empty = container_init_paths};
  return snapshot_from_dir_opts (st, ufd, &lo, diff_id, size, err);
}

int
container_commit (struct kiln_store *st, const char *id, const char *image_id, const struct commit_opts *o,
                  struct digest *out, struct kiln_err *err)
{
  struct digest pid;
  struct image_info ii = {0};
  if (digest_parse (image_id, &pid, err) < 0 || image_load (st, &pid, &ii, err) < 0)
    return -1;
  _cleanup_free_ char *cfgp = container_path (store_root (st), id, "config.json");
  json_error_t je;
  _cleanup_json_ json_t *ccfg = json_load_file (cfgp, 0, &je);
  _cleanup_json_ json_t *cfg = json_deep_copy (ii.config);
  _cleanup_strv_ struct strv argv = STRV_INIT;
  _cleanup_buf_ struct buf by = BUF_INIT;
  int ret = -1;
  if (ccfg == NULL)
    {
      kiln_err_set (err, EIO, "%s: %s", cfgp, je.text);
      goto out;
    }
  json_t *img = json_object_get (cfg, "config");
  if (!json_is_object (img))
    json_object_set_new (cfg, "config", img = json_object ());
  const json_t *c = json_object_get (ccfg, "Config");
  for (size_t i = 0; i < sizeof image_keys / sizeof *image_keys; i++)
    {
      json_t *v = json_object_get (c, image_keys[i]);
      if (v && !json_is_null (v))
        json_object_set (img, image_keys[i], v);
    }
  if (config_apply_changes (cfg, o->changes, err) < 0)
    goto out;
  struct digest diff_id;
  uint64_t size;
  if (upper_layer (st, id, &diff_id, &size, err) < 0)
    goto out;
  int64_t now = store_now ();
  char ts[32];
  format_rfc3339 (now, ts);
  json_object_set_new (cfg, "created", json_string (ts));
  if (o->author)
    json_object_set_new (cfg, "author", json_string (o->author));
  else
    json_object_del (cfg, "author");
  config_add_layer (cfg, diff_id.str);
  container_config_argv (ccfg, &argv);
  container_command_text (&argv, &by);
  config_add_history (cfg, now, buf_str (&by), o->message && *o->message ? o->message : NULL, false);
  if (o->author)
    {
      json_t *hist = json_object_get (cfg, "history");
      json_object_set_new (json_array_get (hist, json_array_size (hist) - 1), "author", json_string (o->author));
    }
  struct image_layer *layers = xcalloc (ii.n_layers + 1, sizeof *layers);
  memcpy (layers, ii.layers, ii.n_layers * sizeof *layers);
  layers[ii.n_layers] = (struct image_layer){.diff_id = diff_id, .blob = diff_id, .blob_size = size};
  snprintf (layers[ii.n_layers].media_type, sizeof layers[ii.n_layers].media_type, "%s", MT_OCI_LAYER);
  struct strv tags = STRV_INIT;
  if (o->tag)
    strv_push (&tags, o->tag);
  ret = image_commit (st, cfg, layers, ii.n_layers + 1, &tags, out, err);
  strv_free (&tags);
  free (layers);
out:
  image_info_clear (&ii);
  return ret;
}
