/* frontend/instructions.h — the instruction model: each AST node checked and
 * turned into a typed instruction, every flag of the Dockerfile reference known.
 *
 * Building an instruction validates what can be validated before expansion (flag
 * names, flag syntax, argument counts, literal values); an unknown flag or a bad
 * value is an error at its Dockerfile line.  Values that contain variables are
 * validated again after expansion (inst_expand). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "frontend/parser.h"
#include "frontend/shell.h"
#include "util/buf.h"
#include "util/err.h"

enum inst_kind
{
  I_FROM,
  I_RUN,
  I_CMD,
  I_ENTRYPOINT,
  I_SHELL,
  I_ENV,
  I_LABEL,
  I_ARG,
  I_COPY,
  I_ADD,
  I_WORKDIR,
  I_USER,
  I_EXPOSE,
  I_VOLUME,
  I_STOPSIGNAL,
  I_HEALTHCHECK,
  I_ONBUILD,
  I_MAINTAINER,
};

/* "FROM", "RUN", ... */
const char *inst_kind_name (enum inst_kind k);

struct inst_kv
{
  char *key;
  char *value;    /* NULL for `ARG NAME` without a default */
};

enum mount_type
{
  MOUNT_BIND,
  MOUNT_CACHE,
  MOUNT_TMPFS,
  MOUNT_SECRET,
  MOUNT_SSH,
};

enum mount_sharing
{
  SHARING_SHARED,
  SHARING_PRIVATE,
  SHARING_LOCKED,
};

struct run_mount
{
  enum mount_type type;
  char *target;  /* absolute in the container; defaulted for secret and ssh */
  char *source;  /* path in `from` (or the context); NULL for the root */
  char *from;    /* stage name, stage index or image; NULL for the context */
  char *id;      /* cache / secret / ssh id */
  char *env;     /* secret: also exposed as this environment variable */
  bool readonly; /* bind: default true; cache: default false */
  bool required; /* secret / ssh */
  enum mount_sharing sharing;
  int mode;      /* -1: default */
  int64_t uid;   /* -1: default */
  int64_t gid;   /* -1: default */
  uint64_t size; /* tmpfs bytes, 0: unlimited */
};

struct healthcheck
{
  bool none;             /* HEALTHCHECK NONE */
  bool shell;            /* CMD-SHELL (shell form) vs CMD (exec form) */
  struct strv test;      /* the command */
  int64_t interval_ns;   /* 0: default */
  int64_t timeout_ns;
  int64_t start_period_ns;
  int64_t start_interval_ns;
  int retries;           /* 0: default */
};

struct inst
{
  enum inst_kind kind;
  const struct df_node *node; /* the AST node (owned by the AST) */
  int line;                   /* first line */
  bool json;                  /* exec (JSON) form */
  struct strv args;           /* words: FROM base; COPY sources then dest; CMD argv; ... */

  /* FROM */
  char *stage_name; /* lower-cased, NULL without AS */
  char *platform;

  /* RUN */
  struct run_mount *mounts;
  size_t n_mounts;
  char *network;  /* default|none|host, NULL unset */
  char *security; /* insecure|sandbox, NULL unset */

  /* COPY / ADD */
  char *from;
  char *chown;
  char *chmod;
  bool link;
  bool parents;
  bool keep_git_dir;
  char *checksum;
  struct strv excludes;

  /* ENV / LABEL / ARG */
  struct inst_kv *kvs;
  size_t n_kvs;

  /* HEALTHCHECK */
  struct healthcheck hc;

  /* ONBUILD: the trigger as written, and its parsed instruction */
  char *trigger;
  struct inst *sub;
};

/* Builds an instruction from an AST node. `ast` is used for error positions. */
struct inst *inst_from_node (const struct df_ast *ast, const struct df_node *node, struct kiln_err *err);
void inst_free (struct inst *in);

/* Returns a copy of `in` with its words expanded in `env` (the instructions and
 * flags Docker expands), validated again.  RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK/
 * ONBUILD commands are copied unexpanded: the container's shell expands them. */
struct inst *inst_expand (const struct df_ast *ast, const struct inst *in, const struct shell_env *env,
                          struct kiln_err *err);

/* A stable one-line rendering of the instruction (used by `kiln debug stages`). */
void inst_render (const struct inst *in, struct buf *out);

/* Validates a --chmod value: octal (0755) or symbolic (u+x,g-w). */
bool chmod_spec_valid (const char *s);
/* Validates a stop signal: SIGTERM, TERM, 15, SIGRTMIN+3. */
bool stop_signal_valid (const char *s);
/* Normalizes one EXPOSE word ("80", "53/udp", "8000-8010/tcp") into "port/proto"
 * entries appended to `out`; false if invalid. */
bool expose_parse (const char *word, struct strv *out);
/* Levenshtein distance, capped: for "did you mean" hints. */
size_t edit_distance (const char *a, const char *b);
