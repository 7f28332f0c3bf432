/* util/gotemplate_value.c — a value as fmt.Print writes it and as encoding/json encodes it. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonutil.h"
#include "util/cleanup.h"
#include "util/gotemplate_int.h"
#include "util/utf8.h"

/* The shortest decimal digits that read back as f (finite, non-zero): f = 0.DIGS × 10^dp. */
static void
shortest_digits (double f, char digs[32], int *nd, int *dp)
{
  char tmp[48];
  for (int p = 1; p <= 17; p++)
    {
      snprintf (tmp, sizeof tmp, "%.*e", p - 1, f);
      if (strtod (tmp, NULL) == f)
        break;
    }
  const char *s = tmp;
  if (*s == '-')
    s++;
  int n = 0;
  for (; *s && *s != 'e'; s++)
    if (*s != '.')
      digs[n++] = *s;
  while (n > 1 && digs[n - 1] == '0')
    n--;
  digs[n] = 0;
  *nd = n;
  *dp = atoi (s + 1) + 1;
}

static bool
float_special (struct buf *b, double f, bool go_json)
{
  if (isnan (f))
    buf_puts (b, go_json ? "null" : "NaN");
  else if (isinf (f))
    buf_puts (b, go_json ? "null" : f > 0 ? "+Inf" : "-Inf");
  else if (f == 0)
    buf_puts (b, signbit (f) && !go_json ? "-0" : "0");
  else
    return false;
  return true;
}

static void
put_e (struct buf *b, const char *digs, int nd, int dp, bool go_json)
{
  buf_putc (b, digs[0]);
  if (nd > 1)
    {
      buf_putc (b, '.');
      buf_append (b, digs + 1, (size_t) nd - 1);
    }
  int e = dp - 1;
  /* strconv writes at least two exponent digits; encoding/json then drops a leading 0 */
  if (go_json)
    buf_printf (b, "e%c%d", e < 0 ? '-' : '+', abs (e));
  else
    buf_printf (b, "e%c%02d", e < 0 ? '-' : '+', abs (e));
}

static void
put_f (struct buf *b, const char *digs, int nd, int dp)
{
  if (dp <= 0)
    {
      buf_puts (b, "0.");
      for (int i = 0; i < -dp; i++)
        buf_putc (b, '0');
      buf_append (b, digs, (size_t) nd);
    }
  else if (dp >= nd)
    {
      buf_append (b, digs, (size_t) nd);
      for (int i = nd; i < dp; i++)
        buf_putc (b, '0');
    }
  else
    {
      buf_append (b, digs, (size_t) dp);
      buf_putc (b, '.');
      buf_append (b, digs + dp, (size_t) (nd - dp));
    }
}

/* A float64 as fmt's %v writes it (strconv's shortest %g: exponent form below 1e-4 or
 * from 1e6 on) or as encoding/json does (fixed unless below 1e-6 or from 1e21 on). */
static void
put_float (struct buf *b, double f, bool go_json)
{
  if (float_special (b, f, go_json))
    return;
  char digs[32];
  int nd, dp;
  shortest_digits (f, digs, &nd, &dp);
  if (f < 0)
    buf_putc (b, '-');
  int exp = dp - 1;
  double a = fabs (f);
  if (go_json ? a < 1e-6 || a >= 1e21 : exp < -4 || exp >= 6)
    put_e (b, digs, nd, dp, go_json);
  else
    put_f (b, digs, nd, dp);
}

void
gt_put_float_v (struct buf *b, double f)
{
  put_float (b, f, false);
}

/* One walk for both ways a value is written: fmt.Print (`as_json` false: maps as
 * map[k:v], slices as [a b], strings bare) and encoding/json (compact, keys sorted, no HTML
 * escaping).  Both order map keys bytewise, as Go's fmt and encoding/json do; with
 * `in_order`, encoding/json keeps the data's own order (objects that stand for Go structs,
 * whose fields encoding/json writes in declaration order). */
static void
put_value_mode (struct buf *b, const json_t *v, bool as_json, bool in_order);

static void
put_value (struct buf *b, const json_t *v, bool as_json)
{
  put_value_mode (b, v, as_json, false);
}

static void
put_value_mode (struct buf *b, const json_t *v, bool as_json, bool in_order)
{
  if (v == NULL || json_is_null (v))
    {
      buf_puts (b, as_json ? "null" : v ? "<nil>" : "<no value>");
      return;
    }
  switch (json_typeof (v))
    {
    case JSON_TRUE: buf_puts (b, "true"); break;
    case JSON_FALSE: buf_puts (b, "false"); break;
    case JSON_INTEGER: buf_printf (b, "%" JSON_INTEGER_FORMAT, json_integer_value (v)); break;
    case JSON_REAL:
      put_float (b, json_real_value (v), as_json);
      break;
    case JSON_STRING:
      if (as_json)
        utf8_json_string (b, json_string_value (v), json_string_length (v), false);
      else
        buf_append (b, json_string_value (v), json_string_length (v));
      break;
    case JSON_ARRAY:
      buf_putc (b, '[');
      for (size_t i = 0; i < json_array_size (v); i++)
        {
          if (i)
            buf_putc (b, as_json ? ',' : ' ');
          put_value_mode (b, json_array_get (v, i), as_json, in_order);
        }
      buf_putc (b, ']');
      break;
    default:
      {
        size_t n;
        _cleanup_free_ const char **keys = json_sorted_keys (v, &n);
        if (in_order && as_json)
          {
            size_t i = 0;
            const char *k;
            json_t *item;
            json_object_foreach ((json_t *) v, k, item)
            keys[i++] = k;
          }
        buf_puts (b, as_json ? "{" : "map[");
        for (size_t i = 0; i < n; i++)
          {
            if (i)
              buf_putc (b, as_json ? ',' : ' ');
            if (as_json)
              utf8_json_string (b, keys[i], strlen (keys[i]), false);
            else
              buf_puts (b, keys[i]);
            buf_putc (b, ':');
            put_value_mode (b, json_object_get (v, keys[i]), as_json, in_order);
          }
        buf_putc (b, as_json ? '}' : ']');
      }
    }
}

void
gt_print_value (struct buf *b, const json_t *v)
{
  put_value (b, v, false);
}

void
gotemplate_print (struct buf *out, const json_t *v)
{
  put_value (out, v, false);
}

void
gotemplate_json (struct buf *b, const json_t *v)
{
  put_value (b, v, true);
}

void
gotemplate_json_in_order (struct buf *b, const json_t *v)
{
  put_value_mode (b, v, true, true);
}
