/* Unit tests: container/names (names, references, ps's STATUS and COMMAND),
 * go-units' HumanDuration, RFC3339Nano, and the json-file log's entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/logs.h"
#include "container/names.h"
#include "image/image.h"

static void
names_follow_dockers_rule (void **state)
{
  (void) state;
  assert_true (container_name_valid ("svc"));
  assert_true (container_name_valid ("/svc"));
  assert_true (container_name_valid ("a1_b.c-d"));
  assert_true (container_name_valid ("9z"));
  assert_false (container_name_valid ("a"));     /* two characters at least */
  assert_false (container_name_valid ("_svc"));  /* starts with a letter or digit */
  assert_false (container_name_valid ("-svc"));
  assert_false (container_name_valid ("s v c"));
  assert_false (container_name_valid ("s/vc"));
  assert_false (container_name_valid ("//svc"));
  assert_false (container_name_valid (""));
}

static void
generated_names_are_adjective_surname_and_valid (void **state)
{
  (void) state;
  char a[64], b[64];
  container_name_generate (0, 0, a);
  container_name_generate (1, 0, b);
  assert_string_not_equal (a, b);
  const char *us = strchr (a, '_');
  assert_non_null (us);
  assert_ptr_equal (strrchr (a, '_'), us);
  for (uint32_t i = 0; i < 2000; i += 7)
    {
      container_name_generate (i, i * 31 + 5, a);
      assert_true (container_name_valid (a));
    }
  char id[65], id2[65];
  container_id_generate (id);
  container_id_generate (id2);
  assert_int_equal (strlen (id), 64);
  assert_int_equal (strspn (id, "0123456789abcdef"), 64);
  assert_string_not_equal (id, id2);
}

static void
references_resolve_by_id_name_then_unique_prefix (void **state)
{
  (void) state;
  struct container_rec recs[] = {
    {.id = "abc123" "0000000000000000000000000000000000000000000000000000000000", .name = "web"},
    {.id = "abd456" "0000000000000000000000000000000000000000000000000000000000", .name = "abc123"},
    {.id = "ffff00" "0000000000000000000000000000000000000000000000000000000000", .name = "db"},
  };
  size_t n = 3, i = 99;
  assert_int_equal (container_ref_match (recs, n, recs[2].id, &i), CONTAINER_FOUND);
  assert_int_equal (i, 2);
  assert_int_equal (container_ref_match (recs, n, "web", &i), CONTAINER_FOUND);
  assert_int_equal (i, 0);
  assert_int_equal (container_ref_match (recs, n, "/db", &i), CONTAINER_FOUND);
  assert_int_equal (i, 2);
  /* A name wins over an id prefix, as in docker. */
  assert_int_equal (container_ref_match (recs, n, "abc123", &i), CONTAINER_FOUND);
  assert_int_equal (i, 1);
  assert_int_equal (container_ref_match (recs, n, "ff", &i), CONTAINER_FOUND);
  assert_int_equal (i, 2);
  assert_int_equal (container_ref_match (recs, n, "ab", &i), CONTAINER_AMBIGUOUS);
  assert_int_equal (container_ref_match (recs, n, "abd", &i), CONTAINER_FOUND);
  assert_int_equal (i, 1);
  assert_int_equal (container_ref_match (recs, n, "nosuch", &i), CONTAINER_NONE);
  assert_int_equal (container_ref_match (recs, n, "", &i), CONTAINER_NONE);
  assert_int_equal (container_ref_match (recs, 0, "web", &i), CONTAINER_NONE);
}

static void
human_duration_is_go_units (void **state)
{
  (void) state;
  static const struct
  {
    int64_t secs;
    const char *want;
  } cases[] = {
    {0, "Less than a second"}, {1, "1 second"},       {2, "2 seconds"},        {59, "59 seconds"},
    {60, "About a minute"},    {119, "About a minute"}, {120, "2 minutes"},     {3599, "59 minutes"},
    {3600, "About an hour"},   {5399, "About an hour"}, {5400, "2 hours"},      {47 * 3600, "47 hours"},
    {48 * 3600, "2 days"},     {13 * 86400, "13 days"}, {14 * 86400, "2 weeks"}, {59 * 86400, "8 weeks"},
    {60 * 86400, "2 months"},  {729 * 86400, "24 months"}, {730 * 86400, "2 years"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char out[48];
      human_duration (cases[i].secs, out);
      assert_string_equal (out, cases[i].want);
    }
}

static void
status_text_is_dockers (void **state)
{
  (void) state;
  const int64_t s = 1000000000;
  const int64_t now = 1700000000 * s;
  char out[96];
  struct container_state st = {.status = CONTAINER_RUNNING, .started = now - 5 * s - s / 2};
  container_status_text (&st, now, out);
  assert_string_equal (out, "Up 5 seconds");
  st.started = now - 150 * s;
  container_status_text (&st, now, out);
  assert_string_equal (out, "Up 2 minutes");
  st.started = now - s / 3;
  container_status_text (&st, now, out);
  assert_string_equal (out, "Up Less than a second");
  st = (struct container_state){.status = CONTAINER_EXITED, .exit_code = 3, .finished = now - 5 * s};
  container_status_text (&st, now, out);
  assert_string_equal (out, "Exited (3) 5 seconds ago");
  st.exit_code = 137;
  st.finished = now - 3 * 3600 * s;
  container_status_text (&st, now, out);
  assert_string_equal (out, "Exited (137) 3 hours ago");
  st = (struct container_state){.status = CONTAINER_CREATED};
  container_status_text (&st, now, out);
  assert_string_equal (out, "Created");
}

static void
command_cells_are_quoted_and_cut_as_docker (void **state)
{
  (void) state;
  /* The cells of ../shared/conformance/docker-shapes/ps-table.txt and ps-a-notrunc.txt. */
  struct strv argv = STRV_INIT;
  strv_push (&argv, "sh");
  strv_push (&argv, "-c");
  strv_push (&argv, "mkdir -p /w && echo hello > /w/index.html && echo started && exec httpd -f -p 80 -h /w");
  struct buf cmd = BUF_INIT, cell = BUF_INIT;
  container_command_text (&argv, &cmd);
  assert_string_equal (buf_str (&cmd),
                       "sh -c 'mkdir -p /w && echo hello > /w/index.html && echo started && exec httpd -f -p 80 -h /w'");
  container_command_cell (buf_str (&cmd), false, &cell);
  assert_string_equal (buf_str (&cell), "\"sh -c 'mkdir -p /w …\"");
  buf_reset (&cell);
  container_command_cell (buf_str (&cmd), true, &cell);
  assert_string_equal (buf_str (&cell),
                       "\"sh -c 'mkdir -p /w && echo hello > /w/index.html && echo started && exec httpd -f -p 80 -h /w'\"");
  buf_reset (&cell);
  container_command_cell ("sleep 600", false, &cell);
  assert_string_equal (buf_str (&cell), "\"sleep 600\"");
  /* Exactly 20 characters stay whole; quotes inside are Go-escaped. */
  buf_reset (&cell);
  container_command_cell ("12345678901234567890", false, &cell);
  assert_string_equal (buf_str (&cell), "\"12345678901234567890\"");
  buf_reset (&cell);
  container_command_cell ("sh -c 'trap \"\" TERM; sleep 9'", false, &cell);
  assert_string_equal (buf_str (&cell), "\"sh -c 'trap \\\"\\\" TERM…\"");
  buf_free (&cmd);
  buf_free (&cell);
  strv_free (&argv);
}

static void
rfc3339_nano_is_gos (void **state)
{
  (void) state;
  char out[40];
  format_rfc3339_nano (1764594240848449686LL, out);
  assert_string_equal (out, "2025-12-01T13:04:00.848449686Z");
  format_rfc3339_nano (1764594240800000000LL, out);
  assert_string_equal (out, "2025-12-01T13:04:00.8Z"); /* trailing zeros dropped */
  format_rfc3339_nano (1764594240000000000LL, out);
  assert_string_equal (out, "2025-12-01T13:04:00Z");
  format_rfc3339_nano (0, out);
  assert_string_equal (out, "0001-01-01T00:00:00Z");
  assert_int_equal (parse_rfc3339_nano ("2025-12-01T13:04:00.848449686Z"), 1764594240848449686LL);
  assert_int_equal (parse_rfc3339_nano ("2025-12-01T13:04:00.8Z"), 1764594240800000000LL);
  assert_int_equal (parse_rfc3339_nano ("0001-01-01T00:00:00Z"), 0);
  assert_int_equal (parse_rfc3339_nano ("soon"), -1);
}

static void
log_entries_are_json_file_lines (void **state)
{
  (void) state;
  struct buf b = BUF_INIT;
  log_entry_format (&b, "out\n", 4, LOG_STDOUT, 1764594240848472841LL);
  assert_string_equal (buf_str (&b), "{\"log\":\"out\\n\",\"stream\":\"stdout\",\"time\":\"2025-12-01T13:04:00.848472841Z\"}\n");
  buf_reset (&b);
  /* docker's escaping: <>& as \u00XX, control characters, invalid UTF-8. */
  log_entry_format (&b, "<a&b>\t\"\\\xff é\n", 13, LOG_STDERR, 1764594240000000000LL);
  assert_string_equal (buf_str (&b), "{\"log\":\"\\u003ca\\u0026b\\u003e\\u0009\\\"\\\\\\ufffd é\\n\",\"stream\":\"stderr\","
                                     "\"time\":\"2025-12-01T13:04:00Z\"}\n");
  struct log_entry e;
  assert_int_equal (log_entry_parse (b.data, b.len - 1, &e), 0);
  assert_int_equal (e.stream, LOG_STDERR);
  assert_string_equal (e.log, "<a&b>\t\"\\\xef\xbf\xbd é\n");
  assert_string_equal (e.time, "2025-12-01T13:04:00Z");
  log_entry_clear (&e);
  assert_int_equal (log_entry_parse ("{\"nolog\":1}", 11, &e), -1);
  buf_free (&b);
}

static void
log_writer_makes_an_entry_a_line_and_cuts_long_ones (void **state)
{
  (void) state;
  char path[] = "/tmp/kiln-test-log-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  struct log_writer w;
  log_writer_init (&w, fd);
  log_writer_chunk (&w, LOG_STDOUT, "one\ntw", 6);
  log_writer_chunk (&w, LOG_STDERR, "err\n", 4);
  log_writer_chunk (&w, LOG_STDOUT, "o\nthree", 7);
  char *big = malloc (20000);
  memset (big, 'x', 20000);
  log_writer_chunk (&w, LOG_STDERR, big, 20000);
  log_writer_finish (&w);
  free (big);
  FILE *f = fdopen (fd, "r");
  rewind (f);
  char *line = NULL;
  size_t cap = 0;
  const char *want[][2] = {{"one\n", "1"}, {"err\n", "2"}, {"two\n", "1"}, {NULL, "2"}, {"three", "1"}, {NULL, "2"}};
  size_t k = 0;
  ssize_t n;
  size_t xs = 0;
  while ((n = getline (&line, &cap, f)) > 0)
    {
      struct log_entry e;
      assert_true (k < 6);
      assert_int_equal (log_entry_parse (line, (size_t) n - 1, &e), 0);
      assert_int_equal (e.stream, atoi (want[k][1]));
      if (want[k][0])
        assert_string_equal (e.log, want[k][0]);
      else
        {
          assert_true (e.len == 16384 || e.len == 20000 - 16384);
          xs += e.len;
        }
      log_entry_clear (&e);
      k++;
    }
  /* The 20000 bytes without a newline: a full 16 KiB part, the rest at the end. */
  assert_int_equal (k, 6);
  assert_int_equal (xs, 20000);
  free (line);
  fclose (f);
  unlink (path);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (names_follow_dockers_rule),
    cmocka_unit_test (generated_names_are_adjective_surname_and_valid),
    cmocka_unit_test (references_resolve_by_id_name_then_unique_prefix),
    cmocka_unit_test (human_duration_is_go_units),
    cmocka_unit_test (status_text_is_dockers),
    cmocka_unit_test (command_cells_are_quoted_and_cut_as_docker),
    cmocka_unit_test (rfc3339_nano_is_gos),
    cmocka_unit_test (log_entries_are_json_file_lines),
    cmocka_unit_test (log_writer_makes_an_entry_a_line_and_cuts_long_ones),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
