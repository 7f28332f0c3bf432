/* cli/cmd_build.c — `kiln build` and `kiln run`. */
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

#include "cli/cli.h"
#include "registry/cache.h"
#include "registry/transfer.h"
#include "image/image.h"
#include "image/ref.h"
#include "solver/build.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "worker/sandbox.h"
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
      "      --progress auto|tty|plain|quiet\n"
      "  -q, --quiet                   print only the image id\n"
      "  -o, --output type=image|oci|docker|local|tar[,dest=PATH]\n"
      "                                (-o DIR: type=local; -o -: a tar on standard output)\n"
      "      --secret id=X,src=FILE|env=VAR   a secret for RUN --mount=type=secret\n"
      "      --network default|none|host      network for RUN steps\n"
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
      "      --runtime runc|crun|PATH  run RUN steps with an OCI runtime (default: kiln's sandbox)\n";

static enum sandbox_net
parse_net (const char *s, bool *ok)
{
  *ok = true;
  if (strcmp (s, "default") == 0 || strcmp (s, "bridge") == 0)
    return SANDBOX_NET_DEFAULT;
  if (strcmp (s, "none") == 0)
    return SANDBOX_NET_NONE;
  if (strcmp (s, "host") == 0)
    return SANDBOX_NET_HOST;
  *ok = false;
  return SANDBOX_NET_DEFAULT;
}

static char *
read_stdin_text (struct kiln_err *err)
{
  struct buf b = BUF_INIT;
  char chunk[65536];
  ssize_t n;
  while ((n = read (0, chunk, sizeof chunk)) > 0)
    {
      if (b.len + (size_t) n > (64u << 20))
        {
          buf_free (&b);
          kiln_err_set (err, EFBIG, "the Dockerfile on standard input is larger than 64 MiB");
          return NULL;
        }
      buf_append (&b, chunk, (size_t) n);
    }
  return buf_steal (&b);
}

static int
fetch_base_image (void *ud, struct kiln_store *st, const char *ref, const char *platform, struct kiln_err *err)
{
  struct pull_opts o = *(const struct pull_opts *) ud;
  o.platform = platform;
  o.out = NULL;
  return image_pull (st, ref, &o, NULL, err);
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
    {"cache-to", required_argument, NULL, 'C'},    {"cache-from", required_argument, NULL, 'F'},
    {"allow", required_argument, NULL, 'A'},
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
  _cleanup_free_ char *df_text = NULL;
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
          if (strcmp (optarg, "plain") == 0)
            rq.progress = PROGRESS_PLAIN;
          else if (strcmp (optarg, "auto") == 0)
            rq.progress = PROGRESS_AUTO;
          else if (strcmp (optarg, "tty") == 0)
            rq.progress = PROGRESS_TTY;
          else if (strcmp (optarg, "quiet") == 0)
            rq.progress = PROGRESS_QUIET;
          else
            {
              rc = cli_usage_error ("build", "--progress must be auto, tty, plain or quiet");
              goto done;
            }
          break;
        case 'q': rq.progress = PROGRESS_QUIET; break;
        case 'o': rq.output = optarg; break;
        case 's': strv_push (&rq.secrets, optarg); break;
        case 'N':
          {
            bool ok;
            rq.network = parse_net (optarg, &ok);
            if (!ok)
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
  if (strcmp (argv[optind], "-") == 0)
    {
      if ((df_text = read_stdin_text (&err)) == NULL)
        {
          rc = cli_fail (&err);
          goto done;
        }
      rq.dockerfile_text = df_text;
    }
  else
    {
      rq.context = argv[optind];
      struct stat sb;
      if (stat (rq.context, &sb) < 0 || !S_ISDIR (sb.st_mode))
        {
          rc = cli_usage_error ("build", "the context \"%s\" is not a directory", rq.context);
          goto done;
        }
      if (rq.dockerfile && strcmp (rq.dockerfile, "-") == 0)
        {
          if ((df_text = read_stdin_text (&err)) == NULL)
            {
              rc = cli_fail (&err);
              goto done;
            }
          rq.dockerfile_text = df_text;
          rq.dockerfile = NULL;
        }
    }
  {
    struct kiln_store *st = cli_open_store (ctx, &err);
    if (st == NULL)
      {
        rc = cli_fail (&err);
        goto done;
      }
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
      rc = cli_usage_error ("build", "--push needs at least one -t NAME:TAG");
    else if (build_run (st, &rq, &id, &err) < 0)
      rc = cli_fail (&err);
    else if (want_cache_to && cache_export (st, &cache_to, &cache_keys, &fetch.reg, note, &err) < 0)
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
    store_close (st);
  }
done:
  cache_spec_clear (&cache_to);
  strv_free (&rq.tags);
  strv_free (&rq.labels);
  strv_free (&rq.secrets);
  kiln_err_clear (&err);
  return rc;
}

/* ---------- run ---------- */

const char cmd_run_usage[]
    = "Usage: kiln run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
      "\n"
      "Runs a command in a new container from IMAGE, in the foreground, and exits\n"
      "with its status.\n"
      "\n"
      "      --rm                 remove the container when it exits (always, for now)\n"
      "  -e, --env K=V            set an environment variable (K alone: from kiln's environment)\n"
      "      --env-file FILE      read K=V lines from FILE\n"
      "  -u, --user USER[:GROUP]  run as this user\n"
      "  -w, --workdir DIR        working directory\n"
      "      --entrypoint CMD     override the image's ENTRYPOINT\n"
      "  -v, --volume HOST:CTR[:ro]  bind a host path\n"
      "      --read-only          mount the root filesystem read-only\n"
      "      --network default|none|host\n"
      "      --name NAME          a name (accepted; containers are not kept yet)\n"
      "  -i, --interactive        keep standard input open\n"
      "  -t, --tty                standard input is a terminal\n"
      "      --runtime runc|crun|PATH  run with an OCI runtime instead of kiln's sandbox\n"
      "      --privileged         every capability and device, no seccomp, no masked paths\n"
      "      --cap-add CAP        add a capability to docker's default set (ALL: every one)\n"
      "      --cap-drop CAP       drop a capability (ALL: every one)\n"
      "      --security-opt no-new-privileges[=true|false] | seccomp=unconfined|PROFILE.json\n";

static int
read_env_file (const char *path, struct strv *env, struct kiln_err *err)
{
  FILE *f = fopen (path, "r");
  if (f == NULL)
    return kiln_err_set (err, errno, "--env-file %s: %s", path, strerror (errno));
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int lineno = 0;
  while ((n = getline (&line, &cap, f)) >= 0)
    {
      lineno++;
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      char *p = line;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0' || *p == '#')
        continue;
      if (strchr (p, '=') == NULL)
        {
          const char *v = getenv (p);
          if (v)
            {
              struct buf b = BUF_INIT;
              buf_printf (&b, "%s=%s", p, v);
              strv_push_owned (env, buf_steal (&b));
            }
          continue;
        }
      if (*p == '=')
        {
          free (line);
          fclose (f);
          return kiln_err_set (err, KILN_EUSAGE, "%s:%d: variable name is empty", path, lineno);
        }
      strv_push (env, p);
    }
  free (line);
  fclose (f);
  return 0;
}


/* A capability as docker writes it: "NET_ADMIN", "CAP_NET_ADMIN", any case. */
static int
cap_bit (const char *name, int *bit, struct kiln_err *err)
{
  char full[64];
  snprintf (full, sizeof full, "%s%s", strncasecmp (name, "CAP_", 4) == 0 ? "" : "CAP_", name);
  cap_value_t v;
  if (strlen (name) > 40 || cap_from_name (full, &v) < 0 || v < 0 || v > 63)
    {
      for (char *c = full; *c; c++)
        *c = (char) toupper ((unsigned char) *c);
      return kiln_err_set (err, KILN_EUSAGE, "unknown capability: \"%s\"", full);
    }
  *bit = v;
  return 0;
}

/* --cap-add, --cap-drop and --security-opt into the spec, as docker reads them:
 * drops first (ALL: every one), then adds (ALL: every one). */
static int
run_security (struct sandbox_spec *spec, const struct strv *add, const struct strv *drop, const struct strv *opts,
              struct seccomp_profile **profile, struct kiln_err *err)
{
  uint64_t caps = sandbox_default_caps ();
  for (size_t i = 0; i < drop->n; i++)
    {
      int b;
      if (strcasecmp (drop->v[i], "ALL") == 0)
        caps = 0;
      else if (cap_bit (drop->v[i], &b, err) < 0)
        return kiln_err_wrap (err, "invalid --cap-drop");
      else
        caps &= ~(1ULL << b);
    }
  for (size_t i = 0; i < add->n; i++)
    {
      int b;
      if (strcasecmp (add->v[i], "ALL") == 0)
        for (int c = 0; c <= CAP_LAST_CAP; c++)
          caps |= 1ULL << c;
      else if (cap_bit (add->v[i], &b, err) < 0)
        return kiln_err_wrap (err, "invalid --cap-add");
      else
        caps |= 1ULL << b;
    }
  spec->caps_given = add->n || drop->n;
  spec->caps = caps;
  for (size_t i = 0; i < opts->n; i++)
    {
      const char *o = opts->v[i];
      const char *eq = strpbrk (o, "=:");
      size_t kl = eq ? (size_t) (eq - o) : strlen (o);
      const char *val = eq ? eq + 1 : NULL;
      if (kl == 17 && strncmp (o, "no-new-privileges", kl) == 0)
        {
          if (val && strcmp (val, "true") != 0 && strcmp (val, "false") != 0)
            return kiln_err_set (err, KILN_EUSAGE, "invalid --security-opt %s: no-new-privileges takes true or false", o);
          spec->no_new_privs = val == NULL || strcmp (val, "true") == 0;
        }
      else if (kl == 7 && strncmp (o, "seccomp", kl) == 0 && val && *val)
        {
          if (strcmp (val, "unconfined") == 0)
            spec->seccomp_unconfined = true;
          else if (strcmp (val, "builtin") != 0)
            {
              _cleanup_buf_ struct buf text = BUF_INIT;
              _cleanup_close_ int fd = open (val, O_RDONLY | O_CLOEXEC);
              if (fd < 0)
                return kiln_err_set (err, errno, "--security-opt seccomp=%s: %s", val, strerror (errno));
              if (read_all (fd, 4u << 20, &text, val, err) < 0)
                return kiln_err_wrap (err, "--security-opt seccomp");
              seccomp_profile_free (*profile);
              if ((*profile = seccomp_profile_parse (buf_str (&text), text.len, err)) == NULL)
                return kiln_err_wrap (err, "--security-opt seccomp=%s", val);
              spec->seccomp_profile = *profile;
            }
        }
      else if (kl == 8 && strncmp (o, "apparmor", kl) == 0)
        ; /* kiln has no AppArmor profile to choose */
      else
        return kiln_err_set (err, KILN_EUSAGE, "invalid --security-opt: \"%s\"", o);
    }
  return 0;
}

int
cmd_run (struct kiln_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    {"rm", no_argument, NULL, 'r'},           {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, 'E'}, {"user", required_argument, NULL, 'u'},
    {"workdir", required_argument, NULL, 'w'}, {"entrypoint", required_argument, NULL, 'P'},
    {"volume", required_argument, NULL, 'v'}, {"read-only", no_argument, NULL, 'R'},
    {"network", required_argument, NULL, 'N'}, {"name", required_argument, NULL, 'n'},
    {"interactive", no_argument, NULL, 'i'},  {"tty", no_argument, NULL, 't'},
    {"runtime", required_argument, NULL, 'T'}, {"privileged", no_argument, NULL, 'X'},
    {"cap-add", required_argument, NULL, 'a'}, {"cap-drop", required_argument, NULL, 'd'},
    {"security-opt", required_argument, NULL, 'S'}, {0}};
  struct sandbox_spec spec = {0};
  _cleanup_strv_ struct strv cap_add = STRV_INIT;
  _cleanup_strv_ struct strv cap_drop = STRV_INIT;
  _cleanup_strv_ struct strv security_opts = STRV_INIT;
  struct seccomp_profile *profile = NULL;
  _cleanup_strv_ struct strv extra_env = STRV_INIT;
  _cleanup_strv_ struct strv volumes = STRV_INIT;
  const char *user = NULL, *workdir = NULL, *entrypoint = NULL, *runtime = NULL;
  bool entrypoint_set = false, interactive = false, tty = false, readonly = false;
  enum sandbox_net net = SANDBOX_NET_DEFAULT;
  struct kiln_err err = {0};
  int c;
  /* Options end at the image name: what follows is the container's command. */
  while ((c = getopt_long (argc, argv, "+e:u:w:v:it", opts, NULL)) != -1)
    switch (c)
      {
      case 'r': case 'n': break;
      case 'e':
        if (strchr (optarg, '='))
          strv_push (&extra_env, optarg);
        else if (getenv (optarg))
          {
            struct buf b = BUF_INIT;
            buf_printf (&b, "%s=%s", optarg, getenv (optarg));
            strv_push_owned (&extra_env, buf_steal (&b));
          }
        break;
      case 'E':
        if (read_env_file (optarg, &extra_env, &err) < 0)
          return cli_fail (&err);
        break;
      case 'u': user = optarg; break;
      case 'w': workdir = optarg; break;
      case 'P': entrypoint = optarg; entrypoint_set = true; break;
      case 'v': strv_push (&volumes, optarg); break;
      case 'R': readonly = true; break;
      case 'N':
        {
          bool ok;
          net = parse_net (optarg, &ok);
          if (!ok)
            return cli_usage_error ("run", "--network must be default, none or host");
          break;
        }
      case 'i': interactive = true; break;
      case 't': tty = true; break;
      case 'T': runtime = strcmp (optarg, "kiln") == 0 ? NULL : optarg; break;
      case 'X': spec.privileged = true; break;
      case 'a': strv_push (&cap_add, optarg); break;
      case 'd': strv_push (&cap_drop, optarg); break;
      case 'S': strv_push (&security_opts, optarg); break;
      default: return cli_usage_error ("run", "unknown option");
      }
  if (optind >= argc)
    return cli_usage_error ("run", "expects an IMAGE");
  if (run_security (&spec, &cap_add, &cap_drop, &security_opts, &profile, &err) < 0)
    {
      kiln_err_wrap (&err, "run");
      err.code = KILN_EUSAGE;
      return cli_fail (&err);
    }
  const char *image = argv[optind];
  if (runtime == NULL && !spec.privileged)
    sandbox_warm_up ();
  struct kiln_store *st = cli_open_store (ctx, &err);
  if (st == NULL)
    return cli_fail (&err);
  int rc = EXIT_FAIL;
  struct digest id;
  struct image_info ii = {0};
  char *tmp = NULL;
  if (store_lock_shared (st, &err) < 0)
    {
      rc = cli_fail (&err);
      goto out;
    }
  if (image_resolve (st, image, &id, &err) < 0 && err.code == ENOENT)
    {
      /* As docker run does: an image the store lacks is pulled first. */
      fprintf (stderr, "Unable to find image '%s' locally\n", image);
      kiln_err_clear (&err);
      struct pull_opts po = {.out = stderr};
      if (image_pull (st, image, &po, &id, &err) < 0)
        {
          rc = cli_fail (&err);
          goto out;
        }
    }
  if (kiln_err_is_set (&err) || image_load (st, &id, &ii, &err) < 0)
    {
      rc = cli_fail (&err);
      goto out;
    }
  json_t *cfg = json_object_get (ii.config, "config");
  /* argv: ENTRYPOINT + (the command given, or the image's CMD). */
  json_t *ep = json_object_get (cfg, "Entrypoint");
  if (entrypoint_set)
    {
      if (*entrypoint)
        strv_push (&spec.argv, entrypoint);
    }
  else if (json_is_array (ep))
    {
      size_t i;
      json_t *v;
      json_array_foreach (ep, i, v) strv_push (&spec.argv, json_string_value (v) ? json_string_value (v) : "");
    }
  if (optind + 1 < argc)
    for (int i = optind + 1; i < argc; i++)
      strv_push (&spec.argv, argv[i]);
  else if (!entrypoint_set && json_is_array (json_object_get (cfg, "Cmd")))
    {
      size_t i;
      json_t *v;
      json_array_foreach (json_object_get (cfg, "Cmd"), i, v)
        strv_push (&spec.argv, json_string_value (v) ? json_string_value (v) : "");
    }
  if (spec.argv.n == 0)
    {
      kiln_err_set (&err, KILN_EUSAGE, "no command specified: the image has no ENTRYPOINT or CMD; give one");
      rc = cli_fail (&err);
      goto out;
    }
  json_t *env = json_object_get (cfg, "Env");
  size_t i;
  json_t *v;
  json_array_foreach (env, i, v)
  {
    const char *s = json_string_value (v);
    if (s)
      strv_push (&spec.env, s);
  }
  for (size_t k = 0; k < extra_env.n; k++)
    strv_push (&spec.env, extra_env.v[k]);
  for (size_t k = 0; k < ii.n_layers; k++)
    {
      _cleanup_free_ char *sid = NULL;
      /* lowers: topmost first */
      size_t l = ii.n_layers - 1 - k;
      if (snapshot_lookup (st, &ii.layers[l].diff_id, &sid, NULL, &err) != 1)
        {
          kiln_err_set (&err, ENOENT, "layer %s of %s has no snapshot", ii.layers[l].diff_id.str, image);
          rc = cli_fail (&err);
          goto out;
        }
      struct buf p = BUF_INIT;
      buf_printf (&p, "%s/fs", sid);
      strv_push_owned (&spec.lowers, buf_steal (&p));
    }
  spec.mounts = xcalloc (volumes.n + 1, sizeof *spec.mounts);
  for (size_t k = 0; k < volumes.n; k++)
    {
      _cleanup_free_ char *vspec = xstrdup (volumes.v[k]);
      char *ctr = strchr (vspec, ':');
      if (ctr == NULL || vspec[0] != '/')
        {
          kiln_err_set (&err, KILN_EUSAGE, "-v %s: use /HOST/PATH:/CONTAINER/PATH[:ro]", volumes.v[k]);
          rc = cli_fail (&err);
          goto out;
        }
      *ctr++ = '\0';
      char *mode = strchr (ctr, ':');
      if (mode)
        *mode++ = '\0';
      if (ctr[0] != '/')
        {
          kiln_err_set (&err, KILN_EUSAGE, "-v %s: the container path must be absolute", volumes.v[k]);
          rc = cli_fail (&err);
          goto out;
        }
      if (access (vspec, F_OK) < 0)
        mkdir (vspec, 0755); /* docker creates a missing host directory */
      struct sandbox_mount *m = &spec.mounts[spec.n_mounts++];
      m->type = SMOUNT_BIND;
      m->source = xstrdup (vspec);
      m->target = xstrdup (ctr);
      m->readonly = mode && strcmp (mode, "ro") == 0;
    }
  tmp = store_tmp_dir (st, "run", &err);
  if (tmp == NULL)
    {
      rc = cli_fail (&err);
      goto out;
    }
  char upper[4200], work[4200], merged[4200];
  snprintf (upper, sizeof upper, "%s/%s/fs", st->root, tmp);
  snprintf (work, sizeof work, "%s/%s/work", st->root, tmp);
  snprintf (merged, sizeof merged, "%s/%s/merged", st->root, tmp);
  mkdir (upper, 0755);
  mkdir (work, 0700);
  mkdir (merged, 0755);
  const char *cfg_user = json_string_value (json_object_get (cfg, "User"));
  const char *cfg_wd = json_string_value (json_object_get (cfg, "WorkingDir"));
  spec.store_root = st->root;
  spec.upper = upper;
  spec.work = work;
  spec.merged = merged;
  spec.readonly_root = readonly;
  spec.user = user ? user : cfg_user ? cfg_user : "";
  spec.cwd = workdir ? workdir : cfg_wd && *cfg_wd ? cfg_wd : "/";
  spec.hostname = "kiln";
  spec.network = net == SANDBOX_NET_DEFAULT && !sandbox_have_slirp () ? SANDBOX_NET_NONE : net;
  spec.stdin_fd = interactive ? 0 : -1;
  spec.netns_fd = -1;
  spec.forward_signals = true;
  spec.init = true;
  spec.runtime = runtime;
  spec.stdout_fd = 1;
  spec.stderr_fd = 2;
  spec.tty = tty && isatty (0);
  /* As docker: the container gets pipes, not kiln's own descriptors (a file it
   * could reopen and change through /proc/self/fd). A terminal stays the terminal
   * until containers get their own pty (issue 13). */
  spec.pipe_stdio = !spec.tty;
  int code = 0;
  if (sandbox_run (&spec, &code, &err) < 0)
    {
      kiln_err_wrap (&err, "starting the container");
      rc = cli_fail (&err);
      goto out;
    }
  rc = code;
out:
  if (tmp)
    {
      struct kiln_err e2 = {0};
      store_remove_tree (st->root_fd, tmp, &e2);
      _cleanup_buf_ struct buf p = BUF_INIT;
      buf_printf (&p, "%s/merged.etc", tmp);
      store_remove_tree (st->root_fd, buf_str (&p), &e2);
      kiln_err_clear (&e2);
      free (tmp);
    }
  sandbox_spec_clear (&spec);
  seccomp_profile_free (profile);
  image_info_clear (&ii);
  store_close (st);
  return rc;
}
