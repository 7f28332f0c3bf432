/* libFuzzer: docker's -p and --expose (net/portspec), --subnet/--ip-range CIDRs
 * (net/addr) and the allocator over what they give, --add-host (net/net: a
 * checked one is one line of /etc/hosts), and DNS questions (net/dns). */
/* fuzz-floor: 150: scripts/test fails a run whose final cov is lower. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/addr.h"
#include "net/dns.h"
#include "net/net.h"
#include "net/portspec.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = xstrndup ((const char *) data, size);
  struct kiln_err err = {0};
  struct port_map *maps = NULL;
  size_t n = 0;
  if (port_spec_parse (s, &maps, &n, &err) == 0)
    for (size_t i = 0; i < n; i++)
      if (maps[i].host_lo > maps[i].host_hi || maps[i].proto[0] == '\0')
        abort ();
  kiln_err_clear (&err);
  free (maps);
  struct strv keys = STRV_INIT;
  port_expose_parse (s, &keys, &err);
  kiln_err_clear (&err);
  for (size_t i = 0; i < keys.n; i++)
    {
      uint16_t p;
      char proto[5];
      if (port_key_parse (keys.v[i], &p, proto) < 0)
        abort (); /* what --expose makes, the monitor reads back */
    }
  strv_free (&keys);
  struct net_cidr c;
  if (net_cidr_parse (s, false, &c, &err) == 0)
    {
      uint32_t out;
      struct net_cidr pool = {0x0a000000, 8};
      if (net_addr_pick (&c, NULL, c.addr + 1, NULL, 0, &out) == 0 && !net_cidr_contains (&c, out))
        abort ();
      struct net_cidr chosen;
      if (net_subnet_choose (&pool, 24, &c, 1, &chosen) == 0 && net_cidr_overlap (&chosen, &c) && c.prefix > 0)
        abort ();
    }
  kiln_err_clear (&err);
  if (strlen (s) == size && net_add_host_check (s, &err) == 0)
    {
      struct buf line = BUF_INIT;
      net_add_host_line (&line, s, "10.0.0.1");
      const char *nl = strchr (buf_str (&line), '\n');
      if (nl == NULL || nl[1] != '\0')
        abort ();
      buf_free (&line);
    }
  kiln_err_clear (&err);
  /* The same bytes as a DNS query sent to a network's resolver. */
  char name[256];
  uint16_t qtype;
  size_t qend;
  if (dns_question (data, size, name, &qtype, &qend) == 0)
    {
      uint8_t out[1500];
      uint32_t ips[2] = {0x0a000002, 0x0a000003};
      if (qend > size || strlen (name) > 255)
        abort ();
      dns_answer (data, qend, ips, 2, 0, out, sizeof out);
    }
  free (s);
  return 0;
}
