/* net/netlink.c — rtnetlink requests through libmnl. */
#include "net/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

struct nl
{
  struct mnl_socket *sock;
  unsigned portid;
  unsigned seq;
  int ioctl_fd; /* an AF_INET socket of the same namespace, for if_nametoindex's ioctl */
};

struct nl *
nl_open (struct kiln_err *err)
{
  struct mnl_socket *s = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
  if (s == NULL || mnl_socket_bind (s, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int e = errno;
      if (s)
        mnl_socket_close (s);
      kiln_err_set (err, e, "opening a netlink socket: %s", strerror (e));
      return NULL;
    }
  struct nl *nl = xcalloc (1, sizeof *nl);
  nl->sock = s;
  nl->portid = mnl_socket_get_portid (s);
  nl->seq = (unsigned) time (NULL);
  nl->ioctl_fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  return nl;
}

struct nl *
nl_open_in (int netns_fd, struct kiln_err *err)
{
  int self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    {
      kiln_err_set (err, errno, "/proc/self/ns/net: %s", strerror (errno));
      return NULL;
    }
  struct nl *nl = NULL;
  if (setns (netns_fd, CLONE_NEWNET) < 0)
    kiln_err_set (err, errno, "joining the container's network namespace: %s", strerror (errno));
  else
    {
      nl = nl_open (err);
      if (setns (self, CLONE_NEWNET) < 0)
        abort (); /* kiln would go on in the container's network: never */
    }
  close (self);
  return nl;
}

void
nl_close (struct nl *nl)
{
  if (nl == NULL)
    return;
  mnl_socket_close (nl->sock);
  if (nl->ioctl_fd >= 0)
    close (nl->ioctl_fd);
  free (nl);
}

unsigned
nl_link_index (struct nl *nl, const char *name)
{
  struct ifreq ifr = {0};
  if (strlen (name) >= IFNAMSIZ || nl->ioctl_fd < 0)
    return 0;
  strcpy (ifr.ifr_name, name);
  if (ioctl (nl->ioctl_fd, SIOCGIFINDEX, &ifr) < 0)
    return 0;
  return (unsigned) ifr.ifr_ifindex;
}

/* Sends one request and reads its acknowledgement; -1 with errno. */
static int
talk (struct nl *nl, struct nlmsghdr *h)
{
  h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  h->nlmsg_seq = ++nl->seq;
  if (mnl_socket_sendto (nl->sock, h, h->nlmsg_len) < 0)
    return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  ssize_t r = mnl_socket_recvfrom (nl->sock, buf, sizeof buf);
  if (r < 0)
    return -1;
  return mnl_cb_run (buf, (size_t) r, h->nlmsg_seq, nl->portid, NULL, NULL) < 0 ? -1 : 0;
}

static struct nlmsghdr *
link_msg (char *buf, int type, int flags, unsigned index)
{
  struct nlmsghdr *h = mnl_nlmsg_put_header (buf);
  h->nlmsg_type = (uint16_t) type;
  h->nlmsg_flags = (uint16_t) flags;
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header (h, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = (int) index;
  return h;
}

int
nl_bridge_add (struct nl *nl, const char *name, unsigned mtu, struct kiln_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = link_msg (buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz (h, IFLA_IFNAME, name);
  if (mtu)
    mnl_attr_put_u32 (h, IFLA_MTU, mtu);
  struct nlattr *li = mnl_attr_nest_start (h, IFLA_LINKINFO);
  mnl_attr_put_strz (h, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end (h, li);
  if (talk (nl, h) < 0)
    return kiln_err_set (err, errno, "creating bridge %s: %s", name, strerror (errno));
  return 0;
}

int
nl_veth_add (struct nl *nl, const char *host, unsigned master, unsigned mtu, int peer_netns_fd, const char *peer_name,
             const uint8_t *peer_mac, struct kiln_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = link_msg (buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  /* This end up as it is made: a round trip fewer. */
  struct ifinfomsg *ifm = mnl_nlmsg_get_payload (h);
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz (h, IFLA_IFNAME, host);
  if (master)
    mnl_attr_put_u32 (h, IFLA_MASTER, master);
  if (mtu)
    mnl_attr_put_u32 (h, IFLA_MTU, mtu);
  struct nlattr *li = mnl_attr_nest_start (h, IFLA_LINKINFO);
  mnl_attr_put_strz (h, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start (h, IFLA_INFO_DATA);
  struct nlattr *peer = mnl_attr_nest_start (h, VETH_INFO_PEER);
  struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header (h, sizeof *pifm);
  pifm->ifi_family = AF_UNSPEC; /* not up here: the kernel opens it before the pair is joined (ENOTCONN) */
  mnl_attr_put_strz (h, IFLA_IFNAME, peer_name);
  if (peer_mac)
    mnl_attr_put (h, IFLA_ADDRESS, 6, peer_mac);
  if (mtu)
    mnl_attr_put_u32 (h, IFLA_MTU, mtu);
  mnl_attr_put_u32 (h, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
  mnl_attr_nest_end (h, peer);
  mnl_attr_nest_end (h, data);
  mnl_attr_nest_end (h, li);
  if (talk (nl, h) < 0)
    return kiln_err_set (err, errno, "creating veth %s: %s", host, strerror (errno));
  return 0;
}

int
nl_link_up (struct nl *nl, unsigned index, struct kiln_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = link_msg (buf, RTM_NEWLINK, 0, index);
  struct ifinfomsg *ifm = mnl_nlmsg_get_payload (h);
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  if (talk (nl, h) < 0)
    return kiln_err_set (err, errno, "setting link %u up: %s", index, strerror (errno));
  return 0;
}

int
nl_link_del (struct nl *nl, const char *name, struct kiln_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = link_msg (buf, RTM_DELLINK, 0, 0);
  mnl_attr_put_strz (h, IFLA_IFNAME, name);
  if (talk (nl, h) < 0 && errno != ENODEV)
    return kiln_err_set (err, errno, "deleting link %s: %s", name, strerror (errno));
  return 0;
}

int
nl_addr_add (struct nl *nl, unsigned index, uint32_t ip, int prefix, struct kiln_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = mnl_nlmsg_put_header (buf);
  h->nlmsg_type = RTM_NEWADDR;
  h->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header (h, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char) prefix;
  ifa->ifa_index = index;
  uint32_t a = htonl (ip);
  uint32_t bcast = htonl (ip | (prefix == 0 ? ~0u : ~(~0u << (32 - prefix))));
  mnl_attr_put_u32 (h, IFA_LOCAL, a);
  mnl_attr_put_u32 (h, IFA_ADDRESS, a);
  if (prefix < 31)
    mnl_attr_put_u32 (h, IFA_BROADCAST, bcast);
  if (talk (nl, h) < 0 && errno != EEXIST)
    {
      char s[16];
      net_ip_format (ip, s);
      return kiln_err_set (err, errno, "adding address %s/%d: %s", s, prefix, strerror (errno));
    }
  return 0;
}

int
nl_route_default (struct nl *nl, unsigned index, uint32_t gateway, struct kiln_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = mnl_nlmsg_put_header (buf);
  h->nlmsg_type = RTM_NEWROUTE;
  h->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  struct rtmsg *rt = mnl_nlmsg_put_extra_header (h, sizeof *rt);
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32 (h, RTA_GATEWAY, htonl (gateway));
  mnl_attr_put_u32 (h, RTA_OIF, index);
  if (talk (nl, h) < 0)
    return kiln_err_set (err, errno, "adding the default route: %s", strerror (errno));
  return 0;
}

/* The dump's last message (or an error) is in these `len` bytes. */
static bool
dump_ends_in (const void *buf, size_t len)
{
  int left = (int) len;
  for (const struct nlmsghdr *m = buf; mnl_nlmsg_ok (m, left); m = mnl_nlmsg_next (m, &left))
    if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR)
      return true;
  return false;
}

/* A dump: every reply message goes to `cb`.  The kernel marks a dump that the
 * table changed under (NLM_F_DUMP_INTR, which libmnl reports as EINTR): links
 * come and go while other stores' bridges are made or torn down, and a dump
 * missing one would make a live bridge look gone.  Such a dump is read to its
 * end, `reset` forgets what `cb` gathered, and it is asked again. */
#define DUMP_TRIES 8
static int
dump (struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void (*reset) (void *), void *ud)
{
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  for (int tries = 0; tries < DUMP_TRIES; tries++)
    {
      h->nlmsg_seq = ++nl->seq;
      if (mnl_socket_sendto (nl->sock, h, h->nlmsg_len) < 0)
        return -1;
      for (;;)
        {
          ssize_t r = mnl_socket_recvfrom (nl->sock, buf, sizeof buf);
          if (r < 0)
            return -1;
          int ret = mnl_cb_run (buf, (size_t) r, h->nlmsg_seq, nl->portid, cb, ud);
          if (ret == MNL_CB_ERROR && errno == EINTR)
            {
              while (!dump_ends_in (buf, (size_t) r))
                if ((r = mnl_socket_recvfrom (nl->sock, buf, sizeof buf)) < 0)
                  return -1;
              reset (ud);
              break;
            }
          if (ret <= MNL_CB_STOP)
            return ret < 0 ? -1 : 0;
        }
    }
  errno = EINTR;
  return -1;
}

struct routes
{
  struct net_cidr *v;
  size_t n;
};

static int
route_cb (const struct nlmsghdr *h, void *ud)
{
  struct routes *r = ud;
  const struct rtmsg *rt = mnl_nlmsg_get_payload (h);
  if (rt->rtm_family != AF_INET || rt->rtm_type != RTN_UNICAST)
    return MNL_CB_OK;
  uint32_t dst = 0;
  const struct nlattr *a;
  mnl_attr_for_each (a, h, sizeof *rt) if (mnl_attr_get_type (a) == RTA_DST) dst = ntohl (mnl_attr_get_u32 (a));
  if (r->n < 4096)
    {
      r->v = xrealloc (r->v, (r->n + 1) * sizeof *r->v);
      struct net_cidr c = {.addr = dst, .prefix = rt->rtm_dst_len};
      c.addr &= net_cidr_mask (&c);
      r->v[r->n++] = c;
    }
  return MNL_CB_OK;
}

static void
routes_reset (void *ud)
{
  struct routes *r = ud;
  free (r->v);
  *r = (struct routes){0};
}

int
nl_routes (struct nl *nl, struct net_cidr **out, size_t *n, struct kiln_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = mnl_nlmsg_put_header (buf);
  h->nlmsg_type = RTM_GETROUTE;
  struct rtmsg *rt = mnl_nlmsg_put_extra_header (h, sizeof *rt);
  rt->rtm_family = AF_INET;
  struct routes r = {0};
  if (dump (nl, h, route_cb, routes_reset, &r) < 0)
    {
      free (r.v);
      return kiln_err_set (err, errno, "listing the host's routes: %s", strerror (errno));
    }
  *out = r.v;
  *n = r.n;
  return 0;
}

struct links
{
  const char *prefix;
  struct strv *names;
  size_t first; /* names before the dump's: kept by a reset */
};

static void
links_reset (void *ud)
{
  struct links *l = ud;
  strv_truncate (l->names, l->first);
}

static int
link_cb (const struct nlmsghdr *h, void *ud)
{
  struct links *l = ud;
  const struct ifinfomsg *ifm = mnl_nlmsg_get_payload (h);
  const struct nlattr *a;
  mnl_attr_for_each (a, h, sizeof *ifm) if (mnl_attr_get_type (a) == IFLA_IFNAME)
  {
    const char *name = mnl_attr_get_str (a);
    if (strncmp (name, l->prefix, strlen (l->prefix)) == 0 && l->names->n < 65536)
      strv_push (l->names, name);
  }
  return MNL_CB_OK;
}

int
nl_links (struct nl *nl, const char *prefix, struct strv *names, struct kiln_err *err)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *h = link_msg (buf, RTM_GETLINK, 0, 0);
  struct links l = {.prefix = prefix, .names = names, .first = names->n};
  if (dump (nl, h, link_cb, links_reset, &l) < 0)
    return kiln_err_set (err, errno, "listing links: %s", strerror (errno));
  return 0;
}
