/* cli/env.c — the environment flags run, create and exec share: -e and --env-file,
 * as docker's client reads them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"

void
cli_env_flag (struct strv *env, const char *arg)
{
  if (strchr (arg, '='))
    strv_push (env, arg);
  else if (getenv (arg))
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "%s=%s", arg, getenv (arg));
      strv_push_owned (env, buf_steal (&b));
    }
}

int
cli_read_env_file (const char *path, struct strv *env, struct kiln_err *err)
{
  FILE *f = fopen (path, "r");
  if (f == NULL)
    return kiln_err_set (err, errno, "--env-file %s: %s", path, strerror (errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int lineno = 0;
  while ((n = getline (&line, &cap, f)) >= 0)
    {
      lineno++;
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      char *p = line;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0' || *p == '#')
        continue;
      if (strchr (p, '=') == NULL)
        {
          const char *v = getenv (p);
          if (v)
            {
              struct buf b = BUF_INIT;
              buf_printf (&b, "%s=%s", p, v);
              strv_push_owned (env, buf_steal (&b));
            }
          continue;
        }
      if (*p == '=')
        {
          free (line);
          fclose (f);
          return kiln_err_set (err, KILN_EUSAGE, "%s:%d: variable name is empty", path, lineno);
        }
      strv_push (env, p);
    }
  free (line);
  fclose (f);
  return 0;
}
