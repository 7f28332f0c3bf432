/* worker/pty.h — a container's terminal: the pseudo-terminal made inside the
 * container, handed out as a descriptor, and the caller's terminal around it.
 *
 * The pty is allocated by a process that already sees the container's root and
 * mount namespace (so /dev/ptmx is the container's own devpts instance, mounted
 * `newinstance` by worker/rootfs.c, and the command sees /dev/pts/0): the
 * sandbox's command before its exec, or a process that joined a running
 * container's namespaces (`exec -t`).  It sends the master over a unix socket
 * to whoever relays it (the container's monitor) and makes the slave its
 * controlling terminal and stdio:
 *
 *   in the container                              the monitor
 *   pty_open (&master, &slave)
 *   pty_send_fd (sock, master) ───SCM_RIGHTS───▶  master = pty_recv_fd (sock)
 *   pty_make_controlling (slave, uid)             relays it (container/attach.h)
 *   exec the command
 *
 * The caller's half: raw mode while attached (pty_raw_enter/leave: restored on
 * every way out), window sizes (pty_winsize_*), and docker's detach keys. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <termios.h>

#include "util/buf.h"
#include "util/err.h"

/* Opens a new pty on /dev/ptmx as this process sees it; the slave through
 * TIOCGPTPEER (never a path: the container cannot swap it).  -1 with `why`. */
int pty_open (int *master, int *slave, char *why, size_t why_len);
/* The slave becomes this process's controlling terminal and stdin, stdout and
 * stderr, owned by `uid` (the command's user); a new session. */
int pty_make_controlling (int slave, uid_t uid);

/* One descriptor over a unix socket (SCM_RIGHTS); recv returns -1 when none came. */
int pty_send_fd (int sock, int fd);
int pty_recv_fd (int sock);

/* The caller's terminal in raw mode, as docker's client puts it while attached. */
struct pty_raw
{
  int fd;
  bool active;
  struct termios saved;
};
/* 0 and raw (or 0 and nothing done when `fd` is not a terminal); -1 on failure. */
int pty_raw_enter (struct pty_raw *r, int fd);
void pty_raw_leave (struct pty_raw *r);

/* The size of terminal `fd`; -1 when it is not one. */
int pty_winsize_get (int fd, struct winsize *ws);
/* Sets the pty's size (its foreground process group gets SIGWINCH). */
int pty_winsize_set (int master, const struct winsize *ws);

/* docker's --detach-keys: "ctrl-p,ctrl-q" (the default), "a-z", "ctrl-@".."ctrl-_",
 * "ctrl-a".."ctrl-z", single characters, comma-separated. */
#define PTY_DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"
struct detach_keys
{
  unsigned char seq[16];
  size_t len;
  size_t matched; /* how much of seq the input has typed so far (held back) */
};
int detach_keys_parse (const char *spec, struct detach_keys *k, struct kiln_err *err);
/* Filters typed input into `out`: a started sequence is held back until it is
 * complete (1: detach) or broken (then it goes through with what broke it). */
int detach_keys_feed (struct detach_keys *k, const char *in, size_t n, struct buf *out);
