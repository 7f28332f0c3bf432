/* util/gotemplate_funcs.c — the functions a template calls: text/template's builtins
 * (funcs.go) and docker's (templates/templates.go), with the stubs of a table's header row. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/gotemplate_int.h"
#include "util/utf8.h"

/* Signals a function's error (its message in `msg`), as a Go function's non-nil error. */
static json_t *
fail (char *msg, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static json_t *
fail (char *msg, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, MSG_MAX, fmt, ap);
  va_end (ap);
  return NULL;
}

static void
eval_args_text (struct buf *b, json_t **argv, size_t argc)
{
  if (argc == 1 && json_is_string (argv[0]))
    buf_append (b, json_string_value (argv[0]), json_string_length (argv[0]));
  else
    gt_sprint (b, argv, argc, false);
}

static json_t *
fn_html (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf in = BUF_INIT, b = BUF_INIT;
  eval_args_text (&in, argv, argc);
  for (size_t i = 0; i < in.len; i++)
    switch (in.data[i])
      {
      case '"': buf_puts (&b, "&#34;"); break;
      case '\'': buf_puts (&b, "&#39;"); break;
      case '&': buf_puts (&b, "&amp;"); break;
      case '<': buf_puts (&b, "&lt;"); break;
      case '>': buf_puts (&b, "&gt;"); break;
      case '\0': buf_puts (&b, "\xEF\xBF\xBD"); break;
      default: buf_putc (&b, in.data[i]);
      }
  return gt_mkbuf (st, &b);
}

static json_t *
fn_js (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf in = BUF_INIT, b = BUF_INIT;
  eval_args_text (&in, argv, argc);
  for (size_t i = 0; i < in.len;)
    {
      unsigned char c = (unsigned char) in.data[i];
      if (c < 0x80)
        {
          i++;
          switch (c)
            {
            case '\\': buf_puts (&b, "\\\\"); break;
            case '\'': buf_puts (&b, "\\'"); break;
            case '"': buf_puts (&b, "\\\""); break;
            case '<': buf_puts (&b, "\\u003C"); break;
            case '>': buf_puts (&b, "\\u003E"); break;
            case '&': buf_puts (&b, "\\u0026"); break;
            case '=': buf_puts (&b, "\\u003D"); break;
            default:
              if (c < ' ')
                buf_printf (&b, "\\u00%02X", c);
              else
                buf_putc (&b, (char) c);
            }
          continue;
        }
      size_t w;
      uint32_t r = utf8_decode (in.data + i, in.len - i, &w);
      if (rune_is_print (r))
        buf_append (&b, in.data + i, w);
      else
        buf_printf (&b, "\\u%04X", (unsigned) r);
      i += w;
    }
  return gt_mkbuf (st, &b);
}

static json_t *
fn_urlquery (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf in = BUF_INIT, b = BUF_INIT;
  eval_args_text (&in, argv, argc);
  for (size_t i = 0; i < in.len; i++)
    {
      unsigned char c = (unsigned char) in.data[i];
      if (isalnum (c) || c == '-' || c == '_' || c == '.' || c == '~')
        buf_putc (&b, (char) c);
      else if (c == ' ')
        buf_putc (&b, '+');
      else
        buf_printf (&b, "%%%02X", c);
    }
  return gt_mkbuf (st, &b);
}

static json_t *
fn_len (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *v = argv[0];
  if (json_is_null (v))
    return fail (msg, "len of nil pointer");
  if (json_is_string (v))
    return gt_mkint (st, (json_int_t) json_string_length (v));
  if (json_is_array (v))
    return gt_mkint (st, (json_int_t) json_array_size (v));
  if (json_is_object (v))
    return gt_mkint (st, (json_int_t) json_object_size (v));
  return fail (msg, "len of type %s", gt_type_name (st, v));
}

/* The zero value of a missing map key: "" when the map holds strings (docker's labels,
 * map[string]string), else nil. */
static json_t *
map_zero (const json_t *m)
{
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) m, k, v)
  if (!json_is_string (v))
    return NULL;
  return json_string ("");
}

static json_t *
fn_index (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *v = argv[0];
  for (size_t i = 1; i < argc; i++)
    {
      json_t *ix = argv[i];
      if (v == NULL)
        return fail (msg, "index of untyped nil");
      if (json_is_null (v))
        {
          /* a nil map of strings, as docker's Labels without labels */
          if (json_is_string (ix))
            {
              v = gt_mkstr (st, "", 0);
              continue;
            }
          return fail (msg, "index of nil pointer");
        }
      if (json_is_array (v) || json_is_string (v))
        {
          if (!json_is_integer (ix))
            return fail (msg, "cannot index slice/array with type %s", gt_type_name (NULL, ix));
          json_int_t x = json_integer_value (ix);
          size_t len = json_is_array (v) ? json_array_size (v) : json_string_length (v);
          if (x < 0 || (uint64_t) x >= len)
            return fail (msg, "index out of range: %" JSON_INTEGER_FORMAT, x);
          v = json_is_array (v) ? json_array_get (v, (size_t) x)
                                : gt_mkint (st, (unsigned char) json_string_value (v)[x]);
        }
      else if (json_is_object (v))
        {
          if (json_is_null (ix))
            ix = gt_mkstr (st, "", 0);
          if (!json_is_string (ix))
            return fail (msg, "%s is not index type for %s", gt_type_name (NULL, ix), gt_type_name (st, v));
          json_t *x = json_object_getn (v, json_string_value (ix), json_string_length (ix));
          if (x == NULL)
            {
              x = map_zero (v);
              if (x)
                gt_keep (st, x);
            }
          v = x;
        }
      else
        return fail (msg, "can't index item of type %s", gt_type_name (st, v));
    }
  return v;
}

static json_t *
fn_slice (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *v = argv[0];
  if (json_is_null (v))
    return fail (msg, "slice of untyped nil");
  if (argc > 4)
    return fail (msg, "too many slice indexes: %zu", argc - 1);
  size_t len;
  if (json_is_string (v))
    {
      if (argc == 4)
        return fail (msg, "cannot 3-index slice a string");
      len = json_string_length (v);
    }
  else if (json_is_array (v))
    len = json_array_size (v);
  else
    return fail (msg, "can't slice item of type %s", gt_type_name (st, v));
  json_int_t ix[3] = {0, (json_int_t) len, (json_int_t) len};
  for (size_t i = 1; i < argc; i++)
    {
      if (!json_is_integer (argv[i]))
        return fail (msg, "cannot index slice/array with type %s", gt_type_name (NULL, argv[i]));
      ix[i - 1] = json_integer_value (argv[i]);
      if (ix[i - 1] < 0 || (uint64_t) ix[i - 1] > len)
        return fail (msg, "index out of range: %" JSON_INTEGER_FORMAT, ix[i - 1]);
    }
  if (ix[0] > ix[1])
    return fail (msg, "invalid slice index: %" JSON_INTEGER_FORMAT " > %" JSON_INTEGER_FORMAT, ix[0], ix[1]);
  if (argc == 4 && ix[1] > ix[2])
    return fail (msg, "invalid slice index: %" JSON_INTEGER_FORMAT " > %" JSON_INTEGER_FORMAT, ix[1], ix[2]);
  if (json_is_string (v))
    return gt_mkstr (st, json_string_value (v) + ix[0], (size_t) (ix[1] - ix[0]));
  json_t *a = gt_keep (st, json_array ());
  for (json_int_t i = ix[0]; i < ix[1]; i++)
    json_array_append (a, json_array_get (v, (size_t) i));
  return a;
}

static json_t *
fn_not (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return gt_truth (argv[0]) ? json_false () : json_true ();
}

enum kind
{
  K_INVALID,
  K_BOOL,
  K_INT,
  K_FLOAT,
  K_STRING,
};

static enum kind
basic_kind (const json_t *v)
{
  if (v == NULL)
    return K_INVALID;
  switch (json_typeof (v))
    {
    case JSON_TRUE:
    case JSON_FALSE: return K_BOOL;
    case JSON_INTEGER: return K_INT;
    case JSON_REAL: return K_FLOAT;
    case JSON_STRING: return K_STRING;
    default: return K_INVALID;
    }
}

static int
str_cmp (const json_t *a, const json_t *b)
{
  size_t la = json_string_length (a), lb = json_string_length (b);
  int c = memcmp (json_string_value (a), json_string_value (b), la < lb ? la : lb);
  return c ? c : la < lb ? -1 : la > lb;
}

/* eq: a == b || a == c ...; -1 with msg on incomparable values. */
static int
eq_values (json_t *a, json_t **bs, size_t nb, char *msg)
{
  if (nb == 0)
    return fail (msg, "missing argument for comparison"), -1;
  enum kind k1 = basic_kind (a);
  bool nil1 = a == NULL || json_is_null (a);
  for (size_t i = 0; i < nb; i++)
    {
      json_t *b = bs[i];
      enum kind k2 = basic_kind (b);
      bool nil2 = b == NULL || json_is_null (b);
      bool t = false;
      if (k1 != k2)
        {
          if (!nil1 && !nil2)
            return fail (msg, "incompatible types for comparison"), -1;
        }
      else
        switch (k1)
          {
          case K_BOOL: t = json_is_true (a) == json_is_true (b); break;
          case K_INT: t = json_integer_value (a) == json_integer_value (b); break;
          case K_FLOAT: t = json_real_value (a) == json_real_value (b); break;
          case K_STRING: t = str_cmp (a, b) == 0; break;
          case K_INVALID:
            if (nil1 || nil2)
              t = nil1 == nil2;
            else
              return fail (msg, "non-comparable type %s", gt_type_name (NULL, b)), -1;
          }
      if (t)
        return 1;
    }
  return 0;
}

/* lt: a < b; -1 with msg. */
static int
lt_values (json_t *a, json_t *b, char *msg)
{
  enum kind k1 = basic_kind (a), k2 = basic_kind (b);
  if (k1 == K_INVALID || k2 == K_INVALID)
    return fail (msg, "invalid type for comparison"), -1;
  if (k1 != k2)
    return fail (msg, "incompatible types for comparison"), -1;
  switch (k1)
    {
    case K_INT: return json_integer_value (a) < json_integer_value (b);
    case K_FLOAT: return json_real_value (a) < json_real_value (b);
    case K_STRING: return str_cmp (a, b) < 0;
    default: return fail (msg, "invalid type for comparison"), -1;
    }
}

static json_t *
fn_eq (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = eq_values (argv[0], argv + 1, argc - 1, msg);
  return r < 0 ? NULL : r ? json_true () : json_false ();
}

static json_t *
fn_ne (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = eq_values (argv[0], argv + 1, 1, msg);
  return r < 0 ? NULL : r ? json_false () : json_true ();
}

static json_t *
fn_lt (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = lt_values (argv[0], argv[1], msg);
  return r < 0 ? NULL : r ? json_true () : json_false ();
}

static json_t *
fn_le (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = lt_values (argv[0], argv[1], msg);
  if (r == 0)
    r = eq_values (argv[0], argv + 1, 1, msg);
  return r < 0 ? NULL : r ? json_true () : json_false ();
}

static json_t *
fn_gt (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *r = fn_le (st, argv, argc, msg);
  return r == NULL ? NULL : json_is_true (r) ? json_false () : json_true ();
}

static json_t *
fn_ge (struct state *st, json_t **argv, size_t argc, char *msg)
{
  int r = lt_values (argv[0], argv[1], msg);
  return r < 0 ? NULL : r ? json_false () : json_true ();
}

static json_t *
fn_call (struct state *st, json_t **argv, size_t argc, char *msg)
{
  if (json_is_null (argv[0]))
    return fail (msg, "call of nil");
  return fail (msg, "non-function of type %s", gt_type_name (st, argv[0]));
}

/* ---- docker's functions (templates/templates.go) */

static json_t *
fn_json (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf b = BUF_INIT;
  if (st->o && st->o->json_in_order)
    gotemplate_json_in_order (&b, argv[0]);
  else
    gotemplate_json (&b, argv[0]);
  return gt_mkbuf (st, &b);
}

static json_t *
fn_split (struct state *st, json_t **argv, size_t argc, char *msg)
{
  const char *s = json_string_value (argv[0]), *sep = json_string_value (argv[1]);
  size_t n = json_string_length (argv[0]), sn = json_string_length (argv[1]);
  json_t *a = gt_keep (st, json_array ());
  if (sn == 0)
    {
      for (size_t i = 0; i < n;)
        {
          size_t w;
          utf8_decode (s + i, n - i, &w);
          w = w ? w : 1;
          json_array_append_new (a, json_stringn_nocheck (s + i, w));
          i += w;
        }
      return a;
    }
  size_t start = 0;
  for (size_t i = 0; i + sn <= n;)
    if (memcmp (s + i, sep, sn) == 0)
      {
        json_array_append_new (a, json_stringn_nocheck (s + start, i - start));
        i += sn;
        start = i;
      }
    else
      i++;
  json_array_append_new (a, json_stringn_nocheck (s + start, n - start));
  return a;
}

static void
join_texts (struct buf *b, json_t **items, size_t n, const json_t *sep)
{
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        buf_append (b, json_string_value (sep), json_string_length (sep));
      gt_print_value (b, items[i]);
    }
}

static int
cmp_printed (const void *a, const void *b)
{
  _cleanup_buf_ struct buf x = BUF_INIT, y = BUF_INIT;
  gt_print_value (&x, *(json_t *const *) a);
  gt_print_value (&y, *(json_t *const *) b);
  size_t n = x.len < y.len ? x.len : y.len;
  int c = n ? memcmp (x.data, y.data, n) : 0;
  return c ? c : x.len < y.len ? -1 : x.len > y.len;
}

static json_t *
fn_join (struct state *st, json_t **argv, size_t argc, char *msg)
{
  json_t *v = argv[0];
  _cleanup_buf_ struct buf b = BUF_INIT;
  if (json_is_null (v))
    return gt_mkstr (st, "", 0);
  if (json_is_array (v))
    {
      size_t n = json_array_size (v);
      _cleanup_free_ json_t **items = xcalloc (n ? n : 1, sizeof *items);
      for (size_t i = 0; i < n; i++)
        items[i] = json_array_get (v, i);
      join_texts (&b, items, n, argv[1]);
      return gt_mkbuf (st, &b);
    }
  if (json_is_object (v))
    {
      /* the values, printed and sorted: docker ignores the keys */
      size_t n = json_object_size (v), i = 0;
      _cleanup_free_ json_t **items = xcalloc (n ? n : 1, sizeof *items);
      const char *k;
      json_t *x;
      json_object_foreach (v, k, x)
      items[i++] = x;
      qsort (items, n, sizeof *items, cmp_printed);
      join_texts (&b, items, n, argv[1]);
      return gt_mkbuf (st, &b);
    }
  return fail (msg, "expected slice, got %s", gt_type_name (st, v));
}

static uint32_t
rune_upper (uint32_t r)
{
  if (r >= 'a' && r <= 'z')
    return r - 32;
  if ((r >= 0xE0 && r <= 0xFE && r != 0xF7) || (r >= 0x3B1 && r <= 0x3C9 && r != 0x3C2) || (r >= 0x430 && r <= 0x44F))
    return r - 0x20;
  if (r >= 0x450 && r <= 0x45F)
    return r - 0x50;
  if (r == 0xFF)
    return 0x178;
  if (((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) && (r & 1))
    return r - 1;
  return r;
}

static uint32_t
rune_lower (uint32_t r)
{
  if (r >= 'A' && r <= 'Z')
    return r + 32;
  if ((r >= 0xC0 && r <= 0xDE && r != 0xD7) || (r >= 0x391 && r <= 0x3A9 && r != 0x3A2) || (r >= 0x410 && r <= 0x42F))
    return r + 0x20;
  if (r >= 0x400 && r <= 0x40F)
    return r + 0x50;
  if (r == 0x178)
    return 0xFF;
  if (((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) && !(r & 1))
    return r + 1;
  return r;
}

/* strings.Title's word boundary. */
static bool
title_separator (uint32_t r)
{
  if (r <= 0x7F)
    return !(isalnum ((int) r) || r == '_');
  if (rune_is_letter (r) || rune_is_digit (r))
    return false;
  return rune_is_space (r);
}

/* strings.Map with a case mapping (mode: 'u'pper, 'l'ower, 't'itle); invalid UTF-8 becomes
 * U+FFFD as Map does, except in all-ASCII strings (Go's fast path). */
static json_t *
map_case (struct state *st, const json_t *v, char mode)
{
  const char *s = json_string_value (v);
  size_t n = json_string_length (v);
  _cleanup_buf_ struct buf b = BUF_INIT;
  uint32_t prev = ' ';
  for (size_t i = 0; i < n;)
    {
      size_t w;
      uint32_t r = utf8_decode (s + i, n - i, &w);
      w = w ? w : 1;
      uint32_t m = r;
      if (mode == 'u')
        m = rune_upper (r);
      else if (mode == 'l')
        m = rune_lower (r);
      else if (title_separator (prev))
        m = rune_upper (r);
      buf_put_rune (&b, m);
      prev = r;
      i += w;
    }
  return gt_mkbuf (st, &b);
}

static json_t *
fn_title (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return map_case (st, argv[0], 't');
}

static json_t *
fn_lower (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return map_case (st, argv[0], 'l');
}

static json_t *
fn_upper (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return map_case (st, argv[0], 'u');
}

static json_t *
fn_pad (struct state *st, json_t **argv, size_t argc, char *msg)
{
  size_t n = json_string_length (argv[0]);
  if (n == 0)
    return gt_mkstr (st, "", 0);
  json_int_t pre = json_integer_value (argv[1]), suf = json_integer_value (argv[2]);
  if (pre < 0 || suf < 0)
    return fail (msg, "strings: negative Repeat count");
  if ((uint64_t) pre > st->max_output || (uint64_t) suf > st->max_output)
    return fail (msg, "padding of %" JSON_INTEGER_FORMAT " exceeds the output limit", pre > suf ? pre : suf);
  _cleanup_buf_ struct buf b = BUF_INIT;
  for (json_int_t i = 0; i < pre; i++)
    buf_putc (&b, ' ');
  buf_append (&b, json_string_value (argv[0]), n);
  for (json_int_t i = 0; i < suf; i++)
    buf_putc (&b, ' ');
  return gt_mkbuf (st, &b);
}

static json_t *
fn_truncate (struct state *st, json_t **argv, size_t argc, char *msg)
{
  size_t n = json_string_length (argv[0]);
  json_int_t len = json_integer_value (argv[1]);
  if (len >= 0 && n < (uint64_t) len)
    return argv[0];
  if (len < 0)
    return fail (msg, "runtime error: slice bounds out of range [:%" JSON_INTEGER_FORMAT "]", len);
  return gt_mkstr (st, json_string_value (argv[0]), (size_t) len);
}

/* HeaderFunctions: the column title goes through unchanged. */
static json_t *
fn_first (struct state *st, json_t **argv, size_t argc, char *msg)
{
  return argv[0];
}

static const struct func funcs[] = {
  {"and", "aa", true, NULL, false},
  {"or", "aa", true, NULL, false},
  {"call", "aa", true, fn_call, false},
  {"html", "a", true, fn_html, false},
  {"index", "aa", true, fn_index, false},
  {"slice", "aa", true, fn_slice, false},
  {"js", "a", true, fn_js, false},
  {"len", "a", false, fn_len, false},
  {"not", "a", false, fn_not, false},
  {"print", "a", true, gt_fn_print, false},
  {"printf", "sa", true, gt_fn_printf, false},
  {"println", "a", true, gt_fn_println, false},
  {"urlquery", "a", true, fn_urlquery, false},
  {"eq", "aa", true, fn_eq, false},
  {"ge", "aa", false, fn_ge, false},
  {"gt", "aa", false, fn_gt, false},
  {"le", "aa", false, fn_le, false},
  {"lt", "aa", false, fn_lt, false},
  {"ne", "aa", false, fn_ne, false},
  {"json", "a", false, fn_json, true},
  {"split", "ss", false, fn_split, true},
  {"join", "as", false, fn_join, true},
  {"title", "s", false, fn_title, true},
  {"lower", "s", false, fn_lower, true},
  {"upper", "s", false, fn_upper, true},
  {"pad", "sii", false, fn_pad, false},
  {"truncate", "si", false, fn_truncate, true},
};

static const struct func header_funcs[] = {
  {"json", "s", false, fn_first, true},  {"split", "ss", false, fn_first, true},
  {"join", "ss", false, fn_first, true}, {"title", "s", false, fn_first, true},
  {"lower", "s", false, fn_first, true}, {"upper", "s", false, fn_first, true},
  {"truncate", "si", false, fn_first, true},
};

const struct func *
gt_find_func (const char *name, size_t len, bool header)
{
  if (header)
    for (size_t i = 0; i < sizeof header_funcs / sizeof *header_funcs; i++)
      if (strlen (header_funcs[i].name) == len && memcmp (header_funcs[i].name, name, len) == 0)
        return &header_funcs[i];
  for (size_t i = 0; i < sizeof funcs / sizeof *funcs; i++)
    if (strlen (funcs[i].name) == len && memcmp (funcs[i].name, name, len) == 0)
      return &funcs[i];
  return NULL;
}

bool
gt_function_known (const char *name, size_t len)
{
  return gt_find_func (name, len, false) != NULL;
}
