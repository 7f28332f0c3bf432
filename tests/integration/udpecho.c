/* A UDP echo server for tests/integration/network.bats (busybox's nc has no -u):
 * `udpecho PORT` answers every datagram with "echo:" and the datagram. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int
main (int argc, char **argv)
{
  if (argc != 2)
    return 2;
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons ((unsigned short) atoi (argv[1]))};
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return perror ("udpecho"), 1;
  for (int i = 0; i < 1000; i++)
    {
      char buf[1500] = "echo:";
      struct sockaddr_in from;
      socklen_t len = sizeof from;
      ssize_t n = recvfrom (fd, buf + 5, sizeof buf - 5, 0, (struct sockaddr *) &from, &len);
      if (n < 0)
        return 1;
      sendto (fd, buf, (size_t) n + 5, 0, (struct sockaddr *) &from, len);
    }
  return 0;
}
