/* cli/cmd_registry.c — pull, push, login, logout, manifest inspect. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "image/ref.h"
#include "registry/client.h"
#include "registry/creds.h"
#include "registry/transfer.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"

enum
{
  OPT_TLS_VERIFY = 256,
  OPT_CERT_DIR,
  OPT_PLATFORM,
  OPT_COMPRESSION,
  OPT_PASSWORD_STDIN,
  OPT_INSECURE,
};

#define REGISTRY_OPTIONS                                                                           \
  {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY}, {"cert-dir", required_argument, NULL, OPT_CERT_DIR}

#define REGISTRY_HELP                                                                              \
  "  --tls-verify=false  accept any certificate, and plain HTTP (loopback hosts always may)\n"   \
  "  --cert-dir DIR      CAs (*.crt) and a client pair (*.cert, *.key) for this registry;\n"     \
  "                      default: /etc/docker/certs.d/HOST[:PORT], /etc/containers/certs.d/...\n" \
  "Credentials come from docker's config.json ($DOCKER_CONFIG or ~/.docker), including\n"       \
  "credHelpers and credsStore.\n"

/* Handles the options every registry command shares; 1 if `c` was one of them. */
static int
registry_option (const char *cmd, int c, struct registry_opts *o)
{
  switch (c)
    {
    case OPT_TLS_VERIFY:
      if (optarg == NULL || strcmp (optarg, "true") == 0)
        o->tls_skip_verify = false;
      else if (strcmp (optarg, "false") == 0)
        o->tls_skip_verify = true;
      else
        {
          cli_usage_error (cmd, "--tls-verify takes true or false, not \"%s\"", optarg);
          return -1;
        }
      return 1;
    case OPT_CERT_DIR: o->cert_dir = optarg; return 1;
    default: return 0;
    }
}

const char cmd_pull_usage[] = "Usage: kiln pull [OPTIONS] NAME[:TAG|@DIGEST]\n"
                              "\n"
                              "Downloads an image (the host's platform out of a multi-platform index)\n"
                              "and tags it. Layers the store has are not downloaded again.\n"
                              "\n"
                              "  --platform OS/ARCH[/VARIANT]  pick this platform from an index\n"
                              "  -q, --quiet                   print only the image's name\n" REGISTRY_HELP;

int
cmd_pull (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"platform", required_argument, NULL, OPT_PLATFORM},
                                       {"quiet", no_argument, NULL, 'q'},
                                       REGISTRY_OPTIONS,
                                       {0}};
  struct pull_opts o = {.out = stdout};
  int c;
  while ((c = getopt_long (argc, argv, "q", opts, NULL)) != -1)
    {
      int r = registry_option ("pull", c, &o.reg);
      if (r < 0)
        return EXIT_USAGE;
      if (r)
        continue;
      switch (c)
        {
        case OPT_PLATFORM: o.platform = optarg; break;
        case 'q': o.out = NULL; break;
        default: return cli_usage_error ("pull", "unknown option");
        }
    }
  if (optind + 1 != argc)
    return cli_usage_error ("pull", "expects one image reference");
  struct kiln_err err = {0};
  struct image_ref ref;
  if (ref_parse (argv[optind], true, &ref, &err) < 0)
    return cli_fail (&err);
  _cleanup_free_ char *full = ref_string (&ref);
  ref_clear (&ref);
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL || image_pull (st, argv[optind], &o, NULL, &err) < 0)
    return cli_fail (&err);
  printf ("%s\n", full);
  return EXIT_OK;
}

const char cmd_push_usage[] = "Usage: kiln push [OPTIONS] IMAGE [DESTINATION]\n"
                              "\n"
                              "Uploads an image: the layers the registry lacks (a cross-repository\n"
                              "mount when another repository there has them), the config, then the\n"
                              "manifest under the tag. DESTINATION defaults to IMAGE's own name.\n"
                              "\n"
                              "  -a, --all-tags               push every tag of IMAGE's repository\n"
                              "  --compression gzip|zstd|none layer compression (default gzip)\n"
                              "  -q, --quiet                  print only the pushed digest\n" REGISTRY_HELP;

int
cmd_push (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"all-tags", no_argument, NULL, 'a'},
                                       {"compression", required_argument, NULL, OPT_COMPRESSION},
                                       {"quiet", no_argument, NULL, 'q'},
                                       REGISTRY_OPTIONS,
                                       {0}};
  struct push_opts o = {.compression = COMPRESS_GZIP, .out = stdout};
  bool all_tags = false, quiet = false;
  int c;
  while ((c = getopt_long (argc, argv, "aq", opts, NULL)) != -1)
    {
      int r = registry_option ("push", c, &o.reg);
      if (r < 0)
        return EXIT_USAGE;
      if (r)
        continue;
      switch (c)
        {
        case 'a': all_tags = true; break;
        case 'q':
          quiet = true;
          o.out = NULL;
          break;
        case OPT_COMPRESSION:
          {
            int z = compression_parse (optarg);
            if (z < 0)
              return cli_usage_error ("push", "unknown --compression \"%s\" (gzip, zstd, none)", optarg);
            o.compression = (enum compression) z;
            break;
          }
        default: return cli_usage_error ("push", "unknown option");
        }
    }
  if (optind >= argc || argc - optind > 2)
    return cli_usage_error ("push", "expects IMAGE [DESTINATION]");
  if (all_tags && argc - optind == 2)
    return cli_usage_error ("push", "--all-tags pushes a repository's tags under their own names: no DESTINATION");
  const char *image = argv[optind];
  const char *dest = argc - optind == 2 ? argv[optind + 1] : NULL;
  struct kiln_err err = {0};
  _cleanup_store_ struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  _cleanup_strv_ struct strv sources = STRV_INIT;
  if (all_tags)
    {
      struct image_ref r;
      if (ref_parse (image, false, &r, &err) < 0)
        return cli_fail (&err);
      if (r.tag || r.digest)
        {
          ref_clear (&r);
          return cli_usage_error ("push", "--all-tags takes a repository without a tag");
        }
      _cleanup_free_ char *repo = ref_repository (&r);
      ref_clear (&r);
      _cleanup_strv_ struct strv ids = STRV_INIT;
      if (image_list (st, &ids, &err) < 0)
        return cli_fail (&err);
      size_t rl = strlen (repo);
      for (size_t i = 0; i < ids.n; i++)
        {
          struct digest id;
          _cleanup_strv_ struct strv tags = STRV_INIT;
          if (digest_parse (ids.v[i], &id, &err) < 0 || image_tags (st, &id, &tags, &err) < 0)
            return cli_fail (&err);
          for (size_t t = 0; t < tags.n; t++)
            if (strncmp (tags.v[t], repo, rl) == 0 && tags.v[t][rl] == ':')
              strv_push (&sources, tags.v[t]);
        }
      strv_sort (&sources);
      if (sources.n == 0)
        {
          kiln_err_set (&err, ENOENT, "no tag of %s in the store", image);
          return cli_fail (&err);
        }
    }
  else
    strv_push (&sources, image);
  for (size_t i = 0; i < sources.n; i++)
    {
      struct digest md;
      if (image_push (st, sources.v[i], dest, &o, &md, &err) < 0)
        return cli_fail (&err);
      if (quiet)
        printf ("%s\n", md.str);
    }
  return EXIT_OK;
}

/* "https://host:5000/v1/" → "host:5000"; Docker Hub's names → "docker.io". */
static char *
registry_host (const char *arg)
{
  const char *p = arg;
  if (strncmp (p, "https://", 8) == 0)
    p += 8;
  else if (strncmp (p, "http://", 7) == 0)
    p += 7;
  char *h = xstrndup (p, strcspn (p, "/"));
  if (strcmp (h, "index.docker.io") == 0 || strcmp (h, "registry-1.docker.io") == 0)
    {
      free (h);
      h = xstrdup ("docker.io");
    }
  return h;
}

static bool
valid_host (const char *h)
{
  if (*h == '\0' || strlen (h) > 255)
    return false;
  for (const char *p = h; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.'
          || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
      return false;
  return true;
}

/* A line from the terminal, without echo when `secret`. */
static char *
prompt (const char *what, bool secret)
{
  fprintf (stderr, "%s: ", what);
  fflush (stderr);
  struct termios old, quiet;
  bool restore = false;
  if (secret && tcgetattr (0, &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      restore = tcsetattr (0, TCSAFLUSH, &quiet) == 0;
    }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline (&line, &cap, stdin);
  if (restore)
    {
      tcsetattr (0, TCSAFLUSH, &old);
      fputc ('\n', stderr);
    }
  if (n < 0)
    {
      free (line);
      return NULL;
    }
  line[strcspn (line, "\r\n")] = '\0';
  return line;
}

const char cmd_login_usage[] = "Usage: kiln login [-u USER] [-p PASSWORD | --password-stdin] [REGISTRY]\n"
                               "\n"
                               "Checks the credentials with the registry (Docker Hub without REGISTRY)\n"
                               "and saves them where docker keeps them: config.json (0600), or the\n"
                               "credential helper it names. Asks on the terminal for what is missing.\n"
                               "\n" REGISTRY_HELP;

int
cmd_login (struct kiln_ctx *ctx, int argc, char **argv)
{
  (void) ctx;
  static const struct option opts[] = {{"username", required_argument, NULL, 'u'},
                                       {"password", required_argument, NULL, 'p'},
                                       {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
                                       REGISTRY_OPTIONS,
                                       {0}};
  struct registry_opts ro = {0};
  _cleanup_free_ char *user = NULL;
  _cleanup_free_ char *pass = NULL;
  bool from_stdin = false;
  int c;
  while ((c = getopt_long (argc, argv, "u:p:", opts, NULL)) != -1)
    {
      int r = registry_option ("login", c, &ro);
      if (r < 0)
        return EXIT_USAGE;
      if (r)
        continue;
      switch (c)
        {
        case 'u':
          free (user);
          user = xstrdup (optarg);
          break;
        case 'p':
          free (pass);
          pass = xstrdup (optarg);
          break;
        case OPT_PASSWORD_STDIN: from_stdin = true; break;
        default: return cli_usage_error ("login", "unknown option");
        }
    }
  if (argc - optind > 1)
    return cli_usage_error ("login", "expects at most one REGISTRY");
  if (pass && from_stdin)
    return cli_usage_error ("login", "--password and --password-stdin are mutually exclusive");
  if (from_stdin && user == NULL)
    return cli_usage_error ("login", "--password-stdin needs --username");
  _cleanup_free_ char *host = registry_host (optind < argc ? argv[optind] : "docker.io");
  if (!valid_host (host))
    return cli_usage_error ("login", "\"%s\" is not a registry host", optind < argc ? argv[optind] : "");
  if (pass)
    fprintf (stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  struct kiln_err err = {0};
  if (from_stdin)
    {
      struct buf b = BUF_INIT;
      if (read_all (0, 64u * 1024, &b, "standard input", &err) < 0)
        return cli_fail (&err);
      while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
      pass = buf_steal (&b);
    }
  if (user == NULL && isatty (0))
    user = prompt ("Username", false);
  if (pass == NULL && isatty (0))
    pass = prompt ("Password", true);
  if (user == NULL || *user == '\0' || pass == NULL || *pass == '\0')
    {
      if (pass)
        explicit_bzero (pass, strlen (pass));
      return cli_usage_error ("login", "needs a username and a password (-u, -p or --password-stdin)");
    }
  struct registry_creds creds = {.username = user, .secret = pass};
  ro.creds = &creds;
  struct registry *reg = registry_open (host, &ro, &err);
  int r = reg ? registry_check (reg, &err) : -1;
  registry_close (reg);
  if (r == 0)
    r = creds_store (host, user, pass, &err);
  explicit_bzero (pass, strlen (pass));
  if (r < 0)
    {
      kiln_err_wrap (&err, "login to %s", host);
      return cli_fail (&err);
    }
  printf ("Login Succeeded\n");
  return EXIT_OK;
}

const char cmd_logout_usage[] = "Usage: kiln logout [REGISTRY]\n"
                                "\n"
                                "Forgets the credentials saved for REGISTRY (Docker Hub without one).\n";

int
cmd_logout (struct kiln_ctx *ctx, int argc, char **argv)
{
  (void) ctx;
  static const struct option opts[] = {{0}};
  while (getopt_long (argc, argv, "", opts, NULL) != -1)
    return cli_usage_error ("logout", "unknown option");
  if (argc - optind > 1)
    return cli_usage_error ("logout", "expects at most one REGISTRY");
  _cleanup_free_ char *host = registry_host (optind < argc ? argv[optind] : "docker.io");
  struct kiln_err err = {0};
  int r = creds_erase (host, &err);
  if (r < 0)
    return cli_fail (&err);
  const char *shown = strcmp (host, "docker.io") == 0 ? creds_key (host) : host;
  if (r == 1)
    printf ("Not logged in to %s\n", shown);
  else
    printf ("Removing login credentials for %s\n", shown);
  return EXIT_OK;
}

const char cmd_manifest_usage[] = "Usage: kiln manifest inspect [OPTIONS] NAME[:TAG|@DIGEST]\n"
                                  "\n"
                                  "Prints the manifest or index a registry holds for the reference, as\n"
                                  "the registry sent it (checked against its digest), indented.\n"
                                  "\n"
                                  "  --insecure  same as --tls-verify=false\n" REGISTRY_HELP;

int
cmd_manifest (struct kiln_ctx *ctx, int argc, char **argv)
{
  (void) ctx;
  if (argc < 2 || strcmp (argv[1], "inspect") != 0)
    return cli_usage_error ("manifest", "the only subcommand is inspect");
  argc--;
  argv++;
  static const struct option opts[] = {{"insecure", no_argument, NULL, OPT_INSECURE}, REGISTRY_OPTIONS, {0}};
  struct registry_opts ro = {0};
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    {
      int r = registry_option ("manifest", c, &ro);
      if (r < 0)
        return EXIT_USAGE;
      if (r)
        continue;
      if (c == OPT_INSECURE)
        ro.tls_skip_verify = true;
      else
        return cli_usage_error ("manifest", "unknown option");
    }
  if (optind + 1 != argc)
    return cli_usage_error ("manifest", "inspect expects one image reference");
  struct kiln_err err = {0};
  struct image_ref ref;
  if (ref_parse (argv[optind], true, &ref, &err) < 0)
    return cli_fail (&err);
  struct registry *reg = registry_open (ref.domain, &ro, &err);
  struct registry_manifest m = {0};
  int r = reg ? registry_get_manifest (reg, ref.path, ref.digest ? ref.digest : ref.tag, &m, &err) : -1;
  registry_close (reg);
  ref_clear (&ref);
  if (r < 0)
    return cli_fail (&err);
  json_t *j = json_loadb (m.body, m.len, JSON_DECODE_ANY, NULL);
  char *s = j ? json_dumps (j, JSON_INDENT (3) | JSON_PRESERVE_ORDER) : NULL;
  if (s)
    printf ("%s\n", s);
  else
    fwrite (m.body, 1, m.len, stdout);
  free (s);
  json_decref (j);
  registry_manifest_clear (&m);
  return EXIT_OK;
}
