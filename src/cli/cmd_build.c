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
#include "cli/cli.h"
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

int
cmd_build (struct kiln_ctx *ctx, int argc, char **argv)
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
  struct build_request rq = {.progress = PROGRESS_AUTO, .network = SANDBOX_NET_DEFAULT, .compression = COMPRESS_GZIP};
  struct pull_opts fetch = {0};
  bool push = false;
  struct cache_spec cache_to = {0};
  bool want_cache_to = false;
  _cleanup_strv_ struct strv cache_from = STRV_INIT;
  _cleanup_strv_ struct strv cache_keys = STRV_INIT;
  rq.fetch_image = fetch_base_image;
  rq.fetch_ud = &fetch;
  _cleanup_strv_ struct strv build_args = STRV_INIT;
  rq.stage.build_args = &build_args;
  struct kiln_err err = {0};
  int c;
  int rc = EXIT_OK;
  const char *metadata_file = NULL;
  _cleanup_json_ json_t *explained = NULL;
  struct build_inputs inputs = {0};
  while ((c = getopt_long (argc, argv, "t:f:qo:", opts, NULL)) != -1)
    {
      switch (c)
        {
        case 't':
          {
            struct image_ref r;
            if (ref_parse (optarg, true, &r, &err) < 0 || r.digest)
              {
                if (r.digest)
                  ref_clear (&r);
                rc = cli_usage_error ("build", "invalid tag \"%s\": %s", optarg, err.msg ? err.msg : "a tag cannot hold a digest");
                goto done;
              }
            strv_push_owned (&rq.tags, ref_string (&r));
            ref_clear (&r);
            break;
          }
        case 'f': rq.dockerfile = optarg; break;
        case 'B': strv_push (&inputs.contexts, optarg); break;
        case 'K': strv_push (&inputs.ssh, optarg); break;
        case 'T': rq.stage.target = optarg; break;
        case 'b': strv_push (&build_args, optarg); break;
        case 'n': rq.no_cache = true; break;
        case 'l': strv_push (&rq.labels, optarg); break;
        case 'i': rq.iidfile = optarg; break;
        case 'p':
          if (strchr (optarg, ','))
            {
              rc = cli_usage_error ("build", "--platform: one platform at a time (multi-platform builds are not supported yet)");
              goto done;
            }
          rq.stage.platform = optarg;
          break;
        case 'P':
          if (progress_parse (optarg, &rq.progress) < 0)
            {
              rc = cli_usage_error ("build", "--progress must be auto, tty, plain, quiet or rawjson");
              goto done;
            }
          break;
        case 'q': rq.progress = PROGRESS_QUIET; break;
        case 'o': rq.output = optarg; break;
        case 's': strv_push (&rq.secrets, optarg); break;
        case 'a':
          {
            struct kiln_err e = {0};
            if (net_add_host_check (optarg, &e) < 0)
              {
                rc = cli_usage_error ("build", "%s", e.msg);
                kiln_err_clear (&e);
                goto done;
              }
            strv_push (&rq.add_hosts, optarg);
            break;
          }
        case 'N':
          {
            if (sandbox_net_parse (optarg, &rq.network) < 0)
              {
                rc = cli_usage_error ("build", "--network must be default, none or host");
                goto done;
              }
            break;
          }
        case 'c':
          {
            int z = compression_parse (optarg);
            if (z < 0)
              {
                rc = cli_usage_error ("build", "--compression must be gzip or zstd");
                goto done;
              }
            rq.compression = (enum compression) z;
            break;
          }
        case 'u': rq.pull = true; break;
        case 'A':
          /* BuildKit's entitlements, a list or repeated. */
          for (char *save = NULL, *e = strtok_r (optarg, ",", &save); e; e = strtok_r (NULL, ",", &save))
            {
              if (strcmp (e, "security.insecure") == 0)
                rq.allow_insecure = true;
              else if (strcmp (e, "network.host") == 0)
                rq.allow_network_host = true;
              else
                {
                  rc = cli_usage_error ("build", "--allow: unknown entitlement \"%s\" (security.insecure, network.host)", e);
                  goto done;
                }
            }
          break;
        case 'C':
          cache_spec_clear (&cache_to);
          if (cache_spec_parse (optarg, true, &cache_to, &err) < 0)
            {
              rc = cli_fail (&err);
              goto done;
            }
          want_cache_to = true;
          break;
        case 'F':
          {
            struct cache_spec probe;
            if (cache_spec_parse (optarg, false, &probe, &err) < 0)
              {
                rc = cli_fail (&err);
                goto done;
              }
            cache_spec_clear (&probe);
            strv_push (&cache_from, optarg);
            break;
          }
        case 'H': push = true; break;
        case 'V':
          if (optarg && strcmp (optarg, "false") != 0 && strcmp (optarg, "true") != 0)
            {
              rc = cli_usage_error ("build", "--tls-verify takes true or false");
              goto done;
            }
          fetch.reg.tls_skip_verify = optarg && strcmp (optarg, "false") == 0;
          break;
        case 'R':
          rq.runtime = strcmp (optarg, "kiln") == 0 ? NULL : optarg;
          break;
        case 'M': metadata_file = optarg; break;
        case 'E': rq.explain = true; break;
        case 'X':
          for (char *save = NULL, *e = strtok_r (optarg, ",", &save); e; e = strtok_r (NULL, ",", &save))
            strv_push (&rq.no_cache_stages, e);
          break;
        case 'S':
          if (limits_parse_bytes (optarg, &rq.shm_size) < 0 || rq.shm_size == 0)
            {
              rc = cli_usage_error ("build", "invalid argument \"%s\" for \"--shm-size\" flag: invalid size", optarg);
              goto done;
            }
          break;
        case 'U':
          if (rq.n_rlimits == SANDBOX_MAX_RLIMITS)
            {
              rc = cli_usage_error ("build", "--ulimit: at most %d limits", SANDBOX_MAX_RLIMITS);
              goto done;
            }
          if (limits_parse_ulimit (optarg, &rq.rlimits[rq.n_rlimits], &err) < 0)
            {
              rc = cli_usage_error ("build", "invalid argument \"%s\" for \"--ulimit\" flag: %s", optarg, err.msg);
              goto done;
            }
          /* A later one of the same name wins, as docker's map of them. */
          {
            size_t k = 0;
            while (k < rq.n_rlimits && rq.rlimits[k].resource != rq.rlimits[rq.n_rlimits].resource)
              k++;
            rq.rlimits[k] = rq.rlimits[rq.n_rlimits];
            if (k == rq.n_rlimits)
              rq.n_rlimits++;
          }
          break;
        case 'L': break; /* the image is in the store already: docker's --load is what kiln always does */
        case 'r':
          /* docker's classic builder removed its intermediate containers; steps here
           * leave none, so --rm and --force-rm change nothing (BuildKit ignores them). */
          if (optarg && strcmp (optarg, "true") != 0 && strcmp (optarg, "false") != 0)
            {
              rc = cli_usage_error ("build", "invalid argument \"%s\" for --rm/--force-rm: true or false", optarg);
              goto done;
            }
          break;
        default:
          rc = cli_usage_error ("build", "unknown option");
          goto done;
        }
    }
  if (optind + 1 != argc)
    {
      rc = cli_usage_error ("build", "expects exactly one CONTEXT (a directory, or - for a Dockerfile on stdin)");
      goto done;
    }
  if (metadata_file && outfile_check (metadata_file, 0, &err) < 0)
    {
      rc = cli_fail (&err);
      goto done;
    }
  /* The metadata file carries the cache-miss explanations, --explain or not. */
  if (metadata_file)
    rq.explained = explained = json_array ();
  /* -o type=registry: the image, then pushed (as --push). */
  int to_registry = rq.output ? build_output_push (rq.output, &rq.tags, &err) : 0;
  if (to_registry != 0)
    rq.output = NULL, push = true;
  if (to_registry < 0 || build_inputs_check (argv[optind], rq.dockerfile, &err) < 0)
    {
      rc = cli_usage_error ("build", "%s", err.msg);
      kiln_err_clear (&err);
      goto done;
    }
  {
    struct kiln_store *st = cli_open_store (ctx, &err);
    if (st == NULL)
      {
        rc = cli_fail (&err);
        goto done;
      }
    if (build_inputs_prepare (st, argv[optind], &rq, &inputs, &err) < 0)
      rc = cli_fail (&err);
    struct digest id;
    FILE *note = rq.progress == PROGRESS_QUIET ? NULL : stderr;
    if (want_cache_to)
      {
        rq.cache_keys = &cache_keys;
        rq.cache_keys_all = cache_to.mode == CACHE_MODE_MAX;
      }
    for (size_t i = 0; rc == EXIT_OK && i < cache_from.n; i++)
      {
        struct cache_spec cs;
        if (cache_spec_parse (cache_from.v[i], false, &cs, &err) < 0 || cache_import (st, &cs, &fetch.reg, note, &err) < 0)
          rc = cli_fail (&err);
        cache_spec_clear (&cs);
      }
    if (rc != EXIT_OK)
      ;
    else if (push && rq.tags.n == 0)
      rc = to_registry ? cli_usage_error ("build", "-o type=registry needs name=NAME:TAG or -t NAME:TAG")
                       : cli_usage_error ("build", "--push needs at least one -t NAME:TAG");
    else if (build_run (st, &rq, &id, &err) < 0)
      rc = cli_fail (&err);
    else if (want_cache_to && cache_export (st, &cache_to, &cache_keys, &fetch.reg, note, &err) < 0)
      rc = cli_fail (&err);
    else if (metadata_file && build_metadata_write (st, metadata_file, &id, &rq.tags, explained, &err) < 0)
      rc = cli_fail (&err);
    else
      {
        if (rq.progress == PROGRESS_QUIET)
          printf ("%s\n", id.str);
        /* Every tag, one after another: the second finds the layers already there. */
        struct push_opts po = {.compression = rq.compression, .reg = fetch.reg,
                               .out = rq.progress == PROGRESS_QUIET ? NULL : stderr};
        for (size_t i = 0; push && rc == EXIT_OK && i < rq.tags.n; i++)
          if (image_push (st, rq.tags.v[i], NULL, &po, NULL, &err) < 0)
            rc = cli_fail (&err);
      }
    build_inputs_done (st, &inputs);
    store_close (st);
  }
done:
  strv_free (&inputs.contexts);
  strv_free (&inputs.ssh);
  strv_free (&rq.no_cache_stages);
  strv_free (&rq.add_hosts);
  cache_spec_clear (&cache_to);
  strv_free (&rq.tags);
  strv_free (&rq.labels);
  strv_free (&rq.secrets);
  kiln_err_clear (&err);
  return rc;
}
