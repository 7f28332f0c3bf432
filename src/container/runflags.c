/* container/runflags.c — --pull and --cidfile of run and create (runflags.h). */
#include "container/runflags.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image.h"
#include "image/ref.h"
#include "registry/transfer.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/outfile.h"

int
pull_policy_parse (const char *s, enum pull_policy *out, struct kiln_err *err)
{
  static const struct
  {
    const char *name;
    enum pull_policy policy;
  } names[] = {{"missing", PULL_MISSING}, {"always", PULL_ALWAYS}, {"never", PULL_NEVER}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp (s, names[i].name) == 0)
      {
        *out = names[i].policy;
        return 0;
      }
  return kiln_err_set (err, KILN_EUSAGE,
                       "invalid pull option: '%.64s': must be one of \"always\", \"missing\" or \"never\"", s);
}

/* docker's name for `ref` in its messages: "busybox:latest". */
static char *
familiar_name (const char *ref)
{
  struct image_ref r = {0};
  struct kiln_err ignored = {0};
  if (ref_parse (ref, true, &r, &ignored) < 0)
    {
      kiln_err_clear (&ignored);
      return xstrdup (ref);
    }
  _cleanup_free_ char *full = ref_string (&r);
  ref_clear (&r);
  return ref_familiar (full);
}

int
pull_policy_resolve (struct kiln_store *st, const char *ref, enum pull_policy policy, struct digest *id,
                     struct kiln_err *err)
{
  struct pull_opts po = {.out = stderr};
  if (policy == PULL_ALWAYS)
    return image_pull (st, ref, &po, id, err);
  if (image_resolve (st, ref, id, err) == 0)
    return 0;
  if (err->code != ENOENT)
    return -1;
  kiln_err_clear (err);
  _cleanup_free_ char *name = familiar_name (ref);
  if (policy == PULL_NEVER)
    return kiln_err_set (err, ENOENT, "No such image: %s", name);
  fprintf (stderr, "Unable to find image '%s' locally\n", name);
  return image_pull (st, ref, &po, id, err);
}

int
cidfile_check (const char *path, struct kiln_err *err)
{
  struct stat sb;
  if (lstat (path, &sb) == 0)
    return kiln_err_set (err, EEXIST,
                         "Container ID file found, make sure the other container isn't running or delete %s", path);
  return outfile_check (path, 0, err);
}

int
cidfile_write (const char *path, const char *id, struct kiln_err *err)
{
  /* Taken between the check and now: refused, not replaced. */
  struct stat sb;
  if (lstat (path, &sb) == 0)
    return kiln_err_set (err, EEXIST,
                         "Container ID file found, make sure the other container isn't running or delete %s", path);
  if (outfile_put (path, id, strlen (id), err) < 0)
    return kiln_err_wrap (err, "failed to write the container ID to the file");
  return 0;
}
