/* cli/cmd_volume.c — `kiln volume create|ls|inspect|rm|prune` (store/volumes.h),
 * with docker's flags, output shapes and messages. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/prune_filter.h"
#include "container/mounts.h"
#include "container/names.h"
#include "image/image.h"
#include "store/store.h"
#include "store/volumes.h"
#include "util/regex.h"
#include "util/cleanup.h"
#include "util/formatter.h"

const char cmd_volume_usage[]
    = "Usage: kiln volume COMMAND\n"
      "\n"
      "Manages volumes: directories of the store that containers mount (-v NAME:/path).\n"
      "\n"
      "  create [--label K=V]... [-d local] [NAME]   make a volume (a random name if none)\n"
      "  ls [-q] [--filter name=|label=|dangling=|driver=] [--format F]\n"
      "  inspect [-f F] NAME...\n"
      "  rm [-f] NAME...                             a volume a container uses is refused\n"
      "  prune [-f] [-a]                             remove anonymous volumes no container uses\n"
      "                                              (-a: every volume no container uses),\n"
      "                                              as docker 23 and later; --filter\n"
      "                                              label=K[=V] / label!=K[=V] keep to those\n";

#define VOLUME_TYPE "*formatter.volumeContext"

/* docker's CreatedAt: RFC 3339, seconds. */
static void
created_at (int64_t t, char out[static 40])
{
  time_t tt = (time_t) t;
  struct tm tm;
  gmtime_r (&tt, &tm);
  strftime (out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
volume_inspect_json (const char *root, const struct volume_rec *v)
{
  char created[40];
  created_at (v->created, created);
  _cleanup_free_ char *mp = volume_data_path (root, v->name);
  return json_pack ("{s:s, s:s, s:O, s:s, s:s, s:O, s:s}", "CreatedAt", created, "Driver", v->driver, "Labels",
                    v->labels, "Mountpoint", mp, "Name", v->name, "Options", v->options, "Scope", "local");
}

int
cli_volume_inspect (struct kiln_store *st, const char *name, json_t *into, struct kiln_err *err)
{
  struct volume_rec v = {0};
  int r = volumes_get (st, name, &v, err);
  if (r == 1)
    json_array_append_new (into, volume_inspect_json (store_root (st), &v));
  volume_rec_clear (&v);
  return r;
}

/* ---------- create ---------- */

static int
parse_labels (const char *kv, json_t *labels)
{
  const char *eq = strchr (kv, '=');
  _cleanup_free_ char *k = eq ? xstrndup (kv, (size_t) (eq - kv)) : xstrdup (kv);
  if (*k == '\0')
    return -1;
  json_object_set_new (labels, k, json_string (eq ? eq + 1 : ""));
  return 0;
}

static int
volume_create (struct kiln_store *st, int argc, char **argv)
{
  static const struct option opts[] = {{"label", required_argument, NULL, 'l'},
                                       {"driver", required_argument, NULL, 'd'},
                                       {"name", required_argument, NULL, 'n'},
                                       {"opt", required_argument, NULL, 'o'},
                                       {0}};
  _cleanup_json_ json_t *labels = json_object (), *options = json_object ();
  const char *name = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "d:o:", opts, NULL)) != -1)
    switch (c)
      {
      case 'o':
        /* The local driver's type=/device=/o= mount something at every start; kiln's
         * volumes are directories of the store. */
        fprintf (stderr, "kiln: create: the local driver's options (-o %s) are not supported: kiln's volumes are "
                         "directories of the store\n",
                 optarg);
        return EXIT_FAIL;
      case 'l':
        if (parse_labels (optarg, labels) < 0)
          return cli_usage_error ("volume create", "invalid label \"%s\"", optarg);
        break;
      case 'd':
        if (strcmp (optarg, "local") != 0)
          {
            fprintf (stderr, "kiln: create: error looking up volume plugin %s: plugin \"%s\" not found\n", optarg,
                     optarg);
            return EXIT_FAIL;
          }
        break;
      case 'n': name = optarg; break;
      default: return cli_usage_error ("volume create", "unknown option");
      }
  if (optind + 1 < argc || (optind < argc && name && strcmp (name, argv[optind]) != 0))
    return cli_usage_error ("volume create", "takes at most one NAME");
  if (optind < argc)
    name = argv[optind];
  struct kiln_err err = {0};
  if (name && !volume_name_valid (name))
    {
      volume_name_error (name, &err);
      kiln_err_wrap (&err, "create %s", name);
      kiln_err_print (&err, stderr);
      kiln_err_clear (&err);
      return EXIT_FAIL;
    }
  struct volume_rec v = {0};
  /* A name of its own: a named volume, as `docker volume create` without one makes. */
  char generated[65];
  if (name == NULL)
    {
      container_id_generate (generated);
      name = generated;
    }
  if (store_lock_shared (st, &err) < 0 || volumes_create (st, name, labels, options, &v, NULL, &err) < 0)
    return cli_fail (&err);
  printf ("%s\n", v.name);
  volume_rec_clear (&v);
  return EXIT_OK;
}

/* ---------- ls ---------- */

struct filters
{
  struct strv name, label, dangling, driver;
  struct regex_set name_re; /* the name= patterns, compiled once, not per volume */
};

static void
filters_clear (struct filters *f)
{
  regex_set_clear (&f->name_re);
  strv_free (&f->name);
  strv_free (&f->label);
  strv_free (&f->dangling);
  strv_free (&f->driver);
}

static bool
name_matches (const struct filters *f, const char *pattern, const char *name)
{
  int m = regex_set_match (&f->name_re, pattern, name);
  return m < 0 ? strstr (name, pattern) != NULL : m == 1;
}

static bool
label_matches (const char *want, const json_t *labels)
{
  const char *eq = strchr (want, '=');
  _cleanup_free_ char *k = eq ? xstrndup (want, (size_t) (eq - want)) : xstrdup (want);
  const char *v = json_string_value (json_object_get (labels, k));
  return v && (eq == NULL || strcmp (v, eq + 1) == 0);
}

static bool
dangling_value (const char *s, bool *out)
{
  if (strcmp (s, "true") == 0 || strcmp (s, "1") == 0)
    return *out = true, true;
  if (strcmp (s, "false") == 0 || strcmp (s, "0") == 0)
    return *out = false, true;
  return false;
}

static bool
volume_matches (const struct filters *f, const struct volume_rec *v, bool in_use)
{
  bool ok = f->name.n == 0;
  for (size_t i = 0; i < f->name.n && !ok; i++)
    ok = name_matches (f, f->name.v[i], v->name);
  for (size_t i = 0; i < f->label.n && ok; i++) /* every label asked for */
    ok = label_matches (f->label.v[i], v->labels);
  bool any = f->driver.n == 0;
  for (size_t i = 0; i < f->driver.n && !any; i++)
    any = strcmp (f->driver.v[i], v->driver) == 0;
  ok &= any;
  for (size_t i = 0; i < f->dangling.n && ok; i++)
    {
      bool want = false;
      dangling_value (f->dangling.v[i], &want);
      ok = want != in_use;
    }
  return ok;
}

static int
add_filter (struct filters *f, const char *kv)
{
  const char *eq = strchr (kv, '=');
  if (eq == NULL)
    {
      fprintf (stderr, "kiln: bad format of filter (expected name=value)\n");
      return -1;
    }
  size_t kl = (size_t) (eq - kv);
  const char *val = eq + 1;
  bool b;
  if (kl == 4 && strncmp (kv, "name", 4) == 0)
    {
      strv_push (&f->name, val);
      regex_set_add (&f->name_re, val);
    }
  else if (kl == 5 && strncmp (kv, "label", 5) == 0)
    strv_push (&f->label, val);
  else if (kl == 6 && strncmp (kv, "driver", 6) == 0)
    strv_push (&f->driver, val);
  else if (kl == 8 && strncmp (kv, "dangling", 8) == 0)
    {
      if (!dangling_value (val, &b))
        {
          fprintf (stderr, "kiln: invalid filter 'dangling=%s'\n", val);
          return -1;
        }
      strv_push (&f->dangling, val);
    }
  else
    {
      fprintf (stderr, "kiln: invalid filter '%.*s'\n", (int) kl, kv);
      return -1;
    }
  return 0;
}

/* docker's volume context: the fields a --format can name. */
static json_t *
volume_row (const char *root, const struct volume_rec *v)
{
  _cleanup_free_ char *mp = volume_data_path (root, v->name);
  _cleanup_buf_ struct buf labels = BUF_INIT;
  buf_puts (&labels, "");
  const char *k;
  json_t *val;
  _cleanup_strv_ struct strv kv = STRV_INIT;
  json_object_foreach (v->labels, k, val)
  {
    struct buf b = BUF_INIT;
    buf_printf (&b, "%s=%s", k, json_string_value (val) ? json_string_value (val) : "");
    strv_push_owned (&kv, buf_steal (&b));
  }
  strv_sort (&kv);
  for (size_t i = 0; i < kv.n; i++)
    buf_printf (&labels, "%s%s", i ? "," : "", kv.v[i]);
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Availability", "N/A", "Driver", v->driver,
                    "Group", "N/A", "Labels", buf_str (&labels), "Links", "N/A", "Mountpoint", mp, "Name", v->name,
                    "Scope", "local", "Size", "N/A", "Status", "N/A");
}

/* docker/cli sorts volumes with sortorder.NaturalLess: runs of digits compare as
 * numbers ("v2" before "v10"). */
static int
natural_cmp (const char *a, const char *b)
{
  while (*a && *b)
    {
      if (isdigit ((unsigned char) *a) && isdigit ((unsigned char) *b))
        {
          const char *as = a, *bs = b;
          while (isdigit ((unsigned char) *a))
            a++;
          while (isdigit ((unsigned char) *b))
            b++;
          while (as < a - 1 && *as == '0')
            as++;
          while (bs < b - 1 && *bs == '0')
            bs++;
          size_t la = (size_t) (a - as), lb = (size_t) (b - bs);
          if (la != lb)
            return la < lb ? -1 : 1;
          int c = memcmp (as, bs, la);
          if (c)
            return c;
          continue;
        }
      if (*a != *b)
        return (unsigned char) *a - (unsigned char) *b;
      a++, b++;
    }
  return (unsigned char) *a - (unsigned char) *b;
}

static int
by_natural_name (const void *x, const void *y)
{
  return natural_cmp (((const struct volume_rec *) x)->name, ((const struct volume_rec *) y)->name);
}

static int
volume_ls (struct kiln_store *st, int argc, char **argv)
{
  static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                       {"filter", required_argument, NULL, 'f'},
                                       {"format", required_argument, NULL, 'F'},
                                       {0}};
  bool quiet = false;
  const char *format = NULL;
  struct filters f = {0};
  int c, rc = EXIT_OK;
  while ((c = getopt_long (argc, argv, "qf:", opts, NULL)) != -1)
    switch (c)
      {
      case 'q': quiet = true; break;
      case 'f':
        if (add_filter (&f, optarg) < 0)
          {
            filters_clear (&f);
            return EXIT_FAIL;
          }
        break;
      case 'F': format = optarg; break;
      default: filters_clear (&f); return cli_usage_error ("volume ls", "unknown option");
      }
  if (optind != argc)
    {
      filters_clear (&f);
      return cli_usage_error ("volume ls", "takes no arguments");
    }
  /* docker's NewVolumeFormat: "table" is the two columns, -q the names. */
  if (format == NULL || *format == '\0')
    format = "table";
  if (strncmp (format, "table", 5) == 0 && quiet)
    format = "{{.Name}}";
  else if (strcmp (format, "table") == 0)
    format = "table {{.Driver}}\t{{.Name}}";
  struct kiln_err err = {0};
  struct volume_rec *v;
  size_t n;
  if (volumes_list (st, &v, &n, &err) < 0)
    {
      filters_clear (&f);
      return cli_fail (&err);
    }
  qsort (v, n, sizeof *v, by_natural_name);
  _cleanup_json_ json_t *rows = json_array ();
  for (size_t i = 0; i < n && rc == EXIT_OK; i++)
    {
      _cleanup_strv_ struct strv users = STRV_INIT;
      if (f.dangling.n && volumes_users (st, v[i].name, &users, &err) < 0)
        rc = cli_fail (&err);
      else if (volume_matches (&f, &v[i], users.n > 0))
        json_array_append_new (rows, volume_row (store_root (st), &v[i]));
    }
  volume_recs_free (v, n);
  filters_clear (&f);
  if (rc != EXIT_OK)
    return rc;
  _cleanup_json_ json_t *header
      = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Availability", "AVAILABILITY", "Driver",
                   "DRIVER", "Group", "GROUP", "Labels", "LABELS", "Links", "LINKS", "Mountpoint", "MOUNTPOINT", "Name",
                   "VOLUME NAME", "Scope", "SCOPE", "Size", "SIZE", "Status", "STATUS");
  return cli_print_format (format, rows, header, VOLUME_TYPE);
}

/* ---------- inspect ---------- */

static int
volume_inspect (struct kiln_store *st, int argc, char **argv)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
  const char *format = "";
  int c;
  while ((c = getopt_long (argc, argv, "f:", opts, NULL)) != -1)
    if (c == 'f')
      format = optarg;
    else
      return cli_usage_error ("volume inspect", "unknown option");
  if (optind >= argc)
    return cli_usage_error ("volume inspect", "expects at least one NAME");
  struct kiln_err err = {0};
  _cleanup_json_ json_t *all = json_array ();
  int rc = EXIT_OK;
  for (int i = optind; i < argc; i++)
    {
      int r = cli_volume_inspect (st, argv[i], all, &err);
      if (r < 0)
        rc = cli_fail (&err);
      else if (r == 0)
        {
          fprintf (stderr, "Error: No such volume: %s\n", argv[i]);
          rc = EXIT_FAIL;
        }
    }
  _cleanup_buf_ struct buf out = BUF_INIT;
  if (formatter_inspect (format, all, &out, &err) < 0)
    return cli_fail (&err);
  fwrite (buf_str (&out), 1, out.len, stdout);
  return rc;
}

/* ---------- rm, prune ---------- */

static int
volume_rm (struct kiln_store *st, int argc, char **argv)
{
  bool force;
  int rc = cli_force_flag ("volume rm", argc, argv, &force);
  if (rc != EXIT_OK)
    return rc;
  if (optind >= argc)
    return cli_usage_error ("volume rm", "expects at least one NAME");
  struct kiln_err err = {0};
  if (store_lock_shared (st, &err) < 0)
    return cli_fail (&err);
  rc = EXIT_OK;
  for (int i = optind; i < argc; i++)
    {
      if (volumes_remove (st, argv[i], &err) == 0)
        printf ("%s\n", argv[i]);
      else if (force && err.code == ENOENT)
        kiln_err_clear (&err); /* -f: a volume that is not there is not an error */
      else
        {
          kiln_err_print (&err, stderr);
          kiln_err_clear (&err);
          rc = EXIT_FAIL;
        }
    }
  return rc;
}

static int
volume_prune (struct kiln_store *st, int argc, char **argv)
{
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                       {"all", no_argument, NULL, 'a'},
                                       {"filter", required_argument, NULL, 'F'},
                                       {0}};
  bool force = false, all = false;
  struct prune_filter filter __attribute__ ((cleanup (prune_filter_clear))) = {0};
  struct kiln_err err = {0};
  int c;
  while ((c = getopt_long (argc, argv, "fa", opts, NULL)) != -1)
    if (c == 'f' || c == 'a')
      *(c == 'f' ? &force : &all) = true;
    else if (c == 'F')
      {
        /* docker's volume prune takes label filters, not until= */
        if (prune_filter_add (&filter, optarg, false, &err) < 0)
          return cli_fail (&err);
      }
    else
      return cli_usage_error ("volume prune", "unknown option");
  if (optind != argc)
    return cli_usage_error ("volume prune", "takes no arguments");
  if (!force && !cli_confirm (all ? "WARNING! This will remove all local volumes not used by at least one container.\n"
                                  : "WARNING! This will remove anonymous local volumes not used by at least one "
                                    "container.\n"))
    return EXIT_OK;
  struct volume_rec *v;
  size_t n;
  if (store_lock_shared (st, &err) < 0 || volumes_list (st, &v, &n, &err) < 0)
    return cli_fail (&err);
  _cleanup_strv_ struct strv gone = STRV_INIT;
  uint64_t reclaimed = 0;
  int rc = EXIT_OK;
  for (size_t i = 0; i < n; i++)
    {
      if ((!all && !v[i].anonymous) || !prune_filter_selects (&filter, 0, v[i].labels))
        continue;
      uint64_t size = 0;
      volumes_size (st, v[i].name, &size);
      if (volumes_remove (st, v[i].name, &err) == 0)
        {
          strv_push (&gone, v[i].name);
          reclaimed += size;
        }
      else if (err.code == EBUSY || err.code == ENOENT)
        kiln_err_clear (&err); /* in use: kept */
      else
        {
          rc = cli_fail (&err);
          break;
        }
    }
  volume_recs_free (v, n);
  cli_print_deleted ("Volumes", &gone);
  char size[32];
  format_size (reclaimed, size);
  printf ("Total reclaimed space: %s\n", size);
  return rc;
}

int
cmd_volume (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*run) (struct kiln_store *, int, char **);
  } subs[] = {
    {"create", volume_create}, {"ls", volume_ls},   {"list", volume_ls},
    {"inspect", volume_inspect}, {"rm", volume_rm}, {"remove", volume_rm}, {"prune", volume_prune},
  };
  if (argc < 2)
    return cli_usage_error ("volume", "expects a command (create, ls, inspect, rm, prune)");
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || cli_wants_help (argc - 1, argv + 1))
    return fputs (cmd_volume_usage, stdout), EXIT_OK;
  for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
    if (strcmp (subs[i].name, argv[1]) == 0)
      {
        struct kiln_err err = {0};
        _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
        if (st == NULL)
          return cli_fail (&err);
        optind = 0;
        return subs[i].run (st, argc - 1, argv + 1);
      }
  return cli_usage_error ("volume", "unknown command \"%s\"", argv[1]);
}
