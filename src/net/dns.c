/* net/dns.c — a DNS question in, an A answer out. */
#include "net/dns.h"

#include <ctype.h>
#include <string.h>

int
dns_question (const uint8_t *msg, size_t len, char name[256], uint16_t *qtype, size_t *qend)
{
  if (len < 12)
    return -1;
  unsigned flags = (unsigned) msg[2] << 8 | msg[3];
  unsigned qd = (unsigned) msg[4] << 8 | msg[5];
  if ((flags & 0x8000) || ((flags >> 11) & 0xf) != 0 || qd != 1)
    return -1; /* a response, or not a standard query, or not one question */
  size_t p = 12, out = 0;
  for (;;)
    {
      if (p >= len)
        return -1;
      unsigned l = msg[p++];
      if (l == 0)
        break;
      if (l > 63 || p + l > len || out + l + 1 > 255)
        return -1; /* compression pointers have the top bits set: refused too */
      if (out)
        name[out++] = '.';
      for (unsigned i = 0; i < l; i++)
        {
          unsigned char c = msg[p + i];
          if (c == '.' || c == 0)
            return -1;
          name[out++] = (char) tolower (c);
        }
      p += l;
    }
  if (p + 4 > len)
    return -1;
  name[out] = '\0';
  *qtype = (uint16_t) (msg[p] << 8 | msg[p + 1]);
  *qend = p + 4;
  return 0;
}

size_t
dns_answer (const uint8_t *msg, size_t qend, const uint32_t *ips, size_t n_ips, int rcode, uint8_t *out, size_t cap)
{
  size_t need = qend + n_ips * 16;
  if (qend < 12 || need > cap || n_ips > 64)
    return 0;
  memcpy (out, msg, qend);
  /* QR, the query's opcode and RD, RA; rcode. */
  out[2] = (uint8_t) (0x80 | (msg[2] & 0x79));
  out[3] = (uint8_t) (0x80 | (rcode & 0xf));
  out[6] = (uint8_t) (n_ips >> 8);
  out[7] = (uint8_t) n_ips;
  out[8] = out[9] = out[10] = out[11] = 0;
  size_t p = qend;
  for (size_t i = 0; i < n_ips; i++)
    {
      const uint8_t rr[16] = {0xc0, 0x0c, 0, DNS_TYPE_A, 0, 1, 0, 0, 0, 0, 0, 4, (uint8_t) (ips[i] >> 24),
                              (uint8_t) (ips[i] >> 16), (uint8_t) (ips[i] >> 8), (uint8_t) ips[i]};
      memcpy (out + p, rr, sizeof rr);
      p += sizeof rr;
    }
  return p;
}
