/* net/network.c — user networks: records, checks and docker's shapes. */
#include "net/network.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/names.h"
#include "container/state.h"
#include "image/image.h"
#include "net/addr.h"
#include "net/internal.h"
#include "net/netlink.h"
#include "store/containers.h"
#include "util/cleanup.h"

int
net_networks_predefined (struct kiln_store *st, struct kiln_err *err)
{
  return net_default_network (st, store_root (st), NULL, err);
}

static bool
predefined_name (const char *n)
{
  return strcmp (n, "bridge") == 0 || strcmp (n, "host") == 0 || strcmp (n, "none") == 0;
}

int
net_network_create (struct kiln_store *st, const struct net_create_opts *o, char id[65], struct kiln_err *err)
{
  if (!container_name_valid (o->name))
    return kiln_err_set (err, KILN_EUSAGE, "invalid network name \"%s\", only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                         o->name);
  if (o->driver && strcmp (o->driver, "bridge") != 0)
    return kiln_err_set (err, KILN_EINVAL, "plugin \"%s\" not found: kiln's networks are bridges", o->driver);
  if (net_networks_predefined (st, err) < 0)
    return -1;
  unsigned mtu = o->mtu;
  json_t *options = json_object ();
  for (size_t i = 0; i < o->options.n; i++)
    {
      const char *eq = strchr (o->options.v[i], '=');
      _cleanup_free_ char *k = eq ? xstrndup (o->options.v[i], (size_t) (eq - o->options.v[i])) : xstrdup (o->options.v[i]);
      json_object_set_new (options, k, json_string (eq ? eq + 1 : ""));
      if (strcmp (k, "com.docker.network.driver.mtu") == 0)
        mtu = (unsigned) strtoul (eq ? eq + 1 : "0", NULL, 10);
    }
  if (mtu && (mtu < 68 || mtu > 65535))
    {
      json_decref (options);
      return kiln_err_set (err, KILN_EINVAL, "invalid MTU %u: it must be between 68 and 65535", mtu);
    }
  if (mtu)
    json_object_set_new (options, "com.docker.network.driver.mtu", json_sprintf ("%u", mtu));
  struct net_cidr subnet = {0}, range;
  uint32_t gw = 0;
  bool fixed = o->subnet != NULL;
  int ret = -1;
  json_t *labels = json_object ();
  struct net_rec *nets = NULL;
  size_t nn = 0;
  if ((o->gateway || o->ip_range) && !o->subnet)
    {
      kiln_err_set (err, KILN_EINVAL, "%s specified without a subnet (--subnet)",
                    o->gateway ? "a gateway (--gateway)" : "an IP range (--ip-range)");
      goto out;
    }
  if (o->subnet && net_cidr_parse (o->subnet, true, &subnet, err) < 0)
    goto out;
  if (fixed && subnet.prefix > 30)
    {
      kiln_err_set (err, KILN_EINVAL, "subnet %s is too small: at most /30", o->subnet);
      goto out;
    }
  if (o->gateway)
    {
      if (net_ip_parse (o->gateway, &gw) < 0)
        {
          kiln_err_set (err, KILN_EINVAL, "invalid gateway address: %s", o->gateway);
          goto out;
        }
      if (!net_cidr_contains (&subnet, gw))
        {
          kiln_err_set (err, KILN_EINVAL, "no matching subnet for gateway %s", o->gateway);
          goto out;
        }
    }
  if (o->ip_range)
    {
      if (net_cidr_parse (o->ip_range, false, &range, err) < 0)
        goto out;
      if (!net_cidr_contains (&subnet, range.addr) || range.prefix < subnet.prefix)
        {
          kiln_err_set (err, KILN_EINVAL, "no matching subnet for range %s", o->ip_range);
          goto out;
        }
    }
  for (size_t i = 0; i < o->labels.n; i++)
    {
      const char *eq = strchr (o->labels.v[i], '=');
      _cleanup_free_ char *k = eq ? xstrndup (o->labels.v[i], (size_t) (eq - o->labels.v[i])) : xstrdup (o->labels.v[i]);
      json_object_set_new (labels, k, json_string (eq ? eq + 1 : ""));
    }
  if (networks_list (st, &nets, &nn, err) < 0)
    goto out;
  /* Not overlapping this store's other networks: a subnet of its own or the
   * pool's next one none of them has. */
  struct net_cidr *busy = xcalloc (nn + 1, sizeof *busy);
  size_t nb = 0;
  for (size_t i = 0; i < nn; i++)
    {
      struct kiln_err ig = {0};
      if (net_cidr_parse (net_cfg_str (nets[i].config, "Subnet"), false, &busy[nb], &ig) == 0)
        nb++;
      kiln_err_clear (&ig);
    }
  if (fixed)
    {
      for (size_t i = 0; i < nb; i++)
        if (net_cidr_overlap (&subnet, &busy[i]))
          {
            free (busy);
            kiln_err_set (err, EEXIST, "Pool overlaps with other one on this address space");
            goto out;
          }
    }
  else
    {
      struct net_cidr pool;
      int size;
      net_address_pool (&pool, &size);
      /* The host's routes too, so inspect shows the subnet the bridge will get. */
      struct kiln_err ig = {0};
      struct nl *nl = nl_open (&ig);
      struct net_cidr *routes = NULL;
      size_t nr = 0;
      if (nl)
        nl_routes (nl, &routes, &nr, &ig);
      nl_close (nl);
      kiln_err_clear (&ig);
      busy = xrealloc (busy, (nb + nr + 1) * sizeof *busy);
      for (size_t i = 0; i < nr; i++)
        busy[nb++] = routes[i];
      free (routes);
      if (net_subnet_choose (&pool, size, busy, nb, &subnet) < 0)
        {
          free (busy);
          kiln_err_set (err, ENOSPC, "could not find an available, non-overlapping IPv4 address pool among the "
                                     "defaults to assign to the network");
          goto out;
        }
    }
  free (busy);
  if (gw == 0)
    gw = subnet.addr + 1;
  char s[20], g[16];
  net_cidr_format (&subnet, s);
  net_ip_format (gw, g);
  container_id_generate (id);
  char bridge[16];
  snprintf (bridge, sizeof bridge, "kiln-%08x", net_fnv1a (store_root (st), id));
  json_t *config = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:o, s:O, s:i}", "Driver", "bridge", "Scope",
                              "local", "Bridge", bridge, "Subnet", s, "Gateway", g, "Internal", o->internal,
                              "FixedSubnet", fixed, "Labels", labels, "Options", options, "MTU", (int) mtu);
  labels = NULL;
  if (o->ip_range)
    json_object_set_new (config, "IPRange", json_string (o->ip_range));
  if (o->gateway)
    json_object_set_new (config, "GatewayGiven", json_true ());
  struct net_rec rec = {.id = id, .name = (char *) o->name, .config = config, .created = container_now ()};
  ret = networks_add (st, &rec, err);
  json_decref (config);
out:
  json_decref (labels);
  json_decref (options);
  net_recs_free (nets, nn);
  return ret;
}

json_t *
net_network_inspect (struct kiln_store *st, const struct net_rec *r)
{
  char created[40];
  format_rfc3339_nano (r->created, created);
  const json_t *c = r->config;
  json_t *ipam_config = json_array ();
  if (*net_cfg_str (c, "Subnet"))
    {
      json_t *one = json_pack ("{s:s}", "Subnet", net_cfg_str (c, "Subnet"));
      if (*net_cfg_str (c, "IPRange"))
        json_object_set_new (one, "IPRange", json_string (net_cfg_str (c, "IPRange")));
      json_object_set_new (one, "Gateway", json_string (net_cfg_str (c, "Gateway")));
      json_array_append_new (ipam_config, one);
    }
  json_t *containers = json_object ();
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  struct kiln_err ig = {0};
  endpoints_list (st, r->id, NULL, &eps, &n, &ig);
  kiln_err_clear (&ig);
  struct net_cidr sub = {0};
  net_cidr_parse (net_cfg_str (c, "Subnet"), false, &sub, &ig);
  kiln_err_clear (&ig);
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *name = endpoint_container_name (st, eps[i].container);
      _cleanup_buf_ struct buf a = BUF_INIT;
      buf_printf (&a, "%s/%d", eps[i].ip, sub.prefix);
      json_object_set_new (containers, eps[i].container,
                           json_pack ("{s:s, s:s, s:s, s:s, s:s}", "Name", name ? name : "", "EndpointID",
                                      eps[i].container, "MacAddress", net_cfg_str (eps[i].info, "MacAddress"), "IPv4Address", buf_str (&a), "IPv6Address",
                                      ""));
    }
  endpoint_recs_free (eps, n);
  json_t *labels = json_object_get (c, "Labels");
  json_t *options = json_object_get (c, "Options");
  const char *driver = net_cfg_str (c, "Driver");
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:{}, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, s:o, s:o, s:o}",
                    "Name", r->name, "Id", r->id, "Created", created, "Scope", "local", "Driver", driver,
                    "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", ipam_config, "Internal",
                    json_is_true (json_object_get (c, "Internal")), "Attachable", 0, "Ingress", 0, "ConfigFrom",
                    "Network", "", "ConfigOnly", 0, "Containers", containers, "Options",
                    options ? json_incref (options) : json_object (), "Labels",
                    labels ? json_incref (labels) : json_object ());
}

json_t *
net_network_header (void)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "NETWORK ID", "Name", "NAME", "Driver",
                    "DRIVER", "Scope", "SCOPE", "IPv6", "IPV6", "Internal", "INTERNAL", "Labels", "LABELS",
                    "CreatedAt", "CREATED AT");
}

json_t *
net_network_row (const struct net_rec *r, bool trunc)
{
  _cleanup_buf_ struct buf labels = BUF_INIT;
  const char *k;
  json_t *v;
  json_object_foreach (json_object_get (r->config, "Labels"), k, v)
      buf_printf (&labels, "%s%s=%s", labels.len ? "," : "", k, json_string_value (v) ? json_string_value (v) : "");
  char created[40];
  format_rfc3339_nano (r->created, created);
  char id[65];
  snprintf (id, sizeof id, "%.*s", trunc ? 12 : 64, r->id);
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Name", r->name, "Driver",
                    net_cfg_str (r->config, "Driver"), "Scope", "local", "IPv6", "false", "Internal",
                    json_is_true (json_object_get (r->config, "Internal")) ? "true" : "false", "Labels",
                    buf_str (&labels), "CreatedAt", created);
}

static bool
in_use (struct kiln_store *st, const char *id)
{
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  struct kiln_err ig = {0};
  endpoints_list (st, id, NULL, &eps, &n, &ig);
  kiln_err_clear (&ig);
  endpoint_recs_free (eps, n);
  return n > 0;
}

int
net_network_remove (struct kiln_store *st, const struct net_rec *r, struct kiln_err *err)
{
  if (predefined_name (r->name))
    return kiln_err_set (err, EPERM, "%s is a pre-defined network and cannot be removed", r->name);
  if (in_use (st, r->id))
    return kiln_err_set (err, EBUSY, "error while removing network: network %s id %s has active endpoints", r->name,
                         r->id);
  net_bridge_drop_idle (st, r->id);
  return networks_remove (st, r->id, err);
}

int
net_networks_prune (struct kiln_store *st, bool (*selects) (void *arg, const struct net_rec *r), void *arg,
                    struct strv *removed, struct kiln_err *err)
{
  struct net_rec *nets = NULL;
  size_t n = 0;
  if (networks_list (st, &nets, &n, err) < 0)
    return -1;
  int ret = 0;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      if (predefined_name (nets[i].name) || (selects && !selects (arg, &nets[i])) || in_use (st, nets[i].id))
        continue;
      net_bridge_drop_idle (st, nets[i].id);
      if ((ret = networks_remove (st, nets[i].id, err)) == 0)
        strv_push (removed, nets[i].name);
    }
  net_recs_free (nets, n);
  return ret;
}
