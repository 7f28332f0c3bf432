/* util/formatter.c — docker's Format and Context.Write, and Go's text/tabwriter. */
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/formatter.h"
#include "util/jsonutil.h"
#include "util/utf8.h"

#define TABLE_KEY "table"
#define TAB_MINWIDTH 10
#define TAB_PADDING 3

char *
formatter_template_string (const char *format, bool *is_table, bool *is_json)
{
  size_t n = strlen (format);
  size_t a = 0, b = n;
  while (a < b && rune_is_space ((unsigned char) format[a]))
    a++;
  while (b > a && rune_is_space ((unsigned char) format[b - 1]))
    b--;
  bool json = b - a == 4 && memcmp (format + a, "json", 4) == 0;
  bool table = strncmp (format, TABLE_KEY, strlen (TABLE_KEY)) == 0;
  if (is_table)
    *is_table = table;
  if (is_json)
    *is_json = json;
  if (json)
    return xstrdup ("{{json .}}");
  const char *s = table ? format + strlen (TABLE_KEY) : format;
  n = strlen (s);
  while (n > 0 && s[0] == ' ')
    s++, n--;
  while (n > 0 && s[n - 1] == ' ')
    n--;
  struct buf out = BUF_INIT;
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 't' || s[i + 1] == 'n'))
        {
          buf_putc (&out, s[i + 1] == 't' ? '\t' : '\n');
          i++;
        }
      else
        buf_putc (&out, s[i]);
    }
  return buf_steal (&out);
}

int
formatter_init (struct formatter *f, const char *format, struct kiln_err *err)
{
  memset (f, 0, sizeof *f);
  f->text = formatter_template_string (format, &f->table, &f->json);
  f->tmpl = gotemplate_parse (f->text, strlen (f->text), err);
  if (f->tmpl == NULL)
    {
      err->code = KILN_EINVAL;
      kiln_err_wrap (err, "template parsing error");
      formatter_clear (f);
      return -1;
    }
  return 0;
}

void
formatter_clear (struct formatter *f)
{
  gotemplate_free (f->tmpl);
  free (f->text);
  memset (f, 0, sizeof *f);
}

int
formatter_write (const struct formatter *f, json_t *rows, json_t *header, const struct gotemplate_opts *opts,
                 struct buf *out, struct kiln_err *err)
{
  static const struct gotemplate_opts none = {0};
  if (opts == NULL)
    opts = &none;
  _cleanup_buf_ struct buf body = BUF_INIT;
  for (size_t i = 0; i < json_array_size (rows); i++)
    {
      if (gotemplate_exec (f->tmpl, json_array_get (rows, i), opts, &body, err) < 0)
        return kiln_err_wrap (err, "template parsing error");
      buf_putc (&body, '\n');
    }
  if (!f->table)
    {
      buf_append (out, body.data ? body.data : "", body.len);
      return 0;
    }
  /* The header row: the titles through the same template, with the stubs that keep a title
   * whole; docker ignores its errors and keeps what was written. */
  struct gotemplate_opts ho = *opts;
  ho.header_funcs = true;
  ho.root_type = NULL;
  ho.methods = NULL;
  ho.missingkey = GT_MISSING_DEFAULT;
  _cleanup_buf_ struct buf all = BUF_INIT;
  _cleanup_json_ json_t *empty = header ? NULL : json_object ();
  struct kiln_err herr = {0};
  gotemplate_exec (f->tmpl, header ? header : empty, &ho, &all, &herr);
  kiln_err_clear (&herr);
  buf_putc (&all, '\n');
  buf_append (&all, body.data ? body.data : "", body.len);
  formatter_tabwrite (out, all.data, all.len);
  return 0;
}

int
formatter_inspect (const char *format, json_t *elements, struct buf *out, struct kiln_err *err)
{
  return formatter_inspect_typed (format, elements, NULL, out, err);
}

/* The fields of docker's inspect structs (containers, images, networks, volumes)
 * whose type is a Go map: encoding/json sorts their keys; every other object is a
 * struct, written in declaration order, which is the order kiln builds them in. */
static bool
inspect_field_is_map (const char *key, const char *parent)
{
  static const char *const maps[] = {"Labels",     "ExposedPorts", "Volumes",    "PortBindings", "Ports",
                                     "Networks",   "Sysctls",      "StorageOpt", "Tmpfs",        "Data",
                                     "Options",    "Containers",   "DriverOpts", "Annotations",  "Status"};
  for (size_t i = 0; i < sizeof maps / sizeof *maps; i++)
    if (strcmp (key, maps[i]) == 0)
      return true;
  return strcmp (key, "Config") == 0 && parent && strcmp (parent, "LogConfig") == 0;
}

static void
sort_maps (json_t *v, const char *key, const char *parent, unsigned depth)
{
  if (depth > 64)
    return;
  if (json_is_array (v))
    {
      for (size_t i = 0; i < json_array_size (v); i++)
        sort_maps (json_array_get (v, i), key, parent, depth + 1);
      return;
    }
  if (!json_is_object (v))
    return;
  bool map = key && inspect_field_is_map (key, parent);
  const char *k;
  json_t *item;
  json_object_foreach (v, k, item)
  /* A map's values are structs (Networks' endpoints, Containers' entries). */
  sort_maps (item, map ? NULL : k, map ? NULL : key, depth + 1);
  if (!map)
    return;
  size_t n;
  json_t *sorted = json_object ();
  _cleanup_free_ const char **keys = json_sorted_keys (v, &n);
  for (size_t i = 0; i < n; i++)
    json_object_set (sorted, keys[i], json_object_get (v, keys[i]));
  json_object_clear (v);
  json_object_update (v, sorted);
  json_decref (sorted);
}

int
formatter_inspect_typed (const char *format, json_t *elements, json_t *zeros, struct buf *out, struct kiln_err *err)
{
  sort_maps (elements, NULL, NULL, 0);
  if (*format == 0)
    {
      char *s = json_dumps (elements, JSON_INDENT (4) | JSON_PRESERVE_ORDER);
      buf_puts (out, s ? s : "[]");
      buf_putc (out, '\n');
      free (s);
      return 0;
    }
  if (strcmp (format, "json") == 0)
    {
      gotemplate_json_in_order (out, elements);
      buf_putc (out, '\n');
      return 0;
    }
  _cleanup_gotemplate_ struct gotemplate *t = gotemplate_parse (format, strlen (format), err);
  if (t == NULL)
    {
      err->code = KILN_EINVAL;
      return kiln_err_wrap (err, "template parsing error");
    }
  _cleanup_buf_ struct buf body = BUF_INIT;
  for (size_t i = 0; i < json_array_size (elements); i++)
    {
      json_t *zero = json_array_get (zeros, i);
      const struct gotemplate_opts o = {.missingkey = GT_MISSING_ERROR,
                                        .root_zero = json_is_object (zero) ? zero : NULL,
                                        .json_in_order = true};
      if (gotemplate_exec (t, json_array_get (elements, i), &o, &body, err) < 0)
        return kiln_err_wrap (err, "template parsing error");
      buf_putc (&body, '\n');
    }
  if (body.len == 0)
    buf_putc (&body, '\n');
  buf_append (out, body.data, body.len);
  return 0;
}

/* ---------- tabwriter
 *
 * Go's tabwriter aligns a column over each run of consecutive lines that have a cell in it
 * (a cell is text ended by a tab; the text after a line's last tab is not in a column).  Go
 * finds the runs by recursion, one level a column; here one pass over the lines keeps the
 * open run of each column, so a line of many thousands of tabs costs no stack. */

struct cell
{
  size_t off, len, width; /* bytes in the text, runes */
  size_t run;             /* column cells: the run whose width applies */
};

struct tline
{
  size_t first, n; /* its cells in the cell array */
  bool newline;
};

void
formatter_tabwrite (struct buf *out, const char *text, size_t len)
{
  struct cell *cells = NULL;
  size_t ncells = 0, ccap = 0;
  struct tline *lines = NULL;
  size_t nlines = 0, lcap = 0;
  size_t start = 0, first = 0;
  for (size_t i = 0; i <= len; i++)
    {
      bool end = i == len;
      if (!end && text[i] != '\t' && text[i] != '\n')
        continue;
      if (end && start == len && ncells == first)
        break; /* no trailing partial line */
      size_t w = 0;
      for (size_t k = start; k < i;)
        {
          size_t cw;
          utf8_decode (text + k, i - k, &cw);
          k += cw ? cw : 1;
          w++;
        }
      cells = xgrow (cells, &ccap, ncells + 1, sizeof *cells);
      cells[ncells++] = (struct cell){start, i - start, w, 0};
      start = i + 1;
      if (end || text[i] == '\n')
        {
          lines = xgrow (lines, &lcap, nlines + 1, sizeof *lines);
          lines[nlines++] = (struct tline){first, ncells - first, !end};
          first = ncells;
        }
    }

  /* runs: width of each; open[c] is the run of column c while lines keep having cell c */
  size_t *runw = NULL, nruns = 0, rcap = 0;
  size_t *open = NULL, nopen = 0, ocap = 0;
  for (size_t l = 0; l < nlines; l++)
    {
      size_t k = lines[l].n - 1; /* column cells of this line */
      if (k < nopen)
        nopen = k; /* runs of the columns it lacks end here */
      for (size_t c = 0; c < k; c++)
        {
          if (c >= nopen)
            {
              runw = xgrow (runw, &rcap, nruns + 1, sizeof *runw);
              runw[nruns] = TAB_MINWIDTH;
              open = xgrow (open, &ocap, c + 1, sizeof *open);
              open[c] = nruns++;
              nopen = c + 1;
            }
          struct cell *cl = &cells[lines[l].first + c];
          cl->run = open[c];
          if (cl->width + TAB_PADDING > runw[cl->run])
            runw[cl->run] = cl->width + TAB_PADDING;
        }
    }

  for (size_t l = 0; l < nlines; l++)
    {
      for (size_t j = 0; j < lines[l].n; j++)
        {
          const struct cell *cl = &cells[lines[l].first + j];
          buf_append (out, text + cl->off, cl->len);
          if (j + 1 < lines[l].n)
            for (size_t p = cl->width; p < runw[cl->run]; p++)
              buf_putc (out, ' ');
        }
      if (lines[l].newline)
        buf_putc (out, '\n');
    }
  free (cells);
  free (lines);
  free (runw);
  free (open);
}

/* ---------- display helpers (cli/command/formatter/displayutils.go) */

char *
formatter_truncate_id (const char *id)
{
  const char *colon = strchr (id, ':');
  if (colon)
    id = colon + 1;
  return xstrndup (id, strlen (id) > 12 ? 12 : strlen (id));
}

/* go-runewidth's East Asian wide and fullwidth ranges, the ones names and commands meet. */
static int
rune_width (uint32_t r)
{
  if ((r >= 0x1100 && r <= 0x115F) || (r >= 0x2E80 && r <= 0x303E) || (r >= 0x3041 && r <= 0x33FF)
      || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0xA000 && r <= 0xA4CF)
      || (r >= 0xAC00 && r <= 0xD7A3) || (r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFE30 && r <= 0xFE4F)
      || (r >= 0xFF00 && r <= 0xFF60) || (r >= 0xFFE0 && r <= 0xFFE6) || (r >= 0x1F300 && r <= 0x1F64F)
      || (r >= 0x1F900 && r <= 0x1F9FF) || (r >= 0x20000 && r <= 0x3FFFD))
    return 2;
  return 1;
}

char *
formatter_ellipsis (const char *s, int width)
{
  if (width <= 0 || *s == 0)
    return xstrdup ("");
  size_t n = strlen (s);
  size_t w0;
  utf8_decode (s, n, &w0);
  if (width == 1)
    return xstrndup (s, w0);
  /* display width up to each rune */
  size_t runes = 0, total = 0;
  for (size_t i = 0; i < n;)
    {
      size_t w;
      uint32_t r = utf8_decode (s + i, n - i, &w);
      total += (size_t) rune_width (r);
      i += w;
      runes++;
    }
  if (runes == n) /* ASCII: a column a byte */
    {
      if (n <= (size_t) width)
        return xstrdup (s);
      struct buf b = BUF_INIT;
      buf_append (&b, s, (size_t) width - 1);
      buf_puts (&b, "…");
      return buf_steal (&b);
    }
  if (total <= (size_t) width)
    return xstrdup (s);
  size_t shown = 0;
  for (size_t i = 0; i < n;)
    {
      size_t w;
      uint32_t r = utf8_decode (s + i, n - i, &w);
      size_t next = shown + (size_t) rune_width (r);
      if (next > (size_t) width - 1)
        {
          if (i == 0)
            return xstrdup (s); /* docker finds no place to cut: the text stays whole */
          struct buf b = BUF_INIT;
          buf_append (&b, s, i);
          buf_puts (&b, "…");
          return buf_steal (&b);
        }
      shown = next;
      i += w;
    }
  return xstrdup (s);
}
