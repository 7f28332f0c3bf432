/* registry/progress.c — per-layer transfer lines, plain or redrawn on a terminal. */
#include "registry/progress.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "util/buf.h"

struct xfer_view
{
  FILE *out;
  bool tty;
  size_t n;
  char (*ids)[13];
  char (*lines)[160];
  bool *bar_shown;   /* each item's first bar is drawn whatever the rate limit */
  size_t drawn;      /* lines on screen from the last redraw */
  double last_draw;
  pthread_mutex_t lock;
};

static double
mono_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

struct xfer_view *
xfer_view_new (FILE *out, size_t n, char (*ids)[13])
{
  struct xfer_view *v = xcalloc (1, sizeof *v);
  v->out = out;
  const char *term = getenv ("TERM");
  v->tty = out && isatty (fileno (out)) && !(term && strcmp (term, "dumb") == 0);
  v->n = n;
  v->ids = xcalloc (n ? n : 1, sizeof *v->ids);
  memcpy (v->ids, ids, n * sizeof *ids);
  v->lines = xcalloc (n ? n : 1, sizeof *v->lines);
  v->bar_shown = xcalloc (n ? n : 1, sizeof *v->bar_shown);
  pthread_mutex_init (&v->lock, NULL);
  return v;
}

/* Called with the lock held. */
static void
redraw (struct xfer_view *v)
{
  if (v->drawn)
    fprintf (v->out, "\033[%zuA", v->drawn);
  for (size_t i = 0; i < v->n; i++)
    fprintf (v->out, "\r\033[K%s: %s\n", v->ids[i], v->lines[i]);
  v->drawn = v->n;
  fflush (v->out);
  v->last_draw = mono_now ();
}

void
xfer_view_status (struct xfer_view *v, size_t i, const char *status)
{
  if (v == NULL || v->out == NULL || i >= v->n)
    return;
  pthread_mutex_lock (&v->lock);
  snprintf (v->lines[i], sizeof v->lines[i], "%s", status);
  if (v->tty)
    redraw (v);
  else
    {
      fprintf (v->out, "%s: %s\n", v->ids[i], status);
      fflush (v->out);
    }
  pthread_mutex_unlock (&v->lock);
}

void
xfer_view_transient (struct xfer_view *v, size_t i, const char *status)
{
  if (v && v->tty)
    xfer_view_status (v, i, status);
}

void
xfer_view_bytes (struct xfer_view *v, size_t i, const char *verb, uint64_t done, int64_t total)
{
  if (v == NULL || !v->tty || i >= v->n)
    return;
  pthread_mutex_lock (&v->lock);
  char d[32], t[32];
  format_size (done, d);
  if (total > 0)
    {
      char bar[51];
      size_t fill = (size_t) ((double) done / (double) total * 50.0);
      if (fill > 50)
        fill = 50;
      for (size_t k = 0; k < 50; k++)
        bar[k] = k < fill ? '=' : k == fill ? '>' : ' ';
      bar[50] = '\0';
      format_size ((uint64_t) total, t);
      snprintf (v->lines[i], sizeof v->lines[i], "%s [%s] %s/%s", verb, bar, d, t);
    }
  else
    snprintf (v->lines[i], sizeof v->lines[i], "%s %s", verb, d);
  if (!v->bar_shown[i] || mono_now () - v->last_draw >= 0.1)
    redraw (v);
  v->bar_shown[i] = true;
  pthread_mutex_unlock (&v->lock);
}

void
xfer_view_free (struct xfer_view *v)
{
  if (v == NULL)
    return;
  if (v->tty && v->n)
    redraw (v);
  pthread_mutex_destroy (&v->lock);
  free (v->ids);
  free (v->lines);
  free (v->bar_shown);
  free (v);
}
