/* cli/build_ctx.h — the inputs of `kiln build` beyond the context directory:
 * named contexts (--build-context), git URL contexts and --ssh agents (-o
 * type=registry: cli/build_output.h).  Everything here is resolved before the
 * build starts; the solver only sees directories and image ids. */
#pragma once
#include <stdbool.h>

#include "solver/build.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/envmap.h"
#include "util/err.h"

/* --build-context NAME=VALUE: VALUE is docker-image://REF, oci-layout://DIR[@DIGEST]
 * (loaded into the store) or a directory (imported as a one-layer image, as
 * BuildKit's local source is a root filesystem).  Sets named[lower(NAME)] to the
 * image reference FROM, COPY --from and RUN --mount from= then use. */
int build_context_add (struct kiln_store *st, const char *spec, struct envmap *named, struct kiln_err *err);

/* True for the context arguments docker reads as git repositories:
 * `git@…`, `git://…`, and http(s) URLs ending in `.git` (before `#`). */
bool build_is_git_url (const char *arg);
/* A git context URL taken apart: the repository for git, the ref after '#' and
 * the directory after ':' (cleaned, relative; NULL when absent or the top).
 * Refuses a ref or repository git could read as an option, and a directory
 * outside the repository. */
struct git_url
{
  char *repo, *ref, *subdir;
};
int git_url_parse (const char *url, struct git_url *g, struct kiln_err *err);
void git_url_clear (struct git_url *g);
/* Fetches `url` (`#REF[:DIR]`: a branch, tag or commit, and a subdirectory)
 * with the git program, shallow, into a new directory under the store's tmp/;
 * *ctx_dir is the context (the subdirectory; .git is never in it).  The
 * caller removes it with build_stdin_done() (cli/build_io.h). */
int build_git_fetch (struct kiln_store *st, const char *url, char **ctx_dir, struct kiln_err *err);

/* --ssh default|ID[=SOCKET|KEY[,KEY]...]: sets agents[ID] to an agent socket:
 * $SSH_AUTH_SOCK for `default` (or ID with no value), a socket given as is, or
 * for key files an ssh-agent kiln starts (its pid appended to *pids) with the
 * keys loaded.  `dir` holds the sockets of agents kiln starts. */
int build_ssh_add (const char *spec, const char *dir, struct envmap *agents, struct strv *pids,
                   struct kiln_err *err);
/* Stops the agents build_ssh_add started. */
void build_ssh_stop (struct strv *pids);

/* What `kiln build` reads besides its flags: the context (a directory, a tar or a
 * Dockerfile on standard input, a git URL), the named contexts and the agents. */
struct build_inputs
{
  struct strv contexts; /* --build-context specs (the caller fills and frees) */
  struct strv ssh;      /* --ssh specs (likewise) */
  struct envmap named, agents;
  struct strv agent_pids;
  char *ssh_tmp;  /* the store's tmp/ entry for the sockets of kiln's agents */
  char *ctx_dir;  /* a context kiln made (stdin tar, git checkout) */
  char *df_path;  /* -f inside such a context */
  char *df_text;  /* a Dockerfile read from standard input */
};
/* Before the store is opened: CONTEXT (ARG) and -f make sense together; else a
 * usage error in err (KILN_EUSAGE). */
int build_inputs_check (const char *arg, const char *dockerfile, struct kiln_err *err);
/* Reads the context ARG and resolves --build-context and --ssh into rq. */
int build_inputs_prepare (struct kiln_store *st, const char *arg, struct build_request *rq, struct build_inputs *in,
                          struct kiln_err *err);
/* Removes what prepare made (contexts, agents, sockets). */
void build_inputs_done (struct kiln_store *st, struct build_inputs *in);
