/* util/regex.h — the regular expressions of docker's filters (Go's RE2 there), compiled
 * here as POSIX extended ones.
 *
 * glibc's regcomp copies the tree of a repeated atom for every repetition applied to it,
 * so a short hostile pattern ("a++++…", "((a+)+)+…", "a{1000}{1000}") takes gigabytes; RE2
 * never does.  regex_compile estimates the size of that tree first and refuses a pattern
 * whose copies would pass a bound. */
#pragma once
#include <regex.h>

/* regcomp with REG_EXTENDED | REG_NOSUB, after the bound: 0, or -1 (nothing to free). */
int regex_compile (regex_t *r, const char *pattern);

/* Patterns compiled once each: a filter matches many rows (containers, volumes) with the
 * same few patterns, and a pattern near the bound takes a while to compile. */
struct regex_set
{
  struct regex_set_entry
  {
    char *pattern;
    int ok; /* 0: it did not compile */
    regex_t re;
  } *v;
  size_t n;
};
#define REGEX_SET_INIT {NULL, 0}

/* Compiles `pattern` into the set (once: a pattern already there is kept). */
void regex_set_add (struct regex_set *s, const char *pattern);
/* 1 when `pattern` (added before) is found in `subject`, 0 when not, -1 when it did not
 * compile or was never added (the caller decides what that means). */
int regex_set_match (const struct regex_set *s, const char *pattern, const char *subject);
void regex_set_clear (struct regex_set *s);
