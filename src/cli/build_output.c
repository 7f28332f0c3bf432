/* cli/build_output.c — `kiln build -o/--output` (see build_output.h). */
#include "cli/build_output.h"

#include <stdlib.h>
#include <string.h>

#include "image/ref.h"

void
build_output_parse (const char *spec, struct build_output_flag *o)
{
  *o = (struct build_output_flag){.fields = xstrdup (spec), .names = STRV_INIT};
  for (char *save = NULL, *f = strtok_r (o->fields, ",", &save); f; f = strtok_r (NULL, ",", &save))
    {
      if (strncmp (f, "type=", 5) == 0)
        o->out.type = f + 5;
      else if (strncmp (f, "dest=", 5) == 0)
        o->out.dest = f + 5;
      else if (strchr (f, '=') == NULL && o->out.type == NULL)
        {
          /* docker's shorthands: -o DIR means type=local,dest=DIR, -o - a tar on stdout */
          o->out.type = strcmp (f, "-") == 0 ? "tar" : "local";
          o->out.dest = f;
        }
      if (strncmp (f, "name=", 5) == 0 && f[5])
        strv_push (&o->names, f + 5);
      else if (strcmp (f, "push=true") == 0 || strcmp (f, "push") == 0)
        o->push = true;
    }
  if (o->out.type == NULL)
    o->out.type = "local";
}

void
build_output_clear (struct build_output_flag *o)
{
  strv_free (&o->names);
  free (o->fields);
  o->fields = NULL;
}

int
build_output_push (const struct build_output_flag *o, struct strv *tags, struct kiln_err *err)
{
  const char *type = o->out.type;
  if (strcmp (type, "registry") != 0 && !(strcmp (type, "image") == 0 && o->push))
    return 0;
  for (size_t i = 0; i < o->names.n; i++)
    {
      struct image_ref ref;
      if (ref_parse (o->names.v[i], true, &ref, err) < 0)
        return kiln_err_set (err, KILN_EUSAGE, "--output: invalid name \"%s\": %s", o->names.v[i], err->msg);
      if (ref.digest)
        {
          ref_clear (&ref);
          return kiln_err_set (err, KILN_EUSAGE, "--output: invalid name \"%s\": a tag cannot hold a digest",
                               o->names.v[i]);
        }
      strv_push_owned (tags, ref_string (&ref));
      ref_clear (&ref);
    }
  return 1;
}
