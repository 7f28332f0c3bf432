/* util/cleanup.h — resources that release themselves when they go out of scope. */
#pragma once
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
kiln_freep (void *p)
{
  free (*(void **) p);
}
static inline void
kiln_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}
static inline void
kiln_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

static inline void
kiln_json_decrefp (json_t **j)
{
  json_decref (*j);
}

#define _cleanup_(f) __attribute__ ((cleanup (f)))
#define _cleanup_free_ _cleanup_ (kiln_freep)
#define _cleanup_close_ _cleanup_ (kiln_closep)
#define _cleanup_fclose_ _cleanup_ (kiln_fclosep)
#define _cleanup_json_ _cleanup_ (kiln_json_decrefp)

/* Hands a pointer over to the caller: the cleanup of the variable then sees NULL. */
#define steal_pointer(pp)                                                                          \
  ({                                                                                               \
    __typeof__ (*(pp)) _p = *(pp);                                                                 \
    *(pp) = NULL;                                                                                  \
    _p;                                                                                            \
  })
