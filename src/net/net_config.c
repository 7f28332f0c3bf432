/* net/net_config.c — a container's network settings in config.json: its mode,
 * -p/--expose/-P, --dns and --add-host as docker records them. */
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
#include "util/jsonutil.h"
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

/* ---------- config.json: -p, --expose, -P ---------- */

/* The network a container's NetworkMode names ("default" is "bridge"). */
const char *
net_mode_name (const char *mode)
{
  return mode == NULL || !*mode || strcmp (mode, "default") == 0 ? DEFAULT_NETWORK : mode;
}

int
net_config_into (const struct container_opts *o, const json_t *image_config, json_t *top, struct kiln_err *err)
{
  json_t *config = json_object_get (top, "Config"), *host_config = json_object_get (top, "HostConfig");
  const char *net = net_mode_name (o->network);
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
    if (net_add_host_check (o->add_hosts.v[i], err) < 0)
      return -1;
  for (size_t i = 0; i < o->dns.n; i++)
    if (net_ip_parse (o->dns.v[i], &a) < 0)
      return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--dns\" flag: %s is not an ip address",
                           o->dns.v[i], o->dns.v[i]);
  json_object_set_new (host_config, "ExtraHosts", o->add_hosts.n ? json_strings (&o->add_hosts, 0) : json_null ());
  json_object_set_new (host_config, "Dns", json_strings (&o->dns, 0));
  json_object_set_new (host_config, "DnsSearch", json_strings (&o->dns_search, 0));
  json_object_set_new (host_config, "DnsOptions", json_strings (&o->dns_options, 0));
  if (o->aliases.n || o->ip)
    {
      json_t *ep = json_pack ("{s:o}", "Aliases", json_strings (&o->aliases, 0));
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
    json_object_set_new_after (config, "AttachStderr", "ExposedPorts", exposed); /* docker's place */
  else
    json_decref (exposed);
  json_object_set_new (host_config, "PortBindings", bindings);
  json_object_set_new (host_config, "PublishAllPorts", json_boolean (publish_all));
  return 0;
}
int
net_add_host_check (const char *h, struct kiln_err *err)
{
  const char *colon = strchr (h, ':');
  uint32_t a;
  /* opts.ValidateExtraHost's words */
  if (colon == NULL || colon == h)
    return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--add-host\" flag: bad format for add-host: \"%s\"",
                         h, h);
  if (net_ip_parse (colon + 1, &a) < 0 && strcmp (colon + 1, "host-gateway") != 0)
    return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--add-host\" flag: invalid IP address "
                                           "in add-host: \"%s\"", h, colon ? colon + 1 : "");
  /* One line of /etc/hosts: a name with no blank or control character. */
  for (const char *p = h; p < colon; p++)
    if ((unsigned char) *p <= ' ' || *p == 0x7f)
      return kiln_err_set (err, KILN_EUSAGE, "invalid argument \"%s\" for \"--add-host\" flag: invalid host name", h);
  return 0;
}

void
net_host_address (char out[16], const char *fallback)
{
  snprintf (out, 16, "%s", fallback);
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  /* A connected UDP socket sends nothing: the kernel only picks the route. */
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons (53)};
  inet_pton (AF_INET, "192.0.2.1", &to.sin_addr);
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  if (connect (fd, (struct sockaddr *) &to, sizeof to) == 0 && getsockname (fd, (struct sockaddr *) &me, &len) == 0
      && me.sin_addr.s_addr != 0)
    inet_ntop (AF_INET, &me.sin_addr, out, 16);
  close (fd);
}

void
net_add_host_line (struct buf *out, const char *h, const char *gateway)
{
  const char *colon = h ? strchr (h, ':') : NULL;
  if (colon == NULL)
    return;
  const char *addr = strcmp (colon + 1, "host-gateway") == 0 ? gateway : colon + 1;
  buf_printf (out, "%s\t%.*s\n", addr, (int) (colon - h), h);
}

