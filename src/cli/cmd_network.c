/* cli/cmd_network.c — `kiln port` and `kiln network` (net/net.h has the model). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "net/net.h"
#include "store/containers.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"

const char cmd_port_usage[] = "Usage: kiln port CONTAINER [PRIVATE_PORT[/PROTO]]\n"
                              "\n"
                              "Lists the container's published ports (\"80/tcp -> 0.0.0.0:8080\"), or the\n"
                              "host addresses of one of them.\n";

int
cmd_port (struct kiln_ctx *ctx, int argc, char **argv)
{
  if (argc < 2 || argc > 3)
    return cli_usage_error ("port", "expects CONTAINER [PRIVATE_PORT[/PROTO]]");
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  struct container_rec rec;
  if (cli_find_container (st, argv[1], &rec) < 0)
    return EXIT_FAIL;
  _cleanup_strv_ struct strv lines = STRV_INIT;
  int r = net_port_lines (st, rec.id, argc == 3 ? argv[2] : NULL, &lines, &err);
  container_rec_clear (&rec);
  if (r < 0)
    {
      fprintf (stderr, "%s\n", err.msg);
      kiln_err_clear (&err);
      return EXIT_FAIL;
    }
  for (size_t i = 0; i < lines.n; i++)
    printf ("%s\n", lines.v[i]);
  return EXIT_OK;
}

const char cmd_network_usage[] = "Usage: kiln network COMMAND\n"
                                 "\n"
                                 "Manage networks: create, ls, inspect, rm, prune.\n";

int
cmd_network (struct kiln_ctx *ctx, int argc, char **argv)
{
  return cli_usage_error ("network", "expects create, ls, inspect, rm or prune");
}
