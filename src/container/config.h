/* container/config.h — a container's config.json, and the sandbox it runs in.
 *
 * `kiln run` and `kiln create` turn their flags and the image's config into one
 * docker-shaped document, kept in containers/<id>/config.json:
 *
 *   {"Image": "sha256:…",
 *    "Config": {Hostname, User, Env, Cmd, Entrypoint, Image (as given), WorkingDir,
 *               Labels, StopSignal, Tty, OpenStdin, AttachStdout, …},
 *    "HostConfig": {Binds, AutoRemove, ReadonlyRootfs, Privileged, CapAdd, CapDrop,
 *                   SecurityOpt, NetworkMode, Runtime}}
 *
 * and every run of it, in the foreground or under a monitor, gets its sandbox from
 * that document through container_spec_build: the one place a container's spec is
 * made. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "container/health.h"
#include "util/buf.h"
#include "container/resources.h"
#include "util/err.h"
#include "container/restart.h"
#include "worker/sandbox.h"

struct kiln_store;
struct image_info;
struct seccomp_profile;

/* What `kiln run` / `kiln create` were asked for. */
struct container_opts
{
  const char *image_ref;   /* as the user wrote it */
  struct strv env;         /* "K=V" from -e and --env-file, in order */
  const char *user;        /* -u, NULL: the image's */
  const char *workdir;     /* -w, NULL: the image's */
  const char *entrypoint;  /* --entrypoint (may be ""), when entrypoint_set */
  bool entrypoint_set;
  struct strv cmd;         /* the arguments after IMAGE */
  struct strv binds;       /* -v [SRC:]CTR[:MODE] (container/mounts.h) */
  struct strv mounts;      /* --mount type=…,… */
  struct strv tmpfs;       /* --tmpfs /path[:opts] */
  struct strv labels;      /* --label K=V */
  bool readonly, privileged, interactive, tty, auto_remove, detach;
  const char *network;     /* NULL: default */
  const char *runtime;     /* NULL: kiln's sandbox */
  struct strv cap_add, cap_drop;
  struct strv security_opt; /* seccomp=FILE is read here: the profile's text is kept, as docker does */
  const char *stop_signal;  /* NULL: the image's */
  const char *hostname;     /* -h/--hostname, NULL: the id's first 12 digits */
  struct restart_policy restart; /* --restart (container/restart.h) */
  bool stop_timeout_set;    /* --stop-timeout N: Config.StopTimeout */
  int stop_timeout;
  bool init;                /* --init: HostConfig.Init (kiln's init is always PID 1) */
  unsigned short console_rows, console_cols; /* run -t: the caller's terminal (HostConfig.ConsoleSize) */
  struct strv log_opts;     /* --log-opt K=V (container/logopts.h), checked */
  struct strv publish, expose; /* -p, --expose (net/portspec.h) */
  bool publish_all;            /* -P */
  const char *ip;              /* --ip */
  struct strv aliases, add_hosts, dns, dns_search, dns_options; /* --network-alias, --add-host, --dns* */
  struct container_resources res; /* -m, --cpus, --pids-limit, --ulimit, … (container/resources.h) */
  struct health_opts health; /* --health-*, --no-healthcheck */
  int pull;                  /* --pull (container/runflags.h: enum pull_policy) */
  const char *cidfile;       /* --cidfile FILE (container/runflags.h) */
};

void container_opts_clear (struct container_opts *o);

/* The config.json of a new container `id` from `o` and the image `ii`; NULL with
 * `err` (KILN_EUSAGE for a bad flag) when they do not make one. */
json_t *container_config_new (const struct container_opts *o, const char *id, const struct image_info *ii,
                              struct kiln_err *err);

/* Path and Args (docker's): ENTRYPOINT + CMD, the first word apart. */
void container_config_argv (const json_t *config, struct strv *argv);

/* The image's layers as overlay lowers ("<snapshot>/fs", topmost first). */
int container_image_lowers (struct kiln_store *st, const char *image_id, struct strv *lowers, struct kiln_err *err);

/* A container's sandbox, and what its spec points into. */
struct container_spec
{
  struct sandbox_spec sb;
  json_t *config;                  /* a reference: the spec's strings live in it */
  char *root;                      /* the store's, kept: a monitor closes the store while it runs */
  char *upper, *work, *merged;     /* ROOT/containers/<id>/… */
  struct seccomp_profile *profile; /* --security-opt seccomp=… */
  struct container_sandbox_extras extras; /* --ulimit, --device, … (container/resources.h) */
};

/* The spec for running container `id` of image `image_id` as `config` says: its
 * image's layers as lowers, its own upper in its directory, its command, user,
 * environment, binds, network and security, with kiln's init, signals passed on,
 * stdio through pipes.  The caller sets stdio and callbacks, and clears `cs` with
 * container_spec_clear whether this succeeded or not. */
int container_spec_build (struct kiln_store *st, const char *id, const char *image_id, json_t *config,
                          struct container_spec *cs, struct kiln_err *err);
void container_spec_clear (struct container_spec *cs);

/* How long `stop` waits before KILL when not told: Config.StopTimeout, else 10 s. */
int container_stop_timeout (const json_t *config);

/* The process part of that spec, the one source of what a container's processes
 * get (its command and kiln exec alike): environment, user, working directory,
 * hostname, privileged, capabilities, seccomp profile (*profile, the caller
 * frees it), no_new_privs.  Its strings point into `config`. */
int container_process_spec (const json_t *config, struct sandbox_spec *sb, struct seccomp_profile **profile,
                            struct kiln_err *err);

/* The signal `stop` sends first: Config.StopSignal ("SIGQUIT", "QUIT", "3"), else SIGTERM. */
int container_stop_signal (const json_t *config);
/* A signal by docker's names ("KILL", "SIGKILL", "9"); -1 if unknown. */
int container_signal_parse (const char *s);
