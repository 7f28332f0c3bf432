/* solver/progress.c — what the build prints: step lines, and a RUN step's output
 * (plain `#N t line`, or a rolling window on a terminal). */
#include "solver/builder.h"

#include <string.h>

/* ---------- RUN output ---------- */

/* How many lines of a running step the live view shows. */
#define WINDOW_LINES 6

void
window_clear (struct output_reader *r)
{
  if (r->shown > 0)
    fprintf (stderr, "\033[%dA\033[J", r->shown);
  r->shown = 0;
}

/* One output line in the window: control characters (a step's own escape
 * sequences, carriage returns) would move the cursor under the view, so they
 * become '?'; cut to the terminal's width so that one line stays one row. */
static void
window_line (const struct output_reader *r, const char *line, double t)
{
  char head[32];
  int hl = snprintf (head, sizeof head, "  %5.1fs | ", t);
  size_t room = r->cols > hl + 1 ? (size_t) (r->cols - hl - 1) : 1;
  size_t len = strlen (line);
  if (len > room)
    {
      len = room;
      while (len > 0 && ((unsigned char) line[len] & 0xC0) == 0x80)
        len--; /* not inside a UTF-8 sequence */
    }
  fprintf (stderr, "\033[2m%s", head);
  for (size_t i = 0; i < len; i++)
    fputc ((unsigned char) line[i] < 0x20 || line[i] == 0x7f ? '?' : line[i], stderr);
  fputs ("\033[0m\n", stderr);
}

void
on_output (void *arg, const char *line, size_t len)
{
  struct output_reader *r = arg;
  size_t slot = r->n_tail % TAIL_LINES;
  free (r->tail[slot]);
  r->tail[slot] = xstrndup (line, len);
  r->n_tail++;
  if (r->quiet)
    return;
  double t = now_s () - r->start;
  if (r->tty)
    {
      window_clear (r);
      size_t first = r->n_tail > WINDOW_LINES ? r->n_tail - WINDOW_LINES : 0;
      for (size_t k = first; k < r->n_tail; k++)
        window_line (r, r->tail[k % TAIL_LINES], t);
      r->shown = (int) (r->n_tail - first);
    }
  else
    fprintf (stderr, "#%d %.3f %.*s\n", r->step, t, (int) len, line);
  fflush (stderr);
}

/* ---------- output ---------- */

void __attribute__ ((format (printf, 2, 3)))
say (struct builder *b, const char *fmt, ...)
{
  if (b->quiet)
    return;
  va_list ap;
  va_start (ap, fmt);
  if (b->probing)
    {
      char *line = NULL;
      if (vasprintf (&line, fmt, ap) >= 0)
        buf_puts (&b->probe_out, line);
      free (line);
    }
  else
    vfprintf (stderr, fmt, ap);
  va_end (ap);
  fflush (stderr);
}

double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
