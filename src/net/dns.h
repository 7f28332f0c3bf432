/* net/dns.h — the little of DNS a network's resolver needs: read a query's
 * question, write an answer with A records (or none).  Pure and bounded: a
 * query is outside input (any process in a container may send one). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_ANY 255

/* The question of a standard query: its name (lower case, no trailing dot) into
 * name[256], its type, and the offset just after the question.  -1 for anything
 * else (a response, several questions, compression in the question, truncation). */
int dns_question (const uint8_t *msg, size_t len, char name[256], uint16_t *qtype, size_t *qend);

/* An answer to the query `msg` (its header and question, `qend` bytes) with one A
 * record per address (TTL 0: the network's members change), or none with
 * `rcode` (0: NOERROR, 3: NXDOMAIN).  Its length, 0 if `cap` is too small. */
size_t dns_answer (const uint8_t *msg, size_t qend, const uint32_t *ips, size_t n_ips, int rcode, uint8_t *out,
                   size_t cap);
