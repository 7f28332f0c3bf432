/* frontend/shell.h — word expansion, as BuildKit's shell lexer.
 *
 * Expands `$V`, `${V}`, `${V:-w}` and friends, removes quotes and escapes, and
 * optionally splits the result into words the way the shell would (unquoted white
 * space from a variable splits, quoted does not).  Used by the instructions Docker
 * expands (ENV, ARG, COPY, FROM, WORKDIR, USER, LABEL, ...), never on RUN/CMD/
 * ENTRYPOINT shell form, which the container's shell expands itself. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/envmap.h"
#include "util/err.h"

/* Bounds on expansion, so that hostile input cannot blow up memory or time. */
#define SHELL_MAX_RESULT (16u * 1024 * 1024) /* bytes in one expanded word */
#define SHELL_MAX_DEPTH 64u                  /* nesting of ${...} */

struct shell_opts
{
  char escape;              /* '\\' or '`' */
  bool raw_quotes;          /* keep quote characters in the result */
  bool raw_escapes;         /* keep escape characters in the result */
  bool skip_process_quotes; /* quotes are ordinary characters */
  bool skip_unset_env;      /* leave $UNSET and ${UNSET...} as written */
  bool heredoc_glue;        /* "<<" and blanks after it stay glued to the next word */
};

/* A variable environment: names are looked up in `first`, then in `second`
 * (a stage's ENV wins over its ARGs). Either may be NULL. */
struct shell_env
{
  const struct envmap *first;
  const struct envmap *second;
};

/* Looks a name up; returns NULL when unset. */
const char *shell_env_get (const struct shell_env *env, const char *name, size_t len);

/* Expands `word` into *result (owned by the caller) and, if `words` is not NULL,
 * appends the shell-split words to it.  Returns 0, or -1 with `err` set to a
 * message like BuildKit's ("failed to process \"${X\": syntax error: missing '}'"). */
int shell_expand (const struct shell_opts *opts, const char *word, size_t len, const struct shell_env *env,
                  char **result, struct strv *words, struct kiln_err *err);

/* Convenience: expand with the default options and escape character. */
char *shell_expand_word (const char *word, char escape, const struct shell_env *env, struct kiln_err *err);
