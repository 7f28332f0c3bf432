/* util/utf8.h — the few Unicode facts the Dockerfile front end depends on.
 *
 * BuildKit is written in Go, so "white space", "letter" and "printable" mean what
 * Go's unicode package says; these helpers reproduce that for the ranges that
 * matter.  Decoding follows Go: an invalid byte decodes to U+FFFD with width 1. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define RUNE_ERROR 0xFFFDu

/* Decodes one rune at s[0..len); sets *width (>= 1 when len > 0). */
uint32_t utf8_decode (const char *s, size_t len, size_t *width);

bool rune_is_space (uint32_t r);  /* Go unicode.IsSpace */
bool rune_is_letter (uint32_t r); /* Go unicode.IsLetter (approximation outside ASCII) */
bool rune_is_digit (uint32_t r);  /* Go unicode.IsDigit, ASCII digits */
bool rune_is_print (uint32_t r);  /* Go unicode.IsPrint (approximation outside Latin-1) */

/* Length of the Unicode white space at the start / end of s[0..len). */
size_t utf8_space_prefix (const char *s, size_t len);
size_t utf8_space_suffix (const char *s, size_t len);

/* Appends Go's strconv.Quote(s) for the bytes s[0..len). */
void utf8_go_quote (struct buf *out, const char *s, size_t len);

/* A string as Go writes it in JSON, invalid UTF-8 as U+FFFD and U+2028/2029
 * escaped: encoding/json without HTML escaping (`docker --format '{{json}}'`), or,
 * with `jsonlog`, docker's json-file log writer (ffjson: < > & escaped, control
 * characters but \n and \r as \u00XX). */
void utf8_json_string (struct buf *b, const char *s, size_t n, bool jsonlog);
