/* worker/relay.h — a command's stdio through pipes, as docker gives a container:
 * the command never holds the caller's own descriptors (a file it could reopen
 * through /proc/self/fd and change, a terminal it could take). */
#pragma once
#include <stddef.h>

struct relay
{
  int in_src;  /* the caller's input, or -1 */
  int in_dst;  /* the write end of the command's stdin pipe, or -1 */
  int out_src; /* read ends of the command's stdout and stderr pipes */
  int err_src;
  int out_dst; /* the caller's stdout and stderr; -1: none (output goes only to on_chunk) */
  int err_dst;
  /* If set, every chunk read from the command's stdout (stream 1) or stderr (2)
   * is handed here too, as it comes (a container's log). */
  void (*on_chunk) (void *ud, int stream, const char *buf, size_t len);
  void *ud;
};

/* Copies until the command's stdout and stderr both end; closes the pipe ends
 * it was given. Input stops at its end (the command then sees end of file) or
 * when the command stops reading. Output the caller no longer takes (EPIPE)
 * closes that pipe, so the command sees EPIPE as it would writing directly. */
void relay_run (struct relay *r);
