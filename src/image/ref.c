/* image/ref.c — docker's reference grammar (distribution/reference), in C. */
#include "image/ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/digest.h"

void
ref_clear (struct image_ref *r)
{
  free (r->domain);
  free (r->path);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof *r);
}

static bool
is_alnum_lower (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool
component_valid (const char *s, size_t n)
{
  size_t i = 0;
  if (n == 0 || !is_alnum_lower (s[0]))
    return false;
  while (i < n)
    {
      while (i < n && is_alnum_lower (s[i]))
        i++;
      if (i == n)
        return true;
      size_t sep = i;
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        {
          i++;
          if (i < n && s[i] == '_')
            i++;
        }
      else if (s[i] == '-')
        while (i < n && s[i] == '-')
          i++;
      else
        return false;
      if (i == n || !is_alnum_lower (s[i]) || i == sep)
        return false;
    }
  return true;
}

static bool
domain_valid (const char *s, size_t n)
{
  if (n == 0)
    return false;
  size_t colon = n;
  for (size_t i = 0; i < n; i++)
    if (s[i] == ':')
      colon = i;
  if (colon < n)
    {
      if (colon + 1 == n)
        return false;
      for (size_t i = colon + 1; i < n; i++)
        if (!isdigit ((unsigned char) s[i]))
          return false;
    }
  if (colon > 0 && s[0] == '[') /* IPv6 literal */
    return s[colon - 1] == ']';
  for (size_t i = 0; i < colon; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '.' && s[i] != '-')
      return false;
  return colon > 0 && s[0] != '-' && s[0] != '.';
}

static bool
tag_valid (const char *t)
{
  size_t n = strlen (t);
  if (n == 0 || n > 128)
    return false;
  if (!isalnum ((unsigned char) t[0]) && t[0] != '_')
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum ((unsigned char) t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
      return false;
  return true;
}

int
ref_parse (const char *s, bool default_tag, struct image_ref *out, struct kiln_err *err)
{
  memset (out, 0, sizeof *out);
  if (s == NULL || *s == '\0')
    return kiln_err_set (err, KILN_EINVAL, "invalid reference format: empty image name");
  _cleanup_free_ char *copy = xstrdup (s);
  char *at = strchr (copy, '@');
  if (at)
    {
      *at = '\0';
      if (!digest_valid (at + 1))
        return kiln_err_set (err, KILN_EINVAL, "invalid reference \"%s\": bad digest \"%s\"", s, at + 1);
      out->digest = xstrdup (at + 1);
    }
  /* A tag follows the last ':' after the last '/'. */
  char *slash = strrchr (copy, '/');
  char *colon = strrchr (slash ? slash : copy, ':');
  if (colon)
    {
      *colon = '\0';
      if (!tag_valid (colon + 1))
        {
          ref_clear (out);
          return kiln_err_set (err, KILN_EINVAL, "invalid reference \"%s\": bad tag \"%s\"", s, colon + 1);
        }
      out->tag = xstrdup (colon + 1);
    }
  char *name = copy;
  char *first_slash = strchr (name, '/');
  const char *rest = name;
  if (first_slash)
    {
      size_t dl = (size_t) (first_slash - name);
      bool is_domain = memchr (name, '.', dl) || memchr (name, ':', dl) || (dl == 9 && strncmp (name, "localhost", 9) == 0)
                       || (dl > 0 && name[0] == '[');
      for (size_t i = 0; i < dl && !is_domain; i++)
        if (isupper ((unsigned char) name[i]))
          is_domain = true;
      if (is_domain)
        {
          if (!domain_valid (name, dl))
            {
              ref_clear (out);
              return kiln_err_set (err, KILN_EINVAL, "invalid reference \"%s\": bad registry host \"%.*s\"", s,
                                   (int) dl, name);
            }
          out->domain = xstrndup (name, dl);
          rest = first_slash + 1;
        }
    }
  if (out->domain == NULL)
    out->domain = xstrdup ("docker.io");
  if (strcmp (out->domain, "index.docker.io") == 0)
    {
      free (out->domain);
      out->domain = xstrdup ("docker.io");
    }
  for (const char *p = rest; *p; p++)
    if (isupper ((unsigned char) *p))
      {
        ref_clear (out);
        return kiln_err_set (err, KILN_EINVAL, "invalid reference \"%s\": repository name must be lowercase", s);
      }
  /* Validate each path component. */
  const char *p = rest;
  if (*p == '\0')
    {
      ref_clear (out);
      return kiln_err_set (err, KILN_EINVAL, "invalid reference format: \"%s\" has no repository name", s);
    }
  while (*p)
    {
      const char *e = strchr (p, '/');
      size_t n = e ? (size_t) (e - p) : strlen (p);
      if (!component_valid (p, n))
        {
          ref_clear (out);
          return kiln_err_set (err, KILN_EINVAL, "invalid reference format: \"%s\"", s);
        }
      p += n + (e ? 1 : 0);
      if (e && *p == '\0')
        {
          ref_clear (out);
          return kiln_err_set (err, KILN_EINVAL, "invalid reference format: \"%s\"", s);
        }
    }
  if (strcmp (out->domain, "docker.io") == 0 && strchr (rest, '/') == NULL)
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "library/%s", rest);
      out->path = buf_steal (&b);
    }
  else
    out->path = xstrdup (rest);
  if (strlen (out->domain) + 1 + strlen (out->path) > REF_MAX_NAME)
    {
      ref_clear (out);
      return kiln_err_set (err, KILN_EINVAL, "invalid reference \"%s\": repository name longer than %u characters",
                           s, REF_MAX_NAME);
    }
  if (out->tag == NULL && out->digest == NULL && default_tag)
    out->tag = xstrdup ("latest");
  return 0;
}

char *
ref_repository (const struct image_ref *r)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s/%s", r->domain, r->path);
  return buf_steal (&b);
}

char *
ref_string (const struct image_ref *r)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s/%s", r->domain, r->path);
  if (r->tag)
    buf_printf (&b, ":%s", r->tag);
  if (r->digest)
    buf_printf (&b, "@%s", r->digest);
  return buf_steal (&b);
}

char *
ref_familiar_repository (const struct image_ref *r)
{
  if (strcmp (r->domain, "docker.io") == 0)
    {
      if (strncmp (r->path, "library/", 8) == 0 && strchr (r->path + 8, '/') == NULL)
        return xstrdup (r->path + 8);
      return xstrdup (r->path);
    }
  return ref_repository (r);
}

char *
ref_familiar (const char *full)
{
  struct image_ref r;
  struct kiln_err err = {0};
  if (ref_parse (full, false, &r, &err) < 0)
    {
      kiln_err_clear (&err);
      return xstrdup (full);
    }
  char *repo = ref_familiar_repository (&r);
  struct buf b = BUF_INIT;
  buf_puts (&b, repo);
  if (r.tag)
    buf_printf (&b, ":%s", r.tag);
  if (r.digest)
    buf_printf (&b, "@%s", r.digest);
  free (repo);
  ref_clear (&r);
  return buf_steal (&b);
}
