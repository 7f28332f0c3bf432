/* container/logs.c — writing and reading json-file logs. */
#include "container/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
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

void
log_writer_rotate_at (struct log_writer *w, const char *path, int64_t max_size, int max_files)
{
  free (w->path);
  w->path = max_size > 0 ? xstrdup (path) : NULL;
  w->max_size = max_size;
  w->max_files = max_files < 1 ? 1 : max_files;
  struct stat st;
  w->size = fstat (w->fd, &st) == 0 ? (int64_t) st.st_size : 0;
}

/* Moves the rotated files up one, the log to .1, and starts a new log (docker's
 * rotate(): a failure keeps writing to the old file). */
static void
rotate (struct log_writer *w)
{
  struct buf from = BUF_INIT, to = BUF_INIT;
  if (w->max_files > 1)
    {
      for (int i = w->max_files - 1; i > 1; i--)
        {
          buf_reset (&from);
          buf_reset (&to);
          buf_printf (&from, "%s.%d", w->path, i - 1);
          buf_printf (&to, "%s.%d", w->path, i);
          rename (buf_str (&from), buf_str (&to));
        }
      buf_reset (&to);
      buf_printf (&to, "%s.1", w->path);
      int fd = -1;
      /* the new log takes the old one's descriptor number: whoever opened it keeps a
       * valid descriptor to close */
      if (rename (w->path, buf_str (&to)) == 0
          && (fd = open (w->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) >= 0)
        {
          if (dup3 (fd, w->fd, O_CLOEXEC) >= 0)
            w->size = 0;
          close (fd);
        }
    }
  else if (ftruncate (w->fd, 0) == 0)
    w->size = 0;
  buf_free (&from);
  buf_free (&to);
}

static void
write_entries (struct log_writer *w, const char *data, size_t len)
{
  /* One write a group: a reader sees whole entries or none (it reads only up to the
   * last "\n" anyway).  A log that cannot be written loses the output, never the
   * container. */
  struct kiln_err ignored = {0};
  write_all (w->fd, data, len, "the log", &ignored);
  kiln_err_clear (&ignored);
  w->size += (int64_t) len;
}

static void
put_entries (struct log_writer *w, struct buf *entries)
{
  if (entries->len == 0)
    return;
  const char *p = entries->data, *end = entries->data + entries->len;
  if (w->path)
    {
      /* docker rotates before the message that would pass the size: entry by entry */
      const char *start = p;
      while (p < end)
        {
          const char *nl = memchr (p, '\n', (size_t) (end - p));
          const char *next = nl ? nl + 1 : end;
          int64_t pending = (int64_t) (p - start);
          if (w->size + pending > 0 && w->size + pending + (next - p) > w->max_size)
            {
              if (p > start)
                write_entries (w, start, (size_t) (p - start));
              start = p;
              if (w->size > 0)
                rotate (w);
            }
          p = next;
        }
      p = start;
    }
  if (p < end)
    write_entries (w, p, (size_t) (end - p));
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
log_writer_flush (struct log_writer *w)
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

void
log_writer_finish (struct log_writer *w)
{
  log_writer_flush (w);
  free (w->path);
  w->path = NULL;
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

#define MAX_ROTATED 1000 /* logopts.c's bound on max-file */

/* True when `fd` is the file one of `fds` (or `current`) already reads. */
static bool
seen (int fd, int current, const int *fds, int n)
{
  struct stat a, b;
  if (fstat (fd, &a) < 0)
    return false;
  if (current >= 0 && fstat (current, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
    return true;
  for (int i = 0; i < n; i++)
    if (fstat (fds[i], &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      return true;
  return false;
}

/* The rotated logs that exist, oldest first (<path>.N … <path>.1), opened.  The writer
 * may rotate while they are opened (each file moves up one name): a file met twice, or
 * the log `current` already reads, is opened once, so no entry is printed twice. */
static void
open_rotated (const char *path, int current, int *fds, int *n)
{
  *n = 0;
  int found[MAX_ROTATED];
  int k = 0;
  for (int i = 1; i < MAX_ROTATED; i++)
    {
      struct buf p = BUF_INIT;
      buf_printf (&p, "%s.%d", path, i);
      int fd = open (buf_str (&p), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      buf_free (&p);
      if (fd < 0)
        break;
      if (seen (fd, current, found, k))
        close (fd);
      else
        found[k++] = fd;
    }
  for (int i = k; i-- > 0;)
    fds[(*n)++] = found[i];
}

/* True when `path` is no longer the file `fd` reads (the log was rotated). */
static bool
replaced (const char *path, int fd)
{
  struct stat a, b;
  return fstat (fd, &a) == 0 && (stat (path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

int
logs_print (const char *path, const struct logs_opts *o, FILE *out, FILE *errout, struct kiln_err *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  /* Watched before the first read: nothing written after it is missed.  The directory
   * is watched, so that a rotation (a new file under the name) is seen too. */
  _cleanup_close_ int ino = -1;
  if (o->follow_fd >= 0)
    {
      _cleanup_free_ char *dir = xstrdup (path);
      char *slash = strrchr (dir, '/');
      if (slash)
        *slash = 0;
      ino = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
      if (ino < 0 || inotify_add_watch (ino, slash ? dir : ".", IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
        return kiln_err_set (err, errno, "watching %s: %s", path, strerror (errno));
    }
  if (fd < 0)
    return 0; /* never started: nothing logged */
  int rotated[MAX_ROTATED];
  int nrot = 0;
  if (o->from > 0)
    {
      /* a start's output: what this log got since */
      if (lseek (fd, (off_t) o->from, SEEK_SET) < 0)
        return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
    }
  else
    open_rotated (path, fd, rotated, &nrot);
  long skip = 0;
  if (o->tail >= 0)
    {
      long n = count_lines (fd, (off_t) o->from);
      for (int i = 0; i < nrot; i++)
        n += count_lines (rotated[i], 0);
      skip = n > o->tail ? n - o->tail : 0;
    }
  _cleanup_buf_ struct buf pending = BUF_INIT;
  buf_puts (&pending, "");
  bool ended = false;
  for (int i = 0; i < nrot; i++)
    {
      drain (rotated[i], &pending, &skip, o, out, errout, &ended);
      close (rotated[i]);
      buf_reset (&pending); /* a file ends with a whole entry */
    }
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
      struct stat now;
      if (fstat (fd, &now) == 0 && lseek (fd, 0, SEEK_CUR) > now.st_size)
        {
          /* max-file=1 truncates the log in place: what follows starts at its beginning */
          lseek (fd, 0, SEEK_SET);
          buf_reset (&pending);
        }
      drain (fd, &pending, &skip, o, out, errout, &ended);
      while (!ended && replaced (path, fd))
        {
          /* rotated: the old file is read to its end, then the new one */
          int nfd = open (path, O_RDONLY | O_CLOEXEC);
          if (nfd < 0)
            break;
          drain (fd, &pending, &skip, o, out, errout, &ended);
          close (fd);
          fd = nfd;
          buf_reset (&pending);
          drain (fd, &pending, &skip, o, out, errout, &ended);
        }
      if (p[1].revents || ended)
        return 0; /* the monitor is gone: it wrote everything before it went */
    }
}
