/* frontend/run_mount.c — RUN --mount=type=bind|cache|tmpfs|secret|ssh,...: the
 * CSV of keys BuildKit reads, each key's value checked, the type's defaults. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/inst_build.h"
#include "util/cleanup.h"

static const char *const mount_type_names[] = {"bind", "cache", "tmpfs", "secret", "ssh"};

const char *
run_mount_type_name (enum mount_type t)
{
  return (size_t) t < sizeof mount_type_names / sizeof *mount_type_names ? mount_type_names[t] : "?";
}

/* Splits a --mount value on commas, honouring double quotes (CSV as BuildKit reads it). */
static int
split_csv (const char *s, struct strv *out)
{
  _cleanup_buf_ struct buf field = BUF_INIT;
  bool quoted = false;
  for (const char *p = s;; p++)
    {
      if (*p == '"')
        {
          if (quoted && p[1] == '"')
            {
              buf_putc (&field, '"');
              p++;
              continue;
            }
          quoted = !quoted;
          continue;
        }
      if ((*p == ',' && !quoted) || *p == '\0')
        {
          strv_pushn (out, buf_str (&field), field.len);
          buf_reset (&field);
          if (*p == '\0')
            break;
          continue;
        }
      buf_putc (&field, *p);
    }
  return quoted ? -1 : 0;
}

/* A mount option given twice keeps the last value, as BuildKit's. */
static void
set_option (char **field, char **val)
{
  free (*field);
  *field = steal_pointer (val);
}

/* The type decides the defaults, so it is found first. */
static int
mount_type (struct builder *b, const char *raw, const struct strv *fields, struct run_mount *m)
{
  for (size_t i = 0; i < fields->n; i++)
    if (strncasecmp (fields->v[i], "type=", 5) == 0)
      {
        const char *t = fields->v[i] + 5;
        size_t k;
        for (k = 0; k < sizeof mount_type_names / sizeof *mount_type_names; k++)
          if (strcmp (t, mount_type_names[k]) == 0)
            break;
        if (k == sizeof mount_type_names / sizeof *mount_type_names)
          return inst_fail (b, raw, "--mount: unknown type \"%s\" (bind, cache, tmpfs, secret or ssh)", t);
        m->type = (enum mount_type) k;
      }
  return 0;
}

/* tmpfs size=: bytes with an optional k, m or g (and b) suffix. */
static bool
tmpfs_size (const char *val, uint64_t *out)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull (val, &end, 10);
  unsigned long long mul = 1;
  if (*end == 'k' || *end == 'K')
    mul = 1024, end++;
  else if (*end == 'm' || *end == 'M')
    mul = 1024 * 1024, end++;
  else if (*end == 'g' || *end == 'G')
    mul = 1024ull * 1024 * 1024, end++;
  if (*end == 'b' || *end == 'B')
    end++;
  if (end == val || *end || errno)
    return false;
  *out = v * mul;
  return true;
}

/* The keys that take a boolean (a bare key means true). 1: handled, 0: not such a key. */
static int
mount_bool_option (struct builder *b, const char *raw, struct run_mount *m, const char *key, const char *val)
{
  bool value = true;
  if (strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0 || strcmp (key, "rw") == 0
      || strcmp (key, "readwrite") == 0)
    {
      if (val && !inst_bool_word (val, &value))
        return inst_fail (b, raw, "--mount: %s expects true or false, not \"%s\"", key, val);
      bool rw = key[0] == 'r' && (key[1] == 'w' || strcmp (key, "readwrite") == 0);
      m->readonly = rw ? !value : value;
      return 1;
    }
  if (strcmp (key, "required") == 0)
    {
      if (val && !inst_bool_word (val, &value))
        return inst_fail (b, raw, "--mount: required expects true or false, not \"%s\"", val);
      m->required = value;
      return 1;
    }
  return 0;
}

/* The keys that take a number. 1: handled, 0: not such a key for this type. */
static int
mount_number_option (struct builder *b, const char *raw, struct run_mount *m, const char *key, const char *val)
{
  bool owner_keys = m->type != MOUNT_BIND && m->type != MOUNT_TMPFS;
  if (strcmp (key, "mode") == 0 && owner_keys)
    {
      int64_t v = -1;
      if (!(b->env == NULL && inst_has_var (val)) && (!inst_int64 (val, &v, 8) || v > 07777))
        return inst_fail (b, raw, "--mount: mode must be octal (like 0644), not \"%s\"", val);
      m->mode = b->env || !inst_has_var (val) ? (int) v : -1;
      return 1;
    }
  if ((strcmp (key, "uid") == 0 || strcmp (key, "gid") == 0) && owner_keys)
    {
      int64_t v = -1;
      if (!(b->env == NULL && inst_has_var (val)) && (!inst_int64 (val, &v, 10) || v > UINT32_MAX))
        return inst_fail (b, raw, "--mount: %s must be a number, not \"%s\"", key, val);
      *(key[0] == 'u' ? &m->uid : &m->gid) = v;
      return 1;
    }
  if (strcmp (key, "size") == 0 && m->type == MOUNT_TMPFS)
    {
      if (!tmpfs_size (val, &m->size))
        return inst_fail (b, raw, "--mount: size must be a number of bytes (like 64m), not \"%s\"", val);
      return 1;
    }
  return 0;
}

/* One key=value (`*val` is taken when stored). */
static int
mount_option (struct builder *b, const char *raw, struct run_mount *m, const char *key, char **val)
{
  int r = mount_bool_option (b, raw, m, key, *val);
  if (r != 0)
    return r < 0 ? -1 : 0;
  if (*val == NULL)
    return inst_fail (b, raw, "--mount: \"%s\" needs a value (%s=...)", key, key);
  if (strcmp (key, "target") == 0 || strcmp (key, "dst") == 0 || strcmp (key, "destination") == 0)
    set_option (&m->target, val);
  else if (strcmp (key, "source") == 0 || strcmp (key, "src") == 0)
    set_option (&m->source, val);
  else if (strcmp (key, "from") == 0)
    {
      set_option (&m->from, val);
      if (*m->from == '\0') /* BuildKit: an empty from= is the context */
        {
          free (m->from);
          m->from = NULL;
        }
    }
  else if (strcmp (key, "id") == 0)
    set_option (&m->id, val);
  else if (strcmp (key, "env") == 0 && m->type == MOUNT_SECRET)
    set_option (&m->env, val);
  else if (strcmp (key, "sharing") == 0 && m->type == MOUNT_CACHE)
    {
      static const char *const sharing[] = {[SHARING_SHARED] = "shared", [SHARING_PRIVATE] = "private",
                                            [SHARING_LOCKED] = "locked"};
      size_t k;
      for (k = 0; k < 3 && strcmp (*val, sharing[k]) != 0; k++)
        ;
      if (k == 3)
        return inst_fail (b, raw, "--mount: sharing must be shared, private or locked, not \"%s\"", *val);
      m->sharing = (enum mount_sharing) k;
    }
  else
    {
      r = mount_number_option (b, raw, m, key, *val);
      if (r == 0)
        return inst_fail (b, raw, "--mount: unknown option \"%s\" for type=%s", key, mount_type_names[m->type]);
      if (r < 0)
        return -1;
    }
  return 0;
}

/* What a secret or ssh mount gets when keys are left out, and the target rule. */
static int
mount_defaults (struct builder *b, const char *raw, struct run_mount *m)
{
  if (m->type == MOUNT_SECRET || m->type == MOUNT_SSH)
    {
      if (m->id == NULL && m->target && m->type == MOUNT_SECRET)
        {
          const char *base = strrchr (m->target, '/');
          m->id = xstrdup (base ? base + 1 : m->target);
        }
      if (m->id == NULL)
        m->id = xstrdup (m->type == MOUNT_SSH ? "default" : "");
      if (m->type == MOUNT_SECRET && m->id[0] == '\0' && m->env == NULL)
        return inst_fail (b, raw, "--mount=type=secret needs an id (id=NAME) or a target");
      if (m->target == NULL && !(m->type == MOUNT_SECRET && m->env && !m->target))
        {
          struct buf t = BUF_INIT;
          if (m->type == MOUNT_SECRET)
            buf_printf (&t, "/run/secrets/%s", m->id);
          else
            buf_puts (&t, "/run/buildkit/ssh_agent.0");
          m->target = buf_steal (&t);
        }
      if (m->mode < 0)
        m->mode = m->type == MOUNT_SECRET ? 0400 : 0600;
    }
  else if (m->target == NULL)
    return inst_fail (b, raw, "--mount: target is required (target=/path)");
  if (m->type == MOUNT_CACHE && m->id == NULL && m->target)
    m->id = xstrdup (m->target);
  /* Relative targets are resolved against the working directory by the builder. */
  return 0;
}

int
run_mount_parse (struct builder *b, const char *raw, const char *spec, struct run_mount *m)
{
  memset (m, 0, sizeof *m);
  m->mode = -1;
  m->uid = -1;
  m->gid = -1;
  m->readonly = true;
  _cleanup_strv_ struct strv fields = STRV_INIT;
  if (split_csv (spec, &fields) < 0)
    return inst_fail (b, raw, "--mount: unterminated quote in \"%s\"", spec);
  if (mount_type (b, raw, &fields, m) < 0)
    return -1;
  if (m->type == MOUNT_CACHE || m->type == MOUNT_TMPFS)
    m->readonly = false;
  for (size_t i = 0; i < fields.n; i++)
    {
      const char *f = fields.v[i];
      if (*f == '\0')
        continue;
      const char *eq = strchr (f, '=');
      _cleanup_free_ char *key = eq ? xstrndup (f, (size_t) (eq - f)) : xstrdup (f);
      for (char *k = key; *k; k++)
        *k = (char) tolower ((unsigned char) *k);
      _cleanup_free_ char *val = NULL;
      if (eq)
        {
          val = b->env ? inst_expand_word (b, eq + 1) : xstrdup (eq + 1);
          if (val == NULL)
            return -1;
        }
      if (strcmp (key, "type") == 0)
        continue;
      if (mount_option (b, raw, m, key, &val) < 0)
        return -1;
    }
  return mount_defaults (b, raw, m);
}

void
run_mount_clear (struct run_mount *m)
{
  free (m->target);
  free (m->source);
  free (m->from);
  free (m->id);
  free (m->env);
}
