/* container/logs.c — writing and reading json-file logs. */
#include "container/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "container/state.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/utf8.h"

#define LOG_LINE_MAX (16 * 1024) /* docker's copier cuts longer lines into parts */

void
log_entry_format (struct buf *out, const char *line, size_t len, int stream, int64_t ns)
{
  char t[40];
  format_rfc3339_nano (ns, t);
  buf_puts (out, "{\"log\":");
  utf8_json_string (out, line, len, true); /* docker's ffjson jsonlog writer */
  buf_printf (out, ",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream == LOG_STDERR ? "stderr" : "stdout", t);
}

void
log_writer_init (struct log_writer *w, int fd)
{
  memset (w, 0, sizeof *w);
  w->fd = fd;
}

static void
put_entries (struct log_writer *w, struct buf *entries)
{
  if (entries->len == 0)
    return;
  /* One write a chunk: a reader sees whole entries or none (it reads only up
   * to the last "\n" anyway). A log that cannot be written loses the output,
   * never the container. */
  struct kiln_err ignored = {0};
  write_all (w->fd, entries->data, entries->len, "the log", &ignored);
  kiln_err_clear (&ignored);
  buf_reset (entries);
}

void
log_writer_chunk (struct log_writer *w, int stream, const char *buf, size_t len)
{
  struct buf *part = &w->part[stream == LOG_STDERR];
  _cleanup_buf_ struct buf entries = BUF_INIT;
  int64_t now = container_now ();
  while (len > 0)
    {
      size_t room = LOG_LINE_MAX - part->len; /* >= 1: a full part is written at once */
      size_t look = len < room ? len : room;
      const char *nl = memchr (buf, '\n', look);
      size_t take = nl ? (size_t) (nl - buf) + 1 : look;
      buf_append (part, buf, take);
      buf += take;
      len -= take;
      if (nl || part->len >= LOG_LINE_MAX)
        {
          log_entry_format (&entries, part->data, part->len, stream, now);
          buf_reset (part);
        }
    }
  put_entries (w, &entries);
}

void
log_writer_finish (struct log_writer *w)
{
  _cleanup_buf_ struct buf entries = BUF_INIT;
  int64_t now = container_now ();
  for (int k = 0; k < 2; k++)
    if (w->part[k].len)
      log_entry_format (&entries, w->part[k].data, w->part[k].len, k + 1, now);
  put_entries (w, &entries);
  buf_free (&w->part[0]);
  buf_free (&w->part[1]);
}

int
log_entry_parse (const char *line, size_t len, struct log_entry *e)
{
  memset (e, 0, sizeof *e);
  json_t *j = json_loadb (line, len, JSON_ALLOW_NUL, NULL);
  json_t *log = json_object_get (j, "log");
  const char *stream = json_string_value (json_object_get (j, "stream"));
  const char *t = json_string_value (json_object_get (j, "time"));
  if (!json_is_string (log) || stream == NULL || t == NULL)
    {
      json_decref (j);
      return -1;
    }
  e->len = json_string_length (log);
  e->log = xmalloc (e->len + 1);
  memcpy (e->log, json_string_value (log), e->len + 1);
  e->stream = strcmp (stream, "stderr") == 0 ? LOG_STDERR : LOG_STDOUT;
  e->time = xstrdup (t);
  _cleanup_strv_ struct strv kv = STRV_INIT;
  const char *k;
  json_t *v;
  json_object_foreach (json_object_get (j, "attrs"), k, v)
  {
    struct buf b = BUF_INIT;
    buf_printf (&b, "%s=%s", k, json_string_value (v) ? json_string_value (v) : "");
    strv_push_owned (&kv, buf_steal (&b));
  }
  strv_sort (&kv);
  struct buf a = BUF_INIT;
  buf_puts (&a, "");
  for (size_t i = 0; i < kv.n; i++)
    buf_printf (&a, "%s%s", i ? "," : "", kv.v[i]);
  e->attrs = buf_steal (&a);
  json_decref (j);
  return 0;
}

void
log_entry_clear (struct log_entry *e)
{
  free (e->log);
  free (e->time);
  free (e->attrs);
  memset (e, 0, sizeof *e);
}

/* Prints the whole lines of `data` (the rest stays for the next call); skips the
 * first `*skip` entries; sets *ended at an entry past --until. Returns the bytes
 * consumed. */
static size_t
print_lines (const char *data, size_t len, long *skip, const struct logs_opts *o, FILE *out, FILE *errout,
             bool *ended)
{
  size_t done = 0;
  for (;;)
    {
      if (*ended)
        return len;
      const char *nl = memchr (data + done, '\n', len - done);
      if (nl == NULL)
        return done;
      size_t n = (size_t) (nl - (data + done));
      struct log_entry e;
      if (log_entry_parse (data + done, n, &e) == 0)
        {
          int64_t ns = parse_rfc3339_nano (e.time);
          if (*skip > 0)
            (*skip)--;
          else if (o->until > 0 && ns > o->until)
            *ended = true;
          else if (o->since <= 0 || ns >= o->since)
            {
              FILE *to = e.stream == LOG_STDERR ? errout : out;
              if (o->timestamps)
                {
                  /* docker's -t: RFC 3339 with all nine digits. */
                  char secs[32];
                  format_rfc3339 (ns / 1000000000, secs);
                  secs[strlen (secs) - 1] = '\0';
                  fprintf (to, "%s.%09ldZ ", secs, (long) (ns % 1000000000));
                }
              if (o->details)
                fprintf (to, "%s ", e.attrs);
              fwrite (e.log, 1, e.len, to);
            }
          log_entry_clear (&e);
        }
      done += n + 1;
    }
}

/* Reads what `fd` has from its position to its end into `pending` and prints it. */
static void
drain (int fd, struct buf *pending, long *skip, const struct logs_opts *o, FILE *out, FILE *errout, bool *ended)
{
  char chunk[65536];
  ssize_t got;
  while ((got = read (fd, chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR))
    {
      if (got < 0)
        continue;
      buf_append (pending, chunk, (size_t) got);
      size_t used = print_lines (pending->data, pending->len, skip, o, out, errout, ended);
      memmove (pending->data, pending->data + used, pending->len - used);
      pending->len -= used;
      pending->data[pending->len] = '\0';
    }
  fflush (out);
  fflush (errout);
}

/* The number of whole entries in the file (for --tail). */
static long
count_lines (int fd, off_t start)
{
  char chunk[65536];
  ssize_t got;
  long n = 0;
  while ((got = read (fd, chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR))
    for (ssize_t i = 0; i < got; i++)
      n += chunk[i] == '\n';
  lseek (fd, start, SEEK_SET);
  return n;
}

int
logs_print (const char *path, const struct logs_opts *o, FILE *out, FILE *errout, struct kiln_err *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  /* Watched before the first read: nothing written after it is missed. */
  _cleanup_close_ int ino = -1;
  if (o->follow_fd >= 0)
    {
      ino = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
      if (ino < 0 || inotify_add_watch (ino, path, IN_MODIFY) < 0)
        return kiln_err_set (err, errno, "watching %s: %s", path, strerror (errno));
    }
  if (fd < 0)
    return 0; /* never started: nothing logged */
  if (o->from > 0 && lseek (fd, (off_t) o->from, SEEK_SET) < 0)
    return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  long skip = 0;
  if (o->tail >= 0)
    {
      long n = count_lines (fd, (off_t) o->from);
      skip = n > o->tail ? n - o->tail : 0;
    }
  _cleanup_buf_ struct buf pending = BUF_INIT;
  buf_puts (&pending, "");
  bool ended = false;
  drain (fd, &pending, &skip, o, out, errout, &ended);
  if (o->follow_fd < 0 || ended)
    return 0;
  for (;;)
    {
      struct pollfd p[2] = {{.fd = ino, .events = POLLIN}, {.fd = o->follow_fd, .events = POLLIN}};
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return kiln_err_set (err, errno, "poll: %s", strerror (errno));
        }
      if (p[0].revents & POLLIN)
        {
          char ev[4096];
          while (read (ino, ev, sizeof ev) > 0)
            ;
        }
      drain (fd, &pending, &skip, o, out, errout, &ended);
      if (p[1].revents || ended)
        return 0; /* the monitor is gone: it wrote everything before it went */
    }
}
