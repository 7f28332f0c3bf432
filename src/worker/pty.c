/* worker/pty.c — pseudo-terminals in the container's devpts, and the caller's
 * terminal around them (see the header). */
#include "worker/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

int
pty_open (int *master, int *slave, char *why, size_t why_len)
{
  *master = *slave = -1;
  int m = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    {
      snprintf (why, why_len, "opening /dev/ptmx: %s", strerror (errno));
      return -1;
    }
  int unlock = 0;
  if (ioctl (m, TIOCSPTLCK, &unlock) < 0)
    {
      snprintf (why, why_len, "unlocking the pty: %s", strerror (errno));
      close (m);
      return -1;
    }
  int s = ioctl (m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    {
      snprintf (why, why_len, "opening the pty's slave: %s", strerror (errno));
      close (m);
      return -1;
    }
  *master = m;
  *slave = s;
  return 0;
}

int
pty_make_controlling (int slave, uid_t uid)
{
  /* The user's own terminal, as login makes it (the group stays devpts' tty). */
  if (fchown (slave, uid, (gid_t) -1) < 0 && errno != EPERM)
    return -1;
  if (setsid () < 0 && errno != EPERM)
    return -1;
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return -1;
  for (int fd = 0; fd < 3; fd++)
    if (dup2 (slave, fd) < 0)
      return -1;
  if (slave > 2)
    close (slave);
  return 0;
}

int
pty_send_fd (int sock, int fd)
{
  char byte = 'p';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  memset (&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof fd);
  ssize_t n;
  while ((n = sendmsg (sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    ;
  return n == 1 ? 0 : -1;
}

int
pty_recv_fd (int sock)
{
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  while ((n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0 && errno == EINTR)
    ;
  if (n != 1)
    return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN (sizeof (int)))
      {
        int fd;
        memcpy (&fd, CMSG_DATA (c), sizeof fd);
        return fd;
      }
  return -1;
}

int
pty_raw_enter (struct pty_raw *r, int fd)
{
  r->fd = fd;
  r->active = false;
  if (!isatty (fd))
    return 0;
  if (tcgetattr (fd, &r->saved) < 0)
    return -1;
  struct termios raw = r->saved;
  cfmakeraw (&raw); /* output too: the pty in the container already makes \n \r\n */
  if (tcsetattr (fd, TCSADRAIN, &raw) < 0)
    return -1;
  r->active = true;
  return 0;
}

void
pty_raw_leave (struct pty_raw *r)
{
  if (r->active)
    tcsetattr (r->fd, TCSADRAIN, &r->saved);
  r->active = false;
}

int
pty_winsize_get (int fd, struct winsize *ws)
{
  return isatty (fd) && ioctl (fd, TIOCGWINSZ, ws) == 0 && ws->ws_row > 0 ? 0 : -1;
}

int
pty_winsize_set (int master, const struct winsize *ws)
{
  return ioctl (master, TIOCSWINSZ, ws);
}

/* One key of docker's term.ToBytes: a single character, or ctrl-X. */
static int
detach_key (const char *k, size_t n, unsigned char *out)
{
  if (n == 1)
    {
      *out = (unsigned char) k[0];
      return 0;
    }
  if (n == 6 && strncmp (k, "ctrl-", 5) == 0)
    {
      unsigned char c = (unsigned char) k[5];
      if (c >= 'a' && c <= 'z')
        *out = (unsigned char) (c - 'a' + 1);
      else if (c == '@')
        *out = 0;
      else if (c >= '[' && c <= '_')
        *out = (unsigned char) (c - '[' + 27);
      else
        return -1;
      return 0;
    }
  return -1;
}

int
detach_keys_parse (const char *spec, struct detach_keys *k, struct kiln_err *err)
{
  memset (k, 0, sizeof *k);
  const char *p = spec;
  for (;;)
    {
      const char *comma = strchr (p, ',');
      size_t n = comma ? (size_t) (comma - p) : strlen (p);
      if (k->len == sizeof k->seq || detach_key (p, n, &k->seq[k->len]) < 0)
        return kiln_err_set (err, KILN_EUSAGE, "Invalid detach keys (%s) provided", spec);
      k->len++;
      if (!comma)
        break;
      p = comma + 1;
    }
  return 0;
}

int
detach_keys_feed (struct detach_keys *k, const char *in, size_t n, struct buf *out)
{
  for (size_t i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char) in[i];
      if (k->len && c == k->seq[k->matched])
        {
          if (++k->matched == k->len)
            {
              k->matched = 0;
              return 1;
            }
          continue;
        }
      /* Broken: what was held back goes through, then this key. */
      if (k->matched)
        buf_append (out, (const char *) k->seq, k->matched);
      k->matched = 0;
      if (k->len && c == k->seq[0])
        k->matched = 1;
      else
        buf_putc (out, (char) c);
    }
  return 0;
}
