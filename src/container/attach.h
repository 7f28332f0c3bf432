/* container/attach.h — a tty container's terminal, shared by its monitor with
 * whoever attaches (`run -t`, `run -it`, `attach`, `start -a -i`).
 *
 * The monitor of a container with Config.Tty holds its pty's master
 * (worker/pty.h) and listens on containers/<id>/attach.sock.  What the command
 * writes goes to the json-file log (stream stdout, as docker's tty containers)
 * and to every attached client; what a client types goes to the pty.  Frames,
 * both ways: a type byte, a 4-byte big-endian length, the bytes:
 *
 *   client → monitor   'i' input    'w' window size (rows, cols: 2 bytes each)
 *   monitor → client   'o' output   'x' the container's exit code (4 bytes): the end
 *
 * A client that takes nothing for 5 s is dropped, never waited for longer: the
 * container and its log go on.  The socket is bound through /proc/self/fd/N/ of the container's
 * directory (a store's path can be longer than sun_path). */
#pragma once
#include <stdbool.h>

#include "container/logs.h"
#include "util/err.h"

#define ATTACH_MAX_CLIENTS 16

struct attach_client_conn
{
  int fd;
  struct buf in; /* an incomplete frame */
};

struct attach_server
{
  int listen_fd; /* -1: not a tty container */
  char *dir;     /* the container's directory (for unlinking the socket) */
  bool wait_first; /* read nothing of the pty until a client came (run -t attaches after the start) */
  struct attach_client_conn clients[ATTACH_MAX_CLIENTS];
  size_t n_clients;
  struct log_writer *log;
  struct buf to_pty; /* typed bytes the pty has not taken yet: clients are not read meanwhile */
};

/* Listens on the container's attach.sock. */
int attach_server_open (struct attach_server *as, const char *root, const char *id, bool wait_first,
                        struct log_writer *log, struct kiln_err *err);
/* Relays `master` until the pty ends (every holder of its slave gone). */
void attach_server_run (struct attach_server *as, int master);
/* The end: tells the clients the exit code, closes everything, removes the socket. */
void attach_server_close (struct attach_server *as, int exit_code);

/* The next whole frame in `b` (its type and payload, consumed): 1; 0 when
 * incomplete; -1 when malformed (a length over 1 MiB). */
int attach_frame_next (struct buf *b, char *type, struct buf *payload);

struct attach_opts
{
  bool stdin;          /* send what is typed (-i) */
  bool sig_proxy;      /* signals kiln gets go to the container (not in raw mode: ^C is a byte then) */
  const char *detach_keys; /* NULL: ctrl-p,ctrl-q */
};

/* Attaches the caller's terminal to tty container `id` until it ends (0 and
 * *exit_code its code) or the detach keys are typed (0, *exit_code 0,
 * *detached, "read escape sequence" on stderr as docker's client says).  The
 * terminal is raw while attached and restored on every way out. */
int attach_tty (const char *root, const char *id, const struct attach_opts *o, int *exit_code, bool *detached,
                struct kiln_err *err);
