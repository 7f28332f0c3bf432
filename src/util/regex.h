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
