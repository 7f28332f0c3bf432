/* net/portspec.h — docker's `-p [IP:][HOSTPORT:]CPORT[/PROTO]` and `--expose`
 * (go-connections' nat.ParsePortSpec: the same splitting, ranges and messages).
 *
 * One spec may give several mappings (a range); a host range with a single
 * container port is a range to choose a free host port from.  Pure: no system
 * calls, so the fuzzer and the unit tests drive it directly. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct port_map
{
  uint16_t ctr_port;
  char proto[5];          /* "tcp", "udp", "sctp" */
  char host_ip[46];       /* "" for every address */
  uint16_t host_lo, host_hi; /* 0, 0: any free port */
};

/* Appends the mappings of `spec` to *maps (xrealloc'd); -1 with docker's message
 * (KILN_EUSAGE) for a bad spec. */
int port_spec_parse (const char *spec, struct port_map **maps, size_t *n, struct kiln_err *err);

/* `--expose 80`, `8000-8010/udp`: appends "80/tcp"-style keys to *keys. */
struct strv;
int port_expose_parse (const char *spec, struct strv *keys, struct kiln_err *err);

/* "80/tcp" → 80 and "tcp"; -1 if it is not one. */
int port_key_parse (const char *key, uint16_t *port, char proto[5]);

/* A host port as docker keeps it in HostConfig.PortBindings: "8080", "8000-8010" or "". */
int port_range_parse (const char *s, uint16_t *lo, uint16_t *hi);
