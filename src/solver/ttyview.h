/* solver/ttyview.h — the terminal view of a build (`--progress tty`, or auto on a
 * terminal): BuildKit's shape, every step of every stage at once.
 *
 *   [+] Building 3.2s (8/8) FINISHED
 *    => [stage-0 1/3] FROM busybox                                       0.0s
 *    => CACHED [stage-0 2/3] COPY a /a                                   0.0s
 *    => [stage-0 3/3] RUN make                                           1.1s
 *    => => cache miss: build arg V changed: "1" -> "2"
 *    => => # the last lines of a running step's output
 *
 * It is fed the build's progress events, BuildKit's SolveStatus JSON one object a
 * line (the same lines `--progress rawjson` prints): the build and its graph's
 * children write them to a pipe, a renderer process (ttyview_start) draws them.
 * The state and the frame are plain functions of the lines fed and a clock, for
 * tests. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

/* How many lines of a running step's output the view shows. */
#define TTYVIEW_LOG_LINES 6

struct ttyview;

struct ttyview *ttyview_new (void);
void ttyview_free (struct ttyview *v);
/* One SolveStatus line, seen at `now` (seconds, any monotonic clock).  Lines that
 * do not parse are ignored (the view is a convenience, never a failure). */
void ttyview_feed (struct ttyview *v, const char *line, size_t len, double now);
/* The frame at `now`, each line cut to cols - 1 columns; with max_lines > 0, the
 * header and the last max_lines - 1 lines.  Returns the number of lines. */
int ttyview_render (const struct ttyview *v, double now, int cols, int max_lines, bool finished, struct buf *out);

/* The renderer process, drawing on stderr: *fd is the pipe to write event lines
 * to (inherited by the build's children).  ttyview_stop sends the end, waits
 * for the final frame, and closes the pipe. */
int ttyview_start (int *fd, pid_t *pid, struct kiln_err *err);
void ttyview_stop (int fd, pid_t pid);
