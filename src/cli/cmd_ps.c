/* cli/cmd_ps.c — `kiln ps`: containers as docker lists them, through docker's ps
 * filters (container/psfilter) and its container context (container/psfmt). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/containers.h"
#include "container/changes.h"
#include "container/config.h"
#include "container/inspect.h"
#include "container/names.h"
#include "container/psfilter.h"
#include "container/psfmt.h"
#include "net/net.h"
#include "container/state.h"
#include "image/image.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/formatter.h"

const char cmd_ps_usage[]
    = "Usage: kiln ps [OPTIONS]\n"
      "\n"
      "Lists containers: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES.\n"
      "\n"
      "  -a, --all             every container (default: running ones)\n"
      "  -f, --filter K=V      only those that match (several: all keys, any value of one key):\n"
      "                        id= name= label=K[=V] status= exited=N health= ancestor=IMAGE\n"
      "                        before=C since=C volume= network= publish= expose= is-task=\n"
      "      --format F        table, json, or a Go template over .ID .Image .Command .CreatedAt\n"
      "                        .RunningFor .Ports .State .Status .Size .Names .Labels (.Label \"k\")\n"
      "                        .Mounts .Networks .LocalVolumes .Platform .HealthStatus\n"
      "  -n, --last N          the N containers made last (any state)\n"
      "  -l, --latest          the container made last (any state)\n"
      "      --no-trunc        full ids and commands\n"
      "  -q, --quiet           only ids\n"
      "  -s, --size            the size of what each container wrote (and its image's: virtual)\n";

/* docker's Summary.Ports from inspect's NetworkSettings.Ports ({"80/tcp": [{HostIp,
 * HostPort}] or null}): one entry a binding, one for a port without any. */
static json_t *
summary_ports (const json_t *ports)
{
  json_t *out = json_array ();
  const char *k;
  json_t *binds;
  json_object_foreach ((json_t *) ports, k, binds)
  {
    char *slash;
    long priv = strtol (k, &slash, 10);
    const char *type = *slash == '/' ? slash + 1 : "tcp";
    if (json_array_size (binds) == 0)
      json_array_append_new (out, json_pack ("{s:I, s:s}", "PrivatePort", (json_int_t) priv, "Type", type));
    for (size_t i = 0; i < json_array_size (binds); i++)
      {
        const json_t *b = json_array_get (binds, i);
        const char *ip = json_string_value (json_object_get (b, "HostIp"));
        const char *hp = json_string_value (json_object_get (b, "HostPort"));
        json_array_append_new (out, json_pack ("{s:s, s:I, s:I, s:s}", "IP", ip ? ip : "", "PrivatePort",
                                               (json_int_t) priv, "PublicPort", (json_int_t) (hp ? atol (hp) : 0),
                                               "Type", type));
      }
  }
  return out;
}

/* The image's size for SizeRootFs, once an image. */
static json_int_t
image_size (struct kiln_store *st, json_t *cache, const char *image_id)
{
  json_t *v = json_object_get (cache, image_id);
  if (v)
    return json_integer_value (v);
  struct digest id;
  struct image_info ii = {0};
  struct kiln_err err = {0};
  json_int_t size = 0;
  if (digest_parse (image_id, &id, &err) == 0 && image_load (st, &id, &ii, &err) == 0)
    size = (json_int_t) ii.size;
  kiln_err_clear (&err);
  image_info_clear (&ii);
  json_object_set_new (cache, image_id, json_integer (size));
  return size;
}

/* docker's container.Summary of one container, from what inspect shows of it (so that
 * what inspect learns — mounts, networks, ports, health — ps shows too). */
static json_t *
summary (struct kiln_store *st, const struct container_rec *rec, const struct container_state *s, bool size,
         json_t *sizes, int64_t now)
{
  _cleanup_free_ char *path = container_path (store_root (st), rec->id, "config.json");
  _cleanup_json_ json_t *config = json_load_file (path, 0, NULL);
  if (config == NULL)
    config = json_object ();
  _cleanup_strv_ struct strv lowers = STRV_INIT, argv = STRV_INIT;
  _cleanup_json_ json_t *ins = container_inspect_json (store_root (st), rec, config, s, &lowers);
  json_object_set_new (ins, "NetworkSettings", net_settings_json (st, rec->id, config));
  container_config_argv (config, &argv);
  _cleanup_buf_ struct buf cmd = BUF_INIT, name = BUF_INIT;
  container_command_text (&argv, &cmd);
  buf_printf (&name, "/%s", rec->name);
  char status[96];
  container_status_text (s, now, status);
  const json_t *cfg = json_object_get (ins, "Config"), *state = json_object_get (ins, "State");
  const json_t *ns = json_object_get (ins, "NetworkSettings");
  const char *image = json_string_value (json_object_get (cfg, "Image"));
  json_t *labels = json_object_get (cfg, "Labels");
  json_t *o = json_pack ("{s:s, s:[s], s:s, s:s, s:s, s:I, s:o, s:O, s:s, s:s, s:O, s:{s:O}}", "ID", rec->id, "Names",
                         buf_str (&name), "Image", image ? image : rec->image, "ImageID", rec->image, "Command",
                         buf_str (&cmd), "Created", (json_int_t) (rec->created / 1000000000), "Ports",
                         summary_ports (s->status == CONTAINER_RUNNING ? json_object_get (ns, "Ports") : NULL), "Labels",
                         json_is_object (labels) ? labels : json_null (), "State", container_status_name (s->status),
                         "Status", status, "Mounts",
                         json_object_get (ins, "Mounts") ? json_object_get (ins, "Mounts") : json_null (),
                         "NetworkSettings", "Networks",
                         json_object_get (ns, "Networks") ? json_object_get (ns, "Networks") : json_null ());
  json_t *health = json_object_get (state, "Health");
  if (json_is_object (health))
    json_object_set (o, "Health", health);
  if (size)
    {
      _cleanup_free_ char *upper = container_path (store_root (st), rec->id, "upper");
      uint64_t rw = 0;
      struct kiln_err err = {0};
      if (container_rw_size (upper, &rw, &err) < 0)
        kiln_err_clear (&err); /* a size that cannot be read is 0, as docker logs and goes on */
      json_object_set_new (o, "SizeRw", json_integer ((json_int_t) rw));
      json_object_set_new (o, "SizeRootFs", json_integer ((json_int_t) rw + image_size (st, sizes, rec->image)));
    }
  return o;
}

/* The layers (diff_ids) of an image, as a JSON array; NULL when it is not known. */
static json_t *
image_chain (struct kiln_store *st, const char *image_id)
{
  struct digest id;
  struct image_info ii = {0};
  struct kiln_err err = {0};
  json_t *a = NULL;
  if (digest_parse (image_id, &id, &err) == 0 && image_load (st, &id, &ii, &err) == 0)
    {
      a = json_array ();
      for (size_t i = 0; i < ii.n_layers; i++)
        json_array_append_new (a, json_string (ii.layers[i].diff_id.str));
    }
  kiln_err_clear (&err);
  image_info_clear (&ii);
  return a;
}

/* ancestor=IMAGE: the container's image is IMAGE, or built on it (IMAGE's layers are
 * the first layers of the container's image).  The ancestors' ids and layer lists are
 * resolved once. */
static bool
descends (struct kiln_store *st, const json_t *ancestors, json_t *chains, const char *image_id)
{
  json_t *mine = json_object_get (chains, image_id);
  if (mine == NULL)
    {
      mine = image_chain (st, image_id);
      json_object_set_new (chains, image_id, mine ? mine : json_null ());
    }
  size_t i;
  json_t *a;
  json_array_foreach (ancestors, i, a)
  {
    const char *aid = json_string_value (json_object_get (a, "id"));
    const json_t *layers = json_object_get (a, "layers");
    if (strcmp (aid, image_id) == 0)
      return true;
    if (!json_is_array (mine) || json_array_size (layers) == 0 || json_array_size (layers) > json_array_size (mine))
      continue;
    bool prefix = true;
    for (size_t k = 0; k < json_array_size (layers) && prefix; k++)
      prefix = json_equal (json_array_get (layers, k), json_array_get (mine, k));
    if (prefix)
      return true;
  }
  return false;
}

/* before=C / since=C: C's creation time; 0 when C is unknown (said on stderr). */
static int
resolve_bound (const struct container_rec *recs, size_t n, const json_t *values, int64_t *bound)
{
  size_t i;
  json_t *v;
  json_array_foreach (values, i, v)
  {
    size_t at;
    const char *ref = json_string_value (v);
    enum container_match m = container_ref_match (recs, n, ref, &at);
    if (m == CONTAINER_AMBIGUOUS)
      return fprintf (stderr, "kiln: multiple IDs found with provided prefix: %s\n", ref), -1;
    if (m != CONTAINER_FOUND)
      return cli_no_such_container (ref), -1;
    /* docker walks the values in turn: the last one wins */
    *bound = recs[at].created;
  }
  return 0;
}

struct ps_opts
{
  bool all, quiet, no_trunc, size, size_set;
  long last;
  const char *format;
  struct psfilter filter;
};

static int
ps_parse (int argc, char **argv, struct ps_opts *o)
{
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'},     {"quiet", no_argument, NULL, 'q'},
                                       {"no-trunc", no_argument, NULL, 'N'}, {"last", required_argument, NULL, 'n'},
                                       {"latest", no_argument, NULL, 'l'},  {"size", no_argument, NULL, 's'},
                                       {"filter", required_argument, NULL, 'f'}, {"format", required_argument, NULL, 'F'},
                                       {0}};
  struct kiln_err err = {0};
  int c;
  while ((c = getopt_long (argc, argv, "aqn:lsf:", opts, NULL)) != -1)
    switch (c)
      {
      case 'a': o->all = true; break;
      case 'q': o->quiet = true; break;
      case 'N': o->no_trunc = true; break;
      case 'l': o->last = 1; break;
      case 's': o->size = o->size_set = true; break;
      case 'F': o->format = optarg; break;
      case 'f':
        if (psfilter_add (&o->filter, optarg, &err) < 0)
          {
            if (strncmp (err.msg, "bad format", 10) == 0)
              {
                cli_usage_error ("ps", "invalid argument \"%s\" for \"-f, --filter\" flag: %s", optarg, err.msg);
                kiln_err_clear (&err);
                return EXIT_USAGE;
              }
            return cli_fail (&err);
          }
        break;
      case 'n':
        {
          char *end;
          errno = 0;
          o->last = strtol (optarg, &end, 10);
          if (*end || end == optarg || errno)
            return cli_usage_error ("ps", "invalid argument \"%s\" for \"-n, --last\" flag", optarg);
          break;
        }
      default: return cli_usage_error ("ps", "unknown option");
      }
  if (optind != argc)
    return cli_usage_error ("ps", "takes no arguments");
  return 0;
}

/* docker's rule: -s, or a --format that shows .Size ({{json .}} shows every field) —
 * unless -q. */
static bool
wants_size (const struct ps_opts *o, const char *format)
{
  if (o->quiet && !o->size_set)
    return false;
  if (o->size)
    return true;
  bool table, json;
  _cleanup_free_ char *t = formatter_template_string (format, &table, &json);
  return psfmt_need_size (t, false) || json || strstr (t, "json .}}") != NULL;
}

int
cmd_ps (struct kiln_ctx *ctx, int argc, char **argv)
{
  struct ps_opts o = {.last = -1};
  psfilter_init (&o.filter);
  int rc = ps_parse (argc, argv, &o);
  if (rc != 0)
    {
      psfilter_clear (&o.filter);
      return rc;
    }
  _cleanup_free_ char *format = psfmt_format (o.format ? o.format : "", o.quiet, false);
  bool size = wants_size (&o, format);
  if (size && (o.format == NULL || *o.format == 0 || strcmp (o.format, "table") == 0 || strcmp (o.format, "raw") == 0))
    {
      free (format);
      format = psfmt_format (o.format ? o.format : "", o.quiet, true);
    }
  struct formatter f;
  struct kiln_err err = {0};
  if (formatter_init (&f, format, &err) < 0)
    {
      psfilter_clear (&o.filter);
      return cli_fail (&err);
    }
  _cleanup_json_ json_t *ancestors = json_array (), *chains = json_object (), *sizes = json_object ();
  _cleanup_json_ json_t *rows = json_array ();
  struct kiln_store *st = cli_open_store (ctx, &err);
  struct container_rec *recs = NULL;
  size_t n = 0;
  if (st == NULL || containers_list (st, &recs, &n, &err) < 0)
    {
      rc = cli_fail (&err);
      goto out;
    }
  if (resolve_bound (recs, n, psfilter_values (&o.filter, "before"), &o.filter.before) < 0
      || resolve_bound (recs, n, psfilter_values (&o.filter, "since"), &o.filter.since) < 0)
    {
      rc = EXIT_FAIL;
      goto out;
    }
  /* docker: -n and -l look at every state, and so does a status filter */
  bool all = o.all || o.last > 0 || psfilter_has (&o.filter, "status");
  size_t i;
  json_t *v;
  json_array_foreach (psfilter_values (&o.filter, "ancestor"), i, v)
  {
    struct digest id;
    if (image_resolve (st, json_string_value (v), &id, &err) < 0)
      {
        kiln_err_clear (&err); /* docker: an unknown ancestor matches nothing */
        continue;
      }
    json_t *layers = image_chain (st, id.str);
    json_array_append_new (ancestors, json_pack ("{s:s, s:o}", "id", id.str, "layers", layers ? layers : json_array ()));
  }
  int64_t now = container_now ();
  struct psfmt_opts po = {.trunc = !o.no_trunc, .now = now / 1000000000};
  for (size_t k = 0; k < n && (o.last <= 0 || (long) json_array_size (rows) < o.last); k++)
    {
      struct container_state s;
      if (container_state_get (store_root (st), recs[k].id, &s, &err) < 0)
        {
          /* one unreadable container does not hide the others */
          kiln_err_print (&err, stderr);
          kiln_err_clear (&err);
          continue;
        }
      if (all || s.status == CONTAINER_RUNNING)
        {
          _cleanup_json_ json_t *sum = summary (st, &recs[k], &s, size, sizes, now);
          struct psfilter_item it = {.summary = sum, .created = recs[k].created, .exit_code = s.exit_code,
                                     .has_run = s.started != 0};
          if (psfilter_has (&o.filter, "ancestor"))
            it.ancestor = descends (st, ancestors, chains, recs[k].image);
          if (psfilter_match (&o.filter, &it))
            json_array_append_new (rows, psfmt_context (sum, &po));
        }
      container_state_clear (&s);
    }
  {
    _cleanup_json_ json_t *header = psfmt_header ();
    const struct gotemplate_opts go = {.root_type = PSFMT_TYPE, .methods = psfmt_methods};
    _cleanup_buf_ struct buf out = BUF_INIT;
    if (formatter_write (&f, rows, header, &go, &out, &err) < 0)
      rc = cli_fail (&err);
    else
      fwrite (buf_str (&out), 1, out.len, stdout);
  }
out:
  container_recs_free (recs, n);
  if (st)
    store_close (st);
  formatter_clear (&f);
  psfilter_clear (&o.filter);
  return rc;
}
