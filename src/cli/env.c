/* cli/env.c — the environment flags run, create and exec share: -e and --env-file,
 * as docker's client reads them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

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

/* An env file is read whole, bounded: a path like /dev/zero (a line without
 * end) must fail, not grow kiln's memory until it is killed. */
#define ENV_FILE_MAX (16u << 20)

int
cli_read_env_file (const char *path, struct strv *env, struct kiln_err *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kiln_err_set (err, errno, "--env-file %s: %s", path, strerror (errno));
  _cleanup_buf_ struct buf data = BUF_INIT, what = BUF_INIT;
  buf_printf (&what, "--env-file %s", path);
  if (read_all (fd, ENV_FILE_MAX, &data, buf_str (&what), err) < 0)
    return -1;
  buf_append (&data, "", 1); /* each line below ends in a NUL */
  int lineno = 0;
  for (char *line = data.data, *end = data.data + data.len - 1; line < end;)
    {
      char *nl = memchr (line, '\n', (size_t) (end - line));
      char *next = nl ? nl + 1 : end;
      size_t n = (size_t) ((nl ? nl : end) - line);
      line[n] = '\0';
      lineno++;
      while (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
      char *p = line;
      line = next;
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
        return kiln_err_set (err, KILN_EUSAGE, "%s:%d: variable name is empty", path, lineno);
      strv_push (env, p);
    }
  return 0;
}
