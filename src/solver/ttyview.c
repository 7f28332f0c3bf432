/* solver/ttyview.c — the terminal view: SolveStatus lines in, frames out
 * (solver/ttyview.h). */
#include "solver/ttyview.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/crypto_lazy.h"

struct tv_item
{
  char *digest; /* NULL: a message line (a warning, a note) */
  char *name;
  double started, completed; /* < 0: not yet */
  bool cached;
  char *error;
  struct strv statuses;
  char *log[TTYVIEW_LOG_LINES];
  size_t n_log;
};

struct ttyview
{
  struct tv_item *items;
  size_t n, cap;
  double first, last; /* when the first and the last line came */
};

struct ttyview *
ttyview_new (void)
{
  struct ttyview *v = xcalloc (1, sizeof *v);
  v->first = -1;
  return v;
}

void
ttyview_free (struct ttyview *v)
{
  if (v == NULL)
    return;
  for (size_t i = 0; i < v->n; i++)
    {
      struct tv_item *it = &v->items[i];
      free (it->digest);
      free (it->name);
      free (it->error);
      strv_free (&it->statuses);
      for (size_t k = 0; k < TTYVIEW_LOG_LINES; k++)
        free (it->log[k]);
    }
  free (v->items);
  free (v);
}

static struct tv_item *
item_add (struct ttyview *v)
{
  v->items = xgrow (v->items, &v->cap, v->n + 1, sizeof *v->items);
  struct tv_item *it = &v->items[v->n++];
  memset (it, 0, sizeof *it);
  it->started = it->completed = -1;
  return it;
}

static struct tv_item *
vertex_of (struct ttyview *v, const char *digest, bool add)
{
  for (size_t i = 0; digest && i < v->n; i++)
    if (v->items[i].digest && strcmp (v->items[i].digest, digest) == 0)
      return &v->items[i];
  if (!add || digest == NULL)
    return NULL;
  struct tv_item *it = item_add (v);
  it->digest = xstrdup (digest);
  return it;
}

/* Base64 (BuildKit's encoding of log data and warnings) to text. */
static char *
unbase64 (const char *b64)
{
  if (b64 == NULL)
    return NULL;
  size_t n = strlen (b64);
  unsigned char *raw = xcalloc (n / 4 * 3 + 4, 1);
  int got = kiln_crypto ()->decode_block (raw, (const unsigned char *) b64, (int) n);
  if (got < 0)
    {
      free (raw);
      return NULL;
    }
  while (n > 0 && b64[n - 1] == '=' && got > 0)
    n--, got--;
  raw[got] = '\0';
  return (char *) raw;
}

static void
log_push (struct tv_item *it, const char *line, size_t len)
{
  size_t slot = it->n_log % TTYVIEW_LOG_LINES;
  free (it->log[slot]);
  it->log[slot] = xstrndup (line, len);
  it->n_log++;
}

void
ttyview_feed (struct ttyview *v, const char *line, size_t len, double now)
{
  _cleanup_json_ json_t *j = json_loadb (line, len, 0, NULL);
  if (!json_is_object (j))
    return;
  if (v->first < 0)
    v->first = now;
  v->last = now;
  size_t i;
  json_t *x;
  json_array_foreach (json_object_get (j, "vertexes"), i, x)
  {
    struct tv_item *it = vertex_of (v, json_string_value (json_object_get (x, "digest")), true);
    if (it == NULL)
      continue;
    const char *name = json_string_value (json_object_get (x, "name"));
    if (name && (it->name == NULL || strcmp (it->name, name) != 0))
      {
        free (it->name);
        it->name = xstrdup (name);
      }
    if (json_object_get (x, "started") && it->started < 0)
      it->started = now;
    if (json_object_get (x, "completed") && it->completed < 0)
      it->completed = now;
    it->cached = it->cached || json_is_true (json_object_get (x, "cached"));
    const char *e = json_string_value (json_object_get (x, "error"));
    if (e && *e && it->error == NULL)
      it->error = xstrdup (e);
  }
  json_array_foreach (json_object_get (j, "statuses"), i, x)
  {
    struct tv_item *it = vertex_of (v, json_string_value (json_object_get (x, "vertex")), false);
    const char *name = json_string_value (json_object_get (x, "name"));
    if (it && name)
      strv_push (&it->statuses, name);
  }
  json_array_foreach (json_object_get (j, "logs"), i, x)
  {
    struct tv_item *it = vertex_of (v, json_string_value (json_object_get (x, "vertex")), false);
    _cleanup_free_ char *data = unbase64 (json_string_value (json_object_get (x, "data")));
    if (it == NULL || data == NULL)
      continue;
    for (char *p = data, *nl; *p; p = nl ? nl + 1 : p + strlen (p))
      {
        nl = strchr (p, '\n');
        log_push (it, p, nl ? (size_t) (nl - p) : strlen (p));
        if (nl == NULL)
          break;
      }
  }
  json_array_foreach (json_object_get (j, "warnings"), i, x)
  {
    char *text = unbase64 (json_string_value (json_object_get (x, "short")));
    if (text == NULL)
      continue;
    size_t tl = strlen (text);
    while (tl > 0 && text[tl - 1] == '\n')
      text[--tl] = '\0';
    item_add (v)->name = text;
  }
}

/* Appends at most `room` columns of s: control characters (a step's own escape
 * sequences) become '?', a UTF-8 sequence is one column and never cut. */
static size_t
put_cut (struct buf *out, const char *s, size_t room)
{
  size_t cols = 0;
  for (const unsigned char *p = (const unsigned char *) s; *p && cols < room; cols++)
    {
      if (*p < 0x20 || *p == 0x7f)
        {
          buf_putc (out, '?');
          p++;
          continue;
        }
      size_t n = 1;
      while ((p[n] & 0xC0) == 0x80)
        n++;
      buf_append (out, p, n);
      p += n;
    }
  return cols;
}

static void
line_end (struct strv *lines, struct buf *l)
{
  strv_push (lines, buf_str (l));
  buf_reset (l);
}

int
ttyview_render (const struct ttyview *v, double now, int cols, int max_lines, bool finished, struct buf *out)
{
  size_t width = cols > 20 ? (size_t) cols - 1 : 19;
  size_t done = 0, total = 0;
  for (size_t i = 0; i < v->n; i++)
    if (v->items[i].digest)
      {
        total++;
        done += v->items[i].completed >= 0;
      }
  double elapsed = v->first < 0 ? 0 : (finished ? v->last : now) - v->first;
  if (elapsed < 0)
    elapsed = 0;
  _cleanup_strv_ struct strv lines = STRV_INIT;
  _cleanup_buf_ struct buf l = BUF_INIT;
  for (size_t i = 0; i < v->n; i++)
    {
      const struct tv_item *it = &v->items[i];
      if (it->digest == NULL)
        {
          put_cut (&l, it->name ? it->name : "", width);
          line_end (&lines, &l);
          continue;
        }
      bool running = it->completed < 0;
      char t[32] = "";
      if (it->started >= 0)
        snprintf (t, sizeof t, "%.1fs", (running ? (finished ? v->last : now) : it->completed) - it->started);
      const char *mark = it->error ? "ERROR " : it->cached ? "CACHED " : "";
      size_t head = 4 + strlen (mark);
      size_t room = width > head + strlen (t) + 1 ? width - head - strlen (t) - 1 : 1;
      buf_puts (&l, " => ");
      buf_puts (&l, it->error ? "\033[31mERROR\033[0m " : it->cached ? "\033[34mCACHED\033[0m " : "");
      size_t used = head + put_cut (&l, it->name ? it->name : it->digest, room);
      while (used + strlen (t) < width)
        buf_putc (&l, ' '), used++;
      buf_puts (&l, t);
      line_end (&lines, &l);
      for (size_t k = 0; k < it->statuses.n; k++)
        {
          bool miss = strncmp (it->statuses.v[k], "cache miss:", 11) == 0;
          buf_puts (&l, miss ? " => => \033[33m" : " => => ");
          put_cut (&l, it->statuses.v[k], width > 7 ? width - 7 : 1);
          if (miss)
            buf_puts (&l, "\033[0m");
          line_end (&lines, &l);
        }
      if ((running && !finished) || it->error)
        {
          size_t first = it->n_log > TTYVIEW_LOG_LINES ? it->n_log - TTYVIEW_LOG_LINES : 0;
          for (size_t k = first; k < it->n_log; k++)
            {
              buf_puts (&l, "\033[2m => => # ");
              put_cut (&l, it->log[k % TTYVIEW_LOG_LINES], width > 11 ? width - 11 : 1);
              buf_puts (&l, "\033[0m");
              line_end (&lines, &l);
            }
        }
    }
  buf_printf (out, "[+] Building %.1fs (%zu/%zu)%s\n", elapsed, done, total, finished ? " FINISHED" : "");
  size_t first = 0;
  if (max_lines > 0 && lines.n + 1 > (size_t) max_lines)
    first = lines.n + 1 - (size_t) max_lines;
  for (size_t i = first; i < lines.n; i++)
    buf_printf (out, "%s\n", lines.v[i]);
  return (int) (lines.n - first + 1);
}

/* ---------- the renderer process ---------- */

static double
mono_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

#define END_LINE "{\"kiln\":\"end\"}"

static int shown_lines;

static void
draw (const struct ttyview *v, bool finished)
{
  struct winsize ws;
  int cols = 80, rows = 24;
  if (ioctl (STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    {
      cols = ws.ws_col;
      rows = ws.ws_row > 2 ? ws.ws_row : 24;
    }
  _cleanup_buf_ struct buf out = BUF_INIT;
  if (shown_lines > 0)
    buf_printf (&out, "\033[%dA\r\033[J", shown_lines);
  /* While it runs, no taller than the terminal (the cursor cannot go up past it);
   * the final frame whole, scrolling as it needs. */
  shown_lines = ttyview_render (v, mono_now (), cols, finished ? 0 : rows - 1, finished, &out);
  for (size_t off = 0; off < out.len;)
    {
      ssize_t w = write (STDERR_FILENO, out.data + off, out.len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        break;
      off += (size_t) w;
    }
}

static _Noreturn void
renderer (int fd)
{
  /* Ctrl-C reaches the whole process group: the build stops cleanly and sends
   * the end; the view stays to draw the last frame. */
  signal (SIGINT, SIG_IGN);
  signal (SIGTERM, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  struct ttyview *v = ttyview_new ();
  struct buf in = BUF_INIT;
  bool done = false;
  double last = 0;
  while (!done)
    {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      int r = poll (&p, 1, 100);
      if (r > 0)
        {
          char chunk[8192];
          ssize_t n = read (fd, chunk, sizeof chunk);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            done = true;
          else
            buf_append (&in, chunk, (size_t) n);
          size_t start = 0;
          for (char *nl; (nl = memchr (in.data + start, '\n', in.len - start)) != NULL;)
            {
              size_t len = (size_t) (nl - (in.data + start));
              if (len == strlen (END_LINE) && memcmp (in.data + start, END_LINE, len) == 0)
                done = true;
              else
                ttyview_feed (v, in.data + start, len, mono_now ());
              start += len + 1;
            }
          memmove (in.data, in.data + start, in.len - start);
          in.len -= start;
        }
      double now = mono_now ();
      if (done || now - last >= 0.1)
        {
          draw (v, done);
          last = now;
        }
    }
  _exit (0);
}

int
ttyview_start (int *fd, pid_t *pid, struct kiln_err *err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "the progress view's pipe: %s", strerror (errno));
  fflush (stderr);
  pid_t c = fork ();
  if (c < 0)
    {
      int saved = errno;
      close (p[0]);
      close (p[1]);
      return kiln_err_set (err, saved, "fork: %s", strerror (saved));
    }
  if (c == 0)
    {
      close (p[1]);
      renderer (p[0]);
    }
  close (p[0]);
  *fd = p[1];
  *pid = c;
  return 0;
}

void
ttyview_stop (int fd, pid_t pid)
{
  if (fd < 0)
    return;
  static const char end[] = END_LINE "\n";
  ssize_t w;
  do
    w = write (fd, end, sizeof end - 1);
  while (w < 0 && errno == EINTR);
  close (fd);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}
