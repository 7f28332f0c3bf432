/* solver/build.h — `kiln build`: stages in build order, every step cached by
 * content, RUN in the sandbox, COPY/ADD/WORKDIR as file operations, the image
 * committed to the store (and exported if asked).
 *
 * Cache key of a step = sha256(parent key, the step after expansion, the
 * content of its inputs): a context COPY hashes the selected files (content,
 * mode, names; never mtimes), a RUN its argv, environment (only the build args
 * the stage declared), user, directory and mounts.  A hit reuses the layer the
 * step made before; a miss runs it. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/compress.h"
#include "util/digest.h"
#include "util/envmap.h"
#include "util/err.h"
#include "worker/sandbox.h"

enum progress_mode
{
  PROGRESS_AUTO,
  PROGRESS_PLAIN,
  PROGRESS_TTY,
  PROGRESS_QUIET,
  PROGRESS_RAWJSON, /* BuildKit's SolveStatus JSON, one object a line (solver/progress.c) */
};

/* --output, parsed by the CLI (cli/build_output.h): the build checks the type and
 * writes the image there besides the store. */
struct build_output
{
  const char *type; /* as given: image, local, tar, oci or docker are known */
  const char *dest; /* dest= (or docker's shorthands -o DIR, -o -); NULL: not given */
};

struct graph_def;   /* graph/def.h */
struct solve_stage; /* solver/solve.h */

/* The frontend that describes the build and runs its steps through solver/solve.h
 * (frontend/df_driver.h for a Dockerfile); the solver never sees its syntax. */
struct build_frontend
{
  /* The build's stages (graph/def.h), NULL with err set; warnings to print; the file
   * whose NAME.dockerignore is preferred to the context's (*ignore_for: the caller
   * frees it; NULL: none). */
  struct graph_def *(*load) (void *ud, struct strv *warnings, char **ignore_for, struct kiln_err *err);
  /* Runs the steps [0, upto) of stage si on s, which the solver started on its
   * base; those before `shown` are replayed hidden.  0, or -1 with the error set. */
  int (*run_steps) (void *ud, struct solve_stage *s, size_t si, size_t upto, size_t shown);
  /* Points err at where stage si names its base. */
  void (*locate_base) (void *ud, size_t si, struct kiln_err *err);
  void *ud;
};

struct build_request
{
  const struct build_frontend *frontend;

  const char *context;        /* directory, or NULL for a Dockerfile-only build (stdin) */
  const char *dockerfile;     /* path; NULL: CONTEXT/Dockerfile (or dockerfile) */
  const char *dockerfile_text; /* the Dockerfile itself when read from stdin */
  const char *target;         /* stage name; NULL: the last stage */
  const struct strv *build_args; /* --build-arg "K=V", or "K" to take V from kiln's environment */
  const char *platform;       /* target platform "os/arch[/variant]"; NULL: the host's */
  /* --build-context: lower-cased NAME → the image reference that replaces a stage
   * or image of that name in FROM, COPY --from and RUN --mount from=. */
  const struct envmap *named_contexts;
  struct strv tags;           /* normalised references */
  struct strv labels;         /* "K=V" */
  /* --secret, read by the CLI (cli/build_secret.h): id → file, id → value; NULL: none. */
  const struct envmap *secrets_src;
  const struct envmap *secrets_env;
  bool no_cache;
  const char *iidfile;
  enum progress_mode progress;
  enum sandbox_net network;   /* for RUN steps that do not say */
  const struct build_output *output; /* --output, NULL: the store only */
  enum compression compression;
  const char *runtime;        /* OCI runtime for RUN steps; NULL: kiln's own sandbox */
  /* BuildKit's entitlements (--allow): without them RUN --security=insecure and
   * RUN --network=host are refused. */
  bool allow_insecure;
  bool allow_network_host;
  /* Fetches a base image the store lacks (or every base, with `pull`) — the CLI
   * passes the registry's pull here, so the solver knows nothing of registries.
   * NULL: bases must already be in the store. */
  int (*fetch_image) (void *ud, struct kiln_store *st, const char *ref, const char *platform, struct kiln_err *err);
  void *fetch_ud;
  bool pull;                  /* --pull: fetch every base again, even when the store has it */
  /* When set, a successful build appends the cache keys it used (hit or made):
   * with cache_keys_all every stage's, else only the target's own chain (the
   * target and the stages it is FROM) — --cache-to's mode=max and mode=min. */
  struct strv *cache_keys;
  bool cache_keys_all;
  struct strv no_cache_stages; /* --no-cache-filter: every step of these stages runs */
  struct strv add_hosts;       /* --add-host "HOST:IP" (checked): RUN steps' /etc/hosts */
  uint64_t shm_size;          /* --shm-size of RUN steps, 0: 64 MiB */
  struct sandbox_rlimit rlimits[SANDBOX_MAX_RLIMITS]; /* --ulimit of RUN steps */
  size_t n_rlimits;
  /* --explain: a step that runs although the last build of this Dockerfile and
   * target had it cached says why (solver/explain.h).  explained (may be NULL): an
   * array the build appends {step, name, reasons} to, for --metadata-file. */
  bool explain;
  json_t *explained;
  const struct envmap *ssh_agents; /* --ssh: ID → agent socket (may be NULL) */
};

int build_run (struct kiln_store *st, const struct build_request *rq, struct digest *id, struct kiln_err *err);
