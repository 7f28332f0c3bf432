/* util/gotemplate_fmt.c — Go's fmt for templates: print, println and printf, with
 * printf's verbs, flags, widths and precisions (fmt/print.go, format.go). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/gotemplate_int.h"
#include "util/utf8.h"

/* fmt.Sprint: a space between operands when neither is a string. */
void
gt_sprint (struct buf *b, json_t **argv, size_t argc, bool ln)
{
  for (size_t i = 0; i < argc; i++)
    {
      if (i > 0 && (ln || (!json_is_string (argv[i - 1]) && !json_is_string (argv[i]))))
        buf_putc (b, ' ');
      gt_print_value (b, argv[i]);
    }
  if (ln)
    buf_putc (b, '\n');
}

json_t *
gt_fn_print (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf b = BUF_INIT;
  gt_sprint (&b, argv, argc, false);
  return gt_mkbuf (st, &b);
}

json_t *
gt_fn_println (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf b = BUF_INIT;
  gt_sprint (&b, argv, argc, true);
  return gt_mkbuf (st, &b);
}

/* %!v(type=value), fmt's note for an argument that does not fit its verb. */
static void
bad_verb (struct buf *b, uint32_t verb, const json_t *v)
{
  buf_puts (b, "%!");
  buf_put_rune (b, verb);
  buf_putc (b, '(');
  if (v == NULL || json_is_null (v))
    buf_puts (b, "<nil>");
  else
    {
      buf_puts (b, gt_type_name (NULL, v));
      buf_putc (b, '=');
      gt_print_value (b, v);
    }
  buf_putc (b, ')');
}

struct fmtspec
{
  bool minus, plus, sharp, space, zero;
  int width, prec; /* -1: not given */
};

static void
put_padded (struct buf *b, const struct fmtspec *f, const char *s, size_t n, bool numeric)
{
  size_t runes = 0;
  for (size_t i = 0; i < n;)
    {
      size_t w;
      utf8_decode (s + i, n - i, &w);
      i += w ? w : 1;
      runes++;
    }
  size_t pad = f->width > 0 && (size_t) f->width > runes ? (size_t) f->width - runes : 0;
  if (f->minus)
    {
      buf_append (b, s, n);
      for (size_t i = 0; i < pad; i++)
        buf_putc (b, ' ');
      return;
    }
  if (f->zero && numeric && n > 0 && (s[0] == '-' || s[0] == '+'))
    {
      buf_putc (b, s[0]);
      s++, n--;
    }
  for (size_t i = 0; i < pad; i++)
    buf_putc (b, f->zero && numeric ? '0' : ' ');
  buf_append (b, s, n);
}

static void
fmt_one (struct buf *b, const struct fmtspec *f, uint32_t verb, const json_t *v)
{
  _cleanup_buf_ struct buf s = BUF_INIT;
  bool numeric = false;
  bool is_int = v && json_is_integer (v), is_real = v && json_is_real (v), is_str = v && json_is_string (v);
  switch (verb)
    {
    case 'v':
      if (f->sharp && is_str)
        utf8_go_quote (&s, json_string_value (v), json_string_length (v));
      else if (v == NULL || json_is_null (v))
        buf_puts (&s, "<nil>");
      else if (is_int && f->plus)
        buf_printf (&s, "%+" JSON_INTEGER_FORMAT, json_integer_value (v));
      else
        gt_print_value (&s, v), numeric = is_int || is_real;
      break;
    case 's':
      if (is_str)
        {
          const char *p = json_string_value (v);
          size_t n = json_string_length (v);
          if (f->prec >= 0)
            {
              size_t k = 0;
              for (int r = 0; r < f->prec && k < n; r++)
                {
                  size_t w;
                  utf8_decode (p + k, n - k, &w);
                  k += w ? w : 1;
                }
              n = k;
            }
          buf_append (&s, p, n);
        }
      else if (v && (json_is_array (v) || json_is_object (v)))
        gt_print_value (&s, v);
      else
        bad_verb (&s, verb, v);
      break;
    case 'q':
      if (is_str)
        utf8_go_quote (&s, json_string_value (v), json_string_length (v));
      else if (is_int)
        {
          struct buf r = BUF_INIT;
          json_int_t c = json_integer_value (v);
          buf_put_rune (&r, c >= 0 && c <= 0x10FFFF ? (uint32_t) c : RUNE_ERROR);
          _cleanup_buf_ struct buf q = BUF_INIT;
          utf8_go_quote (&q, r.data, r.len);
          buf_free (&r);
          buf_putc (&s, '\'');
          buf_append (&s, q.data + 1, q.len - 2);
          buf_putc (&s, '\'');
        }
      else
        bad_verb (&s, verb, v);
      break;
    case 'd':
    case 'b':
    case 'o':
    case 'O':
    case 'x':
    case 'X':
    case 'c':
    case 'U':
      if (is_int)
        {
          json_int_t i = json_integer_value (v);
          uint64_t a = i < 0 ? 0 - (uint64_t) i : (uint64_t) i;
          numeric = verb != 'c' && verb != 'U';
          if (verb == 'c' || verb == 'U')
            {
              uint32_t r = i >= 0 && i <= 0x10FFFF ? (uint32_t) i : RUNE_ERROR;
              if (verb == 'U')
                buf_printf (&s, "U+%04X", (unsigned) r);
              else
                buf_put_rune (&s, r);
              break;
            }
          if (i < 0)
            buf_putc (&s, '-');
          else if (f->plus)
            buf_putc (&s, '+');
          if (verb == 'd')
            buf_printf (&s, "%llu", (unsigned long long) a);
          else if (verb == 'x' || verb == 'X')
            buf_printf (&s, verb == 'x' ? "%s%llx" : "%s%llX", f->sharp ? (verb == 'x' ? "0x" : "0X") : "",
                        (unsigned long long) a);
          else if (verb == 'o' || verb == 'O')
            buf_printf (&s, "%s%llo", verb == 'O' ? "0o" : f->sharp ? "0" : "", (unsigned long long) a);
          else
            {
              char bits[65];
              int k = 64;
              bits[k] = 0;
              do
                bits[--k] = (char) ('0' + (a & 1));
              while (a >>= 1);
              buf_puts (&s, bits + k);
            }
        }
      else if (is_str && (verb == 'x' || verb == 'X'))
        {
          const unsigned char *p = (const unsigned char *) json_string_value (v);
          for (size_t i = 0; i < json_string_length (v); i++)
            {
              if (i && f->space)
                buf_putc (&s, ' ');
              buf_printf (&s, verb == 'x' ? "%02x" : "%02X", p[i]);
            }
        }
      else
        bad_verb (&s, verb, v);
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      if (is_real)
        {
          double d = json_real_value (v);
          numeric = true;
          if ((verb == 'g' || verb == 'G') && f->prec < 0)
            {
              if (f->plus && d >= 0)
                buf_putc (&s, '+');
              gt_put_float_v (&s, d);
            }
          else
            {
              char spec[16];
              snprintf (spec, sizeof spec, "%%%s.*%c", f->plus ? "+" : "", verb == 'F' ? 'f' : (char) verb);
              buf_printf (&s, spec, f->prec < 0 ? 6 : f->prec, d);
            }
        }
      else
        bad_verb (&s, verb, v);
      break;
    case 't':
      if (v && json_is_boolean (v))
        buf_puts (&s, json_is_true (v) ? "true" : "false");
      else
        bad_verb (&s, verb, v);
      break;
    default: bad_verb (&s, verb, v); break;
    }
  put_padded (b, f, s.data ? s.data : "", s.len, numeric);
}

/* fmt.Sprintf for the verbs a template can meet. */
static void
go_sprintf (struct buf *b, const char *fmt, size_t n, json_t **argv, size_t argc)
{
  size_t arg = 0;
  for (size_t i = 0; i < n;)
    {
      if (fmt[i] != '%')
        {
          buf_putc (b, fmt[i++]);
          continue;
        }
      i++;
      if (i >= n)
        {
          buf_puts (b, "%!(NOVERB)");
          break;
        }
      struct fmtspec f = {.width = -1, .prec = -1};
      for (; i < n; i++)
        {
          char c = fmt[i];
          if (c == '-')
            f.minus = true;
          else if (c == '+')
            f.plus = true;
          else if (c == '#')
            f.sharp = true;
          else if (c == ' ')
            f.space = true;
          else if (c == '0')
            f.zero = true;
          else
            break;
        }
      if (i < n && fmt[i] == '*')
        {
          i++;
          if (arg < argc && json_is_integer (argv[arg]) && llabs (json_integer_value (argv[arg])) < 1000000)
            {
              json_int_t w = json_integer_value (argv[arg++]);
              if (w < 0)
                f.minus = true, w = -w;
              f.width = (int) w;
            }
          else
            {
              buf_puts (b, "%!(BADWIDTH)");
              arg += arg < argc;
            }
        }
      else
        for (f.width = 0; i < n && isdigit ((unsigned char) fmt[i]) && f.width < 1000000; i++)
          f.width = f.width * 10 + (fmt[i] - '0');
      if (i < n && fmt[i] == '.')
        {
          i++;
          if (i < n && fmt[i] == '*')
            {
              i++;
              if (arg < argc && json_is_integer (argv[arg]) && json_integer_value (argv[arg]) >= 0
                  && json_integer_value (argv[arg]) < 1000000)
                f.prec = (int) json_integer_value (argv[arg++]);
              else
                {
                  buf_puts (b, "%!(BADPREC)");
                  arg += arg < argc;
                }
            }
          else
            for (f.prec = 0; i < n && isdigit ((unsigned char) fmt[i]) && f.prec < 1000000; i++)
              f.prec = f.prec * 10 + (fmt[i] - '0');
        }
      if (i >= n)
        {
          buf_puts (b, "%!(NOVERB)");
          break;
        }
      size_t w;
      uint32_t verb = utf8_decode (fmt + i, n - i, &w);
      i += w ? w : 1;
      if (verb == '%')
        {
          buf_putc (b, '%');
          continue;
        }
      if (arg >= argc)
        {
          buf_puts (b, "%!");
          buf_put_rune (b, verb);
          buf_puts (b, "(MISSING)");
          continue;
        }
      fmt_one (b, &f, verb, argv[arg++]);
    }
  if (arg < argc)
    {
      buf_puts (b, "%!(EXTRA ");
      for (size_t k = arg; k < argc; k++)
        {
          if (k > arg)
            buf_puts (b, ", ");
          if (json_is_null (argv[k]))
            buf_puts (b, "<nil>");
          else
            {
              buf_puts (b, gt_type_name (NULL, argv[k]));
              buf_putc (b, '=');
              gt_print_value (b, argv[k]);
            }
        }
      buf_putc (b, ')');
    }
}

json_t *
gt_fn_printf (struct state *st, json_t **argv, size_t argc, char *msg)
{
  _cleanup_buf_ struct buf b = BUF_INIT;
  go_sprintf (&b, json_string_value (argv[0]), json_string_length (argv[0]), argv + 1, argc - 1);
  return gt_mkbuf (st, &b);
}

/* The text of html/js/urlquery's arguments: the one string, or fmt.Sprint of them all. */
