/* cli/build_output.h — `kiln build -o/--output SPEC`, parsed once: the solver gets
 * its type and dest (struct build_output, solver/build.h), the CLI the push it may
 * ask for (type=registry, type=image,push=true). */
#pragma once
#include <stdbool.h>

#include "solver/build.h"
#include "util/buf.h"
#include "util/err.h"

struct build_output_flag
{
  char *fields;         /* SPEC cut at its commas: out and names point into it */
  struct build_output out; /* type "local" when not given */
  struct strv names;    /* name=REF (not empty), as given */
  bool push;            /* push=true or push */
};

/* SPEC's fields: type=, dest=, name=, push; docker's shorthands -o DIR
 * (type=local,dest=DIR) and -o - (type=tar,dest=-).  Unknown fields are left to
 * the build's check of the type, as before. */
void build_output_parse (const char *spec, struct build_output_flag *o);
void build_output_clear (struct build_output_flag *o);

/* -o type=registry[,name=REF]... and -o type=image,push=true: 1 when `o` is such
 * a push (its names are added to *tags, normalised), 0 when it is another output,
 * -1 (usage error in err) for an invalid name. */
int build_output_push (const struct build_output_flag *o, struct strv *tags, struct kiln_err *err);
