/* net/net_check.c — `kiln system check`: leftover network state (links, rules,
 * endpoints) found and, with repair, removed. */
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

/* ---------- system check ---------- */

static bool
container_running (const char *root, const char *id)
{
  struct container_state s;
  struct kiln_err ignored = {0};
  bool live = container_state_read (root, id, &s, &ignored) == 0 && container_state_live (&s);
  if (kiln_err_is_set (&ignored))
    kiln_err_clear (&ignored);
  else
    container_state_clear (&s);
  return live;
}

/* DNAT elements that lead into this store's subnets but to no live endpoint. A
 * subnet is this store's only while its bridge is up: once the bridge is gone
 * another store may have chosen the same subnet, and its elements are its own. */
static int
check_port_elements (struct nl *nl, const struct net_rec *nets, size_t nn, const struct strv *live_ips, bool repair,
                     struct strv *found, struct kiln_err *err)
{
  _cleanup_strv_ struct strv bridges = STRV_INIT;
  if (nl_links (nl, "kiln-", &bridges, err) < 0)
    return -1;
  json_t *maps[2] = {nft_list_json ("list map ip kiln ports_any", err), NULL};
  kiln_err_clear (err);
  maps[1] = nft_list_json ("list map ip kiln ports_ip", err);
  kiln_err_clear (err);
  for (int m = 0; m < 2; m++)
    {
      size_t i;
      json_t *item;
      json_array_foreach (json_object_get (maps[m], "nftables"), i, item)
      {
        json_t *elems = json_object_get (json_object_get (item, "map"), "elem");
        size_t j;
        json_t *pair;
        json_array_foreach (elems, j, pair)
        {
          /* [ {"concat": [key...]}, {"concat": [ip, port]} ] */
          json_t *key = json_object_get (json_array_get (pair, 0), "concat");
          json_t *val = json_object_get (json_array_get (pair, 1), "concat");
          const char *vip = json_string_value (json_array_get (val, 0));
          uint32_t a;
          if (vip == NULL || net_ip_parse (vip, &a) < 0)
            continue;
          bool ours = false, live = false;
          for (size_t k = 0; k < nn && !ours; k++)
            {
              struct net_cidr c;
              struct kiln_err ig = {0};
              bool up = false;
              for (size_t q = 0; q < bridges.n && !up; q++)
                up = strcmp (bridges.v[q], net_cfg_str (nets[k].config, "Bridge")) == 0;
              ours = up && net_cidr_parse (net_cfg_str (nets[k].config, "Subnet"), false, &c, &ig) == 0
                     && net_cidr_contains (&c, a);
              kiln_err_clear (&ig);
            }
          for (size_t l = 0; l < live_ips->n && !live; l++)
            live = strcmp (live_ips->v[l], vip) == 0;
          if (!ours || live)
            continue;
          _cleanup_buf_ struct buf el = BUF_INIT;
          buf_printf (&el, "%s {", m == 0 ? "ports_any" : "ports_ip");
          size_t q;
          json_t *part;
          json_array_foreach (key, q, part)
          {
            if (json_is_string (part))
              buf_printf (&el, "%s %s", q ? " ." : "", json_string_value (part));
            else
              buf_printf (&el, "%s %lld", q ? " ." : "", (long long) json_integer_value (part));
          }
          buf_puts (&el, " }");
          struct buf b = BUF_INIT;
          buf_printf (&b, "nftables element %s -> %s of a stopped container", buf_str (&el), vip);
          strv_push_owned (found, buf_steal (&b));
          if (repair)
            {
              _cleanup_buf_ struct buf cmd = BUF_INIT;
              buf_printf (&cmd, "delete element ip kiln %s\n", buf_str (&el));
              nft_run (buf_str (&cmd), err);
              kiln_err_clear (err);
            }
        }
      }
      json_decref (maps[m]);
    }
  return 0;
}

int
net_check (struct kiln_store *st, bool repair, struct strv *found, struct kiln_err *err)
{
  int lock = net_store_lock (store_root (st), err);
  if (lock < 0)
    return -1;
  struct nl *nl = nl_open (err);
  if (nl == NULL)
    {
      net_unlock_fd (lock);
      return geteuid () == 0 ? -1 : (kiln_err_clear (err), 0);
    }
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  struct net_rec *nets = NULL;
  size_t nn = 0;
  int ret = -1;
  _cleanup_strv_ struct strv live_veths = STRV_INIT, live_ips = STRV_INIT, veths = STRV_INIT, foreign = STRV_INIT;
  if (endpoints_list (st, NULL, NULL, &eps, &n, err) < 0 || networks_list (st, &nets, &nn, err) < 0)
    goto out;
  for (size_t i = 0; i < n; i++)
    {
      if (container_running (store_root (st), eps[i].container))
        {
          strv_push (&live_veths, net_cfg_str (eps[i].info, "Veth"));
          strv_push (&live_ips, eps[i].ip);
          continue;
        }
      struct buf b = BUF_INIT;
      buf_printf (&b, "network endpoint %s of container %.12s (its monitor is gone)", eps[i].ip, eps[i].container);
      strv_push_owned (found, buf_steal (&b));
      if (repair)
        net_release_endpoint (st, nl, &eps[i], true, -1);
    }
  /* veths of this store's containers that no live endpoint holds. */
  struct container_rec *recs = NULL;
  size_t nr = 0;
  if (containers_list (st, &recs, &nr, err) < 0 || nl_links (nl, "vk", &veths, err) < 0)
    {
      container_recs_free (recs, nr);
      goto out;
    }
  for (size_t i = 0; i < veths.n; i++)
    {
      bool ours = false, live = false;
      for (size_t r = 0; r < nr && !ours; r++)
        ours = strlen (veths.v[i]) == 14 && strncmp (recs[r].id, veths.v[i] + 2, 8) == 0;
      for (size_t l = 0; l < live_veths.n && !live; l++)
        live = strcmp (live_veths.v[l], veths.v[i]) == 0;
      if (!ours || live)
        continue;
      struct buf b = BUF_INIT;
      buf_printf (&b, "veth %s of a stopped container", veths.v[i]);
      strv_push_owned (found, buf_steal (&b));
      if (repair)
        {
          nl_link_del (nl, veths.v[i], err);
          kiln_err_clear (err);
        }
    }
  container_recs_free (recs, nr);
  if (check_port_elements (nl, nets, nn, &live_ips, repair, found, err) < 0)
    goto out;
  /* Bridges (and their accept rules) of networks nobody is on. */
  struct endpoint_rec *left = NULL;
  size_t nleft = 0;
  for (size_t k = 0; k < nn; k++)
    {
      if (endpoints_list (st, nets[k].id, NULL, &left, &nleft, err) < 0)
        goto out;
      endpoint_recs_free (left, nleft);
      const char *bridge = net_cfg_str (nets[k].config, "Bridge");
      /* An idle one its teardown process still waits on is not left over. */
      if (nleft || !*bridge || nl_link_index (nl, bridge) == 0 || net_bridge_idle_pending (store_root (st), bridge))
        continue;
      struct buf b = BUF_INIT;
      buf_printf (&b, "bridge %s of network %s, which no container uses", bridge, nets[k].name);
      strv_push_owned (found, buf_steal (&b));
      if (repair)
        net_teardown_network (st, nl, nets[k].id, -1);
    }
  /* kiln's rules in docker's chains for bridges that are gone. */
  nft_foreign_list (&foreign, err);
  kiln_err_clear (err);
  for (size_t i = 0; i < foreign.n; i++)
    {
      const char *bridge = strstr (foreign.v[i], "kiln:");
      if (bridge == NULL || nl_link_index (nl, bridge + 5))
        continue;
      struct buf b = BUF_INIT;
      buf_printf (&b, "nftables accept rule %s for a bridge that is gone", foreign.v[i]);
      strv_push_owned (found, buf_steal (&b));
      if (repair)
        {
          nft_foreign_unaccept (bridge + 5, NULL, err);
          kiln_err_clear (err);
        }
    }
  ret = 0;
out:
  endpoint_recs_free (eps, n);
  net_recs_free (nets, nn);
  nl_close (nl);
  net_unlock_fd (lock);
  return ret;
}

void
net_check_firewall (struct strv *notes)
{
  if (geteuid () != 0)
    return;
  struct kiln_err ignored = {0};
  _cleanup_strv_ struct strv drops = STRV_INIT;
  if (nft_foreign_drops (&drops, &ignored) < 0)
    kiln_err_clear (&ignored);
  for (size_t i = 0; i < drops.n; i++)
    {
      struct buf b = BUF_INIT;
      buf_printf (&b, "nftables chain %s drops forwarded traffic by policy and kiln cannot get around it: containers' "
                      "outbound and published traffic may not pass",
                  drops.v[i]);
      strv_push_owned (notes, buf_steal (&b));
    }
}
