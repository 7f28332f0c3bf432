/* util/utf8.c — UTF-8 decoding and the Unicode classes Go's parser uses. */
#include "util/utf8.h"

uint32_t
utf8_decode (const char *str, size_t len, size_t *width)
{
  const unsigned char *s = (const unsigned char *) str;
  if (len == 0)
    {
      *width = 0;
      return RUNE_ERROR;
    }
  unsigned c = s[0];
  *width = 1;
  if (c < 0x80)
    return c;
  size_t need;
  uint32_t r, min;
  if (c >= 0xC2 && c <= 0xDF)
    need = 1, r = c & 0x1F, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF)
    need = 2, r = c & 0x0F, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4)
    need = 3, r = c & 0x07, min = 0x10000;
  else
    return RUNE_ERROR;
  if (len < need + 1)
    return RUNE_ERROR;
  for (size_t i = 1; i <= need; i++)
    {
      if ((s[i] & 0xC0) != 0x80)
        return RUNE_ERROR;
      r = (r << 6) | (s[i] & 0x3F);
    }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
    return RUNE_ERROR;
  *width = need + 1;
  return r;
}

bool
rune_is_space (uint32_t r)
{
  switch (r)
    {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
    }
}

bool
rune_is_digit (uint32_t r)
{
  return r >= '0' && r <= '9';
}

bool
rune_is_letter (uint32_t r)
{
  if (r < 0x80)
    return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  if (r == 0xAA || r == 0xB5 || r == 0xBA)
    return true;
  if (r < 0xC0 || r == 0xD7 || r == 0xF7)
    return false;
  if (rune_is_space (r) || (r >= 0x2000 && r <= 0x2BFF) || (r >= 0x3000 && r <= 0x303F))
    return false;
  if (r >= 0xE000 && r <= 0xF8FF) /* private use */
    return false;
  if (r >= 0xFE00 && r <= 0xFE0F) /* variation selectors */
    return false;
  if (r >= 0x1F000 && r <= 0x1FAFF) /* emoji and symbols */
    return false;
  return r != RUNE_ERROR;
}

bool
rune_is_print (uint32_t r)
{
  if (r < 0x80)
    return r >= 0x20 && r < 0x7F;
  if (r < 0xA0 || r == 0xAD) /* C1 controls, soft hyphen */
    return false;
  if (rune_is_space (r))
    return false;
  if ((r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2060 && r <= 0x206F)
      || r == 0xFEFF || r == 0x061C || r == 0x180E || (r >= 0xFFF9 && r <= 0xFFFB))
    return false; /* format characters */
  if ((r >= 0xD800 && r <= 0xDFFF) || (r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000)
    return false; /* surrogates, private use */
  if ((r & 0xFFFE) == 0xFFFE || (r >= 0xFDD0 && r <= 0xFDEF))
    return false; /* noncharacters */
  return true;
}

size_t
utf8_space_prefix (const char *s, size_t len)
{
  size_t i = 0;
  while (i < len)
    {
      size_t w;
      uint32_t r = utf8_decode (s + i, len - i, &w);
      if (!rune_is_space (r))
        break;
      i += w;
    }
  return i;
}

size_t
utf8_space_suffix (const char *s, size_t len)
{
  size_t end = len;
  while (end > 0)
    {
      /* Step back to the start of the last rune. */
      size_t start = end - 1;
      while (start > 0 && end - start < 4 && ((unsigned char) s[start] & 0xC0) == 0x80)
        start--;
      size_t w;
      uint32_t r = utf8_decode (s + start, end - start, &w);
      if (start + w != end)
        {
          /* Not a complete rune ending here: the last byte alone is an invalid rune. */
          start = end - 1;
          r = RUNE_ERROR;
        }
      if (!rune_is_space (r))
        break;
      end = start;
    }
  return len - end;
}

void
utf8_go_quote (struct buf *out, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  buf_putc (out, '"');
  size_t i = 0;
  while (i < len)
    {
      size_t w;
      uint32_t r = utf8_decode (s + i, len - i, &w);
      if (r == RUNE_ERROR && w == 1)
        {
          unsigned char c = (unsigned char) s[i];
          char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
          buf_append (out, esc, 4);
          i++;
          continue;
        }
      if (r == '"' || r == '\\')
        {
          buf_putc (out, '\\');
          buf_putc (out, (char) r);
        }
      else if (rune_is_print (r))
        buf_append (out, s + i, w);
      else
        {
          switch (r)
            {
            case '\a': buf_puts (out, "\\a"); break;
            case '\b': buf_puts (out, "\\b"); break;
            case '\f': buf_puts (out, "\\f"); break;
            case '\n': buf_puts (out, "\\n"); break;
            case '\r': buf_puts (out, "\\r"); break;
            case '\t': buf_puts (out, "\\t"); break;
            case '\v': buf_puts (out, "\\v"); break;
            default:
              if (r < 0x20 || r == 0x7F)
                buf_printf (out, "\\x%02x", r);
              else if (r < 0x10000)
                buf_printf (out, "\\u%04x", r);
              else
                buf_printf (out, "\\U%08x", r);
            }
        }
      i += w;
    }
  buf_putc (out, '"');
}

void
utf8_json_string (struct buf *b, const char *s, size_t n, bool jsonlog)
{
  static const char hex[] = "0123456789abcdef";
  buf_putc (b, '"');
  for (size_t i = 0; i < n;)
    {
      unsigned char c = (unsigned char) s[i];
      if (c < 0x80)
        {
          i++;
          bool html = c == '<' || c == '>' || c == '&';
          if (c >= 0x20 && c != '"' && c != '\\' && !(jsonlog && html))
            buf_putc (b, (char) c);
          else if (c == '"' || c == '\\')
            {
              buf_putc (b, '\\');
              buf_putc (b, (char) c);
            }
          else if (c == '\n')
            buf_puts (b, "\\n");
          else if (c == '\r')
            buf_puts (b, "\\r");
          else if (!jsonlog && c == '\t')
            buf_puts (b, "\\t");
          else if (!jsonlog && c == '\b')
            buf_puts (b, "\\b");
          else if (!jsonlog && c == '\f')
            buf_puts (b, "\\f");
          else
            {
              buf_puts (b, "\\u00");
              buf_putc (b, hex[c >> 4]);
              buf_putc (b, hex[c & 15]);
            }
          continue;
        }
      size_t w;
      uint32_t r = utf8_decode (s + i, n - i, &w);
      if (r == RUNE_ERROR && w == 1)
        buf_puts (b, "\\ufffd");
      else if (r == 0x2028 || r == 0x2029)
        buf_printf (b, "\\u%04x", (unsigned) r);
      else
        buf_append (b, s + i, w);
      i += w;
    }
  buf_putc (b, '"');
}
