/* net/net.c — attaching containers to kiln's bridges (the model is in the header). */
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


bool
net_mode_is_bridge (const char *mode)
{
  if (mode == NULL || strcmp (mode, "default") == 0)
    return geteuid () == 0; /* without root the default stays slirp4netns */
  return strcmp (mode, "none") != 0 && strcmp (mode, "host") != 0 && strncmp (mode, "container:", 10) != 0;
}

bool
net_mode_attaches (const char *mode)
{
  return net_mode_is_bridge (mode) || (mode && strncmp (mode, "container:", 10) == 0 && geteuid () == 0);
}

/* ---------- attach, detach ---------- */

char *
net_host_resolv_conf (void)
{
  struct buf b = BUF_INIT;
  int fd = open ("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      struct kiln_err ignored = {0};
      read_all (fd, 65536, &b, "/etc/resolv.conf", &ignored);
      kiln_err_clear (&ignored);
      close (fd);
    }
  return buf_steal (&b);
}

/* The container's /etc/hosts lines after localhost's: its address with its
 * hostname (and on a user network its name and aliases, which the network's
 * resolver answers too), then --add-host's (host-gateway: the network's gateway,
 * an address of the host's). */
static char *
etc_hosts (const json_t *config, const json_t *info, const char *ip, const char *gw, bool user_net)
{
  struct buf b = BUF_INIT;
  buf_printf (&b, "%s\t%s", ip, net_cfg_str (info, "Hostname"));
  if (user_net)
    {
      const char *name = net_cfg_str (info, "Name");
      if (*name)
        buf_printf (&b, " %s", name);
      size_t i;
      json_t *al;
      json_array_foreach (json_object_get (info, "Aliases"), i, al)
          buf_printf (&b, " %s", json_string_value (al) ? json_string_value (al) : "");
    }
  buf_putc (&b, '\n');
  size_t i;
  json_t *eh;
  json_array_foreach (json_object_get (json_object_get (config, "HostConfig"), "ExtraHosts"), i, eh)
      net_add_host_line (&b, json_string_value (eh), gw);
  return buf_steal (&b);
}

/* /etc/resolv.conf: the host's, with --dns, --dns-search and --dns-option
 * replacing its nameserver, search and options lines; on a user network with its
 * resolver the nameserver is 127.0.0.11 (docker's), which forwards the rest to
 * the host's. */
static char *
etc_resolv (const json_t *config, bool own_resolver)
{
  const json_t *h = json_object_get (config, "HostConfig");
  const json_t *dns = json_object_get (h, "Dns"), *search = json_object_get (h, "DnsSearch"),
               *opts = json_object_get (h, "DnsOptions");
  _cleanup_free_ char *host = net_host_resolv_conf ();
  struct buf b = BUF_INIT;
  bool replace_ns = own_resolver || json_array_size (dns), replace_search = json_array_size (search) > 0,
       replace_opts = json_array_size (opts) > 0 || own_resolver;
  for (char *line = host, *next; line && *line; line = next)
    {
      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      if ((replace_ns && strncmp (line, "nameserver", 10) == 0) || (replace_search && strncmp (line, "search", 6) == 0)
          || (replace_opts && strncmp (line, "options", 7) == 0))
        continue;
      buf_printf (&b, "%s\n", line);
    }
  size_t i;
  json_t *v;
  if (own_resolver)
    buf_puts (&b, "nameserver 127.0.0.11\n");
  else
    json_array_foreach (dns, i, v) buf_printf (&b, "nameserver %s\n", json_string_value (v));
  if (replace_search)
    {
      buf_puts (&b, "search");
      json_array_foreach (search, i, v) buf_printf (&b, " %s", json_string_value (v));
      buf_putc (&b, '\n');
    }
  if (replace_opts)
    {
      buf_puts (&b, "options");
      if (own_resolver)
        buf_puts (&b, " ndots:0");
      json_array_foreach (opts, i, v) buf_printf (&b, " %s", json_string_value (v));
      buf_putc (&b, '\n');
    }
  return buf_steal (&b);
}

static void
stop_resolver (struct net_attachment *a)
{
  if (a->resolver_pid > 0)
    {
      kill (a->resolver_pid, SIGKILL);
      while (waitpid (a->resolver_pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  a->resolver_pid = 0;
}

/* A new network namespace, held by the returned descriptor (this process stays
 * in its own). */
static int
new_netns (struct kiln_err *err)
{
  int self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return kiln_err_set (err, errno, "/proc/self/ns/net: %s", strerror (errno));
  int fd = -1;
  if (unshare (CLONE_NEWNET) < 0)
    kiln_err_set (err, errno, "making the container's network namespace: %s", strerror (errno));
  else
    {
      fd = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        kiln_err_set (err, errno, "/proc/self/ns/net: %s", strerror (errno));
      if (setns (self, CLONE_NEWNET) < 0)
        abort (); /* kiln would go on inside the container's network: never */
    }
  close (self);
  return fd;
}

/* `ifname` inside: its address, up, the default route (the primary one, not on
 * an internal network); lo up. */
static int
configure_inside (int netns_fd, const char *ifname, uint32_t ip, int prefix, uint32_t gw, bool route,
                  struct kiln_err *err)
{
  struct nl *in = nl_open_in (netns_fd, err);
  if (in == NULL)
    return -1;
  unsigned lo = nl_link_index (in, "lo"), eth = nl_link_index (in, ifname);
  int ret = -1;
  if (eth == 0)
    kiln_err_set (err, ENODEV, "the container's %s is missing", ifname);
  else if ((lo == 0 || nl_link_up (in, lo, err) == 0) && nl_addr_add (in, eth, ip, prefix, err) == 0
           && nl_link_up (in, eth, err) == 0 && (!route || nl_route_default (in, eth, gw, err) == 0))
    ret = 0;
  nl_close (in);
  return ret;
}

/* A file of another container's generated /etc, from its third line on for
 * hosts (the sandbox writes localhost's lines itself). */
static char *
other_etc (const char *root, const char *id, const char *file, bool skip_localhost)
{
  _cleanup_buf_ struct buf rel = BUF_INIT;
  buf_printf (&rel, "merged.etc/%s", file);
  _cleanup_free_ char *path = container_path (root, id, buf_str (&rel));
  struct buf b = BUF_INIT;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0)
    {
      struct kiln_err ig = {0};
      read_all (fd, 65536, &b, path, &ig);
      kiln_err_clear (&ig);
      close (fd);
    }
  char *text = buf_steal (&b);
  if (!skip_localhost)
    return text;
  const char *p = text;
  for (int i = 0; i < 2 && p && *p; i++)
    p = strchr (p, '\n') ? strchr (p, '\n') + 1 : p + strlen (p);
  char *rest = xstrdup (p ? p : "");
  free (text);
  return rest;
}

/* --network container:NAME: the namespace of that container's init, while it runs. */
static int
attach_container (const char *root, const char *ref, struct net_attachment *a, struct kiln_err *err)
{
  struct kiln_store *st = store_open (root, err);
  if (st == NULL)
    return -1;
  struct container_rec *recs = NULL;
  size_t n = 0, idx = 0;
  int ret = -1;
  if (containers_list (st, &recs, &n, err) == 0)
    {
      if (container_ref_match (recs, n, ref, &idx) != CONTAINER_FOUND)
        kiln_err_set (err, ENOENT, "No such container: %s", ref);
      else
        {
          struct container_state s;
          if (container_state_get (root, recs[idx].id, &s, err) == 0)
            {
              char p[64];
              snprintf (p, sizeof p, "/proc/%d/ns/net", (int) s.pid);
              int fd = -1;
              if (s.status == CONTAINER_RUNNING && proc_is (s.pid, s.pid_start))
                fd = open (p, O_RDONLY | O_CLOEXEC);
              /* Still the one recorded once the namespace is held. */
              if (fd >= 0 && !proc_is (s.pid, s.pid_start))
                {
                  close (fd);
                  fd = -1;
                }
              if (fd < 0)
                kiln_err_set (err, EINVAL, "cannot join network of a non running container: %s", recs[idx].id);
              else
                {
                  a->netns_fd = fd;
                  a->hosts = other_etc (root, recs[idx].id, "hosts", true);
                  a->resolv = other_etc (root, recs[idx].id, "resolv.conf", false);
                  ret = 0;
                }
              container_state_clear (&s);
            }
        }
    }
  container_recs_free (recs, n);
  store_close (st);
  return ret;
}

/* The name an endpoint's host-side veth has: unique per container and network. */
static void
veth_name (const char *id, const char *network_id, char out[16])
{
  snprintf (out, 16, "vk%.8s%04x", id, net_fnv1a (network_id, "") & 0xffff);
}

/* Releases every endpoint of container `id` (the caller holds net.lock). */
static void
release_all (struct kiln_store *st, struct nl *nl, const char *id, int hold_fd)
{
  struct kiln_err ignored = {0};
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  if (endpoints_list (st, NULL, id, &eps, &n, &ignored) == 0)
    for (size_t i = 0; i < n; i++)
      net_release_endpoint (st, nl, &eps[i], false, hold_fd);
  endpoint_recs_free (eps, n);
  kiln_err_clear (&ignored);
}

/* The record of the bridge network `netname` (the default one made on first use). */
static int
bridge_network (struct kiln_store *st, const char *root, const char *netname, struct net_rec *rec,
                struct kiln_err *err)
{
  if (strcmp (netname, DEFAULT_NETWORK) == 0)
    return net_default_network (st, root, rec, err);
  int r = networks_get (st, netname, rec, err);
  if (r <= 0)
    {
      if (r == 0)
        kiln_err_set (err, ENOENT, "network %s not found", netname);
      return -1;
    }
  if (!net_mode_is_bridge (rec->name))
    return kiln_err_set (err, KILN_EINVAL, "container cannot be connected to network %s: it is not a bridge",
                         rec->name);
  return 0;
}

/* One endpoint of container `id` on network `netname`, as `ifname` in the
 * namespace `netns_fd`: the bridge if missing, the address, the veth, the
 * address inside.  The primary one (the container's --network) gets the default
 * route, the published ports (into `a`) and the /etc/hosts lines (*hosts).  On
 * failure its endpoint is released.  *user_net: a network with a resolver. */
static int
attach_one (struct kiln_store *st, struct nl *nl, const char *root, const char *id, const json_t *config,
            const char *netname, const json_t *epc, int netns_fd, const char *ifname, struct net_attachment *a,
            char **hosts, bool *user_net, struct kiln_err *err)
{
  struct net_rec rec = {0};
  json_t *info = json_object ();
  int ret = -1;
  bool recorded = false;
  char ip_s[16] = "";
  if (bridge_network (st, root, netname, &rec, err) < 0)
    goto out;
  unsigned br = net_ensure_bridge (st, nl, &rec, err);
  if (br == 0 || net_bridge_mark_busy (root, net_cfg_str (rec.config, "Bridge"), err) < 0)
    goto out;
  struct net_cidr subnet, range, *rangep = NULL;
  uint32_t gw = 0, ip = 0, want = 0;
  if (net_cidr_parse (net_cfg_str (rec.config, "Subnet"), false, &subnet, err) < 0
      || net_ip_parse (net_cfg_str (rec.config, "Gateway"), &gw) < 0)
    {
      kiln_err_set (err, EIO, "network %s has no subnet recorded", rec.name);
      goto out;
    }
  if (*net_cfg_str (rec.config, "IPRange") && net_cidr_parse (net_cfg_str (rec.config, "IPRange"), false, &range, err) == 0)
    rangep = &range;
  kiln_err_clear (err);
  const char *ip_flag = net_cfg_str (json_object_get (epc, "IPAMConfig"), "IPv4Address");
  if (*ip_flag && (net_ip_parse (ip_flag, &want) < 0 || !net_cidr_contains (&subnet, want)))
    {
      kiln_err_set (err, KILN_EINVAL, "invalid IP address %s: not in network %s's subnet %s", ip_flag, rec.name,
                    net_cfg_str (rec.config, "Subnet"));
      goto out;
    }
  char veth[16];
  veth_name (id, rec.id, veth);
  json_object_set_new (info, "Veth", json_string (veth));
  json_object_set_new (info, "Bridge", json_string (net_cfg_str (rec.config, "Bridge")));
  {
    /* What the network's resolvers answer for: its name, hostname and aliases. */
    char *cname = endpoint_container_name (st, id);
    json_object_set_new (info, "Name", json_string (cname ? cname : ""));
    free (cname);
    json_object_set_new (info, "Hostname", json_string (net_cfg_str (json_object_get (config, "Config"), "Hostname")));
    json_t *al = json_object_get (epc, "Aliases");
    json_object_set_new (info, "Aliases", json_is_array (al) ? json_deep_copy (al) : json_array ());
  }
  /* The address: picked and recorded in one transaction (UNIQUE (network, ip)). */
  if (store_begin (st, err) < 0)
    goto out;
  {
    struct endpoint_rec *eps;
    size_t n;
    if (endpoints_list (st, rec.id, NULL, &eps, &n, err) < 0)
      {
        store_rollback (st);
        goto out;
      }
    uint32_t *used = xcalloc (n + 1, sizeof *used);
    bool on_it = false;
    for (size_t i = 0; i < n; i++)
      {
        net_ip_parse (eps[i].ip, &used[i]);
        on_it |= strcmp (eps[i].container, id) == 0;
      }
    int picked;
    if (want)
      {
        picked = 0;
        ip = want;
        for (size_t i = 0; i < n; i++)
          if (used[i] == want)
            picked = -1;
      }
    else
      picked = net_addr_pick (&subnet, rangep, gw, used, n, &ip);
    free (used);
    endpoint_recs_free (eps, n);
    net_ip_format (ip, ip_s);
    if (on_it || picked < 0)
      {
        store_rollback (st);
        if (on_it)
          kiln_err_set (err, EEXIST, "endpoint with name %s already exists in network %s",
                        net_cfg_str (info, "Name"), rec.name);
        else if (want)
          kiln_err_set (err, EADDRINUSE, "Address already in use: %s", ip_s);
        else
          kiln_err_set (err, ENOSPC, "no available IPv4 addresses on network %s", rec.name);
        goto out;
      }
    if (endpoint_add (st, rec.id, id, ip_s, info, err) < 0 || store_commit (st, err) < 0)
      {
        store_rollback (st);
        goto out;
      }
  }
  recorded = true;
  unsigned mtu = (unsigned) json_integer_value (json_object_get (rec.config, "MTU"));
  /* docker's MAC for the address (inspect shows it). */
  uint8_t mac[6];
  char mac_s[18];
  net_mac_from_ip (ip, mac);
  net_mac_format (mac, mac_s);
  json_object_set_new (info, "MacAddress", json_string (mac_s));
  if (nl_veth_add (nl, veth, br, mtu, netns_fd, ifname, mac, err) < 0)
    {
      /* This container's last veth on this network, still going with its old
       * namespace (the kernel removes it a moment later): removed now. */
      if (err->code != EEXIST || nl_link_del (nl, veth, err) < 0)
        goto out;
      kiln_err_clear (err);
      if (nl_veth_add (nl, veth, br, mtu, netns_fd, ifname, mac, err) < 0)
        goto out;
    }
  unsigned vi = nl_link_index (nl, veth);
  bool route = hosts != NULL && !json_is_true (json_object_get (rec.config, "Internal"));
  if (vi == 0 || configure_inside (netns_fd, ifname, ip, subnet.prefix, gw, route, err) < 0)
    {
      if (!kiln_err_is_set (err))
        kiln_err_set (err, ENODEV, "veth %s is missing", veth);
      goto out;
    }
  if (a && (net_publish_ports (st, id, config, ip, a, info, err) < 0 || endpoint_update (st, rec.id, id, info, err) < 0))
    {
      /* The elements added so far are recorded for the release. */
      struct kiln_err ignored = {0};
      endpoint_update (st, rec.id, id, info, &ignored);
      kiln_err_clear (&ignored);
      goto out;
    }
  *user_net = strcmp (rec.name, DEFAULT_NETWORK) != 0;
  if (hosts)
    {
      char gw_s[16];
      net_ip_format (gw, gw_s);
      *hosts = etc_hosts (config, info, ip_s, gw_s, *user_net);
    }
  ret = 0;
out:
  if (ret < 0 && recorded)
    {
      struct endpoint_rec e = {.network = rec.id, .container = (char *) id, .ip = ip_s, .info = info};
      net_release_endpoint (st, nl, &e, true, -1);
    }
  json_decref (info);
  net_rec_clear (&rec);
  return ret;
}

/* The first ethN the namespace does not have. */
static void
free_ifname (int netns_fd, char out[16])
{
  struct kiln_err ig = {0};
  struct nl *in = nl_open_in (netns_fd, &ig);
  kiln_err_clear (&ig);
  for (int i = 0; i < 64; i++)
    {
      snprintf (out, 16, "eth%d", i);
      if (in == NULL || nl_link_index (in, out) == 0)
        break;
    }
  nl_close (in);
}

/* What an attach or a release holds: the store's network lock, the store, netlink. */
struct net_session
{
  int lock;
  struct kiln_store *st;
  struct nl *nl;
};

/* Takes the lock, then opens the store and netlink: 0 when all three are held
 * (`s` is closed with session_close either way). */
static int
session_open (const char *root, bool keep_wal, struct net_session *s, struct kiln_err *err)
{
  s->lock = net_store_lock (root, err);
  s->st = s->lock >= 0 ? store_open (root, err) : NULL;
  if (keep_wal)
    store_keep_wal_on_close (s->st);
  s->nl = s->st ? nl_open (err) : NULL;
  return s->nl ? 0 : -1;
}

static void
session_close (struct net_session *s)
{
  nl_close (s->nl);
  store_close (s->st);
  net_unlock_fd (s->lock);
}

/* A failed attach gives back what it holds of `a`: its ports and namespace. */
static void
drop_attachment_fds (struct net_attachment *a)
{
  for (size_t i = 0; i < a->n_port_fds; i++)
    close (a->port_fds[i]);
  a->n_port_fds = 0;
  if (a->netns_fd >= 0)
    close (a->netns_fd);
  a->netns_fd = -1;
}

int
net_attach (const char *root, const char *id, const json_t *config, struct net_attachment *a, struct kiln_err *err)
{
  memset (a, 0, sizeof *a);
  a->netns_fd = -1;
  const json_t *h = json_object_get (config, "HostConfig");
  const char *mode = net_cfg_str (h, "NetworkMode");
  if (strncmp (mode, "container:", 10) == 0)
    return attach_container (root, mode + 10, a, err);
  mode = net_mode_name (mode);
  const json_t *eps_config = json_object_get (json_object_get (config, "NetworkingConfig"), "EndpointsConfig");
  struct net_session ses;
  int ret = -1;
  bool user_net = false;
  if (session_open (root, true, &ses, err) < 0 || (a->netns_fd = new_netns (err)) < 0)
    goto out;
  /* What a monitor killed while it attached this container left (the container
   * is starting, so none of it is live). */
  release_all (ses.st, ses.nl, id, -1);
  a->attached = true;
  if (attach_one (ses.st, ses.nl, root, id, config, mode, json_object_get (eps_config, mode), a->netns_fd, "eth0", a,
                  &a->hosts, &user_net, err)
      < 0)
    goto out;
  /* The networks `network connect` added, each as the next ethN. */
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) eps_config, k, v)
  {
    if (strcmp (net_mode_name (k), mode) == 0)
      continue;
    char ifname[16];
    bool user = false;
    free_ifname (a->netns_fd, ifname);
    if (attach_one (ses.st, ses.nl, root, id, config, k, v, a->netns_fd, ifname, NULL, NULL, &user, err) < 0)
      goto out;
    user_net |= user;
  }
  ret = 0;
out:
  if (ret < 0 && a->attached)
    {
      drop_attachment_fds (a);
      release_all (ses.st, ses.nl, id, ses.lock);
      a->attached = false;
    }
  session_close (&ses);
  /* A user network's names resolve through a resolver in the container's
   * namespace; forked once the store is closed (SQLite's state of an open
   * database must not be inherited). */
  if (ret == 0 && user_net && (a->resolver_pid = net_resolver_start (root, id, a->netns_fd, config, err)) < 0)
    {
      a->resolver_pid = 0;
      drop_attachment_fds (a);
      net_release (root, id);
      a->attached = false;
      ret = -1;
    }
  if (ret == 0)
    a->resolv = etc_resolv (config, a->resolver_pid > 0);
  return ret;
}

/* The network namespace of running container `id`, -1 if it is not running. */
static int
running_netns (const char *root, const char *id, struct kiln_err *err)
{
  struct container_state s;
  if (container_state_get (root, id, &s, err) < 0)
    return -1;
  int fd = -1;
  if (container_state_live (&s) && proc_is (s.pid, s.pid_start))
    {
      char p[64];
      snprintf (p, sizeof p, "/proc/%d/ns/net", (int) s.pid);
      fd = open (p, O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && !proc_is (s.pid, s.pid_start))
        {
          close (fd);
          fd = -1;
        }
    }
  container_state_clear (&s);
  return fd;
}

int
net_connect (const char *root, const char *id, const json_t *config, const char *network, struct kiln_err *err)
{
  int nsfd = running_netns (root, id, err);
  if (nsfd < 0)
    return kiln_err_is_set (err) ? -1 : 0; /* not running: the next start attaches it */
  struct net_session ses;
  int ret = -1;
  if (session_open (root, false, &ses, err) == 0)
    {
      char ifname[16];
      bool user = false;
      free_ifname (nsfd, ifname);
      const json_t *epc = json_object_get (json_object_get (json_object_get (config, "NetworkingConfig"),
                                                           "EndpointsConfig"), network);
      ret = attach_one (ses.st, ses.nl, root, id, config, net_mode_name (network), epc, nsfd, ifname, NULL, NULL,
                        &user, err);
    }
  session_close (&ses);
  close (nsfd);
  return ret;
}

int
net_disconnect (const char *root, const char *id, const char *network_id, struct kiln_err *err)
{
  struct net_session ses;
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  int ret = -1;
  if (session_open (root, false, &ses, err) == 0 && endpoints_list (ses.st, network_id, id, &eps, &n, err) == 0)
    {
      for (size_t i = 0; i < n; i++)
        net_release_endpoint (ses.st, ses.nl, &eps[i], true, -1);
      ret = 0;
    }
  endpoint_recs_free (eps, n);
  session_close (&ses);
  return ret;
}

void
net_release (const char *root, const char *id)
{
  struct kiln_err ignored = {0};
  struct net_session ses;
  if (session_open (root, true, &ses, &ignored) == 0)
    release_all (ses.st, ses.nl, id, ses.lock);
  kiln_err_clear (&ignored);
  session_close (&ses);
}

void
net_detach (const char *root, const char *id, struct net_attachment *a)
{
  stop_resolver (a);
  for (size_t i = 0; i < a->n_port_fds; i++)
    close (a->port_fds[i]);
  free (a->port_fds);
  if (a->netns_fd >= 0)
    close (a->netns_fd);
  if (a->attached)
    net_release (root, id);
  free (a->hosts);
  free (a->resolv);
  memset (a, 0, sizeof *a);
  a->netns_fd = -1;
}

void
net_drop_caches (void)
{
  nft_release ();
}
