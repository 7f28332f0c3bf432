/* net/net_show.c — what inspect, ps and `kiln port` show of a container's networks. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/names.h"
#include "util/proc.h"
#include "container/state.h"
#include "net/addr.h"
#include "net/internal.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net/portspec.h"
#include "net/resolver.h"
#include "container/config.h"
#include "store/containers.h"
#include "store/networks.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

/* ---------- what inspect, ps and port show ---------- */

static const char *
mode_network (const json_t *config)
{
  const char *mode = net_cfg_str (json_object_get (config, "HostConfig"), "NetworkMode");
  if (!*mode || strcmp (mode, "default") == 0)
    return geteuid () == 0 ? DEFAULT_NETWORK : "default";
  return mode;
}

/* docker's NetworkSettings.Networks.<net>: `e` (and its network's record `net`,
 * which the caller has read already) NULL for a container not running. */
static json_t *
endpoint_json (struct kiln_store *st, const char *netname, const struct endpoint_rec *e, const struct net_rec *net,
               const json_t *epc, const char **gw_out, int *prefix_out)
{
  struct kiln_err ig = {0};
  struct net_rec own = {0};
  bool known = net != NULL;
  if (!known && networks_get (st, netname, &own, &ig) == 1)
    net = &own, known = true;
  kiln_err_clear (&ig);
  int prefix = 0;
  struct net_cidr c;
  if (e && known && net_cidr_parse (net_cfg_str (net->config, "Subnet"), false, &c, &ig) == 0)
    prefix = c.prefix;
  kiln_err_clear (&ig);
  const char *gw = e && known ? net_cfg_str (net->config, "Gateway") : "";
  json_t *aliases = json_object_get (epc, "Aliases");
  json_t *ipam = json_object_get (epc, "IPAMConfig");
  json_t *j = json_pack ("{s:O, s:n, s:O, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}", "IPAMConfig",
                         ipam ? ipam : json_null (), "Links", "Aliases",
                         json_array_size (aliases) ? aliases : json_null (), "NetworkID", known ? net->id : "",
                         "EndpointID", e ? e->container : "", "Gateway", gw, "IPAddress", e ? e->ip : "",
                         "IPPrefixLen", prefix, "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
                         "MacAddress", e ? net_cfg_str (e->info, "MacAddress") : "", "DriverOpts");
  if (gw_out)
    *gw_out = gw && *gw ? xstrdup (gw) : NULL;
  if (prefix_out)
    *prefix_out = prefix;
  net_rec_clear (&own);
  return j;
}

json_t *
net_settings_json (struct kiln_store *st, const char *id, const json_t *config)
{
  struct kiln_err ignored = {0};
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  endpoints_list (st, NULL, id, &eps, &n, &ignored);
  kiln_err_clear (&ignored);
  json_t *ports = json_object (), *networks = json_object ();
  const char *k;
  json_t *v;
  /* docker's Ports are the sandbox's: none once stopped or before the first start. */
  if (n)
    json_object_foreach (json_object_get (json_object_get (config, "Config"), "ExposedPorts"), k, v)
        json_object_set_new (ports, k, json_null ());
  const char *mode = mode_network (config);
  const json_t *eps_config = json_object_get (json_object_get (config, "NetworkingConfig"), "EndpointsConfig");
  const char *ip = "", *mac = "";
  char *gw = NULL;
  int prefix = 0;
  bool dflt_ep = false;
  /* The endpoints it has (running), by their network's name. */
  for (size_t i = 0; i < n; i++)
    {
      struct net_rec rec = {0};
      if (networks_get (st, eps[i].network, &rec, &ignored) != 1)
        {
          kiln_err_clear (&ignored);
          continue;
        }
      json_object_foreach (json_object_get (eps[i].info, "Ports"), k, v)
          json_object_set (ports, k, json_array_size (v) ? v : json_null ());
      bool dflt = strcmp (rec.name, DEFAULT_NETWORK) == 0;
      const char *g = NULL;
      int pl = 0;
      json_object_set_new (networks, rec.name,
                           endpoint_json (st, rec.name, &eps[i], &rec, json_object_get (eps_config, rec.name),
                                          dflt ? &g : NULL, dflt ? &pl : NULL));
      if (dflt)
        {
          ip = eps[i].ip;
          mac = net_cfg_str (eps[i].info, "MacAddress");
          gw = (char *) g;
          prefix = pl;
          dflt_ep = true;
        }
      net_rec_clear (&rec);
    }
  /* The networks it is configured for (not running: empty). */
  if (n == 0 && strncmp (mode, "container:", 10) != 0) /* docker: container:C has no network of its own */
    {
      const char *name = net_mode_name (mode);
      json_object_set_new (networks, name, endpoint_json (st, name, NULL, NULL, json_object_get (eps_config, name), NULL,
                                                          NULL));
      json_object_foreach ((json_t *) eps_config, k, v)
      {
        if (json_object_get (networks, k) == NULL)
          json_object_set_new (networks, k, endpoint_json (st, k, NULL, NULL, v, NULL, NULL));
      }
    }
  json_t *s = json_pack ("{s:s, s:s, s:b, s:s, s:i, s:o, s:s, s:n, s:n, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:o}",
                         "Bridge", "", "SandboxID", n ? id : "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                         "LinkLocalIPv6PrefixLen", 0, "Ports", ports, "SandboxKey", "", "SecondaryIPAddresses",
                         "SecondaryIPv6Addresses", "EndpointID", dflt_ep ? id : "", "Gateway", gw ? gw : "",
                         "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", ip, "IPPrefixLen", prefix, "IPv6Gateway", "",
                         "MacAddress", mac, "Networks", networks);
  free (gw);
  endpoint_recs_free (eps, n);
  return s;
}

/* The published ports of a running container, in docker's order (by port, then
 * protocol). */
static json_t *
running_ports (struct kiln_store *st, const char *id)
{
  struct kiln_err ignored = {0};
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  endpoints_list (st, NULL, id, &eps, &n, &ignored);
  kiln_err_clear (&ignored);
  json_t *p = NULL;
  for (size_t i = 0; i < n && p == NULL; i++)
    if (json_object_size (json_object_get (eps[i].info, "Ports")))
      p = json_incref (json_object_get (eps[i].info, "Ports"));
  endpoint_recs_free (eps, n);
  return p ? p : json_object ();
}

static int
cmp_key (const void *a, const void *b)
{
  const char *x = *(char *const *) a, *y = *(char *const *) b;
  long px = atol (x), py = atol (y);
  if (px != py)
    return px < py ? -1 : 1;
  return strcmp (x, y);
}

int
net_port_lines (struct kiln_store *st, const char *id, const char *filter, struct strv *lines, struct kiln_err *err)
{
  json_t *ports = running_ports (st, id);
  _cleanup_strv_ struct strv keys = STRV_INIT;
  const char *k;
  json_t *v;
  json_object_foreach (ports, k, v) strv_push (&keys, k);
  qsort (keys.v, keys.n, sizeof *keys.v, cmp_key);
  char want[16] = "";
  if (filter)
    {
      uint16_t p;
      char proto[5];
      if (port_key_parse (filter, &p, proto) < 0)
        {
          json_decref (ports);
          return kiln_err_set (err, KILN_EUSAGE, "Error: invalid port (%s)", filter);
        }
      snprintf (want, sizeof want, "%u/%s", p, proto);
    }
  for (size_t i = 0; i < keys.n; i++)
    {
      if (*want && strcmp (keys.v[i], want) != 0)
        continue;
      size_t j;
      json_t *b;
      json_array_foreach (json_object_get (ports, keys.v[i]), j, b)
      {
        struct buf l = BUF_INIT;
        if (*want)
          buf_printf (&l, "%s:%s", net_cfg_str (b, "HostIp"), net_cfg_str (b, "HostPort"));
        else
          buf_printf (&l, "%s -> %s:%s", keys.v[i], net_cfg_str (b, "HostIp"), net_cfg_str (b, "HostPort"));
        strv_push_owned (lines, buf_steal (&l));
      }
    }
  json_decref (ports);
  if (*want && lines->n == 0)
    return kiln_err_set (err, ENOENT, "Error: No public port '%s' published for %.12s", want, id);
  return 0;
}
