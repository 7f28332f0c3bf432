/* util/gotemplate_tree.c — the parse tree of a template: adding and freeing nodes,
 * and printing a node back as Go's parse.Node.String does (for error messages). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/gotemplate_int.h"
#include "util/utf8.h"

static void
node_free (struct node *n)
{
  free (n->kids);
  free (n->decl);
  for (size_t i = 0; i < n->nident; i++)
    free (n->ident[i]);
  free (n->ident);
  free (n->text);
  free (n);
}

void
gotemplate_free (struct gotemplate *t)
{
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->narena; i++)
    node_free (t->arena[i]);
  free (t->arena);
  for (size_t i = 0; i < t->ndefs; i++)
    free (t->defs[i].name);
  free (t->defs);
  free (t->text);
  free (t);
}

void
gt_node_add (struct node *parent, struct node *kid)
{
  parent->kids = xgrow (parent->kids, &parent->kcap, parent->nkids + 1, sizeof *parent->kids);
  parent->kids[parent->nkids++] = kid;
}

void
gt_ident_add (struct node *n, const char *s, size_t len)
{
  n->ident = xgrow (n->ident, &n->icap, n->nident + 1, sizeof *n->ident);
  n->ident[n->nident++] = xstrndup (s, len);
}

/* Go's Node.String(), for the "at <...>" of execution errors and parse messages. */
void
gt_node_string (struct buf *b, const struct node *n)
{
  switch (n->kind)
    {
    case N_TEXT: buf_append (b, n->text, n->len); break;
    case N_LIST:
      for (size_t i = 0; i < n->nkids; i++)
        gt_node_string (b, n->kids[i]);
      break;
    case N_ACTION:
      buf_puts (b, "{{");
      gt_node_string (b, n->pipe);
      buf_puts (b, "}}");
      break;
    case N_IF:
    case N_RANGE:
    case N_WITH:
      buf_puts (b, n->kind == N_IF ? "{{if " : n->kind == N_RANGE ? "{{range " : "{{with ");
      gt_node_string (b, n->pipe);
      buf_puts (b, "}}");
      gt_node_string (b, n->list);
      if (n->elselist)
        {
          buf_puts (b, "{{else}}");
          gt_node_string (b, n->elselist);
        }
      buf_puts (b, "{{end}}");
      break;
    case N_TEMPLATE:
      buf_puts (b, "{{template ");
      utf8_go_quote (b, n->text, n->len);
      if (n->pipe)
        {
          buf_putc (b, ' ');
          gt_node_string (b, n->pipe);
        }
      buf_puts (b, "}}");
      break;
    case N_BREAK: buf_puts (b, "{{break}}"); break;
    case N_CONTINUE: buf_puts (b, "{{continue}}"); break;
    case N_END: buf_puts (b, "{{end}}"); break;
    case N_ELSE: buf_puts (b, "{{else}}"); break;
    case N_PIPE:
      for (size_t i = 0; i < n->ndecl; i++)
        {
          if (i)
            buf_puts (b, ", ");
          gt_node_string (b, n->decl[i]);
        }
      if (n->ndecl)
        buf_puts (b, n->is_assign ? " = " : " := ");
      for (size_t i = 0; i < n->nkids; i++)
        {
          if (i)
            buf_puts (b, " | ");
          gt_node_string (b, n->kids[i]);
        }
      break;
    case N_CMD:
      for (size_t i = 0; i < n->nkids; i++)
        {
          if (i)
            buf_putc (b, ' ');
          if (n->kids[i]->kind == N_PIPE)
            buf_putc (b, '(');
          gt_node_string (b, n->kids[i]);
          if (n->kids[i]->kind == N_PIPE)
            buf_putc (b, ')');
        }
      break;
    case N_FIELD:
      for (size_t i = 0; i < n->nident; i++)
        {
          buf_putc (b, '.');
          buf_puts (b, n->ident[i]);
        }
      break;
    case N_VAR:
      for (size_t i = 0; i < n->nident; i++)
        {
          if (i)
            buf_putc (b, '.');
          buf_puts (b, n->ident[i]);
        }
      break;
    case N_CHAIN:
      if (n->pipe->kind == N_PIPE)
        buf_putc (b, '(');
      gt_node_string (b, n->pipe);
      if (n->pipe->kind == N_PIPE)
        buf_putc (b, ')');
      for (size_t i = 0; i < n->nident; i++)
        {
          buf_putc (b, '.');
          buf_puts (b, n->ident[i]);
        }
      break;
    case N_DOT: buf_putc (b, '.'); break;
    case N_NIL: buf_puts (b, "nil"); break;
    case N_BOOL: buf_puts (b, n->b ? "true" : "false"); break;
    case N_NUMBER:
    case N_STRING: buf_append (b, n->src, n->srclen); break;
    case N_IDENT: buf_puts (b, n->ident[0]); break;
    }
}

/* node_string into a fixed array: error paths leave by longjmp, where no heap buffer may
 * be live. */
const char *
gt_node_cstr (const struct node *n, char out[512])
{
  struct buf b = BUF_INIT;
  gt_node_string (&b, n);
  snprintf (out, 512, "%s", buf_str (&b));
  buf_free (&b);
  return out;
}

