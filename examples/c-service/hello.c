/* A tiny HTTP service for kiln's examples: GET /health answers "ok", any other
 * path answers the greeting. `hello --healthcheck` probes the running service,
 * so a scratch image needs no wget for its HEALTHCHECK. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "dev"
#endif

static int
port (void)
{
  const char *p = getenv ("PORT");
  int v = p ? atoi (p) : 8080;
  return v > 0 && v < 65536 ? v : 8080;
}

static int
healthcheck (void)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons (port ())};
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    return 1;
  const char req[] = "GET /health HTTP/1.0\r\n\r\n";
  char buf[256] = {0};
  if (write (fd, req, sizeof req - 1) < 0 || read (fd, buf, sizeof buf - 1) <= 0)
    return 1;
  close (fd);
  return strstr (buf, " 200 ") ? 0 : 1;
}

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "--healthcheck") == 0)
    return healthcheck ();
  if (argc > 1 && strcmp (argv[1], "--version") == 0)
    return printf ("hello %s\n", VERSION) < 0;
  const char *greeting = getenv ("GREETING") ? getenv ("GREETING") : "hello";
  int s = socket (AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt (s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons (port ())};
  if (s < 0 || bind (s, (struct sockaddr *) &a, sizeof a) < 0 || listen (s, 16) < 0)
    {
      perror ("hello: listen");
      return 1;
    }
  printf ("hello %s listening on :%d\n", VERSION, port ());
  fflush (stdout);
  for (;;)
    {
      int c = accept (s, NULL, NULL);
      if (c < 0)
        continue;
      char req[1024] = {0};
      if (read (c, req, sizeof req - 1) > 0)
        {
          const char *body = strncmp (req, "GET /health ", 12) == 0 ? "ok\n" : greeting;
          char resp[2048];
          int n = snprintf (resp, sizeof resp, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n%s\n", body);
          if (write (c, resp, (size_t) n) < 0)
            perror ("hello: write");
        }
      close (c);
    }
}
