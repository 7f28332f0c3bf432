/* cli/cmd_image.c — images in the store: import, images, inspect, history, tag, rmi. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/prune_filter.h"
#include "cli/containers.h"
#include "container/changes.h"
#include "container/health.h"
#include "frontend/inst_config.h"
#include "image/archive.h"
#include "image/gc.h"
#include "image/image.h"
#include "image/imagefmt.h"
#include "image/import.h"
#include "image/ref.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/formatter.h"

struct kiln_store *
cli_open_store (struct kiln_ctx *ctx, struct kiln_err *err)
{
  return store_open (ctx->root, err);
}

void
cli_store_freep (struct kiln_store **st)
{
  store_close (*st);
}

int
cli_print_format (const char *format, json_t *rows, json_t *header, const char *root_type)
{
  struct kiln_err err = {0};
  struct formatter f;
  if (formatter_init (&f, format, &err) < 0)
    return cli_fail (&err);
  const struct gotemplate_opts go = {.root_type = root_type};
  _cleanup_buf_ struct buf out = BUF_INIT;
  int rc = formatter_write (&f, rows, header, &go, &out, &err);
  formatter_clear (&f);
  if (rc < 0)
    return cli_fail (&err);
  fwrite (buf_str (&out), 1, out.len, stdout);
  return EXIT_OK;
}

/* A tag from the command line, normalised ("app" → "docker.io/library/app:latest"). */
static char *
normalize_tag (const char *s, struct kiln_err *err)
{
  struct image_ref r;
  if (ref_parse (s, true, &r, err) < 0)
    return NULL;
  if (r.digest)
    {
      ref_clear (&r);
      kiln_err_set (err, KILN_EUSAGE, "\"%s\": a tag cannot hold a digest", s);
      return NULL;
    }
  char *full = ref_string (&r);
  ref_clear (&r);
  return full;
}

/* ---------- import ---------- */

const char cmd_import_usage[]
    = "Usage: kiln import [--change INSTRUCTION]... [-m MESSAGE] [--platform P] FILE|DIR|- [NAME[:TAG]]\n"
      "\n"
      "Makes a one-layer image from a root filesystem: a directory, a tar archive\n"
      "(plain, gzip, zstd, xz or bzip2), or a tar on standard input (-).\n"
      "\n"
      "  -c, --change INSTRUCTION   apply a Dockerfile instruction to the config,\n"
      "                             e.g. --change 'CMD [\"sh\"]' --change 'ENV A=1'\n"
      "  -m, --message MESSAGE      history comment (default: Imported from SOURCE)\n"
      "      --platform P           os/arch[/variant] recorded in the config\n"
      "\n"
      "Prints the new image's id.\n";

int
cmd_import (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"change", required_argument, NULL, 'c'},
                                       {"message", required_argument, NULL, 'm'},
                                       {"platform", required_argument, NULL, 'p'},
                                       {0}};
  _cleanup_strv_ struct strv changes = STRV_INIT;
  struct config_changes deltas = {0};
  struct import_opts o = {.changes = &deltas};
  int c;
  while ((c = getopt_long (argc, argv, "c:m:", opts, NULL)) != -1)
    switch (c)
      {
      case 'c': strv_push (&changes, optarg); break;
      case 'm': o.message = optarg; break;
      case 'p': o.platform = optarg; break;
      default: return cli_usage_error ("import", "unknown option");
      }
  if (argc - optind < 1 || argc - optind > 2)
    return cli_usage_error ("import", "expects FILE|DIR|- and an optional NAME[:TAG]");
  o.source = argv[optind];
  struct kiln_err err = {0};
  _cleanup_free_ char *tag = NULL;
  if (argc - optind == 2 && (tag = normalize_tag (argv[optind + 1], &err)) == NULL)
    {
      err.code = KILN_EUSAGE;
      return cli_fail (&err);
    }
  o.tag = tag;
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  if (df_changes_parse (&changes, "import", &deltas, &err) < 0)
    return cli_fail (&err);
  struct digest id;
  int r = image_import (st, &o, &id, &err);
  config_changes_free (&deltas);
  if (r < 0)
    return cli_fail (&err);
  printf ("%s\n", id.str);
  return EXIT_OK;
}

/* ---------- images ---------- */

const char cmd_images_usage[]
    = "Usage: kiln images [-q] [--digests] [--no-trunc] [-f FILTER] [--format FORMAT] [REPOSITORY[:TAG]]\n"
      "\n"
      "Lists the images in the store: REPOSITORY TAG IMAGE ID CREATED SIZE.  REPOSITORY[:TAG]\n"
      "(a pattern: busybox, 'my*', app:1.*) keeps the references it matches, as docker's.\n"
      "\n"
      "  -q, --quiet        only image ids\n"
      "  -f, --filter K=V   reference=PATTERN, dangling=true|false, label=KEY or label=KEY=VALUE\n"
      "      --digests      add a DIGEST column (the repository digest, if any)\n"
      "      --no-trunc     full image ids\n"
      "      --format F     a Go template, as docker's: {{.Repository}} {{.Tag}} {{.Digest}}\n"
      "                     {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}} {{.Containers}}\n"
      "                     {{.SharedSize}} {{.UniqueSize}}; \"table ...\" adds a header and\n"
      "                     aligns columns, \"json\" prints a JSON object a line, \"raw\" a\n"
      "                     listing\n";

/* docker's image.Summary of a stored image: what `docker images` formats. */
static json_t *
image_summary (struct kiln_store *st, const struct digest *id, const struct image_info *ii, struct kiln_err *err)
{
  _cleanup_strv_ struct strv tags = STRV_INIT;
  _cleanup_strv_ struct strv rds = STRV_INIT;
  image_tags (st, id, &tags, err);
  image_repo_digests (st, id, &rds, err);
  int64_t created = parse_rfc3339 (json_string_value (json_object_get (ii->config, "created")));
  if (created < 0)
    created = ii->created;
  json_t *jt = json_array (), *jd = json_array ();
  for (size_t i = 0; i < tags.n; i++)
    json_array_append_new (jt, json_string (tags.v[i]));
  for (size_t i = 0; i < rds.n; i++)
    json_array_append_new (jd, json_string (rds.v[i]));
  /* Containers and SharedSize are not counted: -1 shows as N/A, as in docker */
  return json_pack ("{s:s, s:o, s:o, s:I, s:I, s:I, s:I}", "ID", id->str, "RepoTags", jt, "RepoDigests", jd, "Created",
                    (json_int_t) created, "Size", (json_int_t) ii->size, "SharedSize", (json_int_t) -1, "Containers",
                    (json_int_t) -1);
}

void
cli_print_table (const char *const *headers, size_t ncol, const struct strv *cells, size_t nrows)
{
  /* Tab-separated lines through docker's tabwriter (util/formatter): the one
   * place that knows its widths and padding. */
  _cleanup_buf_ struct buf text = BUF_INIT;
  for (size_t r = 0; r <= nrows; r++)
    for (size_t c = 0; c < ncol; c++)
      {
        const char *v = r == 0 ? headers[c] : cells->v[(r - 1) * ncol + c];
        for (const char *p = v; *p; p++)
          buf_putc (&text, *p == '\t' || *p == '\n' ? ' ' : *p);
        buf_putc (&text, c + 1 < ncol ? '\t' : '\n');
      }
  _cleanup_buf_ struct buf out = BUF_INIT;
  formatter_tabwrite (&out, buf_str (&text), text.len);
  fwrite (buf_str (&out), 1, out.len, stdout);
}

struct image_filters;
static int images_list (struct kiln_ctx *ctx, const char *source, bool quiet, bool digests, bool no_trunc,
                        const struct image_filters *filters);

/* `images` filters (docker's acceptedImageFilterTags that kiln has): a pattern list per key. */
struct image_filters
{
  struct strv reference, label;
  int dangling; /* -1: either; 0: only tagged; 1: only dangling */
};

static void
image_filters_clear (struct image_filters *f)
{
  strv_free (&f->reference);
  strv_free (&f->label);
}

static int
image_filter_add (struct image_filters *f, const char *arg, struct kiln_err *err)
{
  const char *eq = strchr (arg, '=');
  _cleanup_free_ char *key = xstrndup (arg, eq ? (size_t) (eq - arg) : strlen (arg));
  const char *value = eq ? eq + 1 : "";
  if (eq == NULL)
    return kiln_err_set (err, KILN_EINVAL, "Invalid filter '%s'", arg);
  if (strcmp (key, "reference") == 0)
    strv_push (&f->reference, value);
  else if (strcmp (key, "label") == 0)
    strv_push (&f->label, value);
  else if (strcmp (key, "dangling") == 0)
    {
      int want = strcmp (value, "true") == 0 || strcmp (value, "1") == 0    ? 1
                 : strcmp (value, "false") == 0 || strcmp (value, "0") == 0 ? 0
                                                                            : -2;
      if (want == -2 || (f->dangling >= 0 && f->dangling != want))
        return kiln_err_set (err, KILN_EINVAL, "Invalid filter 'dangling=[%s]'", value);
      f->dangling = want;
    }
  else
    return kiln_err_set (err, KILN_EINVAL, "Invalid filter '%s'", key);
  return 0;
}

int
cmd_images (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                       {"digests", no_argument, NULL, 'd'},
                                       {"no-trunc", no_argument, NULL, 'n'},
                                       {"filter", required_argument, NULL, 'f'},
                                       {"format", required_argument, NULL, 'F'},
                                       {0}};
  bool quiet = false, digests = false, no_trunc = false;
  const char *source = "";
  struct image_filters filters = {.dangling = -1};
  struct kiln_err err = {0};
  int c;
  while ((c = getopt_long (argc, argv, "qf:", opts, NULL)) != -1)
    switch (c)
      {
      case 'q': quiet = true; break;
      case 'd': digests = true; break;
      case 'n': no_trunc = true; break;
      case 'F': source = optarg; break;
      case 'f':
        if (image_filter_add (&filters, optarg, &err) < 0)
          {
            /* what docker's daemon answers, as docker prints it */
            fprintf (stderr, "Error response from daemon: %s\n", err.msg);
            kiln_err_clear (&err);
            image_filters_clear (&filters);
            return EXIT_FAIL;
          }
        break;
      default: image_filters_clear (&filters); return cli_usage_error ("images", "unknown option");
      }
  if (argc - optind > 1)
    {
      image_filters_clear (&filters);
      return cli_usage_error ("images", "takes at most one REPOSITORY[:TAG]");
    }
  if (optind < argc)
    strv_push (&filters.reference, argv[optind]);
  int rc = images_list (ctx, source, quiet, digests, no_trunc, &filters);
  image_filters_clear (&filters);
  return rc;
}

static int
images_list (struct kiln_ctx *ctx, const char *source, bool quiet, bool digests, bool no_trunc,
             const struct image_filters *filters)
{
  struct kiln_err err = {0};
  _cleanup_free_ char *format = imagefmt_format (source, quiet, digests);
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  _cleanup_strv_ struct strv ids = STRV_INIT;
  if (image_list (st, &ids, &err) < 0)
    return cli_fail (&err);
  struct imagefmt_opts o = {.trunc = !no_trunc, .digest = imagefmt_need_digest (format, digests),
                            .now = (int64_t) time (NULL)};
  _cleanup_json_ json_t *rows = json_array ();
  for (size_t i = 0; i < ids.n; i++)
    {
      struct digest id;
      struct image_info ii;
      if (digest_parse (ids.v[i], &id, &err) < 0 || image_load (st, &id, &ii, &err) < 0)
        {
          /* One broken image does not hide the others. */
          fprintf (stderr, "kiln: %s\n", err.msg);
          kiln_err_clear (&err);
          continue;
        }
      _cleanup_json_ json_t *summary = image_summary (st, &id, &ii, &err);
      kiln_err_clear (&err);
      bool labelled = labels_match_all (&filters->label, json_object_get (json_object_get (ii.config, "config"), "Labels"));
      image_info_clear (&ii);
      bool tagged = json_array_size (json_object_get (summary, "RepoTags"))
                    || json_array_size (json_object_get (summary, "RepoDigests"));
      if (!labelled || (filters->dangling == 1 && tagged) || (filters->dangling == 0 && !tagged)
          || (filters->reference.n && !imagefmt_keep_matching (summary, &filters->reference)))
        continue;
      if (quiet && strcmp (format, "{{.ID}}") == 0)
        {
          /* -q names each image once, however many tags it has */
          json_array_append_new (rows, imagefmt_context (summary, "", "", "", &o));
          continue;
        }
      imagefmt_rows (summary, &o, rows);
    }
  _cleanup_json_ json_t *header = imagefmt_header ();
  return cli_print_format (format, rows, header, IMAGEFMT_TYPE);
}

/* ---------- inspect ---------- */

const char cmd_inspect_usage[] = "Usage: kiln inspect [-f FORMAT] [--type container|image|volume] NAME|ID...\n"
                                 "\n"
                                 "Prints a JSON array describing each container, image or volume (in\n"
                                 "that order, when several have the name), shaped like `docker inspect`.\n"
                                 "\n"
                                 "  -f, --format F   a Go template for each object, as docker's:\n"
                                 "                   {{.Id}} {{json .Config}} {{index .Config.Labels \"k\"}};\n"
                                 "                   \"json\" prints the array on one line\n"
                                 "      --type T     only containers, only images or only volumes\n";

static json_t *
inspect_json (struct kiln_store *st, const struct image_info *ii, struct kiln_err *err)
{
  struct strv tags = STRV_INIT, rds = STRV_INIT;
  image_tags (st, &ii->id, &tags, err);
  image_repo_digests (st, &ii->id, &rds, err);
  json_t *jt = json_array (), *jd = json_array ();
  for (size_t i = 0; i < tags.n; i++)
    {
      char *f = ref_familiar (tags.v[i]);
      json_array_append_new (jt, json_string (f));
      free (f);
    }
  for (size_t i = 0; i < rds.n; i++)
    {
      char *f = ref_familiar (rds.v[i]);
      json_array_append_new (jd, json_string (f));
      free (f);
    }
  strv_free (&tags);
  strv_free (&rds);
  json_t *cfg = ii->config;
  json_t *c = json_object_get (cfg, "config");
  json_t *o = json_object ();
  json_object_set_new (o, "Id", json_string (ii->id.str));
  json_object_set_new (o, "RepoTags", jt);
  json_object_set_new (o, "RepoDigests", jd);
  json_object_set_new (o, "Parent", json_string (""));
  json_t *hist = json_object_get (cfg, "history");
  json_t *last = json_array_get (hist, json_array_size (hist) ? json_array_size (hist) - 1 : 0);
  const char *comment = json_string_value (json_object_get (last, "comment"));
  json_object_set_new (o, "Comment", json_string (comment ? comment : ""));
  const char *created = json_string_value (json_object_get (cfg, "created"));
  json_object_set_new (o, "Created", json_string (created ? created : ""));
  json_object_set_new (o, "DockerVersion", json_string (""));
  const char *author = json_string_value (json_object_get (cfg, "author"));
  json_object_set_new (o, "Author", json_string (author ? author : ""));
  /* docker fills every field of its container config; kiln shows the same shape. */
  json_t *jc = json_object ();
  static const char *const keys[] = {"Hostname", "Domainname", "User"};
  for (size_t i = 0; i < 3; i++)
    {
      const char *v = json_string_value (json_object_get (c, keys[i]));
      json_object_set_new (jc, keys[i], json_string (v ? v : ""));
    }
  json_object_set_new (jc, "AttachStdin", json_false ());
  json_object_set_new (jc, "AttachStdout", json_false ());
  json_object_set_new (jc, "AttachStderr", json_false ());
  if (json_object_get (c, "ExposedPorts"))
    json_object_set (jc, "ExposedPorts", json_object_get (c, "ExposedPorts"));
  json_object_set_new (jc, "Tty", json_false ());
  json_object_set_new (jc, "OpenStdin", json_false ());
  json_object_set_new (jc, "StdinOnce", json_false ());
  static const char *const rest[] = {"Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image", "Volumes", "WorkingDir",
                                     "Entrypoint", "OnBuild", "Labels", "StopSignal", "Shell"};
  for (size_t i = 0; i < sizeof rest / sizeof *rest; i++)
    {
      json_t *v = json_object_get (c, rest[i]);
      if (v && strcmp (rest[i], "Healthcheck") == 0)
        json_object_set_new (jc, rest[i], health_config_ordered (v));
      else if (v)
        json_object_set (jc, rest[i], v);
      else if (strcmp (rest[i], "Image") == 0 || strcmp (rest[i], "WorkingDir") == 0)
        json_object_set_new (jc, rest[i], json_string (""));
      else if (strcmp (rest[i], "Cmd") == 0 || strcmp (rest[i], "Env") == 0 || strcmp (rest[i], "Volumes") == 0
               || strcmp (rest[i], "Entrypoint") == 0 || strcmp (rest[i], "OnBuild") == 0
               || strcmp (rest[i], "Labels") == 0)
        json_object_set_new (jc, rest[i], json_null ());
    }
  json_object_set_new (o, "Config", jc);
  const char *arch = json_string_value (json_object_get (cfg, "architecture"));
  const char *os = json_string_value (json_object_get (cfg, "os"));
  const char *variant = json_string_value (json_object_get (cfg, "variant"));
  json_object_set_new (o, "Architecture", json_string (arch ? arch : ""));
  if (variant)
    json_object_set_new (o, "Variant", json_string (variant));
  json_object_set_new (o, "Os", json_string (os ? os : ""));
  json_object_set_new (o, "Size", json_integer ((json_int_t) ii->size));
  json_object_set_new (o, "GraphDriver", json_pack ("{s:n, s:s}", "Data", "Name", "kiln"));
  json_t *layers = json_array ();
  for (size_t i = 0; i < ii->n_layers; i++)
    json_array_append_new (layers, json_string (ii->layers[i].diff_id.str));
  json_object_set_new (o, "RootFS", json_pack ("{s:s, s:o}", "Type", "layers", "Layers", layers));
  json_object_set_new (o, "Metadata", json_pack ("{s:s}", "LastTagTime", "0001-01-01T00:00:00Z"));
  return o;
}

int
cmd_inspect (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"type", required_argument, NULL, 't'}, {0}};
  const char *format = "";
  const char *type = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "f:", opts, NULL)) != -1)
    switch (c)
      {
      case 'f': format = optarg; break;
      case 't':
        if (strcmp (optarg, "container") != 0 && strcmp (optarg, "image") != 0 && strcmp (optarg, "volume") != 0)
          return cli_usage_error ("inspect", "\"%s\" is not a valid value for --type", optarg);
        type = optarg;
        break;
      default: return cli_usage_error ("inspect", "unknown option");
      }
  if (optind >= argc)
    return cli_usage_error ("inspect", "expects at least one CONTAINER or IMAGE");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  json_t *all = json_array ();
  _cleanup_json_ json_t *zeros = json_array ();
  int rc = EXIT_OK;
  for (int i = optind; i < argc; i++)
    {
      /* Containers first, as docker looks. */
      if (type == NULL || strcmp (type, "container") == 0)
        {
          int r = cli_container_inspect (st, argv[i], all, &err);
          if (r < 0)
            rc = cli_fail (&err);
          if (r != 0)
            continue;
          if (type)
            {
              rc = cli_no_such_container (argv[i]);
              continue;
            }
        }
      /* Volumes after images, as docker looks. */
      if (type && strcmp (type, "volume") == 0)
        {
          int r = cli_volume_inspect (st, argv[i], all, &err);
          if (r <= 0)
            rc = r < 0 ? cli_fail (&err) : (fprintf (stderr, "Error: No such volume: %s\n", argv[i]), EXIT_FAIL);
          continue;
        }
      struct digest id;
      struct image_info ii;
      if (image_resolve (st, argv[i], &id, &err) < 0 || image_load (st, &id, &ii, &err) < 0)
        {
          struct kiln_err verr = {0};
          if (type == NULL && err.code == ENOENT && cli_volume_inspect (st, argv[i], all, &verr) == 1)
            {
              kiln_err_clear (&err);
              continue;
            }
          kiln_err_clear (&verr);
          kiln_err_print (&err, stderr);
          kiln_err_clear (&err);
          rc = EXIT_FAIL;
          continue;
        }
      /* docker's ImageInspect has a Variant its JSON omits when empty: {{.Variant}} is "". */
      while (json_array_size (zeros) < json_array_size (all))
        json_array_append_new (zeros, json_null ());
      json_array_append_new (zeros, json_pack ("{s:s}", "Variant", ""));
      json_array_append_new (all, inspect_json (st, &ii, &err));
      image_info_clear (&ii);
    }
  _cleanup_buf_ struct buf out = BUF_INIT;
  if (formatter_inspect_typed (format, all, zeros, &out, &err) < 0)
    rc = cli_fail (&err);
  else
    fwrite (buf_str (&out), 1, out.len, stdout);
  json_decref (all);
  return rc;
}

/* docker's `container inspect` and `image inspect` are `inspect --type TYPE`: the same
 * document (maps sorted, structs in docker's order) and the same -f. */
static int
inspect_typed (struct kiln_ctx *ctx, const char *type, int argc, char **argv)
{
  _cleanup_free_ char **args = xcalloc ((size_t) argc + 3, sizeof *args);
  args[0] = argv[0];
  args[1] = (char *) "--type";
  args[2] = (char *) type;
  for (int i = 1; i < argc; i++)
    args[i + 2] = argv[i];
  optind = 0;
  return cmd_inspect (ctx, argc + 2, args);
}

int
cli_container_inspect_cmd (struct kiln_ctx *ctx, int argc, char **argv)
{
  return inspect_typed (ctx, "container", argc, argv);
}

int
cli_image_inspect_cmd (struct kiln_ctx *ctx, int argc, char **argv)
{
  return inspect_typed (ctx, "image", argc, argv);
}

/* ---------- history ---------- */

const char cmd_history_usage[] = "Usage: kiln history [--no-trunc] [-q] [--format FORMAT] IMAGE\n"
                                 "\n"
                                 "Shows how an image was made, newest step first:\n"
                                 "IMAGE CREATED CREATED BY SIZE COMMENT.\n"
                                 "\n"
                                 "      --format F   a Go template over {{.ID}} {{.CreatedSince}} {{.CreatedAt}}\n"
                                 "                   {{.CreatedBy}} {{.Size}} {{.Comment}}, as docker's\n";

/* docker's history context: its default table and column titles. */
#define HISTORY_TABLE "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

int
cmd_history (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"no-trunc", no_argument, NULL, 'n'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"format", required_argument, NULL, 'f'},
                                       {0}};
  bool no_trunc = false, quiet = false;
  const char *source = "";
  int c;
  while ((c = getopt_long (argc, argv, "q", opts, NULL)) != -1)
    switch (c)
      {
      case 'n': no_trunc = true; break;
      case 'q': quiet = true; break;
      case 'f': source = optarg; break;
      default: return cli_usage_error ("history", "unknown option");
      }
  if (optind + 1 != argc)
    return cli_usage_error ("history", "expects exactly one IMAGE");
  struct kiln_err err = {0};
  const char *format = quiet ? "{{.ID}}" : *source == 0 || strcmp (source, "table") == 0 ? HISTORY_TABLE : source;
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  struct digest id;
  struct image_info ii;
  if (image_resolve (st, argv[optind], &id, &err) < 0 || image_load (st, &id, &ii, &err) < 0)
    return cli_fail (&err);
  json_t *hist = json_object_get (ii.config, "history");
  size_t n = json_array_size (hist);
  /* Sizes: each history entry that is not empty_layer owns the next layer, and
   * shows docker's measure of it (its DiffSize: the files' sizes, directories
   * not counted), so an empty layer or one of directories only is 0B; a layer
   * not unpacked shows its blob's size. */
  uint64_t *sizes = xcalloc (n ? n : 1, sizeof *sizes);
  size_t layer = 0;
  for (size_t i = 0; i < n; i++)
    if (!json_is_true (json_object_get (json_array_get (hist, i), "empty_layer")) && layer < ii.n_layers)
      {
        uint64_t unpacked = 0;
        _cleanup_free_ char *snap = NULL;
        int have = snapshot_lookup (st, &ii.layers[layer].diff_id, &snap, &unpacked, &err);
        if (have >= 0)
          sizes[i] = have ? unpacked : ii.layers[layer].blob_size;
        kiln_err_clear (&err);
        if (have > 0)
          {
            _cleanup_buf_ struct buf fs = BUF_INIT;
            buf_printf (&fs, "%s/snapshots/%s/fs", store_root (st), snap);
            if (container_rw_size (buf_str (&fs), &unpacked, &err) == 0)
              sizes[i] = unpacked;
            kiln_err_clear (&err);
          }
        layer++;
      }
  int64_t now = (int64_t) time (NULL);
  _cleanup_json_ json_t *rows = json_array ();
  for (size_t k = n; k-- > 0;)
    {
      json_t *h = json_array_get (hist, k);
      char idcol[80];
      if (k == n - 1)
        snprintf (idcol, sizeof idcol, "%.*s", no_trunc ? DIGEST_STR_LEN : 12, no_trunc ? id.str : digest_hex (&id));
      else
        snprintf (idcol, sizeof idcol, "<missing>");
      char since[48] = "N/A", at[64] = "N/A", size[32];
      int64_t t = parse_rfc3339 (json_string_value (json_object_get (h, "created")));
      if (t >= 0)
        {
          format_ago (t, now, since);
          format_go_time (t, at);
        }
      format_size (sizes[k], size);
      const char *by = json_string_value (json_object_get (h, "created_by"));
      const char *comment = json_string_value (json_object_get (h, "comment"));
      _cleanup_buf_ struct buf b = BUF_INIT;
      /* Tabs become spaces (docker's CLI); a heredoc's newlines are shown escaped,
       * so the table keeps one row per step. */
      for (const char *p = by ? by : ""; *p; p++)
        if (*p == '\n')
          buf_puts (&b, "\\n");
        else
          buf_putc (&b, *p == '\t' ? ' ' : *p);
      _cleanup_free_ char *shown = no_trunc ? xstrdup (buf_str (&b)) : formatter_ellipsis (buf_str (&b), 45);
      json_array_append_new (rows, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", idcol, "CreatedSince", since,
                                              "CreatedAt", at, "CreatedBy", shown, "Size", size, "Comment",
                                              comment ? comment : ""));
    }
  free (sizes);
  image_info_clear (&ii);
  _cleanup_json_ json_t *header = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "IMAGE", "CreatedSince", "CREATED",
                                             "CreatedAt", "CREATED AT", "CreatedBy", "CREATED BY", "Size", "SIZE",
                                             "Comment", "COMMENT");
  return cli_print_format (format, rows, header, "*history.historyContext");
}

/* ---------- tag / rmi ---------- */

const char cmd_tag_usage[] = "Usage: kiln tag SOURCE_IMAGE TARGET_IMAGE[:TAG]\n"
                             "\n"
                             "Gives an image another name.\n";

int
cmd_tag (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{0}};
  while (getopt_long (argc, argv, "", opts, NULL) != -1)
    return cli_usage_error ("tag", "unknown option");
  if (argc - optind != 2)
    return cli_usage_error ("tag", "expects SOURCE_IMAGE and TARGET_IMAGE");
  struct kiln_err err = {0};
  _cleanup_free_ char *tag = normalize_tag (argv[optind + 1], &err);
  if (tag == NULL)
    {
      err.code = KILN_EUSAGE;
      return cli_fail (&err);
    }
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  struct digest id;
  if (image_resolve (st, argv[optind], &id, &err) < 0 || image_tag (st, &id, tag, &err) < 0)
    return cli_fail (&err);
  return EXIT_OK;
}

const char cmd_rmi_usage[] = "Usage: kiln rmi [-f] IMAGE...\n"
                             "\n"
                             "Removes images: a name removes that tag (and the image when it was the\n"
                             "last); an id removes the image, which needs -f if several names point at it.\n"
                             "Layers no image uses any more are deleted.\n";

int
cmd_rmi (struct kiln_ctx *ctx, int argc, char **argv)
{
  bool force;
  int rc = cli_force_flag ("rmi", argc, argv, &force);
  if (rc != EXIT_OK)
    return rc;
  if (optind >= argc)
    return cli_usage_error ("rmi", "expects at least one IMAGE");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  rc = EXIT_OK;
  bool deleted_any = false;
  for (int i = optind; i < argc; i++)
    {
      struct digest id;
      if (image_resolve (st, argv[i], &id, &err) < 0)
        {
          kiln_err_print (&err, stderr);
          kiln_err_clear (&err);
          rc = EXIT_FAIL;
          continue;
        }
      _cleanup_strv_ struct strv tags = STRV_INIT;
      image_tags (st, &id, &tags, &err);
      /* Was it named by one of its tags? */
      _cleanup_free_ char *as_tag = NULL;
      struct image_ref r;
      struct kiln_err perr = {0};
      if (ref_parse (argv[i], true, &r, &perr) == 0)
        {
          as_tag = ref_string (&r);
          ref_clear (&r);
        }
      kiln_err_clear (&perr);
      bool by_tag = false;
      for (size_t t = 0; as_tag && t < tags.n; t++)
        by_tag |= strcmp (tags.v[t], as_tag) == 0;
      if (by_tag && tags.n > 1)
        {
          image_untag (st, as_tag, &err);
          _cleanup_free_ char *f = ref_familiar (as_tag);
          printf ("Untagged: %s\n", f);
          continue;
        }
      if (!by_tag && tags.n > 1 && !force)
        {
          fprintf (stderr,
                   "kiln: conflict: unable to delete %.12s (must be forced): the image is referenced by %zu names\n",
                   digest_hex (&id), tags.n);
          rc = EXIT_FAIL;
          continue;
        }
      /* An image a container uses stays (docker's conflicts); forced, a stopped
       * container's image loses its names but stays for the container. */
      _cleanup_strv_ struct strv running = STRV_INIT, stopped = STRV_INIT;
      if (cli_containers_of_image (st, id.str, &running, &stopped, &err) < 0)
        {
          rc = cli_fail (&err);
          continue;
        }
      if (running.n || (stopped.n && !force))
        {
          if (running.n)
            fprintf (stderr,
                     "kiln: conflict: unable to delete %.12s (cannot be forced) - image is being used by running "
                     "container %.12s\n",
                     digest_hex (&id), running.v[0]);
          else if (by_tag)
            {
              _cleanup_free_ char *f = ref_familiar (as_tag);
              fprintf (stderr,
                       "kiln: conflict: unable to remove repository reference \"%s\" (must force) - container "
                       "%.12s is using its referenced image %.12s\n",
                       f, stopped.v[0], digest_hex (&id));
            }
          else
            fprintf (stderr,
                     "kiln: conflict: unable to delete %.12s (must be forced) - image is being used by stopped "
                     "container %.12s\n",
                     digest_hex (&id), stopped.v[0]);
          rc = EXIT_FAIL;
          continue;
        }
      for (size_t t = 0; t < tags.n; t++)
        {
          _cleanup_free_ char *f = ref_familiar (tags.v[t]);
          printf ("Untagged: %s\n", f);
          if (stopped.n)
            image_untag (st, tags.v[t], &err);
        }
      if (stopped.n)
        continue;
      if (image_delete (st, &id, &err) < 0)
        {
          kiln_err_print (&err, stderr);
          kiln_err_clear (&err);
          rc = EXIT_FAIL;
          continue;
        }
      printf ("Deleted: %s\n", id.str);
      deleted_any = true;
    }
  if (deleted_any)
    {
      struct gc_stats gs;
      if (image_gc (st, false, &gs, &err) < 0)
        return cli_fail (&err);
    }
  return rc;
}

/* ---------- save / load ---------- */

const char cmd_save_usage[]
    = "Usage: kiln save -o FILE [--format docker-archive|oci-archive|oci-dir] [--compression gzip|zstd|none]\n"
      "                 IMAGE...\n"
      "\n"
      "Writes images to a file (or \"-o -\" for standard output): docker-archive (the\n"
      "default; docker load and podman load read it), oci-archive, or oci-dir (an OCI\n"
      "image layout directory). Layers are compressed on the way out, on all cores:\n"
      "gzip by default for the OCI formats, none for docker-archive (as docker save).\n"
      "The file appears only when it is complete; a named pipe is written in place;\n"
      "a device or a socket is refused.\n";

int
cmd_save (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"compression", required_argument, NULL, 'c'},
                                       {0}};
  struct save_opts o = {.format = FORMAT_DOCKER_ARCHIVE};
  int compression = -1;
  int c;
  while ((c = getopt_long (argc, argv, "o:", opts, NULL)) != -1)
    switch (c)
      {
      case 'o': o.output = optarg; break;
      case 'f':
        {
          int f = archive_format_parse (optarg);
          if (f < 0)
            return cli_usage_error ("save", "unknown --format \"%s\" (docker-archive, oci-archive, oci-dir)", optarg);
          o.format = (enum archive_format) f;
          break;
        }
      case 'c':
        compression = compression_parse (optarg);
        if (compression < 0)
          return cli_usage_error ("save", "unknown --compression \"%s\" (gzip, zstd, none)", optarg);
        break;
      default: return cli_usage_error ("save", "unknown option");
      }
  if (o.output == NULL)
    {
      if (isatty (1))
        return cli_usage_error ("save", "needs -o FILE (refusing to write an archive to a terminal)");
      o.output = "-";
    }
  if (optind >= argc)
    return cli_usage_error ("save", "expects at least one IMAGE");
  o.compression = compression >= 0 ? (enum compression) compression
                                   : o.format == FORMAT_DOCKER_ARCHIVE ? COMPRESS_NONE : COMPRESS_GZIP;
  _cleanup_strv_ struct strv images = STRV_INIT;
  for (int i = optind; i < argc; i++)
    strv_push (&images, argv[i]);
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL || image_save (st, &o, &images, &err) < 0)
    return cli_fail (&err);
  return EXIT_OK;
}

const char cmd_load_usage[] = "Usage: kiln load [-i FILE|DIR] [-q]\n"
                              "\n"
                              "Loads images from a docker-archive or oci-archive (plain or compressed)\n"
                              "or an OCI layout directory; standard input without -i. Every blob is\n"
                              "checked against its digest and every layer against the image's diff_ids\n"
                              "before the image is recorded.\n";

int
cmd_load (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"input", required_argument, NULL, 'i'}, {"quiet", no_argument, NULL, 'q'},
                                       {0}};
  const char *input = "-";
  bool quiet = false;
  int c;
  while ((c = getopt_long (argc, argv, "i:q", opts, NULL)) != -1)
    switch (c)
      {
      case 'i': input = optarg; break;
      case 'q': quiet = true; break;
      default: return cli_usage_error ("load", "unknown option");
      }
  if (optind != argc)
    return cli_usage_error ("load", "takes no arguments (use -i FILE)");
  if (strcmp (input, "-") == 0 && isatty (0))
    return cli_usage_error ("load", "needs -i FILE, or an archive on standard input");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  _cleanup_strv_ struct strv report = STRV_INIT;
  int r = image_load_archive (st, input, &report, &err);
  if (!quiet)
    for (size_t i = 0; i < report.n; i++)
      printf ("%s\n", report.v[i]);
  return r < 0 ? cli_fail (&err) : EXIT_OK;
}
