/* net/net_ports.c — published ports: the host port held as docker's proxy holds it
 * and the DNAT element that sends it to the container. */
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
int
net_publish_ports (struct kiln_store *st, const char *id, const json_t *config, uint32_t cip, struct net_attachment *a,
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
