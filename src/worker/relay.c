/* worker/relay.c — copying a command's stdio between pipes and the caller. */
#include "worker/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <unistd.h>

static void
close_end (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* Writes all of buf to fd (blocking); false once fd takes no more. */
static bool
put (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write (fd, buf, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return false;
      buf += w;
      len -= (size_t) w;
    }
  return true;
}

void
relay_run (struct relay *r)
{
  char buf[65536], in_buf[4096];
  size_t in_len = 0, in_off = 0;
  if (r->in_dst >= 0)
    fcntl (r->in_dst, F_SETFL, fcntl (r->in_dst, F_GETFL) | O_NONBLOCK);
  if (r->in_dst < 0)
    r->in_src = -1;
  while (r->out_src >= 0 || r->err_src >= 0)
    {
      struct pollfd p[4];
      int n = 0, i_out = -1, i_err = -1, i_in = -1, i_to = -1;
      if (r->out_src >= 0)
        p[i_out = n++] = (struct pollfd){.fd = r->out_src, .events = POLLIN};
      if (r->err_src >= 0)
        p[i_err = n++] = (struct pollfd){.fd = r->err_src, .events = POLLIN};
      /* Input: read when nothing is pending, write what is pending when the
       * command's pipe has room; a command that reads nothing blocks nothing. */
      if (r->in_src >= 0 && in_len == 0)
        p[i_in = n++] = (struct pollfd){.fd = r->in_src, .events = POLLIN};
      if (r->in_dst >= 0 && in_len > 0)
        p[i_to = n++] = (struct pollfd){.fd = r->in_dst, .events = POLLOUT};
      if (poll (p, (nfds_t) n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      for (int k = 0; k < 2; k++)
        {
          int idx = k == 0 ? i_out : i_err;
          int *src = k == 0 ? &r->out_src : &r->err_src;
          if (idx < 0 || !(p[idx].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          ssize_t got = read (*src, buf, sizeof buf);
          if (got < 0 && errno == EINTR)
            continue;
          if (got <= 0)
            {
              close_end (src);
              continue;
            }
          if (r->on_chunk)
            r->on_chunk (r->ud, k + 1, buf, (size_t) got);
          /* Output the caller no longer takes ends the command's pipe too: it
           * then sees EPIPE, as if it wrote to the caller directly. */
          int dst = k == 0 ? r->out_dst : r->err_dst;
          if (dst >= 0 && !put (dst, buf, (size_t) got))
            close_end (src);
        }
      if (i_in >= 0 && (p[i_in].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          ssize_t got = read (r->in_src, in_buf, sizeof in_buf);
          if (got > 0)
            in_len = (size_t) got, in_off = 0;
          else if (got == 0 || errno != EINTR)
            {
              r->in_src = -1; /* the caller's input ended: so does the command's */
              close_end (&r->in_dst);
            }
        }
      if (i_to >= 0 && (p[i_to].revents & (POLLOUT | POLLERR | POLLHUP)))
        {
          ssize_t w = write (r->in_dst, in_buf + in_off, in_len);
          if (w > 0)
            in_off += (size_t) w, in_len -= (size_t) w;
          else if (w < 0 && errno != EAGAIN && errno != EINTR)
            {
              r->in_src = -1; /* the command closed its stdin */
              close_end (&r->in_dst);
              in_len = 0;
            }
        }
    }
  close_end (&r->in_dst);
  close_end (&r->out_src);
  close_end (&r->err_src);
}
