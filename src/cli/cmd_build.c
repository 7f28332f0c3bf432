/* cli/cmd_build.c — `kiln build` (`kiln run` is in cmd_run.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/build_ctx.h"
#include "cli/build_io.h"
#include "cli/build_output.h"
#include "cli/build_secret.h"
#include "cli/cli.h"
#include "frontend/df_driver.h"
#include "registry/cache.h"
#include "registry/transfer.h"
#include "image/image.h"
#include "image/ref.h"
#include "net/net.h"
#include "solver/build.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/outfile.h"
#include "worker/sandbox.h"
#include "worker/limits.h"
#include "worker/seccomp.h"

const char cmd_build_usage[]
    = "Usage: kiln build [OPTIONS] CONTEXT|-\n"
      "\n"
      "Builds an image from a Dockerfile, as `docker build` does.\n"
      "\n"
      "  -t, --tag NAME[:TAG]          name the image (repeatable)\n"
      "  -f, --file FILE               the Dockerfile (default CONTEXT/Dockerfile; - for stdin)\n"
      "      --target STAGE            build this stage and what it needs\n"
      "      --build-arg K[=V]         set a build argument (K alone: from the environment)\n"
      "      --no-cache                run every step (cache mounts are kept)\n"
      "      --label K=V               add a label to the image\n"
      "      --iidfile FILE            write the image id to FILE\n"
      "      --platform OS/ARCH        target platform (TARGETPLATFORM and friends)\n"
      "      --progress auto|tty|plain|quiet|rawjson\n"
      "  -q, --quiet                   print only the image id\n"
      "  -o, --output type=image|registry|oci|docker|local|tar[,dest=PATH][,name=REF]\n"
      "                                (-o DIR: type=local; -o -: a tar on standard output)\n"
      "      --secret id=X,src=FILE|env=VAR   a secret for RUN --mount=type=secret\n"
      "      --network default|none|host      network for RUN steps\n"
      "      --add-host HOST:IP        a line in RUN steps' /etc/hosts (IP host-gateway:\n"
      "                                the host, as the step's network reaches it)\n"
      "      --allow ENTITLEMENT       security.insecure (RUN --security=insecure) or\n"
      "                                network.host (RUN --network=host); repeatable\n"
      "      --compression gzip|zstd   layer compression for --output oci/docker and --push\n"
      "      --pull                    fetch every base image again (bases the store lacks\n"
      "                                are always pulled)\n"
      "      --push                    push every -t tag when the build succeeds\n"
      "      --tls-verify=false        for registries: any certificate, or plain HTTP\n"
      "      --cache-to type=registry,ref=R[,mode=min|max] | type=local,dest=DIR[,mode=...]\n"
      "                                export the cache records and layers this build used\n"
      "      --cache-from type=registry,ref=R | type=local,src=DIR | R   (repeatable)\n"
      "                                import a cache before building\n"
      "      --runtime runc|crun|PATH  run RUN steps with an OCI runtime (default: kiln's sandbox)\n"
      "      --metadata-file FILE      write the build's result (BuildKit's keys) as JSON\n"
      "      --no-cache-filter STAGE   run every step of STAGE (repeatable, or a list)\n"
      "      --explain                 say why each step that runs missed the cache: the\n"
      "                                context file, build arg, base image or instruction\n"
      "                                that changed since the last build of this target\n"
      "      --shm-size SIZE           /dev/shm of RUN steps (default 64m)\n"
      "      --ulimit NAME=SOFT[:HARD] a resource limit of RUN steps (repeatable)\n"
      "      --build-context NAME=DIR|docker-image://REF|oci-layout://DIR[@DIGEST]\n"
      "                                replace the stage or image NAME (FROM, COPY --from,\n"
      "                                RUN --mount from=); repeatable\n"
      "      --ssh default|ID[=SOCKET|KEY[,KEY]]  an SSH agent for RUN --mount=type=ssh\n"
      "      --load, --rm, --force-rm  accepted, as BuildKit does: the image is always in\n"
      "                                the store, and steps leave no containers\n"
      "\n"
      "CONTEXT - reads a tar (plain or compressed) as the context, or else a Dockerfile.\n"
      "CONTEXT may be a git URL (https://host/repo.git#REF:DIR, git@host:repo.git, git://...),\n"
      "fetched with git.\n";

static int
fetch_base_image (void *ud, struct kiln_store *st, const char *ref, const char *platform, struct kiln_err *err)
{
  struct pull_opts o = *(const struct pull_opts *) ud;
  o.platform = platform;
  o.out = NULL;
  return image_pull (st, ref, &o, NULL, err);
}

/* --progress: BuildKit's names. */
static int
progress_parse (const char *s, enum progress_mode *out)
{
  static const struct
  {
    const char *name;
    enum progress_mode mode;
  } modes[] = {{"auto", PROGRESS_AUTO},   {"plain", PROGRESS_PLAIN},     {"tty", PROGRESS_TTY},
               {"quiet", PROGRESS_QUIET}, {"rawjson", PROGRESS_RAWJSON}};
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
    if (strcmp (s, modes[i].name) == 0)
      {
        *out = modes[i].mode;
        return 0;
      }
  return -1;
}

/* What `kiln build`'s flags say: the solver's request, and what the CLI does
 * around the build (fetching bases, caches, pushing, the metadata file). */
struct build_cli
{
  struct build_request rq;
  struct pull_opts fetch; /* the registry options of pulls, pushes and caches */
  bool push;
  struct cache_spec cache_to;
  bool want_cache_to;
  struct strv cache_from, cache_keys, build_args;
  const char *metadata_file;
  json_t *explained;
  struct build_inputs inputs;
  struct build_output_flag output;
  bool has_output;
  struct envmap secrets_src, secrets_env; /* --secret (cli/build_secret.h) */
};

/* -t NAME[:TAG]: normalised into rq.tags. */
static int
tag_flag (struct build_cli *b, const char *arg)
{
  struct kiln_err err = {0};
  struct image_ref r;
  if (ref_parse (arg, true, &r, &err) < 0 || r.digest)
    {
      if (r.digest)
        ref_clear (&r);
      int rc = cli_usage_error ("build", "invalid tag \"%s\": %s", arg, err.msg ? err.msg : "a tag cannot hold a digest");
      kiln_err_clear (&err);
      return rc;
    }
  strv_push_owned (&b->rq.tags, ref_string (&r));
  ref_clear (&r);
  return EXIT_OK;
}

/* --secret: read now, so a bad one fails before the build starts (as BuildKit's client). */
static int
secret_flag (struct build_cli *b, const char *arg)
{
  struct kiln_err err = {0};
  if (build_secret_parse (arg, &b->secrets_src, &b->secrets_env, &err) < 0)
    return cli_fail (&err);
  b->rq.secrets_src = &b->secrets_src;
  b->rq.secrets_env = &b->secrets_env;
  return EXIT_OK;
}

/* --allow: BuildKit's entitlements, a list or repeated. */
static int
allow_flag (struct build_request *rq, char *arg)
{
  for (char *save = NULL, *e = strtok_r (arg, ",", &save); e; e = strtok_r (NULL, ",", &save))
    {
      if (strcmp (e, "security.insecure") == 0)
        rq->allow_insecure = true;
      else if (strcmp (e, "network.host") == 0)
        rq->allow_network_host = true;
      else
        return cli_usage_error ("build", "--allow: unknown entitlement \"%s\" (security.insecure, network.host)", e);
    }
  return EXIT_OK;
}

/* --ulimit NAME=SOFT[:HARD]: a later one of the same name wins, as docker's map of them. */
static int
ulimit_flag (struct build_request *rq, const char *arg)
{
  if (rq->n_rlimits == SANDBOX_MAX_RLIMITS)
    return cli_usage_error ("build", "--ulimit: at most %d limits", SANDBOX_MAX_RLIMITS);
  struct kiln_err err = {0};
  if (limits_parse_ulimit (arg, &rq->rlimits[rq->n_rlimits], &err) < 0)
    {
      int rc = cli_usage_error ("build", "invalid argument \"%s\" for \"--ulimit\" flag: %s", arg, err.msg);
      kiln_err_clear (&err);
      return rc;
    }
  size_t k = 0;
  while (k < rq->n_rlimits && rq->rlimits[k].resource != rq->rlimits[rq->n_rlimits].resource)
    k++;
  rq->rlimits[k] = rq->rlimits[rq->n_rlimits];
  if (k == rq->n_rlimits)
    rq->n_rlimits++;
  return EXIT_OK;
}

/* --cache-to (the last one counts) and --cache-from (checked now, imported once the
 * store is open). */
static int
cache_flag (struct build_cli *b, bool to, const char *arg)
{
  struct kiln_err err = {0};
  if (to)
    {
      cache_spec_clear (&b->cache_to);
      if (cache_spec_parse (arg, true, &b->cache_to, &err) < 0)
        return cli_fail (&err);
      b->want_cache_to = true;
      return EXIT_OK;
    }
  struct cache_spec probe;
  if (cache_spec_parse (arg, false, &probe, &err) < 0)
    return cli_fail (&err);
  cache_spec_clear (&probe);
  strv_push (&b->cache_from, arg);
  return EXIT_OK;
}

/* A flag whose value needs no more than a check or a conversion: EXIT_OK or the
 * exit code after saying why. */
static int
value_flag (struct build_cli *b, int c, char *arg)
{
  struct build_request *rq = &b->rq;
  struct kiln_err e = {0};
  int z;
  switch (c)
    {
    case 'p':
      if (strchr (arg, ','))
        return cli_usage_error ("build", "--platform: one platform at a time (multi-platform builds are not supported yet)");
      rq->platform = arg;
      return EXIT_OK;
    case 'P':
      if (progress_parse (arg, &rq->progress) < 0)
        return cli_usage_error ("build", "--progress must be auto, tty, plain, quiet or rawjson");
      return EXIT_OK;
    case 'a':
      if (net_add_host_check (arg, &e) < 0)
        {
          int rc = cli_usage_error ("build", "%s", e.msg);
          kiln_err_clear (&e);
          return rc;
        }
      strv_push (&rq->add_hosts, arg);
      return EXIT_OK;
    case 'N':
      if (sandbox_net_parse (arg, &rq->network) < 0)
        return cli_usage_error ("build", "--network must be default, none or host");
      return EXIT_OK;
    case 'c':
      if ((z = compression_parse (arg)) < 0)
        return cli_usage_error ("build", "--compression must be gzip or zstd");
      rq->compression = (enum compression) z;
      return EXIT_OK;
    case 'V':
      if (arg && strcmp (arg, "false") != 0 && strcmp (arg, "true") != 0)
        return cli_usage_error ("build", "--tls-verify takes true or false");
      b->fetch.reg.tls_skip_verify = arg && strcmp (arg, "false") == 0;
      return EXIT_OK;
    case 'S':
      if (limits_parse_bytes (arg, &rq->shm_size) < 0 || rq->shm_size == 0)
        return cli_usage_error ("build", "invalid argument \"%s\" for \"--shm-size\" flag: invalid size", arg);
      return EXIT_OK;
    case 'r':
      /* docker's classic builder removed its intermediate containers; steps here
       * leave none, so --rm and --force-rm change nothing (BuildKit ignores them). */
      if (arg && strcmp (arg, "true") != 0 && strcmp (arg, "false") != 0)
        return cli_usage_error ("build", "invalid argument \"%s\" for --rm/--force-rm: true or false", arg);
      return EXIT_OK;
    default: return cli_usage_error ("build", "unknown option");
    }
}

/* One flag of `kiln build` into b: EXIT_OK or the exit code after saying why. */
static int
build_flag (struct build_cli *b, int c, char *arg)
{
  struct build_request *rq = &b->rq;
  switch (c)
    {
    case 't': return tag_flag (b, arg);
    case 'f': rq->dockerfile = arg; break;
    case 'B': strv_push (&b->inputs.contexts, arg); break;
    case 'K': strv_push (&b->inputs.ssh, arg); break;
    case 'T': rq->target = arg; break;
    case 'b': strv_push (&b->build_args, arg); break;
    case 'n': rq->no_cache = true; break;
    case 'l': strv_push (&rq->labels, arg); break;
    case 'i': rq->iidfile = arg; break;
    case 'q': rq->progress = PROGRESS_QUIET; break;
    case 'o':
      build_output_clear (&b->output);
      build_output_parse (arg, &b->output);
      b->has_output = true;
      break;
    case 's': return secret_flag (b, arg);
    case 'u': rq->pull = true; break;
    case 'A': return allow_flag (rq, arg);
    case 'C':
    case 'F': return cache_flag (b, c == 'C', arg);
    case 'H': b->push = true; break;
    case 'R': rq->runtime = strcmp (arg, "kiln") == 0 ? NULL : arg; break;
    case 'M': b->metadata_file = arg; break;
    case 'E': rq->explain = true; break;
    case 'X':
      for (char *save = NULL, *e = strtok_r (arg, ",", &save); e; e = strtok_r (NULL, ",", &save))
        strv_push (&rq->no_cache_stages, e);
      break;
    case 'U': return ulimit_flag (rq, arg);
    case 'L': break; /* the image is in the store already: docker's --load is what kiln always does */
    default: return value_flag (b, c, arg);
    }
  return EXIT_OK;
}

static int
parse_build_flags (struct build_cli *b, int argc, char **argv)
{
  static const struct option opts[] = {
    {"tag", required_argument, NULL, 't'},         {"file", required_argument, NULL, 'f'},
    {"target", required_argument, NULL, 'T'},      {"build-arg", required_argument, NULL, 'b'},
    {"no-cache", no_argument, NULL, 'n'},          {"label", required_argument, NULL, 'l'},
    {"iidfile", required_argument, NULL, 'i'},     {"platform", required_argument, NULL, 'p'},
    {"progress", required_argument, NULL, 'P'},    {"quiet", no_argument, NULL, 'q'},
    {"output", required_argument, NULL, 'o'},      {"secret", required_argument, NULL, 's'},
    {"network", required_argument, NULL, 'N'},     {"compression", required_argument, NULL, 'c'},
    {"pull", no_argument, NULL, 'u'},              {"runtime", required_argument, NULL, 'R'},
    {"push", no_argument, NULL, 'H'},              {"tls-verify", optional_argument, NULL, 'V'},
    {"add-host", required_argument, NULL, 'a'},
    {"cache-to", required_argument, NULL, 'C'},    {"cache-from", required_argument, NULL, 'F'},
    {"allow", required_argument, NULL, 'A'},
    {"metadata-file", required_argument, NULL, 'M'}, {"no-cache-filter", required_argument, NULL, 'X'},
    {"shm-size", required_argument, NULL, 'S'},      {"ulimit", required_argument, NULL, 'U'},
    {"load", no_argument, NULL, 'L'},                {"rm", optional_argument, NULL, 'r'},
    {"force-rm", optional_argument, NULL, 'r'},      {"explain", no_argument, NULL, 'E'},
    {"build-context", required_argument, NULL, 'B'}, {"ssh", required_argument, NULL, 'K'},
    {0}};
  int c, rc;
  while ((c = getopt_long (argc, argv, "t:f:qo:", opts, NULL)) != -1)
    if ((rc = build_flag (b, c, optarg)) != EXIT_OK)
      return rc;
  return EXIT_OK;
}

/* The Dockerfile frontend driving the solver for one build. */
static int
run_dockerfile (struct kiln_store *st, struct build_request *rq, struct digest *id, struct kiln_err *err)
{
  struct df_driver dfd;
  struct build_frontend fe;
  df_driver_init (&dfd, rq, &fe);
  rq->frontend = &fe;
  int r = build_run (st, rq, id, err);
  rq->frontend = NULL;
  df_driver_clear (&dfd);
  return r;
}

/* The build in the open store, then the cache export, the metadata file and the
 * pushes it asks for. */
static int
build_in_store (struct kiln_store *st, struct build_cli *b, const char *context, bool to_registry)
{
  struct build_request *rq = &b->rq;
  struct kiln_err err = {0};
  int rc = EXIT_OK;
  if (build_inputs_prepare (st, context, rq, &b->inputs, &err) < 0)
    rc = cli_fail (&err);
  struct digest id;
  FILE *note = rq->progress == PROGRESS_QUIET ? NULL : stderr;
  if (b->want_cache_to)
    {
      rq->cache_keys = &b->cache_keys;
      rq->cache_keys_all = b->cache_to.mode == CACHE_MODE_MAX;
    }
  for (size_t i = 0; rc == EXIT_OK && i < b->cache_from.n; i++)
    {
      struct cache_spec cs;
      if (cache_spec_parse (b->cache_from.v[i], false, &cs, &err) < 0 || cache_import (st, &cs, &b->fetch.reg, note, &err) < 0)
        rc = cli_fail (&err);
      cache_spec_clear (&cs);
    }
  if (rc != EXIT_OK)
    ;
  else if (b->push && rq->tags.n == 0)
    rc = to_registry ? cli_usage_error ("build", "-o type=registry needs name=NAME:TAG or -t NAME:TAG")
                     : cli_usage_error ("build", "--push needs at least one -t NAME:TAG");
  else if (run_dockerfile (st, rq, &id, &err) < 0)
    rc = cli_fail (&err);
  else if (b->want_cache_to && cache_export (st, &b->cache_to, &b->cache_keys, &b->fetch.reg, note, &err) < 0)
    rc = cli_fail (&err);
  else if (b->metadata_file && build_metadata_write (st, b->metadata_file, &id, &rq->tags, b->explained, &err) < 0)
    rc = cli_fail (&err);
  else
    {
      if (rq->progress == PROGRESS_QUIET)
        printf ("%s\n", id.str);
      /* Every tag, one after another: the second finds the layers already there. */
      struct push_opts po = {.compression = rq->compression, .reg = b->fetch.reg,
                             .out = rq->progress == PROGRESS_QUIET ? NULL : stderr};
      for (size_t i = 0; b->push && rc == EXIT_OK && i < rq->tags.n; i++)
        if (image_push (st, rq->tags.v[i], NULL, &po, NULL, &err) < 0)
          rc = cli_fail (&err);
    }
  build_inputs_done (st, &b->inputs);
  return rc;
}

static void
build_cli_clear (struct build_cli *b)
{
  strv_free (&b->inputs.contexts);
  strv_free (&b->inputs.ssh);
  strv_free (&b->rq.no_cache_stages);
  strv_free (&b->rq.add_hosts);
  cache_spec_clear (&b->cache_to);
  strv_free (&b->rq.tags);
  strv_free (&b->rq.labels);
  envmap_free (&b->secrets_src);
  envmap_free (&b->secrets_env);
  strv_free (&b->cache_from);
  strv_free (&b->cache_keys);
  strv_free (&b->build_args);
  build_output_clear (&b->output);
  json_decref (b->explained);
}

/* After the flags, before the store: CONTEXT, the metadata file and -o make sense
 * together.  *to_registry: -o type=registry (the image, then pushed as --push). */
static int
check_build_args (struct build_cli *b, int argc, char **argv, bool *to_registry)
{
  struct kiln_err err = {0};
  if (optind + 1 != argc)
    return cli_usage_error ("build", "expects exactly one CONTEXT (a directory, or - for a Dockerfile on stdin)");
  if (b->metadata_file && outfile_check (b->metadata_file, 0, &err) < 0)
    return cli_fail (&err);
  /* The metadata file carries the cache-miss explanations, --explain or not. */
  if (b->metadata_file)
    b->rq.explained = b->explained = json_array ();
  int pushed = b->has_output ? build_output_push (&b->output, &b->rq.tags, &err) : 0;
  b->rq.output = b->has_output && pushed == 0 ? &b->output.out : NULL;
  if (pushed != 0)
    b->push = true;
  *to_registry = pushed != 0;
  if (pushed < 0 || build_inputs_check (argv[optind], b->rq.dockerfile, &err) < 0)
    {
      int rc = cli_usage_error ("build", "%s", err.msg);
      kiln_err_clear (&err);
      return rc;
    }
  return EXIT_OK;
}

int
cmd_build (struct kiln_ctx *ctx, int argc, char **argv)
{
  struct build_cli b = {.rq = {.progress = PROGRESS_AUTO, .network = SANDBOX_NET_DEFAULT, .compression = COMPRESS_GZIP},
                        .cache_from = STRV_INIT, .cache_keys = STRV_INIT, .build_args = STRV_INIT,
                        .output = {.names = STRV_INIT}};
  b.rq.fetch_image = fetch_base_image;
  b.rq.fetch_ud = &b.fetch;
  b.rq.build_args = &b.build_args;
  bool to_registry = false;
  int rc = parse_build_flags (&b, argc, argv);
  if (rc == EXIT_OK)
    rc = check_build_args (&b, argc, argv, &to_registry);
  if (rc == EXIT_OK)
    {
      struct kiln_err err = {0};
      struct kiln_store *st = cli_open_store (ctx, &err);
      if (st == NULL)
        rc = cli_fail (&err);
      else
        {
          rc = build_in_store (st, &b, argv[optind], to_registry);
          store_close (st);
        }
    }
  build_cli_clear (&b);
  return rc;
}
