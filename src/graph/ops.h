/* graph/ops.h — the operations of the build graph as plain data: what an exec
 * step (RUN) or a file step (COPY/ADD) does, its words expanded and its inputs
 * (stages, images) resolved, whichever frontend described it.  A converter fills
 * them (frontend/to_ops.c for the Dockerfile); the solver runs them
 * (solver/op_solve.h).  Nothing here knows a Dockerfile.
 *
 * Some values go into cache keys as they are (the mount types' numbers, the
 * security word, paths): they are part of the keys' fixed bytes. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/digest.h"

/* Another step's or an image's root, resolved: a stage built earlier or an image
 * from the store. */
struct op_input
{
  char *ref;                     /* as written (stage name, index or image), for messages */
  struct strv lowers;            /* its layers as overlay lowers, newest first */
  char key[DIGEST_STR_LEN + 1];  /* the stage's last step key or the image id (in keys) */
};

/* In cache keys by number: never renumber. */
enum op_mount_type
{
  OP_MOUNT_BIND = 0,
  OP_MOUNT_CACHE = 1,
  OP_MOUNT_TMPFS = 2,
  OP_MOUNT_SECRET = 3,
  OP_MOUNT_SSH = 4,
};

enum op_sharing
{
  OP_SHARING_SHARED,
  OP_SHARING_PRIVATE,
  OP_SHARING_LOCKED,
};

struct op_mount
{
  enum op_mount_type type;
  char *target;          /* absolute and clean; NULL: none (a secret in env only) */
  char *source;          /* path in `from` (or the context); NULL: its root */
  struct op_input *from; /* bind: the root mounted (NULL: the context); cache: its seed */
  char *id;              /* cache / secret / ssh id */
  char *env;             /* secret: also this environment variable */
  bool readonly;
  bool required;         /* secret / ssh */
  enum op_sharing sharing;
  int mode;              /* -1: default */
  int64_t uid, gid;      /* -1: default */
  uint64_t size;         /* tmpfs bytes, 0: unlimited */
};

enum op_net
{
  OP_NET_INHERIT, /* the build's (kiln build --network) */
  OP_NET_DEFAULT, /* the sandbox's own network */
  OP_NET_NONE,
  OP_NET_HOST,
};

/* A process run on the root so far; what it writes is the step's layer. */
struct exec_op
{
  struct strv argv;
  struct strv env;     /* the process's environment */
  struct strv key_env; /* the part of env the cache key holds (proxy args stay out) */
  char *user;          /* "" : root */
  char *cwd;           /* absolute */
  enum op_net network;
  char *security;      /* "insecure", "sandbox" or NULL */
  struct op_mount *mounts;
  size_t n_mounts;
  /* A script run by the interpreter of its `#!` line: bound read-only at argv's
   * last word.  NULL: none. */
  char *script;
  char *created_by; /* the history entry; quoted when the process fails */
};

enum file_src_kind
{
  FILE_SRC_PATH,    /* in the context or in `from` */
  FILE_SRC_URL,     /* downloaded (ADD) */
  FILE_SRC_HEREDOC, /* inline content */
};

struct file_src
{
  enum file_src_kind kind;
  char *name; /* path, URL or the heredoc's name */
  char *body; /* a heredoc's content, expanded */
};

/* Files copied onto the root so far (COPY/ADD). */
struct file_op
{
  bool add;      /* ADD: local archives are extracted */
  struct file_src *srcs; /* in the order written */
  size_t n_srcs;
  char *dest;    /* absolute and clean; a trailing '/' says a directory */
  char *chown;   /* NULL: root */
  char *chmod;   /* NULL: as the source */
  bool link;
  bool parents;
  struct strv excludes;
  struct op_input *from; /* NULL: the context (or the URLs) */
  char *checksum;        /* ADD --checksum of the URL, NULL: none */
  char *created_by;
};

struct op_input *op_input_new (const char *ref);
void op_input_free (struct op_input *in);
void exec_op_clear (struct exec_op *op);
void file_op_clear (struct file_op *op);
