/* net/net_bridge.c — the shared side of networks: the locks, bridge names and the
 * address pool, a network's bridge made on first use and torn down after its last
 * endpoint, an endpoint released. */
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
#include <time.h>
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

#define HOST_LOCK_DIR "/run/kiln"

/* ---------- locks, names, settings ---------- */

static int
flock_path (const char *path, bool create, struct kiln_err *err)
{
  int fd = open (path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
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

int
net_store_lock (const char *root, struct kiln_err *err)
{
  _cleanup_buf_ struct buf p = BUF_INIT;
  buf_printf (&p, "%s/net.lock", root);
  return flock_path (buf_str (&p), true, err);
}

/* The lock of a store that may be going: never made again in a root being
 * removed (rm -rf of a store would find it there and fail). */
static int
net_store_lock_existing (const char *root, struct kiln_err *err)
{
  _cleanup_buf_ struct buf p = BUF_INIT;
  buf_printf (&p, "%s/net.lock", root);
  return flock_path (buf_str (&p), false, err);
}

static int
host_net_lock (struct kiln_err *err)
{
  if (mkdir (HOST_LOCK_DIR, 0700) < 0 && errno != EEXIST)
    return kiln_err_set (err, errno, "%s: %s", HOST_LOCK_DIR, strerror (errno));
  return flock_path (HOST_LOCK_DIR "/net.lock", true, err);
}

void
net_unlock_fd (int fd)
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
unsigned
net_ensure_bridge (struct kiln_store *st, struct nl *nl, struct net_rec *rec, struct kiln_err *err)
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
  net_unlock_fd (hl);
  return idx;
fail:
  free (routes);
  net_unlock_fd (hl);
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
  net_unlock_fd (hl);
}

/* How long a network's bridge outlives its last endpoint (KILN_NET_IDLE_MS,
 * default 2000): a bridge costs ~30 ms to make (netlink, nftables, sysctls) and
 * ~30 ms to delete, which back-to-back `run`s would pay each time. */
static unsigned
idle_ms (void)
{
  const char *v = getenv ("KILN_NET_IDLE_MS");
  char *end;
  unsigned long ms = v && *v ? strtoul (v, &end, 10) : 2000;
  if (v && *v && (*end || ms > 600000))
    ms = 2000;
  return (unsigned) ms;
}

/* ROOT/net-idle-BRIDGE: "PID START" of the process that will tear the bridge
 * down once it stayed idle (the last one to be started wins). */
static char *
idle_stamp_path (const char *root, const char *bridge)
{
  struct buf p = BUF_INIT;
  buf_printf (&p, "%s/net-idle-%s", root, bridge);
  return buf_steal (&p);
}

/* The stamp: "PID START DEADLINE" of the process that tears the bridge down
 * once CLOCK_MONOTONIC passes DEADLINE (ns); DEADLINE 0 while a container is on
 * the bridge ("0 0 0" when no such process waits).  False when there is none
 * (or it does not read). */
struct idle_stamp
{
  pid_t pid;
  uint64_t start, deadline;
};

static bool
idle_stamp_read (const char *path, struct idle_stamp *out)
{
  *out = (struct idle_stamp){0};
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return false;
  long p = 0;
  unsigned long long s = 0, d = 0;
  bool ok = fscanf (f, "%ld %llu %llu", &p, &s, &d) == 3;
  fclose (f);
  *out = (struct idle_stamp){(pid_t) p, s, d};
  return ok;
}

/* Written whole (a temporary file renamed over it): `system check` reads it
 * without net.lock. */
static int
idle_stamp_write (const char *path, const struct idle_stamp *v)
{
  _cleanup_buf_ struct buf tmp = BUF_INIT;
  buf_printf (&tmp, "%s.%ld", path, (long) getpid ());
  char text[96];
  int n = snprintf (text, sizeof text, "%ld %llu %llu\n", (long) v->pid, (unsigned long long) v->start,
                    (unsigned long long) v->deadline);
  int fd = open (buf_str (&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return -1;
  bool ok = write (fd, text, (size_t) n) == n;
  close (fd);
  if (!ok || rename (buf_str (&tmp), path) < 0)
    {
      unlink (buf_str (&tmp));
      return -1;
    }
  return 0;
}

uint64_t
net_monotonic_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static bool
idle_stamp_live (const struct idle_stamp *v)
{
  return v->pid > 0 && proc_is (v->pid, v->start);
}

bool
net_bridge_idle_pending (const char *root, const char *bridge)
{
  _cleanup_free_ char *path = idle_stamp_path (root, bridge);
  struct idle_stamp v;
  return idle_stamp_read (path, &v) && idle_stamp_live (&v);
}

int
net_bridge_mark_busy (const char *root, const char *bridge, struct kiln_err *err)
{
  /* Its idle teardown, if one waits, waits on (deadline 0; no stamp would mean
   * the store is going). */
  _cleanup_free_ char *stamp = idle_stamp_path (root, bridge);
  struct idle_stamp busy;
  if (!idle_stamp_read (stamp, &busy) || !idle_stamp_live (&busy))
    busy = (struct idle_stamp){0};
  busy.deadline = 0;
  if (idle_stamp_write (stamp, &busy) < 0)
    return kiln_err_set (err, errno ? errno : EIO, "%s: %s", stamp, strerror (errno ? errno : EIO));
  return 0;
}

/* The detached process that tears an idle bridge down: it records itself as the
 * bridge's (under net.lock, which it holds from its parent), lets the lock go,
 * and sleeps until the stamp's deadline (a later release of the last container
 * moves it, rather than starting another such process); then, under the lock
 * again, it tears the bridge down unless the stamp is another's or says a
 * container is on the bridge (deadline 0: it looks again after idle_ms(), for
 * at most IDLE_BUSY_WAITS times, so that back-to-back runs keep one such
 * process, which a long-running container does not keep). */
#define IDLE_BUSY_WAITS 15
#define IDLE_SLICE_NS 200000000ull
static void
idle_teardown (const char *root, const struct teardown *t, int hold_fd, int ready_fd)
{
  struct kiln_err ignored = {0};
  _cleanup_free_ char *path = idle_stamp_path (root, t->bridge);
  struct idle_stamp me = {getpid (), proc_start_time (getpid ()), net_monotonic_ns () + idle_ms () * 1000000ull};
  if (idle_stamp_write (path, &me) < 0)
    {
      /* Nobody would know of the wait: the bridge goes now, as before. */
      struct nl *nl = nl_open (&ignored);
      teardown_do (nl, t);
      nl_close (nl);
      return;
    }
  close (ready_fd); /* the stamp is there before the stopping container's command returns */
  close (hold_fd);
  uint64_t deadline = me.deadline;
  for (int busy = 0;;)
    {
      uint64_t now = net_monotonic_ns ();
      if (deadline > now)
        {
          /* In slices: a later release may have set a sooner deadline (the last
           * container's wait wins, shorter or longer); the stamp is replaced by
           * rename, so a read without the lock sees one whole. */
          uint64_t left = deadline - now < IDLE_SLICE_NS ? deadline - now : IDLE_SLICE_NS;
          struct timespec ts = {.tv_sec = (time_t) (left / 1000000000u), .tv_nsec = (long) (left % 1000000000u)};
          while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
            ;
          struct idle_stamp peek;
          if (idle_stamp_read (path, &peek) && peek.pid == me.pid && peek.start == me.start && peek.deadline
              && peek.deadline < deadline)
            deadline = peek.deadline;
          if (net_monotonic_ns () < deadline)
            continue;
        }
      int lock = net_store_lock_existing (root, &ignored);
      kiln_err_clear (&ignored);
      /* No stamp at all: the store is being removed (rm -rf of its root; an
       * attach leaves "0 0 0", network rm removes the bridge before the stamp),
       * so no container will come: the bridge, if still there (its name is the
       * store's own), goes too. */
      struct idle_stamp v;
      bool read = idle_stamp_read (path, &v);
      bool gone = lock < 0 || (!read && access (path, F_OK) < 0 && errno == ENOENT);
      bool mine = !gone && read && v.pid == me.pid && v.start == me.start;
      if (mine && (v.deadline > net_monotonic_ns () || (v.deadline == 0 && ++busy < IDLE_BUSY_WAITS)))
        {
          /* Moved by a later release, or a container is on it. */
          deadline = v.deadline ? v.deadline : net_monotonic_ns () + idle_ms () * 1000000ull;
          net_unlock_fd (lock);
          continue;
        }
      if (mine && v.deadline == 0)
        {
          /* Busy for long: the last container's release starts another. */
          struct idle_stamp none = {0};
          idle_stamp_write (path, &none);
          kiln_err_clear (&ignored);
          net_unlock_fd (lock);
          return;
        }
      /* Still its own and past the deadline: no container came onto the bridge
       * since the last one left, whatever ports it may still have of stopped
       * containers whose namespaces the kernel has not removed yet. */
      if (mine || gone)
        {
          struct nl *nl = nl_open (&ignored);
          if (nl && nl_link_index (nl, t->bridge))
            teardown_do (nl, t);
          nl_close (nl);
          unlink (path);
        }
      kiln_err_clear (&ignored);
      net_unlock_fd (lock);
      return;
    }
}

/* The network's bridge, subnet and rules go with its last endpoint.  With
 * `hold_fd` (the store's net.lock) the work is left to a detached process that
 * waits for the bridge to stay idle (idle_teardown): the next `run` finds it
 * made; deleting a bridge also waits ~30 ms for the kernel, which a stopping
 * container need not wait for.  Without, it goes at once. */
void
net_teardown_network (struct kiln_store *st, struct nl *nl, const char *network_id, int hold_fd)
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
  if (hold_fd >= 0)
    {
      /* A process already waits to tear this bridge down: its wait starts over. */
      _cleanup_free_ char *path = idle_stamp_path (store_root (st), t.bridge);
      struct idle_stamp v;
      if (idle_stamp_read (path, &v) && idle_stamp_live (&v))
        {
          v.deadline = net_monotonic_ns () + idle_ms () * 1000000ull;
          if (idle_stamp_write (path, &v) == 0)
            return;
        }
    }
  pid_t pid = hold_fd >= 0 ? fork () : -1;
  if (pid == 0)
    {
      /* The child only forks the worker, so nobody waits on a zombie, and
       * returns once the worker has written its stamp (`system check` right
       * after must find it). */
      int ready[2];
      pid_t g = pipe2 (ready, O_CLOEXEC) == 0 ? fork () : -1;
      if (g < 0)
        {
          struct nl *own = nl_open (&ignored);
          teardown_do (own, &t);
          nl_close (own);
          _exit (0);
        }
      if (g > 0)
        {
          close (ready[1]);
          char c;
          while (read (ready[0], &c, 1) < 0 && errno == EINTR)
            ;
          _exit (0);
        }
      setsid ();
      for (int fd = 3; fd < 1024; fd++)
        if (fd != hold_fd && fd != ready[1])
          close (fd);
      idle_teardown (store_root (st), &t, hold_fd, ready[1]);
      _exit (0);
    }
  if (pid > 0)
    {
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      return;
    }
  teardown_do (nl, &t);
  _cleanup_free_ char *stamp = idle_stamp_path (store_root (st), t.bridge);
  unlink (stamp);
}

void
net_bridge_drop_idle (struct kiln_store *st, const char *network_id)
{
  struct kiln_err ignored = {0};
  int lock = net_store_lock (store_root (st), &ignored);
  struct nl *nl = lock >= 0 ? nl_open (&ignored) : NULL;
  if (nl)
    net_teardown_network (st, nl, network_id, -1); /* nothing when a container is on it */
  nl_close (nl);
  kiln_err_clear (&ignored);
  net_unlock_fd (lock);
}

/* The nft command that deletes one of an endpoint's port elements (its "Elements"). */
static void
delete_element_cmd (struct buf *cmds, const json_t *el)
{
  buf_printf (cmds, "delete element ip kiln %s\n", json_string_value (el) ? json_string_value (el) : "");
}

/* Removes what one endpoint holds: its port elements, its veth (unless it goes
 * with its namespace, which the kernel removes without making anyone wait), its
 * row; then the network's bridge if it was the last (see teardown_network). */
void
net_release_endpoint (struct kiln_store *st, struct nl *nl, const struct endpoint_rec *e, bool delete_veth, int hold_fd)
{
  struct kiln_err ignored = {0};
  _cleanup_buf_ struct buf cmds = BUF_INIT;
  size_t i;
  json_t *el;
  const json_t *elements = json_object_get (e->info, "Elements");
  json_array_foreach (elements, i, el)
      delete_element_cmd (&cmds, el);
  if (cmds.len && nft_run (buf_str (&cmds), &ignored) < 0)
    {
      /* One already gone fails the batch: then one by one, so it keeps none of the others. */
      kiln_err_clear (&ignored);
      json_array_foreach (elements, i, el)
      {
        buf_reset (&cmds);
        delete_element_cmd (&cmds, el);
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
  net_teardown_network (st, nl, e->network, hold_fd);
}
