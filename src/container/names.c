/* container/names.c — ids, names, references, status and command strings. */
#include "container/names.h"
#include "container/health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "image/image.h"
#include "util/utf8.h"

bool
container_name_valid (const char *name)
{
  if (*name == '/')
    name++;
  size_t n = strlen (name);
  if (n < 2)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = name[i];
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
        return false;
    }
  return true;
}

/* kiln's own short lists, in docker's spirit (kilns, glazes, and potters). */
static const char *const adjectives[] = {
  "amber",   "bold",    "brave",   "bright",  "calm",    "clever",  "cool",    "crisp",   "eager",
  "fired",   "gentle",  "glazed",  "happy",   "hardy",   "keen",    "kind",    "lucid",   "mellow",
  "modest",  "nimble",  "patient", "quiet",   "rapid",   "serene",  "sharp",   "smooth",  "steady",
  "sturdy",  "sunny",   "tender",  "vivid",   "warm",    "wise",    "zealous", "glowing", "dusty",
};
static const char *const surnames[] = {
  "wedgwood", "leach",   "hamada",  "rie",      "coper",   "cardew",  "odundo", "martinez", "voulkos",
  "soldner",  "takaezu", "natzler", "staffel",  "ohr",     "perry",   "cooper", "grotell",  "frey",
  "autio",    "arneson", "shaner",  "mason",    "kwali",   "bawa",    "mingei", "kenzan",   "raku",
  "chojiro",  "bottger", "palissy", "spode",    "minton",  "doulton", "adams",  "clarice",  "nampeyo",
};
#define N_ADJ (sizeof adjectives / sizeof *adjectives)
#define N_SUR (sizeof surnames / sizeof *surnames)

void
container_name_generate (uint32_t a, uint32_t b, char out[static 64])
{
  snprintf (out, 64, "%s_%s", adjectives[a % N_ADJ], surnames[b % N_SUR]);
}

void
container_id_generate (char out[static 65])
{
  unsigned char r[32];
  size_t got = 0;
  while (got < sizeof r)
    {
      ssize_t n = getrandom (r + got, sizeof r - got, 0);
      if (n > 0)
        got += (size_t) n;
      else if (n < 0 && errno != EINTR)
        abort ();
    }
  for (size_t i = 0; i < sizeof r; i++)
    snprintf (out + 2 * i, 3, "%02x", r[i]);
}

enum container_match
container_ref_match (const struct container_rec *recs, size_t n, const char *ref, size_t *idx)
{
  if (*ref == '\0')
    return CONTAINER_NONE;
  for (size_t i = 0; i < n; i++)
    if (strcmp (recs[i].id, ref) == 0)
      return *idx = i, CONTAINER_FOUND;
  const char *name = *ref == '/' ? ref + 1 : ref;
  for (size_t i = 0; i < n; i++)
    if (strcmp (recs[i].name, name) == 0)
      return *idx = i, CONTAINER_FOUND;
  size_t len = strlen (ref), hits = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp (recs[i].id, ref, len) == 0)
      hits++, *idx = i;
  return hits == 1 ? CONTAINER_FOUND : hits ? CONTAINER_AMBIGUOUS : CONTAINER_NONE;
}

void
container_status_text (const struct container_state *s, int64_t now_ns, char out[static 96])
{
  char d[48];
  switch (s->status)
    {
    case CONTAINER_RUNNING:
      if (s->restarting)
        {
          human_duration ((now_ns - s->finished) / 1000000000, d);
          snprintf (out, 96, "Restarting (%d) %s ago", s->exit_code, d);
          break;
        }
      human_duration ((now_ns - s->started) / 1000000000, d);
      if (s->health && !s->paused)
        snprintf (out, 96, "Up %s (%s)", d, health_status_text (s->health));
      else
        snprintf (out, 96, "Up %s%s", d, s->paused ? " (Paused)" : "");
      break;
    case CONTAINER_EXITED:
      human_duration ((now_ns - s->finished) / 1000000000, d);
      snprintf (out, 96, "Exited (%d) %s ago", s->exit_code, d);
      break;
    default:
      snprintf (out, 96, "Created");
    }
}

void
container_command_text (const struct strv *argv, struct buf *out)
{
  for (size_t i = 0; i < argv->n; i++)
    {
      if (i)
        buf_putc (out, ' ');
      bool quote = i > 0 && strchr (argv->v[i], ' ');
      buf_printf (out, quote ? "'%s'" : "%s", argv->v[i]);
    }
}

void
container_command_cell (const char *command, bool no_trunc, struct buf *out)
{
  size_t len = strlen (command);
  if (no_trunc)
    {
      utf8_go_quote (out, command, len);
      return;
    }
  /* Ellipsis(command, 20): 19 runes and "…" when longer (every rune one column
   * wide: docker measures East Asian wide runes as two, which kiln does not). */
  size_t runes = 0, cut = len, at = 0;
  while (at < len)
    {
      size_t w;
      utf8_decode (command + at, len - at, &w);
      if (runes == 19)
        cut = at;
      runes++;
      at += w;
    }
  if (runes <= 20)
    {
      utf8_go_quote (out, command, len);
      return;
    }
  struct buf cutb = BUF_INIT;
  buf_append (&cutb, command, cut);
  buf_puts (&cutb, "…");
  utf8_go_quote (out, cutb.data, cutb.len);
  buf_free (&cutb);
}
