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

#define DEFAULT_NETWORK "bridge"
#define HOST_LOCK_DIR "/run/kiln"

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

/* ---------- config.json: -p, --expose, -P ---------- */

static json_t *
strv_array (const struct strv *v)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < v->n; i++)
    json_array_append_new (a, json_string (v->v[i]));
  return a;
}

/* The network a container's NetworkMode names ("default" is "bridge"). */
static const char *
mode_name (const char *mode)
{
  return mode == NULL || !*mode || strcmp (mode, "default") == 0 ? DEFAULT_NETWORK : mode;
}

int
net_config_into (const struct container_opts *o, const json_t *image_config, json_t *top, struct kiln_err *err)
{
  json_t *config = json_object_get (top, "Config"), *host_config = json_object_get (top, "HostConfig");
  const char *net = mode_name (o->network);
  bool user_net = net_mode_is_bridge (net) && strcmp (net, DEFAULT_NETWORK) != 0;
  if (o->aliases.n && !user_net)
    return kiln_err_set (err, KILN_EINVAL, "network-scoped alias is supported only for containers in user defined "
                                           "networks");
  if (o->ip && !user_net)
    return kiln_err_set (err, KILN_EINVAL, "user specified IP address is supported on user defined networks only");
  uint32_t a;
  if (o->ip && net_ip_parse (o->ip, &a) < 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--ip\" flag: invalid IP address", o->ip);
  for (size_t i = 0; i < o->add_hosts.n; i++)
    {
      const char *h = o->add_hosts.v[i], *colon = strchr (h, ':');
      if (colon == NULL || colon == h || (net_ip_parse (colon + 1, &a) < 0 && strcmp (colon + 1, "host-gateway") != 0))
        return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--add-host\" flag: invalid IP address "
                                               "in add-host: \"%s\"", h, colon ? colon + 1 : "");
    }
  for (size_t i = 0; i < o->dns.n; i++)
    if (net_ip_parse (o->dns.v[i], &a) < 0)
      return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--dns\" flag: %s is not an ip address",
                           o->dns.v[i], o->dns.v[i]);
  json_object_set_new (host_config, "ExtraHosts", o->add_hosts.n ? strv_array (&o->add_hosts) : json_null ());
  json_object_set_new (host_config, "Dns", strv_array (&o->dns));
  json_object_set_new (host_config, "DnsSearch", strv_array (&o->dns_search));
  json_object_set_new (host_config, "DnsOptions", strv_array (&o->dns_options));
  if (o->aliases.n || o->ip)
    {
      json_t *ep = json_pack ("{s:o}", "Aliases", strv_array (&o->aliases));
      if (o->ip)
        json_object_set_new (ep, "IPAMConfig", json_pack ("{s:s}", "IPv4Address", o->ip));
      json_object_set_new (top, "NetworkingConfig", json_pack ("{s:{s:o}}", "EndpointsConfig", net, ep));
    }
  /* docker keeps -p with --network host or none and publishes nothing; with
   * container:C it refuses.  Without root kiln has no bridge to publish from. */
  if ((o->publish.n || o->publish_all) && strncmp (net, "container:", 10) == 0)
    return kiln_err_set (err, KILN_EUSAGE, "conflicting options: port publishing and the container type network mode");
  if ((o->publish.n || o->publish_all) && geteuid () != 0)
    return kiln_err_set (err, KILN_EINVAL, "publishing ports needs kiln's bridge networks, which need root");
  const struct strv *publish = &o->publish, *expose = &o->expose;
  bool publish_all = o->publish_all;
  json_t *exposed = json_object ();
  const json_t *img = json_object_get (image_config, "ExposedPorts");
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) img, k, v)
  {
    uint16_t p;
    char proto[5];
    if (port_key_parse (k, &p, proto) == 0)
      json_object_set_new (exposed, k, json_object ());
  }
  _cleanup_strv_ struct strv keys = STRV_INIT;
  for (size_t i = 0; i < expose->n; i++)
    if (port_expose_parse (expose->v[i], &keys, err) < 0)
      {
        json_decref (exposed);
        return -1;
      }
  for (size_t i = 0; i < keys.n; i++)
    json_object_set_new (exposed, keys.v[i], json_object ());
  json_t *bindings = json_object ();
  for (size_t i = 0; i < publish->n; i++)
    {
      struct port_map *maps = NULL;
      size_t n = 0;
      if (port_spec_parse (publish->v[i], &maps, &n, err) < 0)
        {
          free (maps);
          json_decref (exposed);
          json_decref (bindings);
          return -1;
        }
      for (size_t m = 0; m < n; m++)
        {
          char key[16], hp[16] = "";
          snprintf (key, sizeof key, "%u/%s", maps[m].ctr_port, maps[m].proto);
          if (maps[m].host_lo && maps[m].host_lo == maps[m].host_hi)
            snprintf (hp, sizeof hp, "%u", maps[m].host_lo);
          else if (maps[m].host_lo)
            snprintf (hp, sizeof hp, "%u-%u", maps[m].host_lo, maps[m].host_hi);
          json_object_set_new (exposed, key, json_object ());
          json_t *arr = json_object_get (bindings, key);
          if (arr == NULL)
            json_object_set_new (bindings, key, arr = json_array ());
          json_array_append_new (arr, json_pack ("{s:s, s:s}", "HostIp", maps[m].host_ip, "HostPort", hp));
        }
      free (maps);
    }
  if (json_object_size (exposed))
    json_object_set_new (config, "ExposedPorts", exposed);
  else
    json_decref (exposed);
  json_object_set_new (host_config, "PortBindings", bindings);
  json_object_set_new (host_config, "PublishAllPorts", json_boolean (publish_all));
  return 0;
}

/* ---------- locks, names, settings ---------- */

static int
flock_path (const char *path, struct kiln_err *err)
{
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return kiln_err_set (err, errno, "%s: %s", path, strerror (errno));
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return kiln_err_set (err, e, "%s: %s", path, strerror (e));
      }
  return fd;
}

static int
store_net_lock (const char *root, struct kiln_err *err)
{
  _cleanup_buf_ struct buf p = BUF_INIT;
  buf_printf (&p, "%s/net.lock", root);
  return flock_path (buf_str (&p), err);
}

static int
host_net_lock (struct kiln_err *err)
{
  if (mkdir (HOST_LOCK_DIR, 0700) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s: %s", HOST_LOCK_DIR, strerror (errno));
  return flock_path (HOST_LOCK_DIR "/net.lock", err);
}

static void
unlock_fd (int fd)
{
  if (fd >= 0)
    close (fd);
}

uint32_t
net_fnv1a (const char *a, const char *b)
{
  uint32_t h = 2166136261u;
  for (const char *s = a; *s; s++)
    h = (h ^ (uint8_t) *s) * 16777619u;
  h = (h ^ 0) * 16777619u;
  for (const char *s = b; *s; s++)
    h = (h ^ (uint8_t) *s) * 16777619u;
  return h;
}

/* The pool subnets are chosen from: `default-address-pools` of kiln's
 * configuration file (docker's daemon.json key), else 10.210.0.0/16 in /24s. */
void
net_address_pool (struct net_cidr *pool, int *size)
{
  struct kiln_err ignored = {0};
  net_cidr_parse ("10.210.0.0/16", false, pool, &ignored);
  *size = 24;
  const char *path = getenv ("KILN_CONFIG");
  json_t *j = json_load_file (path && *path ? path : "/etc/kiln/kiln.json", 0, NULL);
  json_t *first = json_array_get (json_object_get (j, "default-address-pools"), 0);
  struct net_cidr c;
  json_int_t sz = json_integer_value (json_object_get (first, "size"));
  if (first && net_cidr_parse (json_string_value (json_object_get (first, "base")), false, &c, &ignored) == 0
      && sz >= c.prefix && sz <= 30)
    {
      *pool = c;
      *size = (int) sz;
    }
  kiln_err_clear (&ignored);
  json_decref (j);
}

const char *
net_cfg_str (const json_t *config, const char *key)
{
  const char *s = json_string_value (json_object_get (config, key));
  return s ? s : "";
}

static void
write_sysctl (const char *path, const char *value)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      ssize_t w = write (fd, value, strlen (value));
      (void) w; /* a kernel without the knob: the feature it gives is missing, nothing else */
      close (fd);
    }
}

/* A predefined network's record: `driver` "bridge" gets a bridge device name. */
static int
predefined (struct kiln_store *st, const char *root, const char *name, const char *driver, struct kiln_err *err)
{
  struct net_rec have;
  int r = networks_get (st, name, &have, err);
  net_rec_clear (&have);
  if (r != 0)
    return r < 0 ? -1 : 0;
  char id[65];
  container_id_generate (id);
  struct net_rec n = {.id = id, .name = (char *) name, .created = container_now ()};
  n.config = json_pack ("{s:s, s:s, s:b, s:b}", "Driver", driver, "Scope", "local", "Internal", 0, "Default", 1);
  if (strcmp (driver, "bridge") == 0)
    {
      char bridge[16];
      snprintf (bridge, sizeof bridge, "kiln-%08x", net_fnv1a (root, id));
      json_object_set_new (n.config, "Bridge", json_string (bridge));
    }
  r = networks_add (st, &n, err);
  json_decref (n.config);
  if (r < 0 && err->code == EEXIST)
    {
      kiln_err_clear (err); /* another command made it meanwhile */
      return 0;
    }
  return r;
}

int
net_default_network (struct kiln_store *st, const char *root, struct net_rec *rec, struct kiln_err *err)
{
  if (predefined (st, root, DEFAULT_NETWORK, "bridge", err) < 0 || predefined (st, root, "host", "host", err) < 0
      || predefined (st, root, "none", "null", err) < 0)
    return -1;
  if (rec == NULL)
    return 0;
  int r = networks_get (st, DEFAULT_NETWORK, rec, err);
  if (r == 0)
    kiln_err_set (err, ENOENT, "the default network cannot be recorded");
  return r == 1 ? 0 : -1;
}

/* The bridge of `rec`, made (with its subnet chosen, kiln's table, the accept
 * rules in foreign chains) when it is not there.  Its index, 0 on error. */
static unsigned
ensure_bridge (struct kiln_store *st, struct nl *nl, struct net_rec *rec, struct kiln_err *err)
{
  const char *bridge = net_cfg_str (rec->config, "Bridge");
  unsigned idx = nl_link_index (nl, bridge);
  if (idx)
    return idx;
  int hl = host_net_lock (err);
  if (hl < 0)
    return 0;
  struct net_cidr *routes = NULL;
  size_t n_routes = 0;
  struct net_cidr subnet;
  uint32_t gw = 0;
  bool fixed = json_is_true (json_object_get (rec->config, "FixedSubnet"));
  if (nl_routes (nl, &routes, &n_routes, err) < 0)
    goto fail;
  if (fixed)
    {
      if (net_cidr_parse (net_cfg_str (rec->config, "Subnet"), false, &subnet, err) < 0)
        goto fail;
      for (size_t i = 0; i < n_routes; i++)
        if (routes[i].prefix > 0 && net_cidr_overlap (&subnet, &routes[i]))
          {
            char r[20];
            net_cidr_format (&routes[i], r);
            kiln_err_set (err, EEXIST, "network %s: subnet %s overlaps the host's route to %s", rec->name,
                          net_cfg_str (rec->config, "Subnet"), r);
            goto fail;
          }
      if (net_ip_parse (net_cfg_str (rec->config, "Gateway"), &gw) < 0)
        gw = subnet.addr + 1;
    }
  else
    {
      struct net_cidr pool, was;
      int size;
      net_address_pool (&pool, &size);
      /* The subnet it had (inspect showed it) while no route took it since. */
      struct kiln_err ig = {0};
      bool keep = net_cidr_parse (net_cfg_str (rec->config, "Subnet"), false, &was, &ig) == 0;
      kiln_err_clear (&ig);
      for (size_t i = 0; i < n_routes && keep; i++)
        keep = routes[i].prefix == 0 || !net_cidr_overlap (&was, &routes[i]);
      if (keep)
        subnet = was;
      else if (net_subnet_choose (&pool, size, routes, n_routes, &subnet) < 0)
        {
          char p[20];
          net_cidr_format (&pool, p);
          kiln_err_set (err, ENOSPC, "no free /%d subnet left in the address pool %s", size, p);
          goto fail;
        }
      gw = subnet.addr + 1;
      char s[20], g[16];
      net_cidr_format (&subnet, s);
      net_ip_format (gw, g);
      json_object_set_new (rec->config, "Subnet", json_string (s));
      json_object_set_new (rec->config, "Gateway", json_string (g));
      if (networks_update (st, rec->id, rec->config, err) < 0)
        goto fail;
    }
  unsigned mtu = (unsigned) json_integer_value (json_object_get (rec->config, "MTU"));
  if (nl_bridge_add (nl, bridge, mtu, err) < 0 || (idx = nl_link_index (nl, bridge)) == 0)
    goto fail;
  {
    _cleanup_buf_ struct buf p = BUF_INIT, cmds = BUF_INIT;
    buf_printf (&p, "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
    write_sysctl (buf_str (&p), "1");
    write_sysctl ("/proc/sys/net/ipv4/ip_forward", "1");
    char s[20];
    net_cidr_format (&subnet, s);
    buf_printf (&cmds, "add element ip kiln subnets { %s }\n", s);
    buf_printf (&cmds, "add element ip kiln same_bridge { \"%s\" . \"%s\" }\n", bridge, bridge);
    if (json_is_true (json_object_get (rec->config, "Internal")))
      buf_printf (&cmds, "add element ip kiln internal { %s }\n", s);
    if (nl_addr_add (nl, idx, gw, subnet.prefix, err) < 0 || nl_link_up (nl, idx, err) < 0 || nft_setup (err) < 0
        || nft_foreign_accept (bridge, buf_str (&cmds), err) < 0)
      {
        struct kiln_err ignored = {0};
        nl_link_del (nl, bridge, &ignored);
        kiln_err_clear (&ignored);
        goto fail;
      }
  }
  free (routes);
  unlock_fd (hl);
  return idx;
fail:
  free (routes);
  unlock_fd (hl);
  kiln_err_wrap (err, "network %s", rec->name);
  return 0;
}

/* What tearing a network down needs, read from the store before the work (which
 * may run in a process that must not touch the store). */
struct teardown
{
  char bridge[16];
  char subnet[20];
  bool internal;
};

static void
teardown_do (struct nl *nl, const struct teardown *t)
{
  struct kiln_err ignored = {0};
  int hl = host_net_lock (&ignored);
  _cleanup_buf_ struct buf cmds = BUF_INIT;
  if (*t->subnet)
    {
      buf_printf (&cmds, "delete element ip kiln subnets { %s }\n", t->subnet);
      buf_printf (&cmds, "delete element ip kiln same_bridge { \"%s\" . \"%s\" }\n", t->bridge, t->bridge);
      if (t->internal)
        buf_printf (&cmds, "delete element ip kiln internal { %s }\n", t->subnet);
    }
  nft_foreign_unaccept (t->bridge, cmds.len ? buf_str (&cmds) : NULL, &ignored);
  kiln_err_clear (&ignored);
  if (nl && nl_link_index (nl, t->bridge))
    nl_link_del (nl, t->bridge, &ignored);
  kiln_err_clear (&ignored);
  unlock_fd (hl);
}

/* The network's bridge, subnet and rules go with its last endpoint.  With
 * `hold_fd` (the store's net.lock) the work is left to a detached process that
 * keeps the lock until it is done: deleting a bridge waits ~30 ms for the
 * kernel, which a stopping container need not wait for, and the next attach
 * waits for the lock, so it never finds a bridge half gone. */
static void
teardown_network (struct kiln_store *st, struct nl *nl, const char *network_id, int hold_fd)
{
  struct kiln_err ignored = {0};
  struct endpoint_rec *eps;
  size_t n;
  struct net_rec rec;
  if (endpoints_list (st, network_id, NULL, &eps, &n, &ignored) < 0 || n > 0
      || networks_get (st, network_id, &rec, &ignored) != 1)
    {
      endpoint_recs_free (eps, n);
      kiln_err_clear (&ignored);
      return;
    }
  struct teardown t = {.internal = json_is_true (json_object_get (rec.config, "Internal"))};
  snprintf (t.bridge, sizeof t.bridge, "%s", net_cfg_str (rec.config, "Bridge"));
  snprintf (t.subnet, sizeof t.subnet, "%s", net_cfg_str (rec.config, "Subnet"));
  net_rec_clear (&rec);
  if (!*t.bridge)
    return;
  pid_t pid = hold_fd >= 0 ? fork () : -1;
  if (pid == 0)
    {
      /* The child only forks the worker, so nobody waits on a zombie. */
      if (fork () != 0)
        _exit (0);
      setsid ();
      for (int fd = 3; fd < 1024; fd++)
        if (fd != hold_fd)
          close (fd);
      struct nl *own = nl_open (&ignored);
      teardown_do (own, &t);
      nl_close (own);
      _exit (0);
    }
  if (pid > 0)
    {
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      return;
    }
  teardown_do (nl, &t);
}

/* Removes what one endpoint holds: its port elements, its veth (unless it goes
 * with its namespace, which the kernel removes without making anyone wait), its
 * row; then the network's bridge if it was the last (see teardown_network). */
static void
release_endpoint (struct kiln_store *st, struct nl *nl, const struct endpoint_rec *e, bool delete_veth, int hold_fd)
{
  struct kiln_err ignored = {0};
  _cleanup_buf_ struct buf cmds = BUF_INIT;
  size_t i;
  json_t *el;
  json_array_foreach (json_object_get (e->info, "Elements"), i, el)
      buf_printf (&cmds, "delete element ip kiln %s\n", json_string_value (el) ? json_string_value (el) : "");
  if (cmds.len && nft_run (buf_str (&cmds), &ignored) < 0)
    {
      /* One already gone fails the batch: then one by one, so it keeps none of the others. */
      kiln_err_clear (&ignored);
      json_array_foreach (json_object_get (e->info, "Elements"), i, el)
      {
        buf_reset (&cmds);
        buf_printf (&cmds, "delete element ip kiln %s\n", json_string_value (el) ? json_string_value (el) : "");
        nft_run (buf_str (&cmds), &ignored);
        kiln_err_clear (&ignored);
      }
    }
  const char *veth = net_cfg_str (e->info, "Veth");
  if (delete_veth && *veth && nl_link_index (nl, veth))
    nl_link_del (nl, veth, &ignored);
  kiln_err_clear (&ignored);
  endpoint_remove (st, e->network, e->container, &ignored);
  kiln_err_clear (&ignored);
  teardown_network (st, nl, e->network, hold_fd);
}

/* ---------- ports ---------- */

/* Binds host port `port` (0: any) of `ip` as docker's proxy holds it: a TCP
 * socket listens (no one else can take it, SO_REUSEADDR or not), a UDP one is
 * bound.  The descriptor, -1 with errno. */
static int
hold_port (const char *proto, uint32_t ip, uint16_t port, uint16_t *got)
{
  bool tcp = strcmp (proto, "tcp") == 0;
  int fd = socket (AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  if (tcp)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (ip)};
  socklen_t len = sizeof sa;
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || (tcp && listen (fd, 1) < 0)
      || getsockname (fd, (struct sockaddr *) &sa, &len) < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  *got = ntohs (sa.sin_port);
  return fd;
}

/* Every published port of `config`: binds it, adds its DNAT element, and records
 * both in `info` (Ports in docker's NetworkSettings shape, Elements to delete). */
static int
publish_ports (struct kiln_store *st, const char *id, const json_t *config, uint32_t cip, struct net_attachment *a,
               json_t *info, struct kiln_err *err)
{
  const json_t *h = json_object_get (config, "HostConfig");
  json_t *bindings = json_deep_copy (json_object_get (h, "PortBindings"));
  if (!json_is_object (bindings))
    {
      json_decref (bindings);
      bindings = json_object ();
    }
  const char *k;
  json_t *v;
  if (json_is_true (json_object_get (h, "PublishAllPorts")))
    json_object_foreach (json_object_get (json_object_get (config, "Config"), "ExposedPorts"), k, v)
    {
      if (json_array_size (json_object_get (bindings, k)) == 0)
        json_object_set_new (bindings, k, json_pack ("[{s:s, s:s}]", "HostIp", "", "HostPort", ""));
    }
  json_t *ports = json_object (), *elements = json_array ();
  json_object_set_new (info, "Ports", ports);
  json_object_set_new (info, "Elements", elements);
  char cip_s[16];
  net_ip_format (cip, cip_s);
  _cleanup_buf_ struct buf cmds = BUF_INIT;
  int ret = 0;
  json_object_foreach (bindings, k, v)
  {
    uint16_t cport;
    char proto[5];
    if (port_key_parse (k, &cport, proto) < 0 || strcmp (proto, "sctp") == 0)
      continue;
    json_t *out = json_array ();
    json_object_set_new (ports, k, out);
    size_t i;
    json_t *b;
    json_array_foreach (v, i, b)
    {
      const char *hip = net_cfg_str (b, "HostIp"), *hport = net_cfg_str (b, "HostPort");
      uint32_t ip = 0;
      uint16_t lo = 0, hi = 0, got = 0;
      if (*hip && net_ip_parse (hip, &ip) < 0)
        continue; /* an IPv6 host address: kiln's networks are IPv4 */
      if (*hport && port_range_parse (hport, &lo, &hi) < 0)
        continue;
      int fd = -1, e = 0;
      for (uint32_t p = lo; p <= hi && fd < 0; p++)
        if ((fd = hold_port (proto, ip, (uint16_t) p, &got)) < 0)
          e = errno;
      char ip_s[16];
      net_ip_format (ip, ip_s);
      if (fd < 0)
        {
          _cleanup_free_ char *name = endpoint_container_name (st, id);
          if (e == EADDRINUSE)
            ret = kiln_err_set (err, e,
                                "driver failed programming external connectivity on endpoint %s (%s): Bind for "
                                "%s:%s failed: port is already allocated",
                                name ? name : id, id, ip_s, hport);
          else
            ret = kiln_err_set (err, e, "binding %s:%s/%s: %s", ip_s, hport, proto, strerror (e));
          goto out;
        }
      a->port_fds = xrealloc (a->port_fds, (a->n_port_fds + 1) * sizeof *a->port_fds);
      a->port_fds[a->n_port_fds++] = fd;
      char got_s[8];
      snprintf (got_s, sizeof got_s, "%u", got);
      json_array_append_new (out, json_pack ("{s:s, s:s}", "HostIp", ip_s, "HostPort", got_s));
      struct buf key = BUF_INIT;
      if (ip)
        buf_printf (&key, "ports_ip { %s . %s . %u", ip_s, proto, got);
      else
        buf_printf (&key, "ports_any { %s . %u", proto, got);
      buf_printf (&cmds, "add element ip kiln %s : %s . %u }\n", buf_str (&key), cip_s, cport);
      buf_puts (&key, " }");
      json_array_append_new (elements, json_string (buf_str (&key)));
      buf_free (&key);
    }
  }
  if (cmds.len && nft_run (buf_str (&cmds), err) < 0)
    ret = -1;
out:
  json_decref (bindings);
  return ret;
}

/* ---------- attach, detach ---------- */

static char *
host_resolv_conf (void)
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
  {
    const char *h = json_string_value (eh), *colon = h ? strchr (h, ':') : NULL;
    if (colon == NULL)
      continue;
    const char *addr = strcmp (colon + 1, "host-gateway") == 0 ? gw : colon + 1;
    buf_printf (&b, "%s\t%.*s\n", addr, (int) (colon - h), h);
  }
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
  _cleanup_free_ char *host = host_resolv_conf ();
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
      release_endpoint (st, nl, &eps[i], false, hold_fd);
  endpoint_recs_free (eps, n);
  kiln_err_clear (&ignored);
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
  if (strcmp (netname, DEFAULT_NETWORK) == 0)
    {
      if (net_default_network (st, root, &rec, err) < 0)
        goto out;
    }
  else
    {
      int r = networks_get (st, netname, &rec, err);
      if (r <= 0)
        {
          if (r == 0)
            kiln_err_set (err, ENOENT, "network %s not found", netname);
          goto out;
        }
      if (!net_mode_is_bridge (rec.name))
        {
          kiln_err_set (err, KILN_EINVAL, "container cannot be connected to network %s: it is not a bridge", rec.name);
          goto out;
        }
    }
  unsigned br = ensure_bridge (st, nl, &rec, err);
  if (br == 0)
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
  if (nl_veth_add (nl, veth, br, mtu, netns_fd, ifname, err) < 0)
    {
      /* This container's last veth on this network, still going with its old
       * namespace (the kernel removes it a moment later): removed now. */
      if (err->code != EEXIST || nl_link_del (nl, veth, err) < 0)
        goto out;
      kiln_err_clear (err);
      if (nl_veth_add (nl, veth, br, mtu, netns_fd, ifname, err) < 0)
        goto out;
    }
  unsigned vi = nl_link_index (nl, veth);
  bool route = hosts != NULL && !json_is_true (json_object_get (rec.config, "Internal"));
  if (vi == 0 || nl_link_up (nl, vi, err) < 0 || configure_inside (netns_fd, ifname, ip, subnet.prefix, gw, route, err) < 0)
    {
      if (!kiln_err_is_set (err))
        kiln_err_set (err, ENODEV, "veth %s is missing", veth);
      goto out;
    }
  if (a && (publish_ports (st, id, config, ip, a, info, err) < 0 || endpoint_update (st, rec.id, id, info, err) < 0))
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
      release_endpoint (st, nl, &e, true, -1);
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

int
net_attach (const char *root, const char *id, const json_t *config, struct net_attachment *a, struct kiln_err *err)
{
  memset (a, 0, sizeof *a);
  a->netns_fd = -1;
  const json_t *h = json_object_get (config, "HostConfig");
  const char *mode = net_cfg_str (h, "NetworkMode");
  if (strncmp (mode, "container:", 10) == 0)
    return attach_container (root, mode + 10, a, err);
  mode = mode_name (mode);
  const json_t *eps_config = json_object_get (json_object_get (config, "NetworkingConfig"), "EndpointsConfig");
  int lock = store_net_lock (root, err);
  if (lock < 0)
    return -1;
  struct kiln_store *st = store_open (root, err);
  struct nl *nl = st ? nl_open (err) : NULL;
  int ret = -1;
  bool user_net = false;
  if (nl == NULL || (a->netns_fd = new_netns (err)) < 0)
    goto out;
  /* What a monitor killed while it attached this container left (the container
   * is starting, so none of it is live). */
  release_all (st, nl, id, -1);
  a->attached = true;
  if (attach_one (st, nl, root, id, config, mode, json_object_get (eps_config, mode), a->netns_fd, "eth0", a,
                  &a->hosts, &user_net, err)
      < 0)
    goto out;
  /* The networks `network connect` added, each as the next ethN. */
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *) eps_config, k, v)
  {
    if (strcmp (mode_name (k), mode) == 0)
      continue;
    char ifname[16];
    bool user = false;
    free_ifname (a->netns_fd, ifname);
    if (attach_one (st, nl, root, id, config, k, v, a->netns_fd, ifname, NULL, NULL, &user, err) < 0)
      goto out;
    user_net |= user;
  }
  ret = 0;
out:
  if (ret < 0 && a->attached)
    {
      for (size_t i = 0; i < a->n_port_fds; i++)
        close (a->port_fds[i]);
      a->n_port_fds = 0;
      if (a->netns_fd >= 0)
        close (a->netns_fd);
      a->netns_fd = -1;
      release_all (st, nl, id, lock);
      a->attached = false;
    }
  nl_close (nl);
  store_close (st);
  unlock_fd (lock);
  /* A user network's names resolve through a resolver in the container's
   * namespace; forked once the store is closed (SQLite's state of an open
   * database must not be inherited). */
  if (ret == 0 && user_net && (a->resolver_pid = net_resolver_start (root, id, a->netns_fd, config, err)) < 0)
    {
      a->resolver_pid = 0;
      for (size_t i = 0; i < a->n_port_fds; i++)
        close (a->port_fds[i]);
      a->n_port_fds = 0;
      close (a->netns_fd);
      a->netns_fd = -1;
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
  int lock = store_net_lock (root, err);
  struct kiln_store *st = lock >= 0 ? store_open (root, err) : NULL;
  struct nl *nl = st ? nl_open (err) : NULL;
  int ret = -1;
  if (nl)
    {
      char ifname[16];
      bool user = false;
      free_ifname (nsfd, ifname);
      const json_t *epc = json_object_get (json_object_get (json_object_get (config, "NetworkingConfig"),
                                                           "EndpointsConfig"), network);
      ret = attach_one (st, nl, root, id, config, mode_name (network), epc, nsfd, ifname, NULL, NULL, &user, err);
    }
  nl_close (nl);
  store_close (st);
  unlock_fd (lock);
  close (nsfd);
  return ret;
}

int
net_disconnect (const char *root, const char *id, const char *network_id, struct kiln_err *err)
{
  int lock = store_net_lock (root, err);
  struct kiln_store *st = lock >= 0 ? store_open (root, err) : NULL;
  struct nl *nl = st ? nl_open (err) : NULL;
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  int ret = -1;
  if (nl && endpoints_list (st, network_id, id, &eps, &n, err) == 0)
    {
      for (size_t i = 0; i < n; i++)
        release_endpoint (st, nl, &eps[i], true, -1);
      ret = 0;
    }
  endpoint_recs_free (eps, n);
  nl_close (nl);
  store_close (st);
  unlock_fd (lock);
  return ret;
}

void
net_release (const char *root, const char *id)
{
  struct kiln_err ignored = {0};
  int lock = store_net_lock (root, &ignored);
  struct kiln_store *st = lock >= 0 ? store_open (root, &ignored) : NULL;
  struct nl *nl = st ? nl_open (&ignored) : NULL;
  struct endpoint_rec *eps = NULL;
  size_t n = 0;
  if (nl && endpoints_list (st, NULL, id, &eps, &n, &ignored) == 0)
    for (size_t i = 0; i < n; i++)
      release_endpoint (st, nl, &eps[i], false, lock);
  endpoint_recs_free (eps, n);
  kiln_err_clear (&ignored);
  nl_close (nl);
  store_close (st);
  unlock_fd (lock);
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

/* ---------- what inspect, ps and port show ---------- */

static const char *
mode_network (const json_t *config)
{
  const char *mode = net_cfg_str (json_object_get (config, "HostConfig"), "NetworkMode");
  if (!*mode || strcmp (mode, "default") == 0)
    return geteuid () == 0 ? DEFAULT_NETWORK : "default";
  return mode;
}

/* docker's NetworkSettings.Networks.<net>: `e` NULL for a container not running. */
static json_t *
endpoint_json (struct kiln_store *st, const char *id, const char *netname, const struct endpoint_rec *e,
               const json_t *epc, const char **gw_out, int *prefix_out)
{
  struct kiln_err ig = {0};
  struct net_rec rec = {0};
  bool known = networks_get (st, e ? e->network : netname, &rec, &ig) == 1;
  kiln_err_clear (&ig);
  int prefix = 0;
  struct net_cidr c;
  if (e && known && net_cidr_parse (net_cfg_str (rec.config, "Subnet"), false, &c, &ig) == 0)
    prefix = c.prefix;
  kiln_err_clear (&ig);
  const char *gw = e && known ? net_cfg_str (rec.config, "Gateway") : "";
  json_t *aliases = json_object_get (epc, "Aliases");
  json_t *ipam = json_object_get (epc, "IPAMConfig");
  json_t *j = json_pack ("{s:O, s:n, s:O, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}", "IPAMConfig",
                         ipam ? ipam : json_null (), "Links", "Aliases",
                         json_array_size (aliases) ? aliases : json_null (), "NetworkID", known ? rec.id : "",
                         "EndpointID", e ? e->container : "", "Gateway", gw, "IPAddress", e ? e->ip : "",
                         "IPPrefixLen", prefix, "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
                         "MacAddress", "", "DriverOpts");
  if (gw_out)
    *gw_out = gw && *gw ? xstrdup (gw) : NULL;
  if (prefix_out)
    *prefix_out = prefix;
  net_rec_clear (&rec);
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
  json_object_foreach (json_object_get (json_object_get (config, "Config"), "ExposedPorts"), k, v)
      json_object_set_new (ports, k, json_null ());
  const char *mode = mode_network (config);
  const json_t *eps_config = json_object_get (json_object_get (config, "NetworkingConfig"), "EndpointsConfig");
  const char *ip = "";
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
                           endpoint_json (st, id, rec.name, &eps[i], json_object_get (eps_config, rec.name),
                                          dflt ? &g : NULL, dflt ? &pl : NULL));
      if (dflt)
        {
          ip = eps[i].ip;
          gw = (char *) g;
          prefix = pl;
          dflt_ep = true;
        }
      net_rec_clear (&rec);
    }
  /* The networks it is configured for (not running: empty). */
  if (n == 0 && strncmp (mode, "container:", 10) != 0) /* docker: container:C has no network of its own */
    {
      const char *name = strcmp (mode, "default") == 0 ? DEFAULT_NETWORK : mode;
      json_object_set_new (networks, name, endpoint_json (st, id, name, NULL, json_object_get (eps_config, name), NULL,
                                                          NULL));
      json_object_foreach ((json_t *) eps_config, k, v)
      {
        if (json_object_get (networks, k) == NULL)
          json_object_set_new (networks, k, endpoint_json (st, id, k, NULL, v, NULL, NULL));
      }
    }
  json_t *s = json_pack ("{s:s, s:s, s:b, s:s, s:i, s:o, s:s, s:n, s:n, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:o}",
                         "Bridge", "", "SandboxID", n ? id : "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                         "LinkLocalIPv6PrefixLen", 0, "Ports", ports, "SandboxKey", "", "SecondaryIPAddresses",
                         "SecondaryIPv6Addresses", "EndpointID", dflt_ep ? id : "", "Gateway", gw ? gw : "",
                         "GlobalIPv6PrefixLen", 0, "IPAddress", ip, "IPPrefixLen", prefix, "IPv6Gateway", "",
                         "MacAddress", "", "Networks", networks);
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

int
net_check (struct kiln_store *st, bool repair, struct strv *found, struct kiln_err *err)
{
  int lock = store_net_lock (store_root (st), err);
  if (lock < 0)
    return -1;
  struct nl *nl = nl_open (err);
  if (nl == NULL)
    {
      unlock_fd (lock);
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
        release_endpoint (st, nl, &eps[i], true, -1);
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
  /* DNAT elements that lead into this store's subnets but to no live endpoint. A
   * subnet is this store's only while its bridge is up: once the bridge is gone
   * another store may have chosen the same subnet, and its elements are its own. */
  _cleanup_strv_ struct strv bridges = STRV_INIT;
  if (nl_links (nl, "kiln-", &bridges, err) < 0)
    goto out;
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
          for (size_t l = 0; l < live_ips.n && !live; l++)
            live = strcmp (live_ips.v[l], vip) == 0;
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
  /* Bridges (and their accept rules) of networks nobody is on. */
  struct endpoint_rec *left = NULL;
  size_t nleft = 0;
  for (size_t k = 0; k < nn; k++)
    {
      if (endpoints_list (st, nets[k].id, NULL, &left, &nleft, err) < 0)
        goto out;
      endpoint_recs_free (left, nleft);
      const char *bridge = net_cfg_str (nets[k].config, "Bridge");
      if (nleft || !*bridge || nl_link_index (nl, bridge) == 0)
        continue;
      struct buf b = BUF_INIT;
      buf_printf (&b, "bridge %s of network %s, which no container uses", bridge, nets[k].name);
      strv_push_owned (found, buf_steal (&b));
      if (repair)
        teardown_network (st, nl, nets[k].id, -1);
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
  unlock_fd (lock);
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
