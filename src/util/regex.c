/* util/regex.c — the bound before regcomp (see regex.h). */
#include "util/regex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define REGEX_MAX_LEN 4096
#define REGEX_MAX_NODES 4096.0 /* copies of atoms glibc would make: its closures grow faster */
#define REGEX_MAX_DEPTH 64

/* The estimated size of a pattern's tree: each atom counts 1, a repetition adds
 * copies of the atom it applies to ({m,n}: max(m,n) of them), a group is the sum of
 * what it holds.  Over the bound (or unbalanced, or too deep): -1. */
static double
tree_size (const char *p)
{
  double size[REGEX_MAX_DEPTH + 1] = {0}, last[REGEX_MAX_DEPTH + 1] = {0};
  int d = 0;
  int reps = 0; /* repetition operators on the last atom: Go's RE2 takes one, and one lazy `?` */
  for (size_t i = 0; p[i]; i++)
    {
      char c = p[i];
      double atom = -1;
      if (c != '*' && c != '+' && c != '?' && c != '{')
        reps = 0;
      if (c == '\\' && p[i + 1])
        {
          i++;
          atom = 1;
        }
      else if (c == '[')
        {
          size_t j = i + 1;
          if (p[j] == '^')
            j++;
          if (p[j] == ']')
            j++;
          while (p[j] && p[j] != ']')
            j++;
          if (!p[j])
            return -1;
          i = j;
          atom = 1;
        }
      else if (c == '(')
        {
          if (++d > REGEX_MAX_DEPTH)
            return -1;
          size[d] = last[d] = 0;
          continue;
        }
      else if (c == ')')
        {
          if (d == 0)
            return -1;
          atom = size[d] + 1;
          d--;
        }
      else if (c == '|')
        {
          last[d] = 0;
          continue;
        }
      else if (c == '*' || c == '+' || c == '?' || c == '{')
        {
          if (reps > 1 || (reps == 1 && c != '?'))
            return -1; /* "a++", "a*{2}": RE2's invalid nested repetition operator */
          reps++;
          double times = 2;
          if (c == '{')
            {
              char *end;
              long m = strtol (p + i + 1, &end, 10), n = m;
              if (m < 0 || m > 1000) /* before m + 1: strtol saturates a long run of digits */
                return -1;
              if (*end == ',')
                n = isdigit ((unsigned char) end[1]) ? strtol (end + 1, &end, 10) : m + 1;
              if (*end != '}' || n < 0 || n > 1000)
                return -1;
              times = (double) (m > n ? m : n) + 1;
              i = (size_t) (end - p);
            }
          size[d] += last[d] * (times - 1);
          last[d] *= times;
          if (size[d] > REGEX_MAX_NODES)
            return -1;
          continue;
        }
      else
        atom = 1;
      size[d] += atom;
      last[d] = atom;
      if (size[d] > REGEX_MAX_NODES)
        return -1;
    }
  return d == 0 ? size[0] : -1;
}

int
regex_compile (regex_t *r, const char *pattern)
{
  if (strlen (pattern) > REGEX_MAX_LEN || tree_size (pattern) < 0)
    return -1;
  return regcomp (r, pattern, REG_EXTENDED | REG_NOSUB) == 0 ? 0 : -1;
}

static const struct regex_set_entry *
set_find (const struct regex_set *s, const char *pattern)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcmp (s->v[i].pattern, pattern) == 0)
      return &s->v[i];
  return NULL;
}

void
regex_set_add (struct regex_set *s, const char *pattern)
{
  if (set_find (s, pattern))
    return;
  s->v = xrealloc (s->v, (s->n + 1) * sizeof *s->v);
  struct regex_set_entry *e = &s->v[s->n++];
  e->pattern = xstrdup (pattern);
  e->ok = regex_compile (&e->re, pattern) == 0;
}

int
regex_set_match (const struct regex_set *s, const char *pattern, const char *subject)
{
  const struct regex_set_entry *e = set_find (s, pattern);
  if (e == NULL || !e->ok)
    return -1;
  return regexec (&e->re, subject, 0, NULL, 0) == 0;
}

void
regex_set_clear (struct regex_set *s)
{
  for (size_t i = 0; i < s->n; i++)
    {
      if (s->v[i].ok)
        regfree (&s->v[i].re);
      free (s->v[i].pattern);
    }
  free (s->v);
  s->v = NULL;
  s->n = 0;
}
