/* Unit tests: util/utf8 and util/buf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/utf8.h"

static void
go_quote_matches_strconv (void **state)
{
  (void) state;
  struct buf b = BUF_INIT;
  utf8_go_quote (&b, "a\"b\\c\t\x01\x7f\xff\xc2\xa0\xe2\x99\xa5", 14);
  assert_string_equal (buf_str (&b), "\"a\\\"b\\\\c\\t\\x01\\x7f\\xff\\u00a0♥\"");
  buf_free (&b);
}

static void
decode_invalid_is_one_byte_rune_error (void **state)
{
  (void) state;
  size_t w;
  assert_int_equal (utf8_decode ("\xe2\x99", 2, &w), RUNE_ERROR);
  assert_int_equal (w, 1);
  assert_int_equal (utf8_decode ("\xed\xa0\x80", 3, &w), RUNE_ERROR); /* surrogate */
  assert_int_equal (utf8_decode ("한", strlen ("한"), &w), 0xD55C);
  assert_int_equal (w, 3);
}

static void
space_trim_is_unicode (void **state)
{
  (void) state;
  const char *s = "\xc2\xa0 x \xe3\x80\x80";
  size_t n = strlen (s);
  assert_int_equal (utf8_space_prefix (s, n), 3);
  assert_int_equal (utf8_space_suffix (s, n), 4);
  assert_int_equal (utf8_space_suffix ("ab\xa0", 3), 0); /* a lone 0xA0 byte is invalid, not space */
}

static void
strv_keeps_embedded_nul_length (void **state)
{
  (void) state;
  struct strv v = STRV_INIT;
  strv_pushn (&v, "a\0b", 3);
  strv_push (&v, "cd");
  assert_int_equal (v.n, 2);
  assert_int_equal (v.lens[0], 3);
  assert_int_equal (v.lens[1], 2);
  assert_null (v.v[2]);
  strv_free (&v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (go_quote_matches_strconv),
    cmocka_unit_test (decode_invalid_is_one_byte_rune_error),
    cmocka_unit_test (space_trim_is_unicode),
    cmocka_unit_test (strv_keeps_embedded_nul_length),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
