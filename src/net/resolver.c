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
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

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
  struct buf b = BUF_INIT;
  int fd = open ("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      struct kiln_err ig = {0};
      read_all (fd, 65536, &b, "/etc/resolv.conf", &ig);
      kiln_err_clear (&ig);
      close (fd);
    }
  char *text = buf_steal (&b);
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

/* Asks the upstream servers in turn (2 s each); the answer's length, 0 for none. */
static ssize_t
forward (int up, const uint32_t *servers, size_t n, const uint8_t *q, size_t qlen, uint8_t *ans, size_t cap)
{
  for (size_t i = 0; i < n; i++)
    {
      struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons (53), .sin_addr.s_addr = htonl (servers[i])};
      if (sendto (up, q, qlen, 0, (struct sockaddr *) &sa, sizeof sa) < 0)
        continue;
      struct pollfd p = {.fd = up, .events = POLLIN};
      while (poll (&p, 1, 2000) > 0)
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

static _Noreturn void
serve (const char *root, const char *self, int ls, int up, const uint32_t *servers, size_t n_servers)
{
  uint8_t q[512], ans[1500];
  for (;;)
    {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (ls, q, sizeof q, 0, (struct sockaddr *) &from, &fl);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          _exit (1);
        }
      char name[256];
      uint16_t qtype;
      size_t qend;
      if (dns_question (q, (size_t) n, name, &qtype, &qend) < 0)
        continue;
      uint32_t ips[16];
      size_t found = lookup (root, self, name, ips, 16);
      size_t len = 0;
      if (found)
        len = dns_answer (q, qend, ips, qtype == DNS_TYPE_A || qtype == DNS_TYPE_ANY ? found : 0, 0, ans, sizeof ans);
      else
        {
          ssize_t r = forward (up, servers, n_servers, q, (size_t) n, ans, sizeof ans);
          len = r > 0 ? (size_t) r : dns_answer (q, qend, NULL, 0, 2 /* SERVFAIL */, ans, sizeof ans);
        }
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
      if (up < 0 || setns (netns_fd, CLONE_NEWNET) < 0)
        _exit (1);
      int ls = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons (53), .sin_addr.s_addr = htonl (0x7f00000b)};
      if (ls < 0 || bind (ls, (struct sockaddr *) &sa, sizeof sa) < 0)
        _exit (1);
      /* Nothing else of the monitor's: its notify socket, its log, the namespace. */
      for (int fd = 3; fd < 1024; fd++)
        if (fd != up && fd != ls && fd != ready[1])
          close (fd);
      if (write (ready[1], "r", 1) != 1)
        _exit (1);
      close (ready[1]);
      serve (root_copy, net_copy, ls, up, servers, n_servers);
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
