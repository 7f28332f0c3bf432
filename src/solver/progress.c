/* solver/progress.c — what the build prints.  Plain progress: BuildKit's `#N`
 * lines.  Otherwise (`--progress rawjson`, and the terminal view, which reads the
 * same lines from a pipe: solver/ttyview.h) events as BuildKit's SolveStatus JSON,
 * one object a line: vertexes {digest, name, started, completed, cached, error},
 * statuses (a step's notes: downloads, cache-miss explanations), logs (a RUN's
 * output, base64) and warnings (the rest). */
#include "solver/builder.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/crypto_lazy.h"
#include "util/fsutil.h"

/* An event line stays under PIPE_BUF, so that lines of the graph's children
 * written to one pipe never interleave: long texts are cut to this. */
#define EVENT_TEXT_MAX 512

static void
ts_now (char out[static 40])
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  format_rfc3339_nano ((int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec, out);
}

static json_t *
text_cut (const char *s, size_t len)
{
  if (len > EVENT_TEXT_MAX)
    {
      len = EVENT_TEXT_MAX;
      while (len > 0 && ((unsigned char) s[len] & 0xC0) == 0x80)
        len--;
    }
  json_t *j = json_stringn (s, len);
  if (j == NULL)
    {
      /* Not UTF-8 (a step's binary output): its other bytes become '?'. */
      _cleanup_free_ char *c = xstrndup (s, len);
      for (char *p = c; *p; p++)
        if ((unsigned char) *p >= 0x80)
          *p = '?';
      j = json_string (c);
    }
  return j;
}

static json_t *
base64_of (const char *s, size_t len)
{
  _cleanup_free_ char *b64 = xcalloc (4 * ((len + 2) / 3) + 1, 1);
  kiln_crypto ()->encode_block ((unsigned char *) b64, (const unsigned char *) s, (int) len);
  return json_string (b64);
}

/* One event: a line on the events fd (or held with a probe walk's output). */
static void
emit (struct builder *b, const char *field, json_t *item)
{
  _cleanup_json_ json_t *st = json_pack ("{s:[o]}", field, item);
  _cleanup_free_ char *s = json_dumps (st, JSON_COMPACT);
  if (s == NULL)
    return;
  if (b->probing)
    {
      buf_printf (&b->probe_out, "%s\n", s);
      return;
    }
  size_t len = strlen (s);
  s[len] = '\n'; /* the terminating NUL: one write, one line */
  struct kiln_err e = {0};
  write_all (b->events_fd, s, len + 1, "progress", &e);
  kiln_err_clear (&e);
}

static json_t *
vertex_json (const struct builder *b)
{
  return json_pack ("{s:s, s:o, s:s}", "digest", b->vtx, "name", text_cut (b->vtx_name ? b->vtx_name : "", strlen (b->vtx_name ? b->vtx_name : "")),
                    "started", b->vtx_started);
}

/* ---------- steps ---------- */

void
step_start (struct builder *b, const char *label)
{
  if (b->quiet)
    return;
  if (b->events_fd < 0)
    {
      say (b, "#%d %s\n", b->step, label);
      return;
    }
  /* The step's vertex: named by its number and text, the same in every process. */
  _cleanup_buf_ struct buf id = BUF_INIT;
  buf_printf (&id, "kiln step %d\n%s", b->step, label);
  struct digest d;
  digest_bytes (id.data, id.len, &d);
  memcpy (b->vtx, d.str, sizeof b->vtx);
  free (b->vtx_name);
  b->vtx_name = xstrdup (label);
  ts_now (b->vtx_started);
  emit (b, "vertexes", vertex_json (b));
}

void
step_end (struct builder *b, bool cached, double secs, bool announce)
{
  if (b->quiet)
    return;
  if (b->events_fd < 0)
    {
      if (announce)
        say (b, cached ? "#%d CACHED\n" : "#%d DONE %.1fs\n", b->step, secs);
      return;
    }
  json_t *v = vertex_json (b);
  char t[40];
  ts_now (t);
  json_object_set_new (v, "completed", json_string (t));
  if (cached)
    json_object_set_new (v, "cached", json_true ());
  emit (b, "vertexes", v);
}

void
step_error (struct builder *b, const char *msg)
{
  if (b->quiet || b->events_fd < 0 || b->vtx_name == NULL)
    return;
  json_t *v = vertex_json (b);
  char t[40];
  ts_now (t);
  json_object_set_new (v, "completed", json_string (t));
  json_object_set_new (v, "error", text_cut (msg, strlen (msg)));
  emit (b, "vertexes", v);
}

void __attribute__ ((format (printf, 2, 3)))
step_status (struct builder *b, const char *fmt, ...)
{
  if (b->quiet)
    return;
  va_list ap;
  va_start (ap, fmt);
  char *text = NULL;
  int n = vasprintf (&text, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if (b->events_fd < 0)
    say (b, "#%d %s\n", b->step, text);
  else
    {
      char t[40];
      ts_now (t);
      json_t *name = text_cut (text, (size_t) n);
      emit (b, "statuses",
            json_pack ("{s:O, s:s, s:o, s:s, s:s, s:s}", "id", name, "vertex", b->vtx, "name", name, "timestamp", t,
                       "started", t, "completed", t));
    }
  free (text);
}

/* ---------- RUN output ---------- */

void
on_output (void *arg, const char *line, size_t len)
{
  struct output_reader *r = arg;
  size_t slot = r->n_tail % TAIL_LINES;
  free (r->tail[slot]);
  r->tail[slot] = xstrndup (line, len);
  r->n_tail++;
  if (r->b->quiet)
    return;
  if (r->b->events_fd >= 0)
    {
      char t[40];
      ts_now (t);
      _cleanup_buf_ struct buf data = BUF_INIT;
      buf_append (&data, line, len < 2 * EVENT_TEXT_MAX ? len : 2 * EVENT_TEXT_MAX);
      buf_putc (&data, '\n');
      emit (r->b, "logs",
            json_pack ("{s:s, s:i, s:o, s:s}", "vertex", r->b->vtx, "stream", 1, "data", base64_of (data.data, data.len),
                       "timestamp", t));
      return;
    }
  fprintf (stderr, "#%d %.3f %.*s\n", r->step, now_s () - r->start, (int) len, line);
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
  char *line = NULL;
  int n = vasprintf (&line, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if (b->events_fd >= 0)
    /* Not a step's: a warning of the build (level 1), as BuildKit sends them. */
    emit (b, "warnings", json_pack ("{s:i, s:o}", "level", 1, "short", base64_of (line, (size_t) n)));
  else if (b->probing)
    buf_puts (&b->probe_out, line);
  else
    fputs (line, stderr);
  free (line);
  fflush (stderr);
}

/* The probe walk's held output, now that it is the build's. */
void
probe_output_flush (struct builder *b)
{
  if (b->events_fd >= 0)
    {
      struct kiln_err e = {0};
      write_all (b->events_fd, b->probe_out.data, b->probe_out.len, "progress", &e);
      kiln_err_clear (&e);
    }
  else
    {
      fputs (buf_str (&b->probe_out), stderr);
      fflush (stderr);
    }
}

double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
