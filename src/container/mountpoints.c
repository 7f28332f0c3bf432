/* container/mountpoints.c — a container's mount points: from the flags into
 * config.json at create, from config.json into the sandbox at every start, and
 * into `inspect`'s Mounts (container/mounts.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "container/mounts.h"
#include "store/containers.h"
#include "store/volumes.h"
#include "util/cleanup.h"
#include "worker/sandbox.h"

static json_t *
point_json (const struct mount_spec *m, const char *mode)
{
  switch (m->type)
    {
    case MOUNT_BIND:
      return json_pack ("{s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "Type", "bind", "Source", m->source, "Destination",
                        m->target, "Mode", mode, "RW", !m->readonly, "Propagation",
                        m->propagation ? m->propagation : "rprivate", "CreateSource", !m->from_mount_flag);
    case MOUNT_VOLUME:
      {
        /* docker copies nothing into a volume mounted by a subpath. */
        json_t *p = json_pack ("{s:s, s:o, s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "Type", "volume", "Name",
                               m->source ? json_string (m->source) : json_null (), "Source", "", "Destination",
                               m->target, "Driver", "local", "Mode", mode, "RW", !m->readonly, "Propagation", "",
                               "CopyData", !m->nocopy && m->subpath == NULL);
        if (m->subpath)
          json_object_set_new (p, "Subpath", json_string (m->subpath));
        if (m->volume_labels)
          json_object_set (p, "VolumeLabels", m->volume_labels);
        return p;
      }
    case MOUNT_TMPFS:
      break;
    }
  unsigned long flags;
  _cleanup_buf_ struct buf data = BUF_INIT;
  if (m->tmpfs_opts)
    {
      struct kiln_err ignored = {0}; /* checked when it was parsed */
      mount_tmpfs_options (m->tmpfs_opts, &flags, &data, &ignored);
      kiln_err_clear (&ignored);
    }
  else
    {
      flags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
      buf_puts (&data, "");
      if (m->tmpfs_size)
        buf_printf (&data, "size=%llu", (unsigned long long) m->tmpfs_size);
      if (m->tmpfs_mode >= 0)
        buf_printf (&data, "%smode=%o", data.len ? "," : "", (unsigned) m->tmpfs_mode);
    }
  if (m->readonly)
    flags |= MS_RDONLY;
  return json_pack ("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:I, s:b}", "Type", "tmpfs", "Source", "", "Destination",
                    m->target, "Mode", "", "RW", !m->readonly, "Propagation", "", "TmpfsData", buf_str (&data),
                    "TmpfsFlags", (json_int_t) flags, "Hidden", m->tmpfs_opts != NULL);
}

/* docker's HostConfig.Mounts entry for a --mount. */
static json_t *
host_mount_json (const struct mount_spec *m)
{
  static const char *const types[] = {"bind", "volume", "tmpfs"};
  json_t *o = json_pack ("{s:s, s:s, s:s}", "Type", types[m->type], "Source", m->source ? m->source : "", "Target",
                         m->target);
  if (m->readonly)
    json_object_set_new (o, "ReadOnly", json_true ());
  if (m->type == MOUNT_VOLUME && (m->nocopy || m->subpath || m->volume_labels))
    {
      json_t *vo = json_object ();
      if (m->nocopy)
        json_object_set_new (vo, "NoCopy", json_true ());
      if (m->volume_labels)
        json_object_set (vo, "Labels", m->volume_labels);
      if (m->subpath)
        json_object_set_new (vo, "Subpath", json_string (m->subpath));
      json_object_set_new (o, "VolumeOptions", vo);
    }
  if (m->type == MOUNT_BIND && m->propagation && strcmp (m->propagation, "rprivate") != 0)
    json_object_set_new (o, "BindOptions", json_pack ("{s:s}", "Propagation", m->propagation));
  if (m->type == MOUNT_TMPFS && (m->tmpfs_size || m->tmpfs_mode >= 0))
    {
      json_t *t = json_object ();
      if (m->tmpfs_size)
        json_object_set_new (t, "SizeBytes", json_integer ((json_int_t) m->tmpfs_size));
      if (m->tmpfs_mode >= 0)
        json_object_set_new (t, "Mode", json_integer (m->tmpfs_mode));
      json_object_set_new (o, "TmpfsOptions", t);
    }
  return o;
}

static int
add_point (json_t *points, json_t *seen, const struct mount_spec *m, json_t *p, struct kiln_err *err)
{
  if (json_object_get (seen, m->target))
    {
      json_decref (p);
      return kiln_err_set (err, KILN_EINVAL, "Duplicate mount point: %s", m->target);
    }
  json_object_set_new (seen, m->target, json_true ());
  json_array_append_new (points, p);
  return 0;
}

int
mounts_config (const struct strv *volumes, const struct strv *mounts, const struct strv *tmpfs, json_t *host,
               json_t *config_volumes, json_t *points, struct kiln_err *err)
{
  _cleanup_json_ json_t *seen = json_object ();
  json_t *binds = json_array ();
  json_t *hmounts = json_array ();
  json_t *htmpfs = json_object ();
  struct mount_spec m = {.tmpfs_mode = -1};
  int ret = 0;
  for (size_t i = 0; ret == 0 && volumes && i < volumes->n; i++)
    {
      if ((ret = mount_parse_volume_flag (volumes->v[i], &m, err)) < 0)
        break;
      const char *mode = m.mode;
      if (m.type == MOUNT_VOLUME && m.source && *mode == '\0')
        mode = "z";
      if (m.type == MOUNT_VOLUME && m.source == NULL)
        json_object_set_new (config_volumes, m.target, json_object ());
      else
        json_array_append_new (binds, json_string (volumes->v[i]));
      ret = add_point (points, seen, &m, point_json (&m, mode), err);
    }
  for (size_t i = 0; ret == 0 && mounts && i < mounts->n; i++)
    {
      if ((ret = mount_parse_mount_flag (mounts->v[i], &m, err)) < 0)
        break;
      json_array_append_new (hmounts, host_mount_json (&m));
      ret = add_point (points, seen, &m, point_json (&m, m.type == MOUNT_VOLUME && m.source ? "z" : ""), err);
    }
  for (size_t i = 0; ret == 0 && tmpfs && i < tmpfs->n; i++)
    {
      if ((ret = mount_parse_tmpfs_flag (tmpfs->v[i], &m, err)) < 0)
        break;
      json_object_set_new (htmpfs, m.target, json_string (m.tmpfs_opts));
      ret = add_point (points, seen, &m, point_json (&m, ""), err);
    }
  mount_spec_clear (&m);
  json_object_set_new (host, "Binds", json_array_size (binds) ? binds : (json_decref (binds), json_null ()));
  if (json_array_size (hmounts))
    json_object_set_new (host, "Mounts", hmounts);
  else
    json_decref (hmounts);
  if (json_object_size (htmpfs))
    json_object_set_new (host, "Tmpfs", htmpfs);
  else
    json_decref (htmpfs);
  return ret;
}

static size_t
depth (const char *path)
{
  size_t n = 0;
  for (; *path; path++)
    n += *path == '/';
  return n;
}

static int
by_depth (const void *a, const void *b)
{
  const json_t *pa = *(json_t *const *) a, *pb = *(json_t *const *) b;
  size_t da = depth (json_string_value (json_object_get (pa, "Destination")));
  size_t db = depth (json_string_value (json_object_get (pb, "Destination")));
  return da < db ? -1 : da > db;
}

void
mounts_forget_volumes (struct kiln_store *st, const struct strv *names)
{
  for (size_t i = 0; i < names->n; i++)
    {
      struct kiln_err ignored = {0};
      volumes_remove (st, names->v[i], &ignored);
      kiln_err_clear (&ignored);
    }
}

int
mounts_prepare (struct kiln_store *st, json_t *config, struct strv *used, struct strv *made, struct kiln_err *err)
{
  json_t *points = json_object_get (config, "MountPoints");
  if (!json_is_array (points))
    {
      points = json_array ();
      json_object_set_new (config, "MountPoints", points);
    }
  /* The image's VOLUMEs (and -v /path) that nothing else is mounted on. */
  const char *path;
  json_t *v;
  json_object_foreach (json_object_get (json_object_get (config, "Config"), "Volumes"), path, v)
  {
    _cleanup_free_ char *clean = mount_clean_path (path);
    if (clean == NULL || strcmp (clean, "/") == 0)
      continue; /* docker ignores what cannot be a mount point */
    bool mounted = false;
    size_t i;
    json_t *p;
    json_array_foreach (points, i, p) mounted |= strcmp (json_string_value (json_object_get (p, "Destination")), clean) == 0;
    if (!mounted)
      json_array_append_new (points, json_pack ("{s:s, s:n, s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "Type", "volume",
                                                "Name", "Source", "",
                                                "Destination", clean, "Driver", "local", "Mode", "", "RW", 1,
                                                "Propagation", "", "CopyData", 1));
  }
  size_t i;
  json_t *p;
  json_array_foreach (points, i, p)
  {
    const char *type = json_string_value (json_object_get (p, "Type"));
    if (type && strcmp (type, "bind") == 0 && !json_is_true (json_object_get (p, "CreateSource")))
      {
        const char *src = json_string_value (json_object_get (p, "Source"));
        struct stat sb;
        if (src == NULL || stat (src, &sb) < 0)
          return kiln_err_set (err, KILN_EINVAL,
                               "invalid mount config for type \"bind\": bind source path does not exist: %s",
                               src ? src : "");
      }
    if (type == NULL || strcmp (type, "volume") != 0)
      continue;
    const char *name = json_string_value (json_object_get (p, "Name"));
    struct volume_rec rec = {0};
    bool new_volume = false;
    if (volumes_create (st, name, json_object_get (p, "VolumeLabels"), NULL, &rec, &new_volume, err) < 0)
      return kiln_err_wrap (err, "create %s", name ? name : "an anonymous volume");
    _cleanup_free_ char *data = volume_data_path (store_root (st), rec.name);
    json_object_set_new (p, "Name", json_string (rec.name));
    json_object_set_new (p, "Source", json_string (data));
    strv_push (used, rec.name);
    if (new_volume)
      strv_push (made, rec.name);
    volume_rec_clear (&rec);
  }
  /* Parents before what is mounted inside them, as docker sorts them. */
  size_t n = json_array_size (points);
  json_t **sorted = xcalloc (n + 1, sizeof *sorted);
  for (i = 0; i < n; i++)
    sorted[i] = json_incref (json_array_get (points, i));
  /* qsort is not stable: equal depths keep their order through the index. */
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && by_depth (&sorted[b - 1], &sorted[b]) > 0; b--)
      {
        json_t *t = sorted[b];
        sorted[b] = sorted[b - 1];
        sorted[b - 1] = t;
      }
  json_array_clear (points);
  for (i = 0; i < n; i++)
    json_array_append_new (points, sorted[i]);
  free (sorted);
  return 0;
}

static bool
is_hex64 (const char *s)
{
  size_t n = 0;
  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
      return false;
  return n == 64;
}

int
mounts_into_spec (const json_t *config, const char *root, const char *id, struct sandbox_spec *sb,
                  struct kiln_err *err)
{
  const json_t *points = json_object_get (config, "MountPoints");
  _cleanup_json_ json_t *legacy = NULL;
  if (!json_is_array (points))
    {
      /* A container made before mount points were kept: its -v binds. */
      legacy = json_array ();
      _cleanup_json_ json_t *h = json_object (), *cv = json_object ();
      struct strv binds = STRV_INIT;
      size_t i;
      json_t *b;
      json_array_foreach (json_object_get (json_object_get (config, "HostConfig"), "Binds"), i, b)
        strv_push (&binds, json_string_value (b) ? json_string_value (b) : "");
      int r = mounts_config (&binds, NULL, NULL, h, cv, legacy, err);
      strv_free (&binds);
      if (r < 0)
        return -1;
      points = legacy;
    }
  size_t n = json_array_size (points);
  sb->mounts = xcalloc (n + 1, sizeof *sb->mounts);
  size_t i;
  json_t *p;
  json_array_foreach (points, i, p)
  {
    const char *type = json_string_value (json_object_get (p, "Type"));
    const char *dst = json_string_value (json_object_get (p, "Destination"));
    const char *src = json_string_value (json_object_get (p, "Source"));
    const char *name = json_string_value (json_object_get (p, "Name"));
    if (type == NULL || dst == NULL || dst[0] != '/')
      return kiln_err_set (err, EINVAL, "container %s: a mount point in config.json is not one", id);
    struct sandbox_mount *m = &sb->mounts[sb->n_mounts];
    m->mode = -1;
    m->readonly = !json_is_true (json_object_get (p, "RW"));
    if (strcmp (type, "tmpfs") == 0)
      {
        m->type = SMOUNT_TMPFS;
        m->target = xstrdup (dst);
        const char *data = json_string_value (json_object_get (p, "TmpfsData"));
        m->tmpfs_data = xstrdup (data ? data : "");
        m->tmpfs_flags = (unsigned long) json_integer_value (json_object_get (p, "TmpfsFlags"));
      }
    else if (strcmp (type, "bind") == 0 && src && src[0] == '/')
      {
        m->type = SMOUNT_BIND;
        m->source = xstrdup (src);
        m->target = xstrdup (dst);
        if (json_is_true (json_object_get (p, "CreateSource")) && access (src, F_OK) < 0)
          mkdir (src, 0755); /* docker creates a missing host directory for -v */
      }
    else if (strcmp (type, "volume") == 0 && name && (volume_name_valid (name) || is_hex64 (name)))
      {
        /* The volume's directory, from its name: never a path config.json says. */
        m->type = SMOUNT_BIND;
        m->source = volume_data_path (root, name);
        m->target = xstrdup (dst);
        /* A subpath is resolved inside the volume by the sandbox: no link or `..`
         * a container left there leads out of it. */
        const char *sub = json_string_value (json_object_get (p, "Subpath"));
        if (sub)
          {
            m->subpath = xstrdup (sub);
            struct buf what = BUF_INIT;
            buf_printf (&what, "volume %s", name);
            m->what = buf_steal (&what);
          }
        if (json_is_true (json_object_get (p, "CopyData")))
          {
            struct buf mark = BUF_INIT;
            buf_printf (&mark, "copyup-%s", name);
            m->copy_up_mark = container_path (root, id, buf_str (&mark));
            buf_free (&mark);
          }
      }
    else
      return kiln_err_set (err, EINVAL, "container %s: the mount point %s in config.json is not one", id, dst);
    sb->n_mounts++;
  }
  return 0;
}

json_t *
mounts_inspect_json (const json_t *config)
{
  json_t *out = json_array ();
  static const char *const keys[] = {"Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation"};
  size_t i;
  json_t *p;
  json_array_foreach (json_object_get (config, "MountPoints"), i, p)
  {
    if (json_is_true (json_object_get (p, "Hidden")))
      continue; /* --tmpfs: docker lists it in HostConfig.Tmpfs only */
    bool volume = strcmp (json_string_value (json_object_get (p, "Type")) ?: "", "volume") == 0;
    json_t *o = json_object ();
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
      if (volume || (strcmp (keys[k], "Name") != 0 && strcmp (keys[k], "Driver") != 0))
        {
          json_t *val = json_object_get (p, keys[k]);
          json_object_set_new (o, keys[k], val ? json_incref (val) : json_string (""));
        }
    json_array_append_new (out, o);
  }
  return out;
}

int
mounts_remove_container (struct kiln_store *st, const char *id, bool volumes, struct kiln_err *err)
{
  _cleanup_strv_ struct strv anon = STRV_INIT;
  if (volumes && volumes_anonymous_of (st, id, &anon, err) < 0)
    return -1;
  if (containers_remove (st, id, err) < 0)
    return -1;
  /* One another container still uses (EBUSY) stays, as in docker. */
  mounts_forget_volumes (st, &anon);
  return 0;
}
