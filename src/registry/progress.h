/* registry/progress.h — what a pull or push shows, one line per layer.
 *
 * On a terminal the lines are redrawn in place with a bar ("a1b2c3d4e5f6:
 * Downloading [====>     ] 12.3MB/45.6MB"), at most ten times a second;
 * elsewhere each status change is one plain line, as docker prints them.
 * Safe to call from the transfer threads. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct xfer_view;

/* `ids` are the short ids shown (12 hex); `out` NULL shows nothing. */
struct xfer_view *xfer_view_new (FILE *out, size_t n, char (*ids)[13]);
void xfer_view_status (struct xfer_view *v, size_t i, const char *status);
/* A passing state ("Extracting"), shown on a terminal only. */
void xfer_view_transient (struct xfer_view *v, size_t i, const char *status);
/* Progress of item i: "Downloading"/"Pushing" with a bar, on a terminal only. */
void xfer_view_bytes (struct xfer_view *v, size_t i, const char *verb, uint64_t done, int64_t total);
/* Draws the final state and frees the view. */
void xfer_view_free (struct xfer_view *v);
