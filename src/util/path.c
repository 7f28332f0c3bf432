/* util/path.c — lexical operations on '/'-separated paths. */
#include "util/path.h"

#include <stdbool.h>
#include <string.h>

#include "util/buf.h"

char *
path_clean (const char *path)
{
  size_t n = strlen (path);
  if (n == 0)
    return xstrdup (".");
  bool rooted = path[0] == '/';
  struct buf out = BUF_INIT;
  if (rooted)
    buf_putc (&out, '/');
  size_t dotdot = out.len; /* where ".." can no longer backtrack */
  size_t i = rooted ? 1 : 0;
  while (i < n)
    {
      if (path[i] == '/')
        i++;
      else if (path[i] == '.' && (i + 1 == n || path[i + 1] == '/'))
        i++;
      else if (path[i] == '.' && path[i + 1] == '.' && (i + 2 == n || path[i + 2] == '/'))
        {
          i += 2;
          if (out.len > dotdot)
            {
              size_t w = out.len - 1;
              while (w > dotdot && out.data[w] != '/')
                w--;
              out.len = w;
              out.data[w] = '\0';
            }
          else if (!rooted)
            {
              if (out.len > 0)
                buf_putc (&out, '/');
              buf_puts (&out, "..");
              dotdot = out.len;
            }
        }
      else
        {
          if ((rooted && out.len != 1) || (!rooted && out.len != 0))
            buf_putc (&out, '/');
          while (i < n && path[i] != '/')
            buf_putc (&out, path[i++]);
        }
    }
  if (out.len == 0)
    buf_putc (&out, '.');
  return buf_steal (&out);
}
