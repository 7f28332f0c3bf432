/* Unit tests: net/portspec (docker's -p and --expose), net/addr (the subnet
 * chooser against a fake route list, the address allocator). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "net/addr.h"
#include "net/dns.h"
#include "net/net.h"
#include "net/portspec.h"
#include "util/buf.h"

static struct net_cidr
cidr (const char *s)
{
  struct net_cidr c;
  struct kiln_err err = {0};
  assert_int_equal (net_cidr_parse (s, false, &c, &err), 0);
  return c;
}

static uint32_t
ip (const char *s)
{
  uint32_t a;
  assert_int_equal (net_ip_parse (s, &a), 0);
  return a;
}

static void
gives_dockers_mac_for_an_address (void **state)
{
  (void) state;
  uint32_t ip;
  assert_int_equal (net_ip_parse ("172.20.0.2", &ip), 0);
  uint8_t mac[6];
  char s[18];
  net_mac_from_ip (ip, mac);
  net_mac_format (mac, s);
  assert_string_equal (s, "02:42:ac:14:00:02"); /* docker-shapes' shp-web */
}

static void
checks_and_writes_add_host (void **state)
{
  (void) state;
  struct kiln_err err = {0};
  assert_int_equal (net_add_host_check ("db:10.1.2.3", &err), 0);
  assert_int_equal (net_add_host_check ("gw:host-gateway", &err), 0);
  const char *bad[][2] = {
    {"db", "invalid argument \"db\" for \"--add-host\" flag: bad format for add-host: \"db\""},
    {":1.2.3.4", "invalid argument \":1.2.3.4\" for \"--add-host\" flag: bad format for add-host: \":1.2.3.4\""},
    {"db:x", "invalid argument \"db:x\" for \"--add-host\" flag: invalid IP address in add-host: \"x\""},
    {"a\nb:1.2.3.4", "invalid argument \"a\nb:1.2.3.4\" for \"--add-host\" flag: invalid host name"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_int_equal (net_add_host_check (bad[i][0], &err), -1);
      assert_string_equal (err.msg, bad[i][1]);
      kiln_err_clear (&err);
    }
  struct buf b = BUF_INIT;
  net_add_host_line (&b, "db:10.1.2.3", "10.0.0.1");
  net_add_host_line (&b, "gw:host-gateway", "10.0.0.1");
  assert_string_equal (buf_str (&b), "10.1.2.3\tdb\n10.0.0.1\tgw\n");
  buf_free (&b);
}

static void
parses_port_specs_like_docker (void **state)
{
  (void) state;
  struct
  {
    const char *spec;
    size_t n;
    unsigned ctr;
    const char *proto, *host_ip;
    unsigned host_lo, host_hi;
  } cases[] = {
    {"80", 1, 80, "tcp", "", 0, 0},
    {"8080:80", 1, 80, "tcp", "", 8080, 8080},
    {"127.0.0.1:8080:80/udp", 1, 80, "udp", "127.0.0.1", 8080, 8080},
    {"127.0.0.1::80", 1, 80, "tcp", "127.0.0.1", 0, 0},
    {"8000-8002:80-82", 3, 80, "tcp", "", 8000, 8000},
    {"8000-8010:80", 1, 80, "tcp", "", 8000, 8010},
    {"80/TCP", 1, 80, "tcp", "", 0, 0},
    {"53/sctp", 1, 53, "sctp", "", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      struct port_map *m = NULL;
      size_t n = 0;
      struct kiln_err err = {0};
      assert_int_equal (port_spec_parse (cases[i].spec, &m, &n, &err), 0);
      assert_int_equal (n, cases[i].n);
      assert_int_equal (m[0].ctr_port, cases[i].ctr);
      assert_string_equal (m[0].proto, cases[i].proto);
      assert_string_equal (m[0].host_ip, cases[i].host_ip);
      assert_int_equal (m[0].host_lo, cases[i].host_lo);
      assert_int_equal (m[0].host_hi, cases[i].host_hi);
      if (n == 3)
        assert_true (m[2].ctr_port == 82 && m[2].host_lo == 8002 && m[2].host_hi == 8002);
      free (m);
    }
}

static void
refuses_bad_port_specs_with_dockers_messages (void **state)
{
  (void) state;
  const char *cases[][2] = {
    {"abc", "invalid containerPort: abc"},
    {"x:80", "invalid hostPort: x"},
    {"1.2.3.400:80:80", "invalid IP address: 1.2.3.400"},
    {"80/icmp", "invalid proto: icmp"},
    {"8000-8001:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"},
    {"70000", "invalid containerPort: 70000"},
    {"90-80", "invalid containerPort: 90-80"},
    {"8080:", "no port specified: 8080:<empty>"},
    {"", "no port specified: <empty>"},
    {"[::1]:8080:80", "IPv6 host address ::1 in [::1]:8080:80: kiln's networks are IPv4 only; publish on an IPv4 "
                      "address (or none: 0.0.0.0)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      struct port_map *m = NULL;
      size_t n = 0;
      struct kiln_err err = {0};
      assert_int_equal (port_spec_parse (cases[i][0], &m, &n, &err), -1);
      assert_string_equal (err.msg, cases[i][1]);
      assert_int_equal (n, 0);
      free (m);
      kiln_err_clear (&err);
    }
}

static void
expands_expose_ranges (void **state)
{
  (void) state;
  struct strv keys = STRV_INIT;
  struct kiln_err err = {0};
  assert_int_equal (port_expose_parse ("7000-7002/udp", &keys, &err), 0);
  assert_int_equal (port_expose_parse ("80", &keys, &err), 0);
  assert_int_equal (keys.n, 4);
  assert_string_equal (keys.v[0], "7000/udp");
  assert_string_equal (keys.v[3], "80/tcp");
  assert_int_equal (port_expose_parse ("1:2", &keys, &err), -1);
  kiln_err_clear (&err);
  strv_free (&keys);
}

static void
chooses_a_subnet_no_route_covers (void **state)
{
  (void) state;
  struct net_cidr pool = cidr ("10.210.0.0/16"), out;
  /* The default route never counts; the host's own routes and kiln's other bridges do. */
  struct net_cidr routes[] = {cidr ("0.0.0.0/0"), cidr ("10.210.0.0/24"), cidr ("10.210.1.0/25"),
                              cidr ("192.0.2.0/24")};
  assert_int_equal (net_subnet_choose (&pool, 24, routes, 4, &out), 0);
  char s[20];
  net_cidr_format (&out, s);
  assert_string_equal (s, "10.210.2.0/24");
  /* A wide route over the whole pool leaves nothing. */
  struct net_cidr wide[] = {cidr ("10.0.0.0/8")};
  assert_int_equal (net_subnet_choose (&pool, 24, wide, 1, &out), -1);
  /* No routes: the pool's first. */
  assert_int_equal (net_subnet_choose (&pool, 24, NULL, 0, &out), 0);
  assert_int_equal (out.addr, ip ("10.210.0.0"));
}

static void
parses_cidrs (void **state)
{
  (void) state;
  struct net_cidr c;
  struct kiln_err err = {0};
  assert_int_equal (net_cidr_parse ("10.1.2.3/16", false, &c, &err), 0);
  assert_int_equal (c.addr, ip ("10.1.0.0"));
  assert_int_equal (net_cidr_parse ("10.1.2.3/16", true, &c, &err), -1);
  kiln_err_clear (&err);
  const char *bad[] = {"10.1.2.0", "10.1.2.0/33", "10.1.2/24", "10.1.2.0/-1", "/24", "10.1.2.0/", "x/8"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_int_equal (net_cidr_parse (bad[i], false, &c, &err), -1);
      kiln_err_clear (&err);
    }
  assert_true (net_cidr_overlap (&(struct net_cidr){ip ("10.0.0.0"), 8}, &(struct net_cidr){ip ("10.9.0.0"), 16}));
  assert_false (net_cidr_overlap (&(struct net_cidr){ip ("10.0.0.0"), 16}, &(struct net_cidr){ip ("10.1.0.0"), 16}));
}

static void
allocates_free_addresses (void **state)
{
  (void) state;
  struct net_cidr sub = cidr ("10.210.0.0/24");
  uint32_t gw = ip ("10.210.0.1"), out;
  /* The first free one after the gateway, skipping those in use, in any order. */
  uint32_t used[] = {ip ("10.210.0.3"), ip ("10.210.0.2"), ip ("10.210.0.5")};
  assert_int_equal (net_addr_pick (&sub, NULL, gw, used, 3, &out), 0);
  assert_int_equal (out, ip ("10.210.0.4"));
  /* Within --ip-range. */
  struct net_cidr range = cidr ("10.210.0.128/25");
  assert_int_equal (net_addr_pick (&sub, &range, gw, used, 3, &out), 0);
  assert_int_equal (out, ip ("10.210.0.128"));
  /* A full /30: network, gateway, one host, broadcast. */
  struct net_cidr tiny = cidr ("10.0.0.0/30");
  uint32_t one[] = {ip ("10.0.0.2")};
  assert_int_equal (net_addr_pick (&tiny, NULL, ip ("10.0.0.1"), one, 1, &out), -1);
  assert_int_equal (net_addr_pick (&tiny, NULL, ip ("10.0.0.1"), NULL, 0, &out), 0);
  assert_int_equal (out, ip ("10.0.0.2"));
  /* Never the broadcast: a /24 with every host but .254 taken gives .254, then nothing. */
  uint32_t *many = calloc (256, sizeof *many);
  size_t n = 0;
  for (unsigned h = 2; h < 254; h++)
    many[n++] = ip ("10.210.0.0") + h;
  assert_int_equal (net_addr_pick (&sub, NULL, gw, many, n, &out), 0);
  assert_int_equal (out, ip ("10.210.0.254"));
  many[n++] = out;
  assert_int_equal (net_addr_pick (&sub, NULL, gw, many, n, &out), -1);
  free (many);
}

static void
reads_a_question_and_answers_it (void **state)
{
  (void) state;
  /* id 0x1234, RD, one question: "Api.Net" A IN. */
  const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'A', 'p', 'i', 3, 'N', 'e', 't', 0, 0, 1, 0, 1};
  char name[256];
  uint16_t type;
  size_t qend;
  assert_int_equal (dns_question (q, sizeof q, name, &type, &qend), 0);
  assert_string_equal (name, "api.net");
  assert_int_equal (type, DNS_TYPE_A);
  assert_int_equal (qend, sizeof q);
  uint8_t out[512];
  uint32_t ips[] = {ip ("10.1.2.3")};
  size_t n = dns_answer (q, qend, ips, 1, 0, out, sizeof out);
  assert_int_equal (n, sizeof q + 16);
  assert_int_equal (out[0], 0x12);
  assert_int_equal (out[2] & 0x80, 0x80); /* a response */
  assert_int_equal (out[7], 1);            /* one answer */
  assert_memory_equal (out + n - 4, ((uint8_t[]){10, 1, 2, 3}), 4);
  /* Hostile ones: a response, a truncated name, a compression pointer, two questions. */
  uint8_t bad[sizeof q];
  memcpy (bad, q, sizeof q);
  bad[2] |= 0x80;
  assert_int_equal (dns_question (bad, sizeof bad, name, &type, &qend), -1);
  assert_int_equal (dns_question (q, 15, name, &type, &qend), -1);
  memcpy (bad, q, sizeof q);
  bad[12] = 0xc0;
  assert_int_equal (dns_question (bad, sizeof bad, name, &type, &qend), -1);
  memcpy (bad, q, sizeof q);
  bad[5] = 2;
  assert_int_equal (dns_question (bad, sizeof bad, name, &type, &qend), -1);
  /* No room: nothing written. */
  assert_int_equal (dns_answer (q, qend, ips, 1, 0, out, 20), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (parses_port_specs_like_docker),
    cmocka_unit_test (gives_dockers_mac_for_an_address),
    cmocka_unit_test (checks_and_writes_add_host),
    cmocka_unit_test (refuses_bad_port_specs_with_dockers_messages),
    cmocka_unit_test (expands_expose_ranges),
    cmocka_unit_test (chooses_a_subnet_no_route_covers),
    cmocka_unit_test (parses_cidrs),
    cmocka_unit_test (allocates_free_addresses),
    cmocka_unit_test (reads_a_question_and_answers_it),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
