/* Unit tests: worker/pty's detach keys (docker's --detach-keys forms and how
 * typed input is held back and let through). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "container/attach.h"
#include "worker/pty.h"

static void
detach_keys_parse_dockers_forms (void **state)
{
  (void) state;
  struct detach_keys k;
  struct kiln_err err = {0};
  assert_int_equal (detach_keys_parse (PTY_DETACH_KEYS_DEFAULT, &k, &err), 0);
  assert_int_equal (k.len, 2);
  assert_int_equal (k.seq[0], 0x10);
  assert_int_equal (k.seq[1], 0x11);
  assert_int_equal (detach_keys_parse ("ctrl-a,x,ctrl-@,ctrl-_,ctrl-[", &k, &err), 0);
  assert_int_equal (k.len, 5);
  assert_memory_equal (k.seq, "\x01x\x00\x1f\x1b", 5);
  static const char *const bad[] = {"ctrl-", "ctrl-1", "xy", "", "a,,b", "ctrl-å"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_int_equal (detach_keys_parse (bad[i], &k, &err), -1);
      assert_int_equal (err.code, KILN_EUSAGE);
      assert_non_null (strstr (err.msg, "Invalid detach keys"));
      kiln_err_clear (&err);
    }
}

static void
detach_keys_hold_back_a_started_sequence (void **state)
{
  (void) state;
  struct detach_keys k;
  struct kiln_err err = {0};
  detach_keys_parse (PTY_DETACH_KEYS_DEFAULT, &k, &err);
  struct buf out = BUF_INIT;
  assert_int_equal (detach_keys_feed (&k, "ab\x10", 3, &out), 0);
  assert_int_equal (out.len, 2); /* ctrl-p waits */
  assert_int_equal (detach_keys_feed (&k, "c", 1, &out), 0);
  assert_int_equal (out.len, 4); /* broken: ctrl-p then c go through */
  assert_memory_equal (out.data, "ab\x10" "c", 4);
  buf_reset (&out);
  /* ctrl-p ctrl-p ctrl-q: the first goes through, the next two detach. */
  assert_int_equal (detach_keys_feed (&k, "\x10\x10", 2, &out), 0);
  assert_int_equal (detach_keys_feed (&k, "\x11", 1, &out), 1);
  assert_int_equal (out.len, 1);
  assert_int_equal ((unsigned char) out.data[0], 0x10);
  buf_free (&out);
}

static void
attach_frames_are_read_whole_and_bounded (void **state)
{
  (void) state;
  struct buf in = BUF_INIT, payload = BUF_INIT;
  char type = 0;
  /* 'i' "hi" arriving a byte at a time, then a window size. */
  static const char frames[] = "i\0\0\0\2hiw\0\0\0\4\0\x18\0\x50";
  for (size_t k = 0; k < 7; k++)
    {
      assert_int_equal (attach_frame_next (&in, &type, &payload), 0);
      buf_append (&in, frames + k, 1);
    }
  assert_int_equal (attach_frame_next (&in, &type, &payload), 1);
  assert_int_equal (type, 'i');
  assert_int_equal (payload.len, 2);
  assert_memory_equal (payload.data, "hi", 2);
  buf_append (&in, frames + 7, 9);
  assert_int_equal (attach_frame_next (&in, &type, &payload), 1);
  assert_int_equal (type, 'w');
  assert_int_equal (payload.len, 4);
  assert_int_equal (in.len, 0);
  /* A length over 1 MiB is refused before anything is buffered for it. */
  buf_append (&in, "o\0\x20\0\0", 5);
  assert_int_equal (attach_frame_next (&in, &type, &payload), -1);
  buf_free (&in);
  buf_free (&payload);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (detach_keys_parse_dockers_forms),
    cmocka_unit_test (detach_keys_hold_back_a_started_sequence),
    cmocka_unit_test (attach_frames_are_read_whole_and_bounded),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
