/* libFuzzer: --format templates (Go text/template with docker's functions) parsed and run
 * over JSON, alone, through docker's table formatter and tabwriter, and inspect's
 * documents (formatter_inspect: docker's map fields sorted first).  Input: one flag
 * byte, the template, a NUL, then the JSON data (optional). */
/* fuzz-floor: 725: scripts/test fails a run whose final cov is lower.  A 60 s run with the
 * seeds reached 1270-1320 (360k-470k runs); 5 minutes, 1444 and no finding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/formatter.h"
#include "util/gotemplate.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  uint8_t flags = data[0];
  const char *tmpl = (const char *) data + 1;
  size_t rest = size - 1;
  const char *nul = memchr (tmpl, 0, rest);
  size_t tlen = nul ? (size_t) (nul - tmpl) : rest;
  json_t *value = NULL;
  if (nul)
    value = json_loadb (nul + 1, rest - tlen - 1, JSON_DECODE_ANY, NULL);

  /* small limits: a run is a few milliseconds however the template loops */
  struct gotemplate_opts o = {
    .missingkey = flags & 1 ? GT_MISSING_ERROR : GT_MISSING_DEFAULT,
    .header_funcs = flags & 2,
    .root_type = flags & 4 ? "*formatter.ContainerContext" : NULL,
    .json_in_order = flags & 16,
    .max_output = 1 << 16,
    .max_steps = 20000,
  };
  struct kiln_err err = {0};
  struct gotemplate *t = gotemplate_parse (tmpl, tlen, &err);
  kiln_err_clear (&err);
  if (t)
    {
      struct buf out = BUF_INIT;
      gotemplate_exec (t, value, &o, &out, &err);
      kiln_err_clear (&err);
      buf_free (&out);
      gotemplate_free (t);
    }
  if (flags & 8)
    {
      /* docker's Format: table/json prefixes, header row, tabwriter */
      char *text = xstrndup (tmpl, tlen);
      struct formatter f;
      if (formatter_init (&f, text, &err) == 0)
        {
          json_t *rows = json_is_array (value) ? json_incref (value) : json_pack ("[O]", value ? value : json_null ());
          struct buf out = BUF_INIT;
          formatter_write (&f, rows, json_is_object (value) ? value : NULL, &o, &out, &err);
          buf_free (&out);
          json_decref (rows);
          formatter_clear (&f);
        }
      kiln_err_clear (&err);
      free (text);
    }
  if (flags & 32)
    {
      /* inspect's own outputs: docker's map fields sorted in place, then the
       * document as indented JSON and as `-f json` (templates run above, with
       * json_in_order from flag 16, under the small limits) */
      json_t *elements = json_pack ("[O]", value ? value : json_null ());
      struct buf out = BUF_INIT;
      formatter_inspect (flags & 64 ? "json" : "", elements, &out, &err);
      kiln_err_clear (&err);
      buf_free (&out);
      json_decref (elements);
    }
  json_decref (value);
  return 0;
}
