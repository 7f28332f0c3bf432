/* container/logs.h — a container's output in docker's json-file format.
 *
 * containers/<id>/<id>-json.log holds one JSON object a line, as docker's
 * json-file driver writes it:
 *
 *   {"log":"out\n","stream":"stdout","time":"2026-12-01T13:04:00.848472841Z"}
 *
 * A line of output is one entry (its "\n" kept); a line longer than 16 KiB is cut
 * into entries without one, and so is what a stream leaves unterminated at its
 * end.  The monitor appends; readers only read, and read only whole lines. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/err.h"

#define LOG_STDOUT 1
#define LOG_STDERR 2

/* One entry as docker writes it (its escaping: <, > and & as \u003c…, invalid
 * UTF-8 as \ufffd), "\n" included. */
void log_entry_format (struct buf *out, const char *line, size_t len, int stream, int64_t ns);

struct log_writer
{
  int fd;              /* the log, O_APPEND */
  struct buf part[2];  /* the unterminated end of stdout and stderr */
  char *path;          /* for rotation: the log's path; NULL: never rotated */
  int64_t max_size;    /* rotate before a write would pass it */
  int max_files;       /* files kept: the log and .1 … .N-1 (1: emptied instead) */
  int64_t size;        /* the log's size now */
};

void log_writer_init (struct log_writer *w, int fd);
/* docker's json-file rotation (--log-opt max-size, max-file): before a write that
 * would make the log at `path` pass `max_size`, <path>.N-2 becomes .N-1 … the log
 * becomes .1, and a new log is started (with max_files 1 the log is emptied).  Rotation
 * is between entries: a reader sees whole entries in each file. */
void log_writer_rotate_at (struct log_writer *w, const char *path, int64_t max_size, int max_files);
/* Output of `stream` as it came: whole lines become entries, the rest waits. */
void log_writer_chunk (struct log_writer *w, int stream, const char *buf, size_t len);
/* The end of one run's output (a restart policy's runs share the writer): what
 * waits becomes entries too. */
void log_writer_flush (struct log_writer *w);
/* The end of output: flushed, and the buffers freed. */
void log_writer_finish (struct log_writer *w);

struct log_entry
{
  char *log;
  size_t len;
  int stream;
  char *time;   /* as written */
  char *attrs;  /* docker's "attrs" as --details prints them ("k=v,k2=v2", sorted); "" */
};

/* Parses one line of the file; -1 if it is not an entry. */
int log_entry_parse (const char *line, size_t len, struct log_entry *e);
void log_entry_clear (struct log_entry *e);

struct logs_opts
{
  long tail;        /* the last N entries; -1: all */
  bool timestamps;  /* "2026-12-01T13:04:00.848449686Z " before each (9 digits, as docker's -t) */
  long long from;   /* the byte offset to start at (a start's output: the size before it) */
  int follow_fd;    /* >= 0: after the end, follow the file until this descriptor is
                       readable (a pidfd of the container's monitor); inotify, no polling */
  int64_t since;    /* ns: only entries written at or after it; 0: all */
  int64_t until;    /* ns: only entries written at or before it (a later one ends the
                       output, following too); 0: no end */
  bool details;     /* docker's --details: each line after its attributes ("k=v,k2=v2 ",
                       a lone space when it has none) */
};

/* Prints the log at `path`, after its rotated files (<path>.N … <path>.1, oldest
 * first): stdout entries to `out`, stderr entries to `errout`.  Following survives a
 * rotation (the directory is watched; a new log is opened when the old one is read). */
int logs_print (const char *path, const struct logs_opts *o, FILE *out, FILE *errout, struct kiln_err *err);
