/* cli/cmd_debug.c — `kiln debug`: the front end's stages made visible, for tests
 * and for users who want to know what kiln understood of their Dockerfile. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "context/ctxscan.h"
#include "context/ignore.h"
#include "frontend/parser.h"
#include "frontend/shell.h"
#include "frontend/stages.h"
#include "util/buf.h"
#include "util/cleanup.h"

const char cmd_debug_usage[]
    = "Usage: kiln debug SUBCOMMAND [ARG...]\n"
      "\n"
      "Shows what kiln's front end makes of its input.\n"
      "\n"
      "Subcommands:\n"
      "  parse [--json] FILE        print the Dockerfile AST in BuildKit's dump format\n"
      "                             (--json: nodes with line spans, flags and heredocs)\n"
      "  expand [-e K=V]... [--words] TEXT\n"
      "                             expand TEXT as a Dockerfile word (--words: split it)\n"
      "  ignore PATTERNS_FILE PATH...\n"
      "                             decide each PATH with the .dockerignore rules in the file\n"
      "  context [-f DOCKERFILE] DIR\n"
      "                             list what the build context DIR sends, ignore rules applied\n"
      "  stages [--target T] [--build-arg K=V]... [--platform P] FILE\n"
      "                             the stages the target needs, instructions expanded\n";

static const char parse_usage[] = "Usage: kiln debug parse [--json] FILE\n"
                                  "\n"
                                  "Parses FILE (\"-\" for standard input) and prints its AST in BuildKit's\n"
                                  "dump format, or with --json as JSON with line spans and heredocs.\n";
static const char expand_usage[] = "Usage: kiln debug expand [-e K=V]... [--escape C] [--words] TEXT\n"
                                   "\n"
                                   "Expands TEXT the way Dockerfile instructions expand words, with only\n"
                                   "the variables given by -e set. Prints the result, or with --words one\n"
                                   "word per line. Exits 1 with the error if expansion fails.\n";

static json_t *
node_json (const struct df_node *n)
{
  json_t *o = json_object ();
  json_object_set_new (o, "keyword", json_string (n->keyword));
  json_t *flags = json_array ();
  for (size_t i = 0; i < n->flags.n; i++)
    json_array_append_new (flags, json_string (n->flags.v[i]));
  json_object_set_new (o, "flags", flags);
  json_t *args = json_array ();
  for (size_t i = 0; i < n->args.n; i++)
    json_array_append_new (args, json_string (n->args.v[i]));
  json_object_set_new (o, "args", args);
  json_object_set_new (o, "json", json_boolean (n->json));
  if (n->sub)
    json_object_set_new (o, "sub", node_json (n->sub));
  json_object_set_new (o, "start_line", json_integer (n->start_line));
  json_object_set_new (o, "end_line", json_integer (n->end_line));
  json_t *hds = json_array ();
  for (size_t i = 0; i < n->n_heredocs; i++)
    {
      const struct df_heredoc *h = &n->heredocs[i];
      json_array_append_new (hds, json_pack ("{s:s, s:s, s:b, s:b, s:i}", "name", h->name, "content",
                                             h->content ? h->content : "", "expand", h->expand, "chomp",
                                             h->chomp, "fd", (int) h->fd));
    }
  json_object_set_new (o, "heredocs", hds);
  return o;
}

static int
debug_parse (int argc, char **argv)
{
  static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
  bool as_json = false;
  int c;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    {
      if (c == 'j')
        as_json = true;
      else if (c == 'h')
        return fputs (parse_usage, stdout), EXIT_OK;
      else
        return cli_usage_error ("debug parse", "unknown option");
    }
  if (optind + 1 != argc)
    return cli_usage_error ("debug parse", "expects exactly one FILE");
  struct kiln_err err = {0};
  struct df_ast *ast = df_parse_file (argv[optind], &err);
  if (ast == NULL)
    return cli_fail (&err);
  for (size_t i = 0; i < ast->warnings.n; i++)
    fprintf (stderr, "warning: %s\n", ast->warnings.v[i]);
  if (as_json)
    {
      json_t *root = json_object ();
      json_object_set_new (root, "start_line", json_integer (ast->start_line));
      json_object_set_new (root, "end_line", json_integer (ast->end_line));
      json_object_set_new (root, "escape", json_stringn (&ast->escape, 1));
      if (ast->syntax)
        json_object_set_new (root, "syntax", json_string (ast->syntax));
      json_t *nodes = json_array ();
      for (size_t i = 0; i < ast->n_nodes; i++)
        json_array_append_new (nodes, node_json (&ast->nodes[i]));
      json_object_set_new (root, "nodes", nodes);
      json_dumpf (root, stdout, JSON_INDENT (1) | JSON_ENSURE_ASCII);
      fputc ('\n', stdout);
      json_decref (root);
    }
  else
    {
      _cleanup_buf_ struct buf out = BUF_INIT;
      df_dump (ast, &out);
      fwrite (buf_str (&out), 1, out.len, stdout);
    }
  df_ast_free (ast);
  return EXIT_OK;
}

static int
debug_expand (int argc, char **argv)
{
  static const struct option opts[] = {{"env", required_argument, NULL, 'e'},
                                       {"words", no_argument, NULL, 'w'},
                                       {"escape", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0}};
  _cleanup_strv_ struct strv vars = STRV_INIT;
  bool words = false;
  char escape = '\\';
  int c;
  while ((c = getopt_long (argc, argv, "+e:h", opts, NULL)) != -1)
    {
      switch (c)
        {
        case 'e':
          strv_push (&vars, optarg);
          break;
        case 'w':
          words = true;
          break;
        case 'c':
          if (strlen (optarg) != 1 || (optarg[0] != '\\' && optarg[0] != '`'))
            return cli_usage_error ("debug expand", "--escape must be \\ or `");
          escape = optarg[0];
          break;
        case 'h':
          return fputs (expand_usage, stdout), EXIT_OK;
        default:
          return cli_usage_error ("debug expand", "unknown option");
        }
    }
  if (optind + 1 != argc)
    return cli_usage_error ("debug expand", "expects exactly one TEXT");
  struct shell_opts o = {.escape = escape};
  _cleanup_ (envmap_free) struct envmap map = ENVMAP_INIT;
  envmap_from_strv (&map, &vars);
  struct shell_env env = {&map, NULL};
  struct kiln_err err = {0};
  _cleanup_free_ char *res = NULL;
  _cleanup_strv_ struct strv w = STRV_INIT;
  const char *text = argv[optind];
  if (shell_expand (&o, text, strlen (text), &env, &res, words ? &w : NULL, &err) < 0)
    return cli_fail (&err);
  if (words)
    for (size_t i = 0; i < w.n; i++)
      printf ("%s\n", w.v[i]);
  else
    printf ("%s\n", res);
  return EXIT_OK;
}

static const char ignore_usage[] = "Usage: kiln debug ignore PATTERNS_FILE PATH...\n"
                                   "\n"
                                   "Reads PATTERNS_FILE as a .dockerignore and prints, for each PATH (relative\n"
                                   "to the context root), PATH<TAB>excluded or PATH<TAB>included.\n"
                                   "An invalid pattern file exits 2 and names the line.\n";

static int
debug_ignore (int argc, char **argv)
{
  if (argc > 1 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    return fputs (ignore_usage, stdout), EXIT_OK;
  if (argc < 3)
    return cli_usage_error ("debug ignore", "expects PATTERNS_FILE and at least one PATH");
  struct kiln_err err = {0};
  struct ignore_rules *rules = ignore_load (argv[1], false, &err);
  if (rules == NULL)
    {
      /* A bad pattern file is bad input given on the command line. */
      if (err.code == KILN_EPARSE)
        err.code = KILN_EUSAGE;
      return cli_fail (&err);
    }
  for (int i = 2; i < argc; i++)
    printf ("%s\t%s\n", argv[i], ignore_excluded (rules, argv[i]) ? "excluded" : "included");
  ignore_free (rules);
  return EXIT_OK;
}

static const char context_usage[] = "Usage: kiln debug context [-f DOCKERFILE] DIR\n"
                                    "\n"
                                    "Walks the build context DIR with its ignore rules (DOCKERFILE.dockerignore\n"
                                    "beside the Dockerfile, else DIR/.dockerignore) and prints every path the\n"
                                    "build can see, directories with a trailing '/'.\n";

/* The selection COPY copies and the cache key hashes, parents before children. */
static void
print_node (const struct ctx_node *n)
{
  for (size_t i = 0; i < n->n; i++)
    {
      const struct ctx_entry *e = &n->ents[i];
      printf ("%s%s%.*s%s\n", n->rel, *n->rel ? "/" : "", (int) e->name_len, e->name, e->sub ? "/" : "");
      if (e->sub)
        print_node (e->sub);
    }
}

static int
debug_context (int argc, char **argv)
{
  static const struct option opts[] = {{"file", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
  const char *dockerfile = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "f:h", opts, NULL)) != -1)
    {
      if (c == 'f')
        dockerfile = optarg;
      else if (c == 'h')
        return fputs (context_usage, stdout), EXIT_OK;
      else
        return cli_usage_error ("debug context", "unknown option");
    }
  if (optind + 1 != argc)
    return cli_usage_error ("debug context", "expects exactly one DIR");
  const char *dir = argv[optind];
  _cleanup_buf_ struct buf df = BUF_INIT;
  if (dockerfile == NULL)
    buf_printf (&df, "%s/Dockerfile", dir);
  else
    buf_puts (&df, dockerfile);
  struct kiln_err err = {0};
  _cleanup_free_ char *ignore_path = context_ignore_path (dir, buf_str (&df));
  struct ignore_rules *rules = ignore_load (ignore_path, true, &err);
  if (rules == NULL)
    return cli_fail (&err);
  _cleanup_close_ int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = EXIT_OK;
  if (fd < 0)
    {
      kiln_err_set (&err, errno, "%s: %s", dir, strerror (errno));
      rc = cli_fail (&err);
    }
  else
    {
      struct ctx_node *root = ctx_scan (fd, "", rules, NULL, &err);
      if (root == NULL)
        rc = cli_fail (&err);
      else
        print_node (root);
      ctx_node_free (root);
    }
  ignore_free (rules);
  return rc;
}

static const char stages_usage[]
    = "Usage: kiln debug stages [--target T] [--build-arg K[=V]]... [--platform P] FILE\n"
      "\n"
      "Resolves the stages of FILE as `kiln build` would and prints the ones the\n"
      "target needs, in build order, every instruction expanded:\n"
      "\n"
      "  # target: NAME|INDEX\n"
      "  # platform: TARGET (build: BUILD)\n"
      "  # global ARG NAME[=\"value\"]          one line per global ARG\n"
      "  stage INDEX NAME|-: FROM \"base\" [AS name] (image|scratch|stage N)\n"
      "    LINE: INSTRUCTION ...                one line per instruction\n"
      "\n"
      "Values are quoted as Go's strconv.Quote does; lists are [\"a\", \"b\"].\n"
      "Warnings (such as unused build args) go to standard error.\n";

static int
debug_stages (int argc, char **argv)
{
  static const struct option opts[] = {{"target", required_argument, NULL, 't'},
                                       {"build-arg", required_argument, NULL, 'b'},
                                       {"platform", required_argument, NULL, 'p'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0}};
  _cleanup_strv_ struct strv build_args = STRV_INIT;
  struct build_opts o = {.build_args = &build_args};
  int c;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    {
      switch (c)
        {
        case 't':
          o.target = optarg;
          break;
        case 'b':
          strv_push (&build_args, optarg);
          break;
        case 'p':
          o.platform = optarg;
          break;
        case 'h':
          return fputs (stages_usage, stdout), EXIT_OK;
        default:
          return cli_usage_error ("debug stages", "unknown option");
        }
    }
  if (optind + 1 != argc)
    return cli_usage_error ("debug stages", "expects exactly one FILE");
  struct kiln_err err = {0};
  struct df_ast *ast = df_parse_file (argv[optind], &err);
  if (ast == NULL)
    return cli_fail (&err);
  int rc = EXIT_OK;
  struct stage_model *m = stages_resolve (ast, &o, &err);
  if (m == NULL)
    rc = cli_fail (&err);
  else
    {
      for (size_t i = 0; i < m->warnings.n; i++)
        fprintf (stderr, "warning: %s\n", m->warnings.v[i]);
      _cleanup_buf_ struct buf out = BUF_INIT;
      if (stages_render (m, &out, &err) < 0)
        rc = cli_fail (&err);
      else
        fwrite (buf_str (&out), 1, out.len, stdout);
    }
  stages_free (m);
  df_ast_free (ast);
  return rc;
}

int
cmd_debug (struct kiln_ctx *ctx, int argc, char **argv)
{
  (void) ctx;
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      fputs (cmd_debug_usage, argc < 2 ? stderr : stdout);
      return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
  const char *sub = argv[1];
  optind = 0; /* 0, not 1: glibc then resets its permutation state too */
  if (strcmp (sub, "parse") == 0)
    return debug_parse (argc - 1, argv + 1);
  if (strcmp (sub, "expand") == 0)
    return debug_expand (argc - 1, argv + 1);
  if (strcmp (sub, "ignore") == 0)
    return debug_ignore (argc - 1, argv + 1);
  if (strcmp (sub, "context") == 0)
    return debug_context (argc - 1, argv + 1);
  if (strcmp (sub, "stages") == 0)
    return debug_stages (argc - 1, argv + 1);
  return cli_usage_error ("debug", "unknown subcommand \"%s\"", sub);
}
