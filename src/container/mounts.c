/* container/mounts.c — `-v`, `--mount` and `--tmpfs` as docker parses them. */
#include "container/mounts.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>

#include "worker/limits.h"
#include "util/cleanup.h"

/* A flag's value is bounded: longer than any path the kernel takes. */
#define MOUNT_SPEC_MAX 8192

void
mount_spec_clear (struct mount_spec *m)
{
  free (m->source);
  free (m->target);
  free (m->mode);
  free (m->propagation);
  free (m->tmpfs_opts);
  free (m->subpath);
  json_decref (m->volume_labels);
  memset (m, 0, sizeof *m);
  m->tmpfs_mode = -1;
}

bool
volume_name_valid (const char *name)
{
  if (name == NULL || !isalnum ((unsigned char) name[0]) || name[1] == '\0')
    return false;
  size_t n = 0;
  for (const char *p = name; *p; p++, n++)
    if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '.' && *p != '-')
      return false;
  return n <= 255; /* one directory name */
}

int
volume_name_error (const char *name, struct kiln_err *err)
{
  return kiln_err_set (err, KILN_EINVAL,
                       "\"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" "
                       "are allowed. If you intended to pass a host directory, use absolute path",
                       name);
}

char *
mount_clean_path (const char *p)
{
  if (p == NULL || p[0] != '/')
    return NULL;
  struct buf out = BUF_INIT;
  const char *s = p;
  while (*s)
    {
      while (*s == '/')
        s++;
      size_t n = strcspn (s, "/");
      if (n == 0)
        break;
      if (n == 1 && s[0] == '.')
        ;
      else if (n == 2 && s[0] == '.' && s[1] == '.')
        {
          /* Up one: ".." of "/" is "/". */
          while (out.len > 0 && out.data[out.len - 1] != '/')
            out.len--;
          if (out.len > 0)
            out.len--;
        }
      else
        {
          buf_putc (&out, '/');
          buf_append (&out, s, n);
        }
      s += n;
    }
  if (out.len == 0)
    buf_putc (&out, '/');
  else
    out.data[out.len] = '\0';
  return buf_steal (&out);
}

/* ---------- -v ---------- */

static const char *const rw_modes[] = {"rw", "ro", NULL};
static const char *const label_modes[] = {"z", "Z", NULL};
static const char *const propagation_modes[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave", NULL};
static const char *const copy_modes[] = {"nocopy", NULL};
static const char *const consistency_modes[] = {"consistent", "cached", "delegated", NULL};

static bool
in_list (const char *const *l, const char *s, size_t n)
{
  for (; *l; l++)
    if (strlen (*l) == n && strncmp (*l, s, n) == 0)
      return true;
  return false;
}

/* moby's linuxValidMountMode: a comma list, at most one of each kind. */
static bool
mode_valid (const char *mode)
{
  if (*mode == '\0')
    return true;
  int rw = 0, label = 0, prop = 0, copy = 0, cons = 0;
  for (const char *p = mode;;)
    {
      size_t n = strcspn (p, ",");
      if (in_list (rw_modes, p, n))
        rw++;
      else if (in_list (label_modes, p, n))
        label++;
      else if (in_list (propagation_modes, p, n))
        prop++;
      else if (in_list (copy_modes, p, n))
        copy++;
      else if (in_list (consistency_modes, p, n))
        cons++;
      else
        return false;
      if (p[n] == '\0')
        break;
      p += n + 1;
    }
  return rw <= 1 && label <= 1 && prop <= 1 && copy <= 1 && cons <= 1;
}

/* The word of `mode` among `list`, or NULL. */
static char *
mode_word (const char *mode, const char *const *list)
{
  for (const char *p = mode; *p;)
    {
      size_t n = strcspn (p, ",");
      if (in_list (list, p, n))
        return xstrndup (p, n);
      p += n + (p[n] == ',');
    }
  return NULL;
}

/* Go's filepath.IsLocal: relative, not empty, and never above where it starts
 * (a volume-subpath may not name what is outside its volume). */
static bool
path_is_local (const char *p)
{
  if (*p == '\0' || *p == '/')
    return false;
  int depth = 0;
  for (const char *s = p; *s;)
    {
      size_t n = strcspn (s, "/");
      if (n == 2 && s[0] == '.' && s[1] == '.')
        {
          if (--depth < 0)
            return false;
        }
      else if (n > 0 && !(n == 1 && s[0] == '.'))
        depth++;
      s += n + (s[n] == '/');
    }
  return true;
}

static const char *
type_name (enum mount_type t)
{
  return t == MOUNT_BIND ? "bind" : t == MOUNT_VOLUME ? "volume" : "tmpfs";
}

/* moby's checks of a target: not "/", absolute.  NULL if fine, else the message. */
static const char *
target_problem (const char *target, char **cleaned)
{
  if (target[0] != '/')
    return "mount path must be absolute";
  *cleaned = mount_clean_path (target);
  if (strcmp (*cleaned, "/") == 0)
    return "invalid specification: destination can't be '/'";
  return NULL;
}

static int
target_error (const char *prefix, enum mount_type t, const char *target, const char *problem, struct kiln_err *err)
{
  if (problem[0] == 'm')
    return kiln_err_set (err, KILN_EINVAL, "%sinvalid mount config for type \"%s\": invalid mount path: '%s' %s",
                         prefix, type_name (t), target, problem);
  return kiln_err_set (err, KILN_EINVAL, "%sinvalid mount config for type \"%s\": %s", prefix, type_name (t), problem);
}

int
mount_parse_volume_flag (const char *spec, struct mount_spec *out, struct kiln_err *err)
{
  mount_spec_clear (out);
  size_t colons = 0;
  for (const char *p = spec; *p; p++)
    colons += *p == ':';
  if (strlen (spec) > MOUNT_SPEC_MAX || colons > 2 || spec[0] == '\0' || spec[0] == ':')
    return kiln_err_set (err, KILN_EINVAL, "invalid volume specification: '%.*s'", MOUNT_SPEC_MAX, spec);
  _cleanup_free_ char *v = xstrdup (spec);
  char *arr[3] = {v, NULL, NULL};
  for (size_t i = 1; i <= colons; i++)
    {
      arr[i] = strchr (arr[i - 1], ':');
      *arr[i]++ = '\0';
    }
  const char *src = NULL, *dst, *mode = "";
  if (colons == 0)
    dst = arr[0];
  else
    {
      if (colons == 1 && mode_valid (arr[1]))
        return kiln_err_set (err, KILN_EINVAL, "invalid volume specification: '%s'", spec);
      src = arr[0];
      dst = arr[1];
      if (colons == 2)
        mode = arr[2];
    }
  if (!mode_valid (mode))
    return kiln_err_set (err, KILN_EINVAL, "invalid mode: %s", mode);
  out->type = src && src[0] == '/' ? MOUNT_BIND : MOUNT_VOLUME;
  _cleanup_buf_ struct buf prefix = BUF_INIT;
  buf_printf (&prefix, "invalid volume specification: '%s': ", spec);
  char *cleaned = NULL;
  const char *problem = *dst ? target_problem (dst, &cleaned) : NULL;
  if (*dst == '\0')
    problem = NULL;
  if (*dst == '\0' || problem)
    {
      free (cleaned);
      if (*dst == '\0')
        return kiln_err_set (err, KILN_EINVAL, "%sinvalid mount config for type \"%s\": field Target must not be empty",
                             buf_str (&prefix), type_name (out->type));
      return target_error (buf_str (&prefix), out->type, dst, problem, err);
    }
  out->target = cleaned;
  _cleanup_free_ char *copy = mode_word (mode, copy_modes);
  _cleanup_free_ char *rw = mode_word (mode, rw_modes);
  out->propagation = mode_word (mode, propagation_modes);
  out->readonly = rw && strcmp (rw, "ro") == 0;
  out->nocopy = copy != NULL;
  out->mode = xstrdup (mode);
  if (out->type == MOUNT_BIND)
    {
      if (copy)
        return kiln_err_set (err, KILN_EINVAL,
                             "%sinvalid mount config for type \"bind\": field VolumeOptions must not be specified",
                             buf_str (&prefix));
      out->source = mount_clean_path (src);
      if (out->propagation == NULL)
        out->propagation = xstrdup ("rprivate");
      return 0;
    }
  if (out->propagation)
    return kiln_err_set (err, KILN_EINVAL,
                         "%sinvalid mount config for type \"volume\": field BindOptions must not be specified",
                         buf_str (&prefix));
  if (src)
    {
      if (!volume_name_valid (src))
        {
          volume_name_error (src, err);
          return kiln_err_wrap (err, "create %s", src);
        }
      out->source = xstrdup (src);
    }
  return 0;
}

/* ---------- --mount ---------- */

/* Go's strconv.ParseBool. */
static int
parse_bool (const char *s, bool *out)
{
  static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
  static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
  for (size_t i = 0; t[i]; i++)
    if (strcmp (s, t[i]) == 0)
      return *out = true, 0;
  for (size_t i = 0; f[i]; i++)
    if (strcmp (s, f[i]) == 0)
      return *out = false, 0;
  return -1;
}

int
mount_parse_ram_size (const char *s, uint64_t *out)
{
  return limits_parse_bytes (s, out); /* docker's RAMInBytes: one parser of sizes */
}

/* The next field of a CSV line (Go's encoding/csv: "…" quotes, "" an escaped quote);
 * NULL at the end; -1 in *bad for a malformed quote. */
static char *
csv_next (const char **pp, int *bad)
{
  const char *p = *pp;
  if (p == NULL)
    return NULL;
  struct buf f = BUF_INIT;
  buf_puts (&f, "");
  if (*p == '"')
    {
      for (p++;; p++)
        {
          if (*p == '\0')
            {
              *bad = -1;
              buf_free (&f);
              return NULL;
            }
          if (*p == '"' && p[1] == '"')
            buf_putc (&f, '"'), p++;
          else if (*p == '"')
            {
              p++;
              break;
            }
          else
            buf_putc (&f, *p);
        }
      if (*p != ',' && *p != '\0')
        {
          *bad = -1;
          buf_free (&f);
          return NULL;
        }
    }
  else
    {
      size_t n = strcspn (p, ",");
      if (memchr (p, '"', n))
        {
          *bad = -1;
          buf_free (&f);
          return NULL;
        }
      buf_append (&f, p, n);
      p += n;
    }
  *pp = *p == ',' ? p + 1 : NULL;
  return buf_steal (&f);
}

static int
mount_flag_error (const char *spec, struct kiln_err *err, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static int
mount_flag_error (const char *spec, struct kiln_err *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  kiln_err_setv (err, KILN_EUSAGE, fmt, ap);
  va_end (ap);
  return kiln_err_wrap (err, "invalid argument \"%s\" for \"--mount\" flag", spec);
}

/* What --mount's fields say besides what goes straight into the mount_spec. */
struct mount_fields
{
  char *type, *source, *target, *prop;
  bool volume_opts, bind_opts, tmpfs_opts; /* a volume-*, bind-*, tmpfs-* key was given */
};

static void
mount_fields_clear (struct mount_fields *mf)
{
  free (mf->type);
  free (mf->source);
  free (mf->target);
  free (mf->prop);
}

/* A volume-* key: 1 taken, 0 not one of them, -1 refused. */
static int
volume_key (const char *spec, const char *key, const char *val, struct mount_spec *out, struct kiln_err *err)
{
  if (strcmp (key, "volume-nocopy") == 0)
    {
      if (val && parse_bool (val, &out->nocopy) < 0)
        return mount_flag_error (spec, err, "invalid value for volume-nocopy: %s", val);
      if (val == NULL)
        out->nocopy = true;
    }
  else if (strcmp (key, "volume-subpath") == 0)
    {
      free (out->subpath);
      out->subpath = xstrdup (val);
    }
  else if (strcmp (key, "volume-label") == 0)
    {
      const char *e = strchr (val, '=');
      _cleanup_free_ char *k = e ? xstrndup (val, (size_t) (e - val)) : xstrdup (val);
      if (out->volume_labels == NULL)
        out->volume_labels = json_object ();
      json_object_set_new (out->volume_labels, k, json_string (e ? e + 1 : ""));
    }
  else if (strcmp (key, "volume-driver") == 0)
    {
      if (strcmp (val, "local") != 0)
        return kiln_err_set (err, KILN_EINVAL, "create: error looking up volume plugin %s: plugin \"%s\" not found",
                             val, val);
    }
  else if (strcmp (key, "volume-opt") == 0)
    return kiln_err_set (err, KILN_EINVAL,
                         "the local driver's options (volume-opt=%s) are not supported: kiln's volumes are "
                         "directories of the store",
                         val);
  else
    return 0;
  return 1;
}

/* A tmpfs-* key: 1 taken, 0 not one of them, -1 refused. */
static int
tmpfs_key (const char *spec, const char *key, const char *val, struct mount_spec *out, struct kiln_err *err)
{
  if (strcmp (key, "tmpfs-size") == 0)
    {
      if (mount_parse_ram_size (val, &out->tmpfs_size) < 0)
        return mount_flag_error (spec, err, "invalid value for %s: %s", key, val);
    }
  else if (strcmp (key, "tmpfs-mode") == 0)
    {
      char *end;
      errno = 0;
      unsigned long m = strtoul (val, &end, 8);
      if (*val == '\0' || *end || errno || m > 0xffffffffUL || *val == '-' || *val == '+' || isspace ((unsigned char) *val))
        return mount_flag_error (spec, err, "invalid value for %s: %s", key, val);
      out->tmpfs_mode = (int) (m & 07777);
    }
  else
    return 0;
  return 1;
}

/* Replaces *slot with a copy of val. */
static void
set_field (char **slot, const char *val)
{
  free (*slot);
  *slot = xstrdup (val);
}

/* One field of --mount (its key lower-cased, as docker's). */
static int
mount_field (const char *spec, const char *field, struct mount_spec *out, struct mount_fields *mf,
             struct kiln_err *err)
{
  _cleanup_free_ char *f = xstrdup (field); /* cut at '=': `field` stays whole for messages */
  char *eq = strchr (f, '=');
  if (eq)
    *eq = '\0';
  for (char *c = f; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  const char *key = f, *val = eq ? eq + 1 : NULL;
  bool boolean = strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0 || strcmp (key, "volume-nocopy") == 0
                 || strcmp (key, "bind-nonrecursive") == 0;
  if (val == NULL && !boolean)
    return mount_flag_error (spec, err, "invalid field '%s' must be a key=value pair", field);
  int r;
  if (strcmp (key, "type") == 0)
    {
      set_field (&mf->type, val);
      for (char *c = mf->type; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
    }
  else if (strcmp (key, "source") == 0 || strcmp (key, "src") == 0)
    set_field (&mf->source, val);
  else if (strcmp (key, "target") == 0 || strcmp (key, "dst") == 0 || strcmp (key, "destination") == 0)
    set_field (&mf->target, val);
  else if (strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0)
    {
      if (val && parse_bool (val, &out->readonly) < 0)
        return mount_flag_error (spec, err, "invalid value for %s: %s", key, val);
      if (val == NULL)
        out->readonly = true;
    }
  else if ((r = volume_key (spec, key, val, out, err)) != 0)
    {
      mf->volume_opts = true;
      return r < 0 ? -1 : 0;
    }
  else if (strcmp (key, "bind-propagation") == 0)
    {
      mf->bind_opts = true;
      if (!in_list (propagation_modes, val, strlen (val)))
        return mount_flag_error (spec, err, "invalid value for %s: %s", key, val);
      set_field (&mf->prop, val);
    }
  else if ((r = tmpfs_key (spec, key, val, out, err)) != 0)
    {
      mf->tmpfs_opts = true;
      return r < 0 ? -1 : 0;
    }
  else if (strcmp (key, "consistency") != 0)
    return mount_flag_error (spec, err, "unexpected key '%s' in '%s'", key, field);
  return 0;
}

/* --mount's type (volume when not given), then the target it needs and the type's
 * own options only. */
static int
mount_type_check (const char *spec, const struct mount_fields *mf, struct mount_spec *out, struct kiln_err *err)
{
  const char *type = mf->type, *target = mf->target;
  if (type == NULL || *type == '\0')
    out->type = MOUNT_VOLUME;
  else if (strcmp (type, "bind") == 0)
    out->type = MOUNT_BIND;
  else if (strcmp (type, "volume") == 0)
    out->type = MOUNT_VOLUME;
  else if (strcmp (type, "tmpfs") == 0)
    out->type = MOUNT_TMPFS;
  else if (target == NULL || *target == '\0')
    return mount_flag_error (spec, err, "target is required");
  else
    return kiln_err_set (err, KILN_EINVAL, "invalid mount config for type \"%s\": mount type unknown", type);
  if (target == NULL || *target == '\0')
    return mount_flag_error (spec, err, "target is required");
  const char *tn = type_name (out->type);
  if (mf->volume_opts && out->type != MOUNT_VOLUME)
    return mount_flag_error (spec, err, "cannot mix 'volume-*' options with mount type '%s'", tn);
  if (mf->bind_opts && out->type != MOUNT_BIND)
    return mount_flag_error (spec, err, "cannot mix 'bind-*' options with mount type '%s'", tn);
  if (mf->tmpfs_opts && out->type != MOUNT_TMPFS)
    return mount_flag_error (spec, err, "cannot mix 'tmpfs-*' options with mount type '%s'", tn);
  return 0;
}

/* What the daemon checks of a bind's source (moby's validateMountConfig). */
static int
bind_source (const char *source, const char *prop, struct mount_spec *out, struct kiln_err *err)
{
  if (source == NULL || *source == '\0')
    return kiln_err_set (err, KILN_EINVAL, "invalid mount config for type \"bind\": field Source must not be empty");
  if (source[0] != '/')
    return kiln_err_set (err, KILN_EINVAL,
                         "invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute",
                         source);
  out->source = mount_clean_path (source);
  out->propagation = prop ? xstrdup (prop) : xstrdup ("rprivate");
  return 0;
}

/* A volume's name (none: an anonymous volume) and subpath, as the daemon checks them. */
static int
volume_source (const char *source, struct mount_spec *out, struct kiln_err *err)
{
  if (source && *source)
    {
      if (!volume_name_valid (source))
        {
          volume_name_error (source, err);
          return kiln_err_wrap (err, "create %s", source);
        }
      out->source = xstrdup (source);
    }
  else if (out->readonly)
    return kiln_err_set (err, KILN_EINVAL, "invalid mount config for type \"volume\": must not set ReadOnly mode "
                                           "when using anonymous volumes");
  if (out->subpath && !path_is_local (out->subpath))
    return kiln_err_set (err, KILN_EINVAL,
                         "invalid mount config for type \"volume\": subpath must be a relative path within the volume");
  return 0;
}

int
mount_parse_mount_flag (const char *spec, struct mount_spec *out, struct kiln_err *err)
{
  mount_spec_clear (out);
  if (strlen (spec) > MOUNT_SPEC_MAX)
    return kiln_err_set (err, KILN_EUSAGE, "invalid argument for \"--mount\" flag: longer than %d bytes", MOUNT_SPEC_MAX);
  _cleanup_ (mount_fields_clear) struct mount_fields mf = {0};
  const char *p = spec;
  int bad = 0;
  char *field;
  while ((field = csv_next (&p, &bad)) != NULL)
    {
      _cleanup_free_ char *f = field;
      if (mount_field (spec, f, out, &mf, err) < 0)
        return -1;
    }
  if (bad)
    return mount_flag_error (spec, err, "parse error on line 1: bare or unterminated \" in a field");
  if (mount_type_check (spec, &mf, out, err) < 0)
    return -1;
  /* What the daemon checks (moby's validateMountConfig). */
  char *cleaned = NULL;
  const char *problem = target_problem (mf.target, &cleaned);
  if (problem)
    {
      free (cleaned);
      return target_error ("", out->type, mf.target, problem, err);
    }
  out->target = cleaned;
  out->from_mount_flag = true;
  out->mode = xstrdup ("");
  switch (out->type)
    {
    case MOUNT_BIND: return bind_source (mf.source, mf.prop, out, err);
    case MOUNT_VOLUME: return volume_source (mf.source, out, err);
    case MOUNT_TMPFS:
      if (mf.source && *mf.source)
        return kiln_err_set (err, KILN_EINVAL, "invalid mount config for type \"tmpfs\": field Source must not be specified");
      break;
    }
  return 0;
}

/* ---------- --tmpfs ---------- */

struct mount_flag_word
{
  const char *name;
  bool clear;
  unsigned long flag;
};

static const struct mount_flag_word tmpfs_flag_words[] = {
  {"defaults", false, 0},          {"rw", true, MS_RDONLY},           {"ro", false, MS_RDONLY},
  {"suid", true, MS_NOSUID},       {"nosuid", false, MS_NOSUID},      {"dev", true, MS_NODEV},
  {"nodev", false, MS_NODEV},      {"exec", true, MS_NOEXEC},         {"noexec", false, MS_NOEXEC},
  {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},   {"atime", true, MS_NOATIME},
  {"noatime", false, MS_NOATIME},  {"diratime", true, MS_NODIRATIME}, {"nodiratime", false, MS_NODIRATIME},
  {"relatime", false, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
};

static const char *const tmpfs_data_keys[] = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", NULL};

int
mount_tmpfs_options (const char *opts, unsigned long *flags, struct buf *data, struct kiln_err *err)
{
  *flags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
  buf_reset (data);
  buf_puts (data, "");
  if (opts == NULL || *opts == '\0')
    return 0;
  if (strlen (opts) > MOUNT_SPEC_MAX)
    return kiln_err_set (err, KILN_EINVAL, "tmpfs options longer than %d bytes", MOUNT_SPEC_MAX);
  for (const char *p = opts;;)
    {
      size_t n = strcspn (p, ",");
      bool known = false;
      for (size_t i = 0; i < sizeof tmpfs_flag_words / sizeof *tmpfs_flag_words; i++)
        if (strlen (tmpfs_flag_words[i].name) == n && strncmp (tmpfs_flag_words[i].name, p, n) == 0)
          {
            if (tmpfs_flag_words[i].clear)
              *flags &= ~tmpfs_flag_words[i].flag;
            else
              *flags |= tmpfs_flag_words[i].flag;
            known = true;
          }
      if (!known)
        {
          const char *eq = memchr (p, '=', n);
          size_t kl = eq ? (size_t) (eq - p) : n;
          bool key = false;
          for (size_t i = 0; tmpfs_data_keys[i]; i++)
            key |= strlen (tmpfs_data_keys[i]) == kl && strncmp (tmpfs_data_keys[i], p, kl) == 0;
          /* The value reaches the kernel's parser: letters, digits and % only. */
          bool value_ok = eq != NULL && eq + 1 < p + n;
          for (const char *c = eq ? eq + 1 : p; value_ok && c < p + n; c++)
            value_ok = isalnum ((unsigned char) *c) || *c == '%';
          if (!key || !value_ok)
            {
              if (eq)
                return kiln_err_set (err, KILN_EINVAL, "Invalid tmpfs option [\"%.*s\" \"%.*s\"]", (int) kl, p,
                                     (int) (n - kl - 1), eq + 1);
              return kiln_err_set (err, KILN_EINVAL, "Invalid tmpfs option [\"%.*s\"]", (int) n, p);
            }
          if (data->len)
            buf_putc (data, ',');
          buf_append (data, p, n);
        }
      if (p[n] == '\0')
        break;
      p += n + 1;
    }
  return 0;
}

int
mount_parse_tmpfs_flag (const char *spec, struct mount_spec *out, struct kiln_err *err)
{
  mount_spec_clear (out);
  if (strlen (spec) > MOUNT_SPEC_MAX)
    return kiln_err_set (err, KILN_EINVAL, "invalid --tmpfs: longer than %d bytes", MOUNT_SPEC_MAX);
  const char *colon = strchr (spec, ':');
  _cleanup_free_ char *path = colon ? xstrndup (spec, (size_t) (colon - spec)) : xstrdup (spec);
  out->type = MOUNT_TMPFS;
  char *cleaned = NULL;
  const char *problem = target_problem (path, &cleaned);
  if (problem)
    {
      free (cleaned);
      if (problem[0] == 'm')
        return kiln_err_set (err, KILN_EINVAL, "invalid mount path: '%s' mount path must be absolute", path);
      return kiln_err_set (err, KILN_EINVAL, "%s", problem);
    }
  out->target = cleaned;
  out->tmpfs_opts = xstrdup (colon ? colon + 1 : "");
  unsigned long flags;
  _cleanup_buf_ struct buf data = BUF_INIT;
  if (mount_tmpfs_options (out->tmpfs_opts, &flags, &data, err) < 0)
    return -1;
  out->readonly = (flags & MS_RDONLY) != 0;
  out->mode = xstrdup ("");
  return 0;
}
