/* cli/cmd_network.c — `kiln port` and `kiln network` (net/net.h has the model). */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/prune_filter.h"
#include "net/net.h"
#include "net/network.h"
#include "store/networks.h"
#include "util/formatter.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"

const char cmd_port_usage[] = "Usage: kiln port CONTAINER [PRIVATE_PORT[/PROTO]]\n"
                              "\n"
                              "Lists the container's published ports (\"80/tcp -> 0.0.0.0:8080\"), or the\n"
                              "host addresses of one of them.\n";

int
cmd_port (struct kiln_ctx *ctx, int argc, char **argv)
{
  if (argc < 2 || argc > 3)
    return cli_usage_error ("port", "expects CONTAINER [PRIVATE_PORT[/PROTO]]");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  struct container_rec rec;
  if (cli_find_container (st, argv[1], &rec) < 0)
    return EXIT_FAIL;
  _cleanup_strv_ struct strv lines = STRV_INIT;
  int r = net_port_lines (st, rec.id, argc == 3 ? argv[2] : NULL, &lines, &err);
  container_rec_clear (&rec);
  if (r < 0)
    {
      fprintf (stderr, "%s\n", err.msg);
      kiln_err_clear (&err);
      return EXIT_FAIL;
    }
  for (size_t i = 0; i < lines.n; i++)
    printf ("%s\n", lines.v[i]);
  return EXIT_OK;
}

const char cmd_network_usage[]
    = "Usage: kiln network COMMAND\n"
      "\n"
      "Manage networks (as root: bridges of kiln's, see the README):\n"
      "  create [--subnet CIDR] [--gateway IP] [--ip-range CIDR] [--internal] [--label K=V]\n"
      "         [--mtu N] [-o com.docker.network.driver.mtu=N] [-d bridge] NAME\n"
      "  ls [-q] [--no-trunc] [--format F] [--filter name=|id=|driver=|label=|type=custom|builtin]\n"
      "  inspect [-f F] NETWORK...\n"
      "  rm NETWORK...\n"
      "  prune [-f] [--filter until=TIME|label=K[=V]|label!=K[=V]]\n"
      "  connect [--alias A]... [--ip IP] NETWORK CONTAINER   (a running one gets the next ethN at once)\n"
      "  disconnect [-f] NETWORK CONTAINER\n";

static int
network_create (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"subnet", required_argument, NULL, 's'},   {"gateway", required_argument, NULL, 'g'},
                                       {"ip-range", required_argument, NULL, 'r'}, {"internal", no_argument, NULL, 'i'},
                                       {"label", required_argument, NULL, 'l'},    {"mtu", required_argument, NULL, 'm'},
                                       {"opt", required_argument, NULL, 'o'},      {"driver", required_argument, NULL, 'd'},
                                       {0}};
  struct net_create_opts o = {0};
  int c, rc = EXIT_USAGE;
  while ((c = getopt_long (argc, argv, "o:d:", opts, NULL)) != -1)
    switch (c)
      {
      case 's': o.subnet = optarg; break;
      case 'g': o.gateway = optarg; break;
      case 'r': o.ip_range = optarg; break;
      case 'i': o.internal = true; break;
      case 'l': strv_push (&o.labels, optarg); break;
      case 'o': strv_push (&o.options, optarg); break;
      case 'd': o.driver = optarg; break;
      case 'm':
        {
          char *end;
          unsigned long v = strtoul (optarg, &end, 10);
          if (*end || end == optarg || v > 65535)
            {
              cli_usage_error ("network create", "invalid --mtu \"%s\"", optarg);
              goto out;
            }
          o.mtu = (unsigned) v;
          break;
        }
      default: cli_usage_error ("network create", "unknown option"); goto out;
      }
  if (optind != argc - 1)
    {
      cli_usage_error ("network create", "expects exactly one NAME");
      goto out;
    }
  o.name = argv[optind];
  struct kiln_err err = {0};
  struct kiln_store *st = cli_open_store (ctx, &err);
  char id[65];
  if (st == NULL || net_network_create (st, &o, id, &err) < 0)
    rc = cli_fail (&err);
  else
    {
      printf ("%s\n", id);
      rc = EXIT_OK;
    }
  store_close (st);
out:
  strv_free (&o.labels);
  strv_free (&o.options);
  return rc;
}

/* docker's --filter for networks: every given key must match (values of one key: any). */
static bool
filter_match (const struct net_rec *r, const struct strv *filters)
{
  static const char *const keys[] = {"name", "id", "driver", "label", "type"};
  for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
    {
      bool given = false, any = false;
      size_t kl = strlen (keys[k]);
      for (size_t i = 0; i < filters->n; i++)
        {
          const char *f = filters->v[i];
          if (strncmp (f, keys[k], kl) != 0 || f[kl] != '=')
            continue;
          given = true;
          const char *v = f + kl + 1;
          bool builtin = strcmp (r->name, "bridge") == 0 || strcmp (r->name, "host") == 0 || strcmp (r->name, "none") == 0;
          if (k == 0)
            any |= strstr (r->name, v) != NULL;
          else if (k == 1)
            any |= strncmp (r->id, v, strlen (v)) == 0;
          else if (k == 2)
            any |= strcmp (json_string_value (json_object_get (r->config, "Driver")) ?: "", v) == 0;
          else if (k == 3)
            {
              const char *eq = strchr (v, '=');
              _cleanup_free_ char *lk = eq ? xstrndup (v, (size_t) (eq - v)) : xstrdup (v);
              json_t *lv = json_object_get (json_object_get (r->config, "Labels"), lk);
              any |= lv && (!eq || strcmp (json_string_value (lv) ?: "", eq + 1) == 0);
            }
          else
            any |= (strcmp (v, "builtin") == 0 && builtin) || (strcmp (v, "custom") == 0 && !builtin);
        }
      if (given && !any)
        return false;
    }
  return true;
}

static int
network_ls (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},          {"no-trunc", no_argument, NULL, 'N'},
                                       {"format", required_argument, NULL, 'F'},   {"filter", required_argument, NULL, 'f'},
                                       {0}};
  bool quiet = false, trunc = true;
  const char *format = NULL;
  _cleanup_strv_ struct strv filters = STRV_INIT;
  int c;
  while ((c = getopt_long (argc, argv, "qf:", opts, NULL)) != -1)
    switch (c)
      {
      case 'q': quiet = true; break;
      case 'N': trunc = false; break;
      case 'F': format = optarg; break;
      case 'f':
        {
          const char *eq = strchr (optarg, '=');
          static const char *const ok[] = {"name", "id", "driver", "label", "type", "scope", "dangling"};
          bool known = false;
          for (size_t i = 0; eq && i < sizeof ok / sizeof *ok; i++)
            known |= strlen (ok[i]) == (size_t) (eq - optarg) && strncmp (optarg, ok[i], strlen (ok[i])) == 0;
          if (!known)
            return cli_usage_error ("network ls", "invalid filter '%s'", optarg);
          strv_push (&filters, optarg);
          break;
        }
      default: return cli_usage_error ("network ls", "unknown option");
      }
  if (optind != argc)
    return cli_usage_error ("network ls", "takes no arguments");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL || net_networks_predefined (st, &err) < 0)
    return cli_fail (&err);
  struct net_rec *nets = NULL;
  size_t n = 0;
  if (networks_list (st, &nets, &n, &err) < 0)
    return cli_fail (&err);
  json_t *rows = json_array ();
  for (size_t i = 0; i < n; i++)
    if (filter_match (&nets[i], &filters))
      json_array_append_new (rows, net_network_row (&nets[i], trunc));
  net_recs_free (nets, n);
  json_t *header = net_network_header ();
  if (format == NULL)
    format = quiet ? "{{.ID}}" : "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
  int rc = cli_print_format (format, rows, header, "*formatter.networkContext");
  json_decref (rows);
  json_decref (header);
  return rc;
}

static int
network_inspect (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
  const char *format = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "f:", opts, NULL)) != -1)
    if (c == 'f')
      format = optarg;
    else
      return cli_usage_error ("network inspect", "unknown option");
  if (optind >= argc)
    return cli_usage_error ("network inspect", "expects at least one NETWORK");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL || net_networks_predefined (st, &err) < 0)
    return cli_fail (&err);
  json_t *all = json_array ();
  int rc = EXIT_OK;
  for (int i = optind; i < argc; i++)
    {
      struct net_rec r;
      int found = networks_get (st, argv[i], &r, &err);
      if (found < 0)
        rc = cli_fail (&err);
      else if (found == 0)
        {
          fprintf (stderr, "Error: No such network: %s\n", argv[i]);
          rc = EXIT_FAIL;
        }
      else
        {
          json_array_append_new (all, net_network_inspect (st, &r));
          net_rec_clear (&r);
        }
    }
  _cleanup_buf_ struct buf out = BUF_INIT;
  if (formatter_inspect (format ? format : "", all, &out, &err) < 0)
    rc = cli_fail (&err);
  else
    fwrite (buf_str (&out), 1, out.len, stdout);
  json_decref (all);
  return rc;
}

static int
network_rm (struct kiln_ctx *ctx, int argc, char **argv)
{
  if (argc < 2)
    return cli_usage_error ("network rm", "expects at least one NETWORK");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL || net_networks_predefined (st, &err) < 0)
    return cli_fail (&err);
  int rc = EXIT_OK;
  for (int i = 1; i < argc; i++)
    {
      struct net_rec r;
      int found = networks_get (st, argv[i], &r, &err);
      if (found == 0)
        {
          fprintf (stderr, "Error: No such network: %s\n", argv[i]);
          rc = EXIT_FAIL;
          continue;
        }
      if (found < 0 || net_network_remove (st, &r, &err) < 0)
        {
          fprintf (stderr, "Error response from daemon: %s\n", err.msg);
          kiln_err_clear (&err);
          rc = EXIT_FAIL;
        }
      else
        printf ("%s\n", argv[i]);
      net_rec_clear (&r);
    }
  /* docker 20.10's network rm ends a failure so (docker-shapes' errors-and-formats). */
  if (rc != EXIT_OK)
    fprintf (stderr, "exit status 1\n");
  return rc;
}

static int
network_prune (struct kiln_ctx *ctx, int argc, char **argv)
{
  _cleanup_store_ struct kiln_store *st = NULL;
  struct prune_filter filter __attribute__ ((cleanup (prune_filter_clear))) = {0};
  int rc = cli_prune_begin (ctx, "network prune", argc, argv,
                            "WARNING! This will remove all custom networks not used by at least one container.\n",
                            &filter, &st);
  if (st == NULL)
    return rc;
  struct kiln_err err = {0};
  _cleanup_strv_ struct strv removed = STRV_INIT;
  if (net_networks_prune (st, prune_filter_selects_network, &filter, &removed, &err) < 0)
    return cli_fail (&err);
  cli_print_deleted ("Networks", &removed);
  return EXIT_OK;
}

/* config.json of container `id`, written whole and renamed into place. */
static int
write_config (const char *root, const char *id, json_t *config, struct kiln_err *err)
{
  _cleanup_free_ char *path = container_path (root, id, "config.json");
  _cleanup_buf_ struct buf tmp = BUF_INIT;
  buf_printf (&tmp, "%s.net-%d", path, (int) getpid ());
  if (json_dump_file (config, buf_str (&tmp), JSON_INDENT (2) | JSON_PRESERVE_ORDER) < 0
      || rename (buf_str (&tmp), path) < 0)
    {
      unlink (buf_str (&tmp));
      return kiln_err_set (err, EIO, "%s: cannot write", path);
    }
  return 0;
}

/* connect and disconnect: the network, the container and its config.json. */
struct net_target
{
  struct kiln_store *st;
  struct net_rec net;
  struct container_rec ctr;
  json_t *config;
};

static int
target_open (struct kiln_ctx *ctx, const char *net, const char *ctr, struct net_target *t)
{
  memset (t, 0, sizeof *t);
  struct kiln_err err = {0};
  t->st = cli_open_store (ctx, &err);
  if (t->st == NULL || net_networks_predefined (t->st, &err) < 0)
    return cli_fail (&err), -1;
  int found = networks_get (t->st, net, &t->net, &err);
  if (found <= 0)
    {
      if (found < 0)
        return cli_fail (&err), -1;
      fprintf (stderr, "Error response from daemon: network %s not found\n", net);
      return -1;
    }
  if (cli_find_container (t->st, ctr, &t->ctr) < 0)
    return -1;
  _cleanup_free_ char *path = container_path (store_root (t->st), t->ctr.id, "config.json");
  json_error_t je;
  if ((t->config = json_load_file (path, 0, &je)) == NULL)
    {
      fprintf (stderr, "kiln: %s: %s\n", path, je.text);
      return -1;
    }
  return 0;
}

static void
target_close (struct net_target *t)
{
  json_decref (t->config);
  net_rec_clear (&t->net);
  container_rec_clear (&t->ctr);
  store_close (t->st);
}

static int
network_connect (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"alias", required_argument, NULL, 'a'}, {"ip", required_argument, NULL, 'i'},
                                       {0}};
  _cleanup_strv_ struct strv aliases = STRV_INIT;
  const char *ip = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    switch (c)
      {
      case 'a': strv_push (&aliases, optarg); break;
      case 'i': ip = optarg; break;
      default: return cli_usage_error ("network connect", "unknown option");
      }
  if (optind != argc - 2)
    return cli_usage_error ("network connect", "expects NETWORK CONTAINER");
  struct net_target t;
  int rc = EXIT_FAIL;
  struct kiln_err err = {0};
  if (target_open (ctx, argv[optind], argv[optind + 1], &t) < 0)
    goto out;
  json_t *h = json_object_get (t.config, "HostConfig");
  const char *mode = json_string_value (json_object_get (h, "NetworkMode"));
  const char *driver = json_string_value (json_object_get (t.net.config, "Driver"));
  if (driver && strcmp (driver, "host") == 0)
    {
      fprintf (stderr, "Error response from daemon: container cannot be disconnected from host network or connected "
                       "to host network\n");
      goto out;
    }
  if ((driver && strcmp (driver, "null") == 0) || !net_mode_is_bridge (mode))
    {
      fprintf (stderr, "Error response from daemon: container sharing network namespace with another container or "
                       "host cannot be connected to any other network\n");
      goto out;
    }
  json_t *nc = json_object_get (t.config, "NetworkingConfig");
  if (nc == NULL)
    json_object_set_new (t.config, "NetworkingConfig", nc = json_object ());
  json_t *eps = json_object_get (nc, "EndpointsConfig");
  if (eps == NULL)
    json_object_set_new (nc, "EndpointsConfig", eps = json_object ());
  const char *primary = net_mode_name (mode);
  if (json_object_get (eps, t.net.name) || strcmp (primary, t.net.name) == 0)
    {
      fprintf (stderr, "Error response from daemon: endpoint with name %s already exists in network %s\n", t.ctr.name,
               t.net.name);
      goto out;
    }
  json_t *ep = json_object ();
  json_t *al = json_array ();
  for (size_t i = 0; i < aliases.n; i++)
    json_array_append_new (al, json_string (aliases.v[i]));
  json_object_set_new (ep, "Aliases", al);
  if (ip)
    json_object_set_new (ep, "IPAMConfig", json_pack ("{s:s}", "IPv4Address", ip));
  json_object_set_new (eps, t.net.name, ep);
  /* Live first: a failure leaves config.json as it was. */
  if (net_connect (store_root (t.st), t.ctr.id, t.config, t.net.name, &err) < 0
      || write_config (store_root (t.st), t.ctr.id, t.config, &err) < 0)
    {
      fprintf (stderr, "Error response from daemon: %s\n", err.msg);
      kiln_err_clear (&err);
      goto out;
    }
  rc = EXIT_OK;
out:
  target_close (&t);
  return rc;
}

static int
network_disconnect (struct kiln_ctx *ctx, int argc, char **argv)
{
  bool force; /* docker's -f: disconnecting never waits, so there is nothing to force */
  int usage = cli_force_flag ("network disconnect", argc, argv, &force);
  if (usage != EXIT_OK)
    return usage;
  if (optind != argc - 2)
    return cli_usage_error ("network disconnect", "expects NETWORK CONTAINER");
  struct net_target t;
  int rc = EXIT_FAIL;
  struct kiln_err err = {0};
  if (target_open (ctx, argv[optind], argv[optind + 1], &t) < 0)
    goto out;
  const char *mode = json_string_value (json_object_get (json_object_get (t.config, "HostConfig"), "NetworkMode"));
  const char *primary = net_mode_name (mode);
  json_t *eps = json_object_get (json_object_get (t.config, "NetworkingConfig"), "EndpointsConfig");
  if (strcmp (primary, t.net.name) == 0)
    {
      fprintf (stderr, "Error response from daemon: kiln cannot disconnect a container from its --network (%s) yet\n",
               t.net.name);
      goto out;
    }
  if (json_object_get (eps, t.net.name) == NULL)
    {
      fprintf (stderr, "Error response from daemon: container %s is not connected to network %s\n", t.ctr.id,
               t.net.name);
      goto out;
    }
  json_object_del (eps, t.net.name);
  if (net_disconnect (store_root (t.st), t.ctr.id, t.net.id, &err) < 0
      || write_config (store_root (t.st), t.ctr.id, t.config, &err) < 0)
    {
      fprintf (stderr, "Error response from daemon: %s\n", err.msg);
      kiln_err_clear (&err);
      goto out;
    }
  rc = EXIT_OK;
out:
  target_close (&t);
  return rc;
}

int
cmd_network (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*run) (struct kiln_ctx *, int, char **);
  } subs[] = {{"create", network_create}, {"ls", network_ls},  {"list", network_ls}, {"inspect", network_inspect},
              {"rm", network_rm},         {"remove", network_rm}, {"prune", network_prune},
              {"connect", network_connect},   {"disconnect", network_disconnect}};
  if (argc < 2)
    return cli_usage_error ("network", "expects create, ls, inspect, rm, prune, connect or disconnect");
  for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
    if (strcmp (subs[i].name, argv[1]) == 0)
      {
        if (cli_wants_help (argc - 1, argv + 1))
          return fputs (cmd_network_usage, stdout), EXIT_OK;
        optind = 0;
        return subs[i].run (ctx, argc - 1, argv + 1);
      }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    return fputs (cmd_network_usage, stdout), EXIT_OK;
  return cli_usage_error ("network", "unknown command \"%s\"", argv[1]);
}
