/* cli/build_secret.h — `kiln build --secret id=ID,src=FILE|env=VAR`, BuildKit's
 * syntax, read once by the CLI: the solver gets two maps (solver/build.h). */
#pragma once
#include "util/envmap.h"
#include "util/err.h"

/* One --secret SPEC into `src` (id → file, which must be readable) or `env` (id →
 * the variable's value, which must be set).  Fields: id=, src= or source=, env=,
 * type= (ignored: file and env are told by src/env); without id= the id is the
 * file's base name or the variable's name.  -1 with a usage error (KILN_EUSAGE) for
 * a bad spec, the file's errno, or ENOENT for an unset variable. */
int build_secret_parse (const char *spec, struct envmap *src, struct envmap *env, struct kiln_err *err);
