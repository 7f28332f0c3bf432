/* Unit tests: solver/ttyview's state and frames — SolveStatus lines fed at times
 * of a fake clock, the frame compared as text. */
#include "solver/ttyview.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void
feed (struct ttyview *v, const char *line, double now)
{
  ttyview_feed (v, line, strlen (line), now);
}

/* The frame with its escape sequences taken out. */
static char *
frame (const struct ttyview *v, double now, int cols, int max_lines, bool finished, int *n)
{
  struct buf out = BUF_INIT;
  *n = ttyview_render (v, now, cols, max_lines, finished, &out);
  struct buf plain = BUF_INIT;
  for (size_t i = 0; i < out.len; i++)
    {
      if (out.data[i] == '\033')
        {
          while (i < out.len && !((out.data[i] >= 'A' && out.data[i] <= 'Z') || (out.data[i] >= 'a' && out.data[i] <= 'z')))
            i++;
          continue;
        }
      buf_putc (&plain, out.data[i]);
    }
  buf_free (&out);
  return buf_steal (&plain);
}

#define V1 "sha256:1111"
#define V2 "sha256:2222"

static void
steps_running_cached_finished (void **state)
{
  (void) state;
  struct ttyview *v = ttyview_new ();
  feed (v, "{\"vertexes\":[{\"digest\":\"" V1 "\",\"name\":\"[1/2] FROM busybox\",\"started\":\"t\"}]}", 10.0);
  feed (v, "{\"vertexes\":[{\"digest\":\"" V1 "\",\"name\":\"[1/2] FROM busybox\",\"started\":\"t\",\"completed\":\"t\",\"cached\":true}]}", 10.0);
  feed (v, "{\"vertexes\":[{\"digest\":\"" V2 "\",\"name\":\"[2/2] RUN make\",\"started\":\"t\"}]}", 10.5);
  feed (v, "{\"statuses\":[{\"id\":\"x\",\"vertex\":\"" V2 "\",\"name\":\"cache miss: build arg V changed\"}]}", 10.5);
  /* "one\ntwo\n" */
  feed (v, "{\"logs\":[{\"vertex\":\"" V2 "\",\"stream\":1,\"data\":\"b25lCnR3bwo=\"}]}", 11.0);
  feed (v, "not json at all", 11.0);
  int n;
  /* 40 columns: every line at most 39 (the last column would wrap on some terminals). */
  char *f = frame (v, 12.0, 40, 0, false, &n);
  assert_string_equal (f, "[+] Building 2.0s (1/2)\n"
                          " => CACHED [1/2] FROM busybox      0.0s\n"
                          " => [2/2] RUN make                 1.5s\n"
                          " => => cache miss: build arg V changed\n"
                          " => => # one\n"
                          " => => # two\n");
  assert_int_equal (n, 6);
  free (f);
  /* No taller than asked: the header, then the last lines. */
  f = frame (v, 12.0, 40, 3, false, &n);
  assert_string_equal (f, "[+] Building 2.0s (1/2)\n"
                          " => => # one\n"
                          " => => # two\n");
  assert_int_equal (n, 3);
  free (f);
  feed (v, "{\"vertexes\":[{\"digest\":\"" V2 "\",\"name\":\"[2/2] RUN make\",\"started\":\"t\",\"completed\":\"t\"}]}", 13.0);
  f = frame (v, 20.0, 40, 0, true, &n);
  /* Finished: the time stops at the last event, the output goes. */
  assert_string_equal (f, "[+] Building 3.0s (2/2) FINISHED\n"
                          " => CACHED [1/2] FROM busybox      0.0s\n"
                          " => [2/2] RUN make                 2.5s\n"
                          " => => cache miss: build arg V changed\n");
  free (f);
  ttyview_free (v);
}

static void
errors_warnings_and_hostile_text (void **state)
{
  (void) state;
  struct ttyview *v = ttyview_new ();
  /* "warning: x\n" */
  feed (v, "{\"warnings\":[{\"level\":1,\"short\":\"d2FybmluZzogeAo=\"}]}", 1.0);
  feed (v, "{\"vertexes\":[{\"digest\":\"" V1 "\",\"name\":\"RUN a\\u001b[2Jb very long name that will not fit\",\"started\":\"t\"}]}", 1.0);
  /* "\x1b[31mred\n" */
  feed (v, "{\"logs\":[{\"vertex\":\"" V1 "\",\"data\":\"G1szMW1yZWQK\"}]}", 1.0);
  feed (v, "{\"logs\":[{\"vertex\":\"sha256:unknown\",\"data\":\"eAo=\"}, {\"vertex\":\"" V1 "\",\"data\":\"!!\"}]}", 1.0);
  feed (v, "{\"vertexes\":[{\"digest\":\"" V1 "\",\"started\":\"t\",\"completed\":\"t\",\"error\":\"exit code: 1\"}]}", 2.0);
  int n;
  char *f = frame (v, 3.0, 40, 0, true, &n);
  assert_string_equal (f, "[+] Building 1.0s (1/1) FINISHED\n"
                          "warning: x\n"
                          " => ERROR RUN a?[2Jb very long nam 1.0s\n"
                          " => => # ?[31mred\n");
  free (f);
  ttyview_free (v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test (steps_running_cached_finished),
      cmocka_unit_test (errors_warnings_and_hostile_text),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
