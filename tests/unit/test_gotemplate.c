/* Unit tests: util/gotemplate and util/formatter against docker's --format corpus.
 *
 * Each row of $KILN_CONFORMANCE/docker-format/cases.tsv is run as "template over JSON input
 * → expected output": bare templates, the header functions, docker's format preprocessing,
 * Context.Write, the display helpers, and the per-command rows whose fields are the API
 * object's own.  Rows that need a command's computed context (.Size of ps, .RunningFor...)
 * or a Go value JSON cannot hold are skipped only through gotemplate_skip.txt, one reason
 * a line; a skipped row that starts passing is reported so the list can shrink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container/psfmt.h"
#include "image/image.h"
#include "image/imagefmt.h"
#include "container/stats.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/formatter.h"
#include "util/gotemplate.h"

/* ---------- corpus reading */

struct row
{
  int line;
  char *f[8]; /* command template input expected unit options effective source */
};

static char *
unescape (const char *s, size_t n)
{
  struct buf b = BUF_INIT;
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] == '\\' && i + 1 < n)
        {
          char c = s[++i];
          buf_putc (&b, c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c);
        }
      else
        buf_putc (&b, s[i]);
    }
  return buf_steal (&b);
}

static char *
slurp (const char *path)
{
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    return NULL;
  struct buf b = BUF_INIT;
  char tmp[65536];
  size_t n;
  while ((n = fread (tmp, 1, sizeof tmp, f)) > 0)
    buf_append (&b, tmp, n);
  fclose (f);
  return buf_steal (&b);
}

static struct row *
read_rows (size_t *nrows)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/docker-format/cases.tsv", getenv ("KILN_CONFORMANCE"));
  _cleanup_free_ char *text = slurp (path);
  assert_non_null (text);
  struct row *rows = NULL;
  size_t n = 0, cap = 0;
  int line = 0;
  for (char *p = text; *p;)
    {
      char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t) (nl - p) : strlen (p);
      line++;
      if (line > 1 && len > 0)
        {
          rows = xgrow (rows, &cap, n + 1, sizeof *rows);
          struct row *r = &rows[n++];
          memset (r, 0, sizeof *r);
          r->line = line;
          const char *c = p;
          for (int k = 0; k < 8; k++)
            {
              const char *end = memchr (c, '\t', len - (size_t) (c - p));
              size_t fl = end ? (size_t) (end - c) : len - (size_t) (c - p);
              r->f[k] = unescape (c, fl);
              c = end ? end + 1 : p + len;
            }
        }
      p = nl ? nl + 1 : p + len;
    }
  *nrows = n;
  return rows;
}

/* columns.tsv: the header map of a command (field name → title). */
static json_t *
header_map (const char *command)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/docker-format/columns.tsv", getenv ("KILN_CONFORMANCE"));
  _cleanup_free_ char *text = slurp (path);
  assert_non_null (text);
  json_t *h = json_object ();
  for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n"))
    {
      char *cols[5] = {0};
      char *save = NULL;
      int k = 0;
      for (char *c = strtok_r (line, "\t", &save); c && k < 5; c = strtok_r (NULL, "\t", &save))
        cols[k++] = c;
      if (k < 3 || strcmp (cols[0], command) != 0 || cols[1][0] != '.' || strchr (cols[1], ' '))
        continue;
      char *paren = strstr (cols[2], " (");
      if (paren)
        *paren = 0; /* "MEM USAGE / LIMIT (PRIV WORKING SET on Windows)": Linux's */
      json_object_set_new (h, cols[1] + 1, json_string (cols[2]));
    }
  return h;
}

struct skip
{
  int line;
  char *command, *tmpl;
};

static struct skip *
read_skips (size_t *n)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/tests/unit/gotemplate_skip.txt", getenv ("KILN_SOURCE_ROOT"));
  _cleanup_free_ char *text = slurp (path);
  assert_non_null (text);
  struct skip *s = NULL;
  size_t cap = 0;
  *n = 0;
  for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n"))
    {
      if (line[0] == '#')
        continue;
      char *f[4] = {0};
      int k = 0;
      for (char *c = line; c && k < 4; k++)
        {
          f[k] = c;
          c = strchr (c, '\t');
          if (c)
            *c++ = 0;
        }
      assert_true (k == 4 && f[3][0]); /* line, command, template, a reason */
      s = xgrow (s, &cap, *n + 1, sizeof *s);
      s[*n] = (struct skip){atoi (f[0]), xstrdup (f[1]), unescape (f[2], strlen (f[2]))};
      (*n)++;
    }
  return s;
}

/* ---------- running a row */

static json_t *
option (const struct row *r, const char *key)
{
  static json_t *opts;
  json_decref (opts);
  opts = *r->f[5] ? json_loads (r->f[5], 0, NULL) : json_object ();
  return json_object_get (opts, key);
}

/* Copies an input object without the corpus's meta keys (_json_tag, _raw, _header). */
static json_t *
strip_meta (json_t *v)
{
  if (!json_is_object (v))
    return json_incref (v);
  json_t *o = json_object ();
  const char *k;
  json_t *x;
  json_object_foreach (v, k, x)
  if (k[0] != '_')
    json_object_set (o, k, x);
  return o;
}

static bool
lines_json_equal (const char *got, const char *want)
{
  _cleanup_free_ char *g = xstrdup (got), *w = xstrdup (want);
  char *gs = NULL, *ws = NULL;
  char *gl = strtok_r (g, "\n", &gs), *wl = strtok_r (w, "\n", &ws);
  for (; gl && wl; gl = strtok_r (NULL, "\n", &gs), wl = strtok_r (NULL, "\n", &ws))
    {
      json_t *a = json_loads (gl, JSON_DECODE_ANY, NULL), *b = json_loads (wl, JSON_DECODE_ANY, NULL);
      bool eq = a && b && json_equal (a, b);
      json_decref (a);
      json_decref (b);
      if (!eq)
        return false;
    }
  return gl == NULL && wl == NULL;
}

static char *
trim (const char *s)
{
  size_t a = 0, b = strlen (s);
  while (a < b && strchr (" \t\n\r", s[a]))
    a++;
  while (b > a && strchr (" \t\n\r", s[b - 1]))
    b--;
  return xstrndup (s + a, b - a);
}

/* Compares as the row's unit says; on a mismatch fills `why`. */
static bool
judge (const struct row *r, const char *got, const char *errmsg, char *why, size_t cap)
{
  const char *unit = r->f[4], *want = r->f[3];
  bool ok;
  if (strcmp (unit, "error") == 0)
    {
      json_t *contains = option (r, "error_contains");
      if (contains)
        ok = errmsg && strstr (errmsg, json_string_value (contains)) && strcmp (got, want) == 0;
      else if (*want)
        ok = errmsg && strcmp (errmsg, want) == 0;
      else
        ok = errmsg && *got == 0;
    }
  else if (strcmp (unit, "error-prefix") == 0)
    ok = errmsg && strncmp (errmsg, "template parsing error", 22) == 0;
  else if (errmsg)
    ok = false;
  else if (strcmp (unit, "json-lines") == 0)
    ok = lines_json_equal (got, want);
  else if (strcmp (unit, "output-trimmed") == 0)
    {
      _cleanup_free_ char *a = trim (got), *b = trim (want);
      ok = strcmp (a, b) == 0;
    }
  else
    ok = strcmp (got, want) == 0;
  if (!ok)
    snprintf (why, cap, "got [%s] err [%s], want [%s]", got, errmsg ? errmsg : "", want);
  return ok;
}

/* A bare template over one value (templates.Parse + Execute). */
static void
run_template (const struct row *r, json_t *in, bool header, struct buf *out, struct kiln_err *err)
{
  _cleanup_gotemplate_ struct gotemplate *t = gotemplate_parse (r->f[1], strlen (r->f[1]), err);
  if (t == NULL)
    return;
  struct gotemplate_opts o = {.header_funcs = header};
  gotemplate_exec (t, in, &o, out, err);
}

static int64_t now;

/* "now-24h" and friends as Unix seconds; an input's relative "Created" becomes absolute. */
static void
absolute_times (json_t *v, int64_t *created)
{
  json_t *list = json_is_array (v) ? v : NULL;
  for (size_t i = 0; i < (list ? json_array_size (list) : 1); i++)
    {
      json_t *e = list ? json_array_get (list, i) : v;
      const char *c = json_string_value (json_object_get (e, "Created"));
      if (c == NULL || strncmp (c, "now", 3) != 0)
        continue;
      int64_t t = now;
      if (c[3] == '-')
        {
          char *unit;
          long n = strtol (c + 4, &unit, 10);
          t -= n * (*unit == 's' ? 1 : *unit == 'h' ? 3600 : *unit == 'y' ? 365 * 86400 : 0);
        }
      json_object_set_new (e, "Created", json_integer (t));
      *created = t;
    }
}

/* `kiln images`: docker's Summary objects through image/imagefmt, as the command does. */
/* docker's stats context: the raw StatsEntry fields through container/stats's
 * row builder (Linux's columns). */
static void
run_stats (const struct row *r, json_t *in, struct buf *out, struct kiln_err *err)
{
  bool trunc = json_is_true (option (r, "trunc"));
  _cleanup_json_ json_t *rows = json_array ();
  if (json_is_array (in))
    for (size_t i = 0; i < json_array_size (in); i++)
      json_array_append_new (rows, stats_row (json_array_get (in, i), trunc));
  else
    json_array_append_new (rows, stats_row (in, trunc));
  if (strcmp (r->f[4], "field") == 0)
    {
      _cleanup_gotemplate_ struct gotemplate *t = gotemplate_parse (r->f[1], strlen (r->f[1]), err);
      if (t)
        gotemplate_exec (t, json_array_get (rows, 0), NULL, out, err);
      return;
    }
  struct formatter f;
  if (formatter_init (&f, r->f[1], err) < 0)
    return;
  _cleanup_json_ json_t *header = stats_header ();
  formatter_write (&f, rows, header, NULL, out, err);
  formatter_clear (&f);
}

static void
run_images (const struct row *r, json_t *in, struct buf *out, struct kiln_err *err)
{
  json_t *trunc = option (r, "trunc");
  struct imagefmt_opts o = {.trunc = trunc ? json_is_true (trunc) : true, .digest = json_is_true (option (r, "digest")),
                            .now = now};
  if (strcmp (r->f[4], "field") == 0)
    {
      const char *repo = json_string_value (json_object_get (in, "_repo"));
      const char *tag = json_string_value (json_object_get (in, "_tag"));
      const char *digest = json_string_value (json_object_get (in, "_digest"));
      _cleanup_json_ json_t *row = imagefmt_context (in, repo ? repo : "", tag ? tag : "", digest ? digest : "", &o);
      _cleanup_gotemplate_ struct gotemplate *t = gotemplate_parse (r->f[1], strlen (r->f[1]), err);
      if (t)
        gotemplate_exec (t, row, NULL, out, err);
      return;
    }
  _cleanup_free_ char *format = imagefmt_format (r->f[1], json_is_true (option (r, "quiet")), o.digest);
  if (*r->f[6] && strcmp (format, r->f[6]) != 0)
    {
      kiln_err_set (err, KILN_EINVAL, "NewImageFormat gave [%s], docker [%s]", format, r->f[6]);
      return;
    }
  o.digest = imagefmt_need_digest (format, o.digest);
  _cleanup_json_ json_t *rows = json_array ();
  for (size_t i = 0; i < json_array_size (in); i++)
    imagefmt_rows (json_array_get (in, i), &o, rows);
  _cleanup_json_ json_t *header = imagefmt_header ();
  struct formatter f;
  if (formatter_init (&f, format, err) < 0)
    return;
  formatter_write (&f, rows, header, NULL, out, err);
  formatter_clear (&f);
}

/* `kiln ps`: docker's container Summary objects through container/psfmt, as the command does. */
static void
run_ps (const struct row *r, json_t *in, struct buf *out, struct kiln_err *err)
{
  json_t *trunc = option (r, "trunc");
  struct psfmt_opts o = {.trunc = trunc ? json_is_true (trunc) : true, .now = now};
  const struct gotemplate_opts go = {.root_type = PSFMT_TYPE, .methods = psfmt_methods};
  if (strcmp (r->f[4], "field") == 0)
    {
      _cleanup_json_ json_t *row = psfmt_context (in, &o);
      _cleanup_gotemplate_ struct gotemplate *t = gotemplate_parse (r->f[1], strlen (r->f[1]), err);
      if (t)
        gotemplate_exec (t, row, &go, out, err);
      return;
    }
  _cleanup_free_ char *format
      = psfmt_format (r->f[1], json_is_true (option (r, "quiet")), json_is_true (option (r, "size")));
  if (*r->f[6] && strcmp (format, r->f[6]) != 0)
    {
      kiln_err_set (err, KILN_EINVAL, "NewContainerFormat gave [%s], docker [%s]", format, r->f[6]);
      return;
    }
  _cleanup_json_ json_t *rows = json_array ();
  for (size_t i = 0; i < json_array_size (in); i++)
    json_array_append_new (rows, psfmt_context (json_array_get (in, i), &o));
  _cleanup_json_ json_t *header = psfmt_header ();
  struct formatter f;
  if (formatter_init (&f, format, err) < 0)
    return;
  formatter_write (&f, rows, header, &go, out, err);
  formatter_clear (&f);
}

/* Replaces ${CREATED_AT} and ${ZERO_TIME} in an expected output. */
static char *
expand_times (const char *want, int64_t created)
{
  char at[64], zero[64];
  format_go_time (created, at);
  format_go_time (-62135596800LL, zero);
  struct buf b = BUF_INIT;
  for (const char *p = want; *p;)
    if (strncmp (p, "${CREATED_AT}", 13) == 0)
      buf_puts (&b, at), p += 13;
    else if (strncmp (p, "${ZERO_TIME}", 12) == 0)
      buf_puts (&b, zero), p += 12;
    else
      buf_putc (&b, *p++);
  return buf_steal (&b);
}

/* A command's rows: its format (as New*Format expanded it) over the API objects. */
static void
run_command (const struct row *r, json_t *in, struct buf *out, struct kiln_err *err)
{
  const char *format = *r->f[6] ? r->f[6] : r->f[1];
  if (strcmp (r->f[0], "inspect") == 0)
    {
      json_t *elems = json_array ();
      json_t *list = json_is_array (in) ? in : NULL;
      for (size_t i = 0; i < (list ? json_array_size (list) : 1); i++)
        {
          json_t *e = list ? json_array_get (list, i) : in;
          json_t *raw = json_object_get (e, "_raw");
          /* docker's test element is struct{ DNS string `json:"Dns"` }; some rows name the tag */
          const char *tag = json_string_value (json_object_get (e, "_json_tag"));
          if (tag == NULL && json_object_get (e, "DNS"))
            tag = "Dns";
          json_t *v;
          if (json_is_string (raw))
            v = json_loads (json_string_value (raw), 0, NULL);
          else if (raw)
            v = json_incref (raw);
          else
            {
              v = strip_meta (e);
              /* the typed struct marshals under its json tag; its template sees the Go name */
              if (tag && (*format == 0 || strcmp (format, "json") == 0))
                {
                  const char *k = json_object_iter_key (json_object_iter (v));
                  json_t *x = json_incref (json_object_get (v, k));
                  json_object_del (v, k);
                  json_object_set_new (v, tag, x);
                }
            }
          json_array_append_new (elems, v);
        }
      formatter_inspect (format, elems, out, err);
      json_decref (elems);
      return;
    }
  if (strcmp (r->f[0], "images") == 0)
    return run_images (r, in, out, err);
  if (strcmp (r->f[0], "ps") == 0)
    return run_ps (r, in, out, err);
  _cleanup_json_ json_t *windows = json_string ("windows");
  if (strcmp (r->f[0], "stats") == 0 && !json_equal (option (r, "os"), windows))
    {
      run_stats (r, in, out, err);
      return;
    }
  if (strcmp (r->f[4], "field") == 0)
    {
      _cleanup_gotemplate_ struct gotemplate *t = gotemplate_parse (format, strlen (format), err);
      if (t)
        gotemplate_exec (t, in, NULL, out, err);
      return;
    }
  struct formatter f;
  if (formatter_init (&f, format, err) < 0)
    return;
  _cleanup_json_ json_t *rows = json_is_array (in) ? json_incref (in) : json_pack ("[O]", in);
  _cleanup_json_ json_t *header = header_map (r->f[0]);
  formatter_write (&f, rows, header, NULL, out, err);
  formatter_clear (&f);
}

static bool
run_row (const struct row *r0, char *why, size_t cap)
{
  const struct row *r = r0;
  const char *cmd = r->f[0];
  _cleanup_buf_ struct buf out = BUF_INIT;
  struct kiln_err err = {0};
  if (strcmp (cmd, "format-preprocess") == 0)
    {
      bool table, json;
      _cleanup_free_ char *s = formatter_template_string (r->f[1], &table, &json);
      bool ok = strcmp (s, r->f[3]) == 0 && table == json_is_true (option (r, "IsTable"))
                && json == json_is_true (option (r, "IsJSON"));
      if (!ok)
        snprintf (why, cap, "got [%s] table %d json %d", s, table, json);
      return ok;
    }
  json_error_t je;
  _cleanup_json_ json_t *in = json_loads (r->f[2], JSON_DECODE_ANY, &je);
  if (in == NULL)
    {
      snprintf (why, cap, "input is not JSON: %s", je.text);
      return false;
    }
  int64_t created = now;
  absolute_times (in, &created);
  _cleanup_free_ char *want = expand_times (r->f[3], created);
  struct row rr = *r;
  rr.f[3] = want;
  r = &rr;
  if (strcmp (cmd, "helper:TruncateID") == 0)
    {
      _cleanup_free_ char *s = formatter_truncate_id (json_string_value (json_object_get (in, "id")));
      buf_puts (&out, s);
    }
  else if (strcmp (cmd, "helper:Ellipsis") == 0)
    {
      _cleanup_free_ char *s = formatter_ellipsis (json_string_value (json_object_get (in, "source")),
                                                   (int) json_integer_value (json_object_get (in, "width")));
      buf_puts (&out, s);
    }
  else if (strcmp (cmd, "template") == 0 || strcmp (cmd, "template(header)") == 0)
    run_template (r, in, strcmp (cmd, "template(header)") == 0, &out, &err);
  else if (strcmp (cmd, "formatter") == 0)
    {
      struct formatter f;
      if (formatter_init (&f, r->f[1], &err) == 0)
        {
          _cleanup_json_ json_t *rows = json_pack ("[o]", strip_meta (in));
          formatter_write (&f, rows, json_object_get (in, "_header"), NULL, &out, &err);
          formatter_clear (&f);
        }
    }
  else
    run_command (r, in, &out, &err);
  bool ok = judge (r, buf_str (&out), err.msg, why, cap);
  kiln_err_clear (&err);
  return ok;
}

static void
corpus (void **state)
{
  size_t nrows, nskips;
  now = (int64_t) time (NULL);
  struct row *rows = read_rows (&nrows);
  struct skip *skips = read_skips (&nskips);
  int ran = 0, passed = 0, skipped = 0, failed = 0, stale = 0;
  for (size_t i = 0; i < nrows; i++)
    {
      const struct row *r = &rows[i];
      const struct skip *sk = NULL;
      for (size_t k = 0; k < nskips; k++)
        if (skips[k].line == r->line)
          sk = &skips[k];
      if (sk && (strcmp (sk->command, r->f[0]) != 0 || strcmp (sk->tmpl, r->f[1]) != 0))
        {
          printf ("skip list line for cases.tsv:%d names %s %s, the corpus has %s %s\n", r->line, sk->command,
                  sk->tmpl, r->f[0], r->f[1]);
          failed++;
          continue;
        }
      char why[4096] = "";
      bool ok = run_row (r, why, sizeof why);
      if (sk)
        {
          skipped++;
          if (ok)
            {
              printf ("cases.tsv:%d (%s %s) passes now: drop it from gotemplate_skip.txt\n", r->line, r->f[0], r->f[1]);
              stale++;
            }
          continue;
        }
      ran++;
      if (ok)
        passed++;
      else
        {
          failed++;
          printf ("cases.tsv:%d %s %s (%s): %s\n", r->line, r->f[0], r->f[1], r->f[7], why);
        }
    }
  printf ("docker-format corpus: %d rows ran, %d passed, %d skipped (gotemplate_skip.txt)%s\n", ran, passed,
          skipped, stale ? ", some skipped rows pass now" : "");
  for (size_t i = 0; i < nrows; i++)
    for (int k = 0; k < 8; k++)
      free (rows[i].f[k]);
  free (rows);
  for (size_t k = 0; k < nskips; k++)
    {
      free (skips[k].command);
      free (skips[k].tmpl);
    }
  free (skips);
  assert_int_equal (failed, 0);
}

/* ---------- engine cases beyond the corpus */

static char *
render (const char *tmpl, const char *data, const struct gotemplate_opts *o, char **errmsg)
{
  struct kiln_err err = {0};
  _cleanup_json_ json_t *in = data ? json_loads (data, JSON_DECODE_ANY, NULL) : NULL;
  _cleanup_gotemplate_ struct gotemplate *t = gotemplate_parse (tmpl, strlen (tmpl), &err);
  struct buf out = BUF_INIT;
  if (t)
    gotemplate_exec (t, in, o, &out, &err);
  *errmsg = err.msg ? xstrdup (err.msg) : NULL;
  kiln_err_clear (&err);
  return buf_steal (&out);
}

#define EXPECT(tmpl, data, want)                                                                   \
  do                                                                                               \
    {                                                                                              \
      char *e_;                                                                                    \
      char *g_ = render (tmpl, data, NULL, &e_);                                                   \
      if (e_)                                                                                      \
        printf ("%s: %s\n", tmpl, e_);                                                             \
      assert_null (e_);                                                                            \
      assert_string_equal (g_, want);                                                              \
      free (g_);                                                                                   \
    }                                                                                              \
  while (0)

#define EXPECT_ERR(tmpl, data, opts, want)                                                         \
  do                                                                                               \
    {                                                                                              \
      char *e_;                                                                                    \
      char *g_ = render (tmpl, data, opts, &e_);                                                   \
      assert_non_null (e_);                                                                        \
      assert_string_equal (e_, want);                                                              \
      free (e_);                                                                                   \
      free (g_);                                                                                   \
    }                                                                                              \
  while (0)

static void
values_print_as_go (void **state)
{
  EXPECT ("{{.A}} {{.B.C}} {{.N}} {{.F}} {{.M}} {{.L}} {{.X}}",
          "{\"A\":\"x\",\"B\":{\"C\":1},\"N\":null,\"F\":1.5,\"M\":{\"b\":[1,\"x\",null],\"a\":true},\"L\":[1,2]}",
          "x 1 <nil> 1.5 map[a:true b:[1 x <nil>]] [1 2] <no value>");
  EXPECT ("{{1e6}} {{0.0001}} {{1e-5}} {{0x10}} {{'a'}} {{1.0}}", NULL, "1e+06 0.0001 1e-05 16 97 1");
  EXPECT ("{{json .}}", "{\"b\":\"<&>\",\"a\":[0.5,1e21,\"\\u2028\"]}", "{\"a\":[0.5,1e+21,\"\\u2028\"],\"b\":\"<&>\"}");
}

static void
control_structures (void **state)
{
  EXPECT ("{{range $i, $e := .L}}{{$i}}={{$e}},{{end}}|{{if eq .A \"y\"}}y{{else if .A}}a{{else}}no{{end}}",
          "{\"A\":\"x\",\"L\":[\"a\",\"b\"]}", "0=a,1=b,|a");
  EXPECT ("{{range $k, $v := .}}{{$k}}:{{$v}} {{end}}", "{\"b\":2,\"a\":1}", "a:1 b:2 ");
  EXPECT ("{{range .}}x{{else}}empty{{end}} {{range 3}}{{.}}{{end}}", "[]", "empty 012");
  EXPECT ("{{$x := 0}}{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{$x = .}}{{end}}{{$x}}",
          "[1,2,3,4,5]", "3");
  EXPECT ("{{with .A}}{{.B}}{{else with .C}}c{{else}}none{{end}}", "{\"C\":1}", "c");
  EXPECT ("{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" .A}}{{block \"B\" .A}}[{{.}}]{{end}}", "{\"A\":\"x\"}",
          "<x>[x]");
  EXPECT ("a  {{- /* c */ -}}  b {{- 3 -}} c", NULL, "ab3c");
  EXPECT ("{{.A | printf \"%s!\"}} {{(.B).C}} {{or .Z \"d\"}} {{and 1 0}} {{not .Z}} {{len .B}} {{index .B \"C\"}}",
          "{\"A\":\"x\",\"B\":{\"C\":2}}", "x! 2 d 0 true 1 2");
  EXPECT ("{{index .L 1}} {{slice .S 1 3}} {{index .Labels \"none\"}}|{{index .Null \"k\"}}|",
          "{\"L\":[\"a\",\"b\"],\"S\":\"hello\",\"Labels\":{\"a\":\"b\"},\"Null\":null}", "b el ||");
}

static void
functions_as_go_and_docker (void **state)
{
  EXPECT ("{{printf \"%c|%x|%X|%o|%q|%U|%t|%e|%g|%08.3f|%+d|%d|%5s|%-5s|%v\" 65 255 \"hi\" 8 \"q\" 0x1F600 true "
          "1234.5678 1e20 3.14159 5 \"s\" \"ab\" \"cd\" .}}",
          "[1]", "A|ff|6869|10|\"q\"|U+1F600|true|1.234568e+03|1e+20|0003.142|+5|%!d(string=s)|   ab|cd   |[1]");
  EXPECT ("{{printf \"%d %s\" 1}} {{printf \"%d\" 1 2}}", NULL, "1 %!s(MISSING) 1%!(EXTRA int=2)");
  EXPECT ("{{print 1 2 \"a\" 3}} {{println \"a\" 1}}", NULL, "1 2a3 a 1\n");
  EXPECT ("{{title \"hello world-foo_bar\"}} {{upper \"abc\"}} {{lower \"ÀB\"}} {{split \"a:b:c\" \":\"}} [{{pad \"x\" 2 1}}]",
          NULL, "Hello World-Foo_bar ABC àb [a b c] [  x ]");
  EXPECT ("{{join .L \",\"}} {{join .M \"+\"}} {{truncate \"abcdef\" 3}}", "{\"L\":[1,\"a\",true],\"M\":{\"x\":\"b\",\"y\":\"a\"}}",
          "1,a,true a+b abc");
  EXPECT ("{{html \"<a href='x'>\"}} {{js \"it's <b>\"}} {{urlquery \"a b&c\"}}", NULL,
          "&lt;a href=&#39;x&#39;&gt; it\\'s \\u003Cb\\u003E a+b%26c");
  EXPECT ("{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2.5}} {{ne .N nil}} {{eq .N nil}}", "{\"N\":null}",
          "true true true false false true");
}

static void
errors_read_as_go (void **state)
{
  const struct gotemplate_opts strict = {.missingkey = GT_MISSING_ERROR};
  const struct gotemplate_opts ctx = {.root_type = "*formatter.ContainerContext"};
  EXPECT_ERR ("{{.Foo}}", "{}", &strict, "template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\"");
  EXPECT_ERR ("{{.Foo}}", "{}", &ctx,
              "template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext");
  EXPECT_ERR ("x\n {{.A.B}}", "{\"A\":\"s\"}", NULL,
              "template: :2:3: executing \"\" at <.A.B>: can't evaluate field B in type string");
  EXPECT_ERR ("{{truncate .}}", "\"s\"", NULL,
              "template: :1:2: executing \"\" at <truncate>: wrong number of args for truncate: want 2 got 1");
  EXPECT_ERR ("{{len 3}}", NULL, NULL, "template: :1:2: executing \"\" at <len 3>: error calling len: len of type int");
  EXPECT_ERR ("{{range \"s\"}}{{end}}", NULL, NULL,
              "template: :1:8: executing \"\" at <{{range \"s\"}}{{end}}>: range can't iterate over s");
  EXPECT_ERR ("{{.A}", NULL, NULL, "template: :1: bad character U+007D '}'");
  EXPECT_ERR ("{{if .A}}", NULL, NULL, "template: :1: unexpected EOF");
  EXPECT_ERR ("{{end}}", NULL, NULL, "template: :1: unexpected {{end}}");
  EXPECT_ERR ("{{$x}}", NULL, NULL, "template: :1: undefined variable \"$x\"");
  EXPECT_ERR ("{{}}", NULL, NULL, "template: :1: missing value for command");
  EXPECT_ERR ("{{.A | 3}}", NULL, NULL, "template: :1: non executable command in pipeline stage 2");
  EXPECT_ERR ("a\n{{\"x}}", NULL, NULL, "template: :2: unterminated quoted string");
  EXPECT_ERR ("{{break}}", NULL, NULL, "template: :1: {{break}} outside {{range}}");
  EXPECT_ERR ("{{/* x }}", NULL, NULL, "template: :1: unclosed comment");
}

static void
hostile_templates_are_bounded (void **state)
{
  /* nesting */
  struct buf t = BUF_INIT;
  for (int i = 0; i < 500; i++)
    buf_puts (&t, "{{if 1}}");
  char *e;
  free (render (buf_str (&t), NULL, NULL, &e));
  assert_non_null (e);
  assert_non_null (strstr (e, "max expression depth exceeded"));
  free (e);
  buf_reset (&t);
  buf_puts (&t, "{{");
  for (int i = 0; i < 500; i++)
    buf_putc (&t, '(');
  buf_putc (&t, '1');
  for (int i = 0; i < 500; i++)
    buf_putc (&t, ')');
  buf_puts (&t, "}}");
  free (render (buf_str (&t), NULL, NULL, &e));
  assert_non_null (e);
  free (e);
  buf_free (&t);
  /* steps, output, recursion */
  const struct gotemplate_opts small = {.max_steps = 10000, .max_output = 1000};
  free (render ("{{range 100000000}}{{end}}", NULL, &small, &e));
  assert_non_null (strstr (e, "too long"));
  free (e);
  free (render ("{{range 100000}}xxxxxxxxxx{{end}}", NULL, &small, &e));
  assert_non_null (strstr (e, "output exceeds"));
  free (e);
  free (render ("{{pad \"x\" 100000000 0}}", NULL, &small, &e));
  assert_non_null (e);
  free (e);
  free (render ("{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}", NULL, NULL, &e));
  assert_non_null (strstr (e, "exceeded maximum template depth"));
  free (e);
}

/* The --format lines of docker-shapes/errors-and-formats.txt, over the fields they read
 * from docker's inspect JSON; the outputs are docker 20.10's. */
static void
docker_shapes_inspect_formats (void **state)
{
  const char *web = "{\"State\":{\"ExitCode\":0,\"Status\":\"running\",\"Health\":null},\"RestartCount\":0,"
                    "\"Name\":\"/shp-web\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"on-failure\"}},"
                    "\"NetworkSettings\":{\"Ports\":{\"81/udp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"18301\"}],"
                    "\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"18300\"}]}},"
                    "\"Config\":{\"Labels\":{\"tier\":\"front\"},\"Cmd\":[\"sh\",\"-c\",\"exec httpd -f -p 80\"],"
                    "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"wget -q -O /dev/null http://127.0.0.1:80/ || exit 1\"],"
                    "\"Interval\":1000000000,\"StartPeriod\":2000000000,\"Retries\":3}}}";
  EXPECT ("{{.State.ExitCode}} {{.State.Status}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}", web,
          "0 running 0 on-failure");
  EXPECT ("{{range $p, $conf := .NetworkSettings.Ports}}{{$p}}={{(index $conf 0).HostPort}} {{end}}", web,
          "80/tcp=18300 81/udp=18301 ");
  EXPECT ("{{index .Config.Labels \"tier\"}} {{join .Config.Cmd \",\"}} {{upper .Name}} {{json .Config.Healthcheck}}", web,
          "front sh,-c,exec httpd -f -p 80 /SHP-WEB {\"Interval\":1000000000,\"Retries\":3,\"StartPeriod\":2000000000,"
          "\"Test\":[\"CMD-SHELL\",\"wget -q -O /dev/null http://127.0.0.1:80/ || exit 1\"]}");
  /* a container without a healthcheck: docker's typed struct prints a nil pointer */
  EXPECT ("{{.State.Health}}", web, "<nil>");
  /* docker ps --format 'table {{.Names}}\t{{.Status}}' */
  struct formatter f;
  struct kiln_err err = {0};
  assert_int_equal (formatter_init (&f, "table {{.Names}}\\t{{.Status}}", &err), 0);
  _cleanup_json_ json_t *rows = json_pack ("[{s:s, s:s}]", "Names", "shp-web", "Status", "Up 14 seconds (healthy)");
  _cleanup_json_ json_t *header = json_pack ("{s:s, s:s}", "Names", "NAMES", "Status", "STATUS");
  struct buf out = BUF_INIT;
  assert_int_equal (formatter_write (&f, rows, header, NULL, &out, &err), 0);
  assert_string_equal (buf_str (&out), "NAMES     STATUS\nshp-web   Up 14 seconds (healthy)\n");
  buf_free (&out);
  formatter_clear (&f);
}

static void
tabwriter_aligns_as_docker (void **state)
{
  struct buf out = BUF_INIT;
  const char *in = "A\tBB\tC\nlonger-than-ten\tx\ty\nsolo\nz\t\tw\n";
  formatter_tabwrite (&out, in, strlen (in));
  /* a column is as wide as its widest cell plus 3, and at least 10; "solo" ends the block */
  assert_string_equal (buf_str (&out), "A" "                 " "BB" "        " "C\n"
                                       "longer-than-ten" "   " "x" "         " "y\n"
                                       "solo\n"
                                       "z" "         " "          " "w\n");
  buf_free (&out);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (corpus),
    cmocka_unit_test (values_print_as_go),
    cmocka_unit_test (control_structures),
    cmocka_unit_test (functions_as_go_and_docker),
    cmocka_unit_test (errors_read_as_go),
    cmocka_unit_test (hostile_templates_are_bounded),
    cmocka_unit_test (docker_shapes_inspect_formats),
    cmocka_unit_test (tabwriter_aligns_as_docker),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
