/* net/resolver.c — the per-container resolver of a user network (the header
 * says why it is there and how it answers). */
#include "net/resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/dns.h"
#include "net/internal.h"
#include "store/networks.h"
#include "store/store.h"
#include "util/cleanup.h"

#define MAX_UPSTREAM 3

/* The servers questions go on to: --dns, else the host's resolv.conf (IPv4 ones). */
static size_t
upstreams (const json_t *config, uint32_t out[MAX_UPSTREAM])
{
  size_t n = 0;
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (json_object_get (config, "HostConfig"), "Dns"), i, v)
  {
    if (n < MAX_UPSTREAM && net_ip_parse (json_string_value (v), &out[n]) == 0)
      n++;
  }
  if (n)
    return n;
  char *text = net_host_resolv_conf ();
  for (char *line = text, *next; line && *line && n < MAX_UPSTREAM; line = next)
    {
      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      char addr[64];
      if (sscanf (line, "nameserver %63s", addr) == 1 && net_ip_parse (addr, &out[n]) == 0)
        n++;
    }
  free (text);
  return n;
}

/* The addresses `name` has now on the networks of container `self` (its user
 * networks: the default bridge resolves no names). */
static size_t
lookup (const char *root, const char *self, const char *name, uint32_t *ips, size_t cap)
{
  struct kiln_err ig = {0};
  struct kiln_store *st = store_open (root, &ig);
  store_keep_wal_on_close (st); /* one a question */
  struct endpoint_rec *mine = NULL, *eps = NULL;
  size_t n_mine = 0, n = 0, found = 0;
  if (st)
    endpoints_list (st, NULL, self, &mine, &n_mine, &ig);
  for (size_t m = 0; m < n_mine; m++)
    {
      struct net_rec net = {0};
      bool user = networks_get (st, mine[m].network, &net, &ig) == 1 && strcmp (net.name, "bridge") != 0;
      net_rec_clear (&net);
      kiln_err_clear (&ig);
      struct endpoint_rec *more = NULL;
      size_t n_more = 0;
      if (user && endpoints_list (st, mine[m].network, NULL, &more, &n_more, &ig) == 0 && n_more)
        {
          eps = xrealloc (eps, (n + n_more) * sizeof *eps);
          memcpy (eps + n, more, n_more * sizeof *eps);
          n += n_more;
        }
      free (more);
    }
  endpoint_recs_free (mine, n_mine);
  for (size_t i = 0; i < n && found < cap; i++)
    {
      bool match = strcasecmp (net_cfg_str (eps[i].info, "Name"), name) == 0
                   || strcasecmp (net_cfg_str (eps[i].info, "Hostname"), name) == 0;
      size_t k;
      json_t *al;
      json_array_foreach (json_object_get (eps[i].info, "Aliases"), k, al)
      {
        if (json_string_value (al) && strcasecmp (json_string_value (al), name) == 0)
          match = true;
      }
      if (match && net_ip_parse (eps[i].ip, &ips[found]) == 0)
        found++;
    }
  endpoint_recs_free (eps, n);
  store_close (st);
  kiln_err_clear (&ig);
  return found;
}

/* Asks the upstream servers in turn (2 s a wait); the answer's length, 0 for none.
 * The socket is connected to the server asked, so the kernel drops datagrams
 * from anyone else (a container of another network can reach the host's port
 * and could otherwise forge an answer with a guessed id, or keep the wait going
 * with a stream of strays); a server's own strays end the wait after 16. */
static ssize_t
forward (int up, const uint32_t *servers, size_t n, const uint8_t *q, size_t qlen, uint8_t *ans, size_t cap)
{
  for (size_t i = 0; i < n; i++)
    {
      struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons (53), .sin_addr.s_addr = htonl (servers[i])};
      if (connect (up, (struct sockaddr *) &sa, sizeof sa) < 0 || send (up, q, qlen, 0) < 0)
        continue;
      struct pollfd p = {.fd = up, .events = POLLIN};
      for (int strays = 0; strays < 16 && poll (&p, 1, 2000) > 0; strays++)
        {
          ssize_t r = recv (up, ans, cap, 0);
          if (r >= 12 && ans[0] == q[0] && ans[1] == q[1])
            return r;
          if (r < 0)
            break;
        }
    }
  return 0;
}

/* The answer to query `q` (`n` bytes) into ans[cap]: the network's names from
 * the store, anything else from upstream (`ask`), SERVFAIL when upstream says
 * nothing.  Its length, 0 for no answer (not a question kiln reads). */
static size_t
answer (const char *root, const char *self, const uint8_t *q, size_t n, uint8_t *ans, size_t cap,
        ssize_t (*ask) (void *ud, const uint8_t *q, size_t qlen, uint8_t *ans, size_t cap), void *ud)
{
  char name[256];
  uint16_t qtype;
  size_t qend;
  if (dns_question (q, n, name, &qtype, &qend) < 0)
    return 0;
  uint32_t ips[16];
  size_t found = lookup (root, self, name, ips, 16);
  if (found)
    return dns_answer (q, qend, ips, qtype == DNS_TYPE_A || qtype == DNS_TYPE_ANY ? found : 0, 0, ans, cap);
  ssize_t r = ask (ud, q, n, ans, cap);
  return r > 0 ? (size_t) r : dns_answer (q, qend, NULL, 0, 2 /* SERVFAIL */, ans, cap);
}

struct upstream
{
  int udp;      /* a socket of the host's namespace */
  int host_ns;  /* the host's network namespace, for TCP sockets made per question */
  int own_ns;   /* the container's */
  const uint32_t *servers;
  size_t n;
};

static ssize_t
ask_udp (void *ud, const uint8_t *q, size_t qlen, uint8_t *ans, size_t cap)
{
  struct upstream *u = ud;
  return forward (u->udp, u->servers, u->n, q, qlen, ans, cap);
}

/* Reads exactly `len` bytes by `deadline` (CLOCK_MONOTONIC ns): 0, -1 on anything
 * else (a client that sends a byte now and then must not hold the resolver). */
static int
read_full (int fd, uint8_t *p, size_t len, uint64_t deadline)
{
  while (len)
    {
      uint64_t now = net_monotonic_ns ();
      if (now >= deadline)
        return -1;
      struct pollfd pf = {.fd = fd, .events = POLLIN};
      if (poll (&pf, 1, (int) ((deadline - now) / 1000000u) + 1) <= 0)
        return -1;
      ssize_t r = read (fd, p, len);
      if (r <= 0)
        {
          if (r < 0 && errno == EINTR)
            continue;
          return -1;
        }
      p += r;
      len -= (size_t) r;
    }
  return 0;
}

/* Writes a DNS message over TCP: its length (two bytes), then it. */
static int
write_msg (int fd, const uint8_t *msg, size_t len)
{
  uint8_t hdr[2] = {(uint8_t) (len >> 8), (uint8_t) len};
  struct pollfd pf = {.fd = fd, .events = POLLOUT};
  if (poll (&pf, 1, 2000) <= 0 || write (fd, hdr, 2) != 2)
    return -1;
  size_t off = 0;
  while (off < len)
    {
      if (poll (&pf, 1, 2000) <= 0)
        return -1;
      ssize_t w = write (fd, msg + off, len - off);
      if (w <= 0)
        return -1;
      off += (size_t) w;
    }
  return 0;
}

/* Reads one DNS message over TCP into buf[cap] by `deadline`: its length, -1 on error. */
static ssize_t
read_msg (int fd, uint8_t *buf, size_t cap, uint64_t deadline)
{
  uint8_t hdr[2];
  if (read_full (fd, hdr, 2, deadline) < 0)
    return -1;
  size_t len = (size_t) hdr[0] << 8 | hdr[1];
  if (len < 12 || len > cap || read_full (fd, buf, len, deadline) < 0)
    return -1;
  return (ssize_t) len;
}

/* Asks the upstream servers in turn over TCP (a socket of the host's namespace,
 * made there: sockets stay in the namespace they were made in). */
static ssize_t
ask_tcp (void *ud, const uint8_t *q, size_t qlen, uint8_t *ans, size_t cap)
{
  struct upstream *u = ud;
  for (size_t i = 0; i < u->n; i++)
    {
      if (setns (u->host_ns, CLONE_NEWNET) < 0)
        return 0;
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (setns (u->own_ns, CLONE_NEWNET) < 0)
        _exit (1); /* never answer from the host's namespace */
      if (fd < 0)
        return 0;
      struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons (53), .sin_addr.s_addr = htonl (u->servers[i])};
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      int e = 0;
      socklen_t el = sizeof e;
      ssize_t r = -1;
      if ((connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0 || errno == EINPROGRESS) && poll (&pf, 1, 2000) > 0
          && getsockopt (fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0 && write_msg (fd, q, qlen) == 0)
        r = read_msg (fd, ans, cap, net_monotonic_ns () + 4000000000ull);
      close (fd);
      if (r >= 12 && ans[0] == q[0] && ans[1] == q[1])
        return r;
    }
  return 0;
}

/* One DNS-over-TCP connection (a client retries there when a UDP answer was
 * truncated): questions answered until it closes, stays quiet for 2 s or has
 * had 10 s (the resolver answers one connection at a time). */
static void
serve_tcp (const char *root, const char *self, int conn, struct upstream *u)
{
  static uint8_t q[65535], ans[65535];
  uint64_t end = net_monotonic_ns () + 10000000000ull;
  for (int k = 0; k < 64; k++)
    {
      uint64_t quiet = net_monotonic_ns () + 2000000000ull;
      ssize_t n = read_msg (conn, q, sizeof q, quiet < end ? quiet : end);
      if (n < 0)
        break;
      size_t len = answer (root, self, q, (size_t) n, ans, sizeof ans, ask_tcp, u);
      if (len == 0 || write_msg (conn, ans, len) < 0)
        break;
    }
  close (conn);
}

static _Noreturn void
serve (const char *root, const char *self, int ls, int lt, struct upstream *u)
{
  static uint8_t q[512], ans[65535];
  for (;;)
    {
      struct pollfd p[2] = {{.fd = ls, .events = POLLIN}, {.fd = lt, .events = POLLIN}};
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          _exit (1);
        }
      if (p[1].revents & POLLIN)
        {
          int conn = accept4 (lt, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (conn >= 0)
            serve_tcp (root, self, conn, u);
        }
      if (!(p[0].revents & POLLIN))
        continue;
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (ls, q, sizeof q, MSG_DONTWAIT, (struct sockaddr *) &from, &fl);
      if (n < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          _exit (1);
        }
      size_t len = answer (root, self, q, (size_t) n, ans, sizeof ans, ask_udp, u);
      if (len)
        sendto (ls, ans, len, 0, (struct sockaddr *) &from, fl);
    }
}

pid_t
net_resolver_start (const char *root, const char *container_id, int netns_fd, const json_t *config, struct kiln_err *err)
{
  uint32_t servers[MAX_UPSTREAM];
  size_t n_servers = upstreams (config, servers);
  _cleanup_free_ char *root_copy = xstrdup (root), *net_copy = xstrdup (container_id);
  int ready[2];
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return kiln_err_set (err, errno, "pipe: %s", strerror (errno));
  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (ready[0]);
      close (ready[1]);
      return kiln_err_set (err, e, "starting the network's resolver: %s", strerror (e));
    }
  if (pid == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != parent)
        _exit (0);
      for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
          signal (sig, SIG_DFL);
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0)
        dup2 (null, 0), dup2 (null, 1), dup2 (null, 2);
      /* The host's resolvers are reached from the host's namespace. */
      int up = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      int host_ns = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
      if (up < 0 || host_ns < 0 || setns (netns_fd, CLONE_NEWNET) < 0)
        _exit (1);
      int own_ns = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
      int ls = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      int lt = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons (53), .sin_addr.s_addr = htonl (0x7f00000b)};
      if (own_ns < 0 || ls < 0 || bind (ls, (struct sockaddr *) &sa, sizeof sa) < 0 || lt < 0
          || setsockopt (lt, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
          || bind (lt, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (lt, 16) < 0)
        _exit (1);
      /* Nothing else of the monitor's: its notify socket, its log, the namespace. */
      for (int fd = 3; fd < 1024; fd++)
        if (fd != up && fd != ls && fd != lt && fd != host_ns && fd != own_ns && fd != ready[1])
          close (fd);
      if (write (ready[1], "r", 1) != 1)
        _exit (1);
      close (ready[1]);
      struct upstream u = {.udp = up, .host_ns = host_ns, .own_ns = own_ns, .servers = servers, .n = n_servers};
      serve (root_copy, net_copy, ls, lt, &u);
    }
  close (ready[1]);
  char c;
  ssize_t r;
  while ((r = read (ready[0], &c, 1)) < 0 && errno == EINTR)
    ;
  close (ready[0]);
  if (r != 1)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      return kiln_err_set (err, EIO, "the network's resolver did not start on 127.0.0.11:53");
    }
  return pid;
}
