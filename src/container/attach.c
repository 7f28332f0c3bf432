/* container/attach.c — a tty container's terminal between its monitor and the
 * clients attached to it (the protocol is in the header). */
#include "container/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "container/monitor.h"
#include "container/state.h"
#include "store/containers.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "worker/pty.h"

#define FRAME_HDR 5
#define CLIENT_WAIT_MS 5000 /* a client that reads nothing for this long is dropped */
#define FRAME_MAX (1u << 20)

/* The socket's address through the directory's descriptor `dfd`. */
static void
sock_addr (int dfd, struct sockaddr_un *sa)
{
  memset (sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  snprintf (sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/attach.sock", dfd);
}

static void
frame_header (char hdr[FRAME_HDR], char type, size_t len)
{
  hdr[0] = type;
  hdr[1] = (char) (len >> 24);
  hdr[2] = (char) (len >> 16);
  hdr[3] = (char) (len >> 8);
  hdr[4] = (char) len;
}

/* A whole frame or -1; `wait_ms` >= 0: a reader that takes nothing for that
 * long fails (the monitor never waits on a client for good); -1: blocks. */
static int
send_frame (int fd, char type, const void *data, size_t len, int wait_ms)
{
  char hdr[FRAME_HDR];
  frame_header (hdr, type, len);
  struct iovec iov[2] = {{hdr, FRAME_HDR}, {(void *) data, len}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
  size_t total = FRAME_HDR + len, sent = 0;
  while (sent < total)
    {
      ssize_t n = sendmsg (fd, &msg, MSG_NOSIGNAL | (wait_ms >= 0 ? MSG_DONTWAIT : 0));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN && wait_ms >= 0)
        {
          struct pollfd p = {.fd = fd, .events = POLLOUT};
          int r;
          while ((r = poll (&p, 1, wait_ms)) < 0 && errno == EINTR)
            ;
          if (r <= 0 || (p.revents & (POLLERR | POLLHUP)))
            return -1;
          continue;
        }
      if (n <= 0)
        return -1;
      sent += (size_t) n;
      while (n > 0 && msg.msg_iovlen > 0)
        {
          size_t take = (size_t) n < msg.msg_iov[0].iov_len ? (size_t) n : msg.msg_iov[0].iov_len;
          msg.msg_iov[0].iov_base = (char *) msg.msg_iov[0].iov_base + take;
          msg.msg_iov[0].iov_len -= take;
          n -= (ssize_t) take;
          if (msg.msg_iov[0].iov_len == 0)
            msg.msg_iov++, msg.msg_iovlen--;
        }
    }
  return 0;
}

int
attach_frame_next (struct buf *b, char *type, struct buf *payload)
{
  if (b->len < FRAME_HDR)
    return 0;
  const unsigned char *p = (const unsigned char *) b->data;
  size_t len = (size_t) p[1] << 24 | (size_t) p[2] << 16 | (size_t) p[3] << 8 | p[4];
  if (len > FRAME_MAX)
    return -1;
  if (b->len < FRAME_HDR + len)
    return 0;
  *type = (char) p[0];
  buf_reset (payload);
  buf_append (payload, b->data + FRAME_HDR, len);
  memmove (b->data, b->data + FRAME_HDR + len, b->len - FRAME_HDR - len);
  b->len -= FRAME_HDR + len;
  return 1;
}

int
attach_server_open (struct attach_server *as, const char *root, const char *id, bool wait_first,
                    struct log_writer *log, struct kiln_err *err)
{
  memset (as, 0, sizeof *as);
  as->listen_fd = -1;
  as->wait_first = wait_first;
  as->log = log;
  as->dir = container_path (root, id, NULL);
  _cleanup_close_ int dfd = open (as->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return kiln_err_set (err, errno, "%s: %s", as->dir, strerror (errno));
  struct sockaddr_un sa;
  sock_addr (dfd, &sa);
  unlinkat (dfd, "attach.sock", 0); /* a killed monitor's */
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  mode_t old = umask (077); /* the socket: its owner's only */
  int r = fd < 0 ? -1 : bind (fd, (struct sockaddr *) &sa, sizeof sa);
  umask (old);
  if (r < 0 || listen (fd, ATTACH_MAX_CLIENTS) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return kiln_err_set (err, e, "%s/attach.sock: %s", as->dir, strerror (e));
    }
  as->listen_fd = fd;
  return 0;
}

static void
drop_client (struct attach_server *as, size_t i)
{
  close (as->clients[i].fd);
  buf_free (&as->clients[i].in);
  as->clients[i] = as->clients[--as->n_clients];
}

/* As much of `as->to_pty` as the pty takes now. The master is non-blocking: a
 * container that reads no input (or a client pasting more than the pty holds)
 * must never stop the monitor from draining the pty's output, or both ends
 * block for good. */
static void
flush_to_pty (struct attach_server *as, int master)
{
  while (as->to_pty.len)
    {
      ssize_t n = write (master, as->to_pty.data, as->to_pty.len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          buf_reset (&as->to_pty); /* the pty is gone: nothing will take it */
          return;
        }
      memmove (as->to_pty.data, as->to_pty.data + n, as->to_pty.len - (size_t) n);
      as->to_pty.len -= (size_t) n;
    }
}

/* A client's bytes: its frames' input queued for the pty. -1 when it is to be dropped. */
static int
client_input (struct attach_server *as, struct attach_client_conn *c, int master)
{
  char chunk[4096];
  ssize_t n = read (c->fd, chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0)
    return -1;
  buf_append (&c->in, chunk, (size_t) n);
  _cleanup_buf_ struct buf payload = BUF_INIT;
  char type;
  int r;
  while ((r = attach_frame_next (&c->in, &type, &payload)) > 0)
    if (type == 'i')
      buf_append (&as->to_pty, payload.data, payload.len);
    else if (type == 'w' && payload.len == 4)
      {
        const unsigned char *p = (const unsigned char *) payload.data;
        struct winsize ws = {.ws_row = (unsigned short) (p[0] << 8 | p[1]),
                             .ws_col = (unsigned short) (p[2] << 8 | p[3])};
        pty_winsize_set (master, &ws);
      }
  return r < 0 ? -1 : 0;
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
attach_server_run (struct attach_server *as, int master)
{
  /* run -t attaches once the command runs: its first output waits for it (10 s
   * at most: a client that never comes does not hold the container). */
  bool waiting = as->wait_first && as->n_clients == 0;
  as->wait_first = false;
  int64_t deadline = now_ms () + 10000;
  int fl = fcntl (master, F_GETFL);
  if (fl >= 0)
    fcntl (master, F_SETFL, fl | O_NONBLOCK);
  for (;;)
    {
      struct pollfd p[2 + ATTACH_MAX_CLIENTS];
      p[0] = (struct pollfd){.fd = waiting ? -1 : master,
                             .events = (short) (POLLIN | (as->to_pty.len ? POLLOUT : 0))};
      p[1] = (struct pollfd){.fd = as->listen_fd, .events = POLLIN};
      /* While the pty has not taken earlier input, clients are not read: their
       * own sends block instead of the monitor's memory growing. */
      short client_events = as->to_pty.len ? 0 : POLLIN;
      for (size_t i = 0; i < as->n_clients; i++)
        p[2 + i] = (struct pollfd){.fd = as->clients[i].fd, .events = client_events};
      int timeout = -1;
      if (waiting)
        {
          int64_t left = deadline - now_ms ();
          timeout = left > 0 ? (int) left : 0;
        }
      size_t polled = as->n_clients; /* clients accepted below have no pollfd yet */
      int n = poll (p, 2 + polled, timeout);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return;
        }
      if (waiting && (n == 0 || now_ms () >= deadline))
        waiting = false;
      if (p[1].revents & POLLIN)
        {
          int c = accept4 (as->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (c >= 0 && as->n_clients < ATTACH_MAX_CLIENTS)
            {
              as->clients[as->n_clients++] = (struct attach_client_conn){.fd = c, .in = BUF_INIT};
              waiting = false;
            }
          else if (c >= 0)
            close (c);
        }
      for (size_t i = polled; i-- > 0;)
        if (i < as->n_clients && p[2 + i].fd == as->clients[i].fd && p[2 + i].revents
            && client_input (as, &as->clients[i], master) < 0)
          drop_client (as, i);
      if (p[0].revents & POLLOUT || (as->to_pty.len && !waiting))
        flush_to_pty (as, master);
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          char chunk[8192];
          ssize_t got = read (master, chunk, sizeof chunk);
          if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (got <= 0)
            return; /* EIO: every holder of the slave is gone */
          log_writer_chunk (as->log, LOG_STDOUT, chunk, (size_t) got);
          for (size_t i = as->n_clients; i-- > 0;)
            if (send_frame (as->clients[i].fd, 'o', chunk, (size_t) got, CLIENT_WAIT_MS) < 0)
              drop_client (as, i);
        }
    }
}

void
attach_server_close (struct attach_server *as, int exit_code)
{
  if (as->listen_fd < 0)
    return;
  unsigned char code[4] = {(unsigned char) (exit_code >> 24), (unsigned char) (exit_code >> 16),
                           (unsigned char) (exit_code >> 8), (unsigned char) exit_code};
  while (as->n_clients)
    {
      send_frame (as->clients[0].fd, 'x', code, 4, CLIENT_WAIT_MS);
      drop_client (as, 0);
    }
  close (as->listen_fd);
  as->listen_fd = -1;
  buf_free (&as->to_pty);
  _cleanup_buf_ struct buf path = BUF_INIT;
  buf_printf (&path, "%s/attach.sock", as->dir);
  unlink (buf_str (&path));
  free (as->dir);
  as->dir = NULL;
}

/* ---------- the client ---------- */

static void
send_winsize (int sock)
{
  struct winsize ws;
  if (pty_winsize_get (1, &ws) < 0 && pty_winsize_get (0, &ws) < 0)
    return;
  unsigned char p[4] = {(unsigned char) (ws.ws_row >> 8), (unsigned char) ws.ws_row, (unsigned char) (ws.ws_col >> 8),
                        (unsigned char) ws.ws_col};
  send_frame (sock, 'w', p, 4, -1);
}

/* A signal kiln got goes to the container, as docker's --sig-proxy. */
static void
proxy_signal (const char *root, const char *id, int sig)
{
  struct container_state s;
  struct kiln_err ignored = {0};
  if (container_state_get (root, id, &s, &ignored) == 0)
    container_signal (&s, sig, &ignored);
  container_state_clear (&s);
  kiln_err_clear (&ignored);
}

static int
attach_connect (const char *root, const char *id, struct kiln_err *err)
{
  _cleanup_free_ char *dir = container_path (root, id, NULL);
  _cleanup_close_ int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa;
  sock_addr (dfd, &sa);
  if (dfd < 0 || fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      if (fd >= 0)
        close (fd);
      return kiln_err_set (err, ENOENT, "You cannot attach to a stopped container, start it first");
    }
  return fd;
}

int
attach_tty (const char *root, const char *id, const struct attach_opts *o, int *exit_code, bool *detached,
            struct kiln_err *err)
{
  *detached = false;
  *exit_code = 0;
  struct detach_keys keys;
  if (detach_keys_parse (o->detach_keys ? o->detach_keys : PTY_DETACH_KEYS_DEFAULT, &keys, err) < 0)
    return -1;
  _cleanup_close_ int sock = attach_connect (root, id, err);
  if (sock < 0)
    return -1;
  static const int sigs[] = {SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  sigset_t mask, old;
  sigemptyset (&mask);
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    if (sigs[i] == SIGWINCH || o->sig_proxy)
      sigaddset (&mask, sigs[i]);
  sigprocmask (SIG_BLOCK, &mask, &old);
  _cleanup_close_ int sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  struct pty_raw raw = {.fd = 0};
  if (o->stdin && pty_raw_enter (&raw, 0) < 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      return kiln_err_set (err, errno, "setting the terminal to raw mode: %s", strerror (errno));
    }
  send_winsize (sock);
  bool stdin_open = o->stdin, ended = false;
  _cleanup_buf_ struct buf in = BUF_INIT, payload = BUF_INIT, typed = BUF_INIT;
  while (!ended && !*detached)
    {
      struct pollfd p[3] = {{.fd = sock, .events = POLLIN},
                            {.fd = sfd, .events = POLLIN},
                            {.fd = stdin_open ? 0 : -1, .events = POLLIN}};
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[2].revents)
        {
          char chunk[4096];
          ssize_t n = read (0, chunk, sizeof chunk);
          if (n <= 0 && !(n < 0 && errno == EINTR))
            stdin_open = false;
          else if (n > 0)
            {
              buf_reset (&typed);
              if (detach_keys_feed (&keys, chunk, (size_t) n, &typed) == 1)
                *detached = true;
              if (typed.len)
                send_frame (sock, 'i', typed.data, typed.len, -1);
            }
        }
      if (p[1].revents)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) == sizeof si)
            {
              if ((int) si.ssi_signo == SIGWINCH)
                send_winsize (sock);
              else
                proxy_signal (root, id, (int) si.ssi_signo);
            }
        }
      if (p[0].revents)
        {
          char chunk[8192];
          ssize_t n = read (sock, chunk, sizeof chunk);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            {
              /* The monitor went without a word (killed): the state says how it ended. */
              struct container_state s;
              struct kiln_err ignored = {0};
              if (container_state_get (root, id, &s, &ignored) == 0)
                *exit_code = s.exit_code;
              container_state_clear (&s);
              kiln_err_clear (&ignored);
              break;
            }
          buf_append (&in, chunk, (size_t) n);
          char type;
          while (!ended && attach_frame_next (&in, &type, &payload) > 0)
            if (type == 'o')
              {
                struct kiln_err ignored = {0};
                write_all (1, payload.data, payload.len, "stdout", &ignored);
                kiln_err_clear (&ignored);
              }
            else if (type == 'x' && payload.len == 4)
              {
                const unsigned char *c = (const unsigned char *) payload.data;
                *exit_code = (int) ((uint32_t) c[0] << 24 | (uint32_t) c[1] << 16 | (uint32_t) c[2] << 8 | c[3]);
                ended = true;
              }
        }
    }
  pty_raw_leave (&raw);
  sigprocmask (SIG_SETMASK, &old, NULL);
  if (*detached)
    fprintf (stderr, "read escape sequence\n");
  return 0;
}
