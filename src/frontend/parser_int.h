/* frontend/parser_int.h — internal to the Dockerfile parser (parser.c and
 * heredoc.c): the heredoc steps the main loop calls. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "frontend/parser.h"

/* RUN, COPY and ADD (also under ONBUILD) in shell form take heredocs. */
bool df_takes_heredocs (const struct df_node *node);
/* Appends the heredocs a line starts (`<<EOF`, `<<-"EOF"`, `3<<EOF`) to node->heredocs,
 * their contents still unread. -1 on an unterminated quote. */
int df_heredocs_from_line (const char *line, size_t len, struct df_node *node, struct kiln_err *err);
void df_heredoc_clear (struct df_heredoc *h);
