/* worker/sandbox.h — kiln's own Linux sandbox for RUN steps and `kiln run`.
 *
 * A process tree in new mount, PID, IPC and UTS namespaces (and a network
 * namespace unless the host's network is asked for), whose root is an overlay of
 * snapshots (lowers) with an upper directory that collects its changes.  The
 * first process in the PID namespace is a small init that reaps; when it exits
 * every process of the step dies and every mount disappears with the namespace.
 *
 * Inside, docker's default profile (../shared/conformance/docker-defaults): /proc
 * with docker's masked and read-only paths, a /dev tmpfs (null zero full random
 * urandom tty, pts, shm), /sys read-only, /etc/hosts and /etc/resolv.conf,
 * docker's capability set (none inheritable or ambient), docker's seccomp profile
 * (worker/seccomp.h), docker's device allow-list (worker/devices.h), no
 * descriptor of kiln's beyond stdio, the user, working directory and environment
 * of the step.  Only the spec relaxes it: `privileged` (RUN --security=insecure,
 * run --privileged) and the host's network. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"
#include "worker/limits.h"

enum sandbox_net
{
  SANDBOX_NET_DEFAULT, /* private namespace with outbound access (slirp4netns) */
  SANDBOX_NET_NONE,    /* loopback only */
  SANDBOX_NET_HOST,    /* the host's stack */
};

enum sandbox_mount_type
{
  SMOUNT_BIND,
  SMOUNT_TMPFS,
  SMOUNT_OVERLAY_RO, /* a read-only overlay of snapshots (RUN --mount=from=) */
  SMOUNT_FILE,       /* `content` as a read-only file (secrets): made in the sandbox's
                        own tmpfs, never on the host's disk or in a shared directory */
};

/* "default" (or docker's "bridge"), "none", "host"; -1 for anything else. */
int sandbox_net_parse (const char *s, enum sandbox_net *out);

struct sandbox_mount
{
  enum sandbox_mount_type type;
  char *source;       /* bind: a host path of kiln's or the caller's (the build context,
                         a cache dir, a secret, a `run -v` path), trusted;
                         overlay: ':'-separated lowers relative to snapshots/ */
  bool source_is_fd;  /* bind: `source` must still be `source_fd` (a directory kiln
                         opened once, the build context), or the sandbox fails */
  int source_fd;
  char *subpath;      /* the path inside `source` to mount, untrusted: resolved inside
                         it, symlinks and `..` never leading out (NULL: source itself) */
  char *target;       /* absolute path in the container, resolved inside its root */
  bool readonly;
  bool scratch;       /* writes go to a throwaway layer (BuildKit's rw binds) */
  char *display;      /* the source as the user wrote it, for errors */
  char *what;         /* what `source` is, for errors: "the build context", "stage \"b\"" */
  uint64_t size;      /* tmpfs */
  int mode;           /* tmpfs and file mode, -1 default */
  char *content;      /* file */
  size_t content_len;
  uid_t uid;          /* file owner */
  gid_t gid;
  char *tmpfs_data;   /* tmpfs: mount(2) data ("size=…,mode=…"), with `tmpfs_flags`
                         (MS_*); NULL: `size` alone, nosuid and nodev */
  unsigned long tmpfs_flags;
  /* bind of a volume: when the directory is empty and `copy_up_mark` does not
   * exist, what the image has at the target is copied into it first (owner,
   * mode and times kept, no link followed), then the mark is made (docker's
   * copy-up, once per container). */
  char *copy_up_mark;
};

/* A device node made in the container (run --device); its cgroup rule is the
 * caller's (worker/cgroup.h). */
struct sandbox_device
{
  const char *path; /* absolute, inside the container */
  mode_t mode;      /* S_IFCHR or S_IFBLK, and the permissions */
  dev_t rdev;
  uid_t uid;
  gid_t gid;
};

struct cgroup_limits;

struct sandbox_spec
{
  const char *store_root;   /* lowers are relative to STORE/snapshots */
  struct strv lowers;       /* "<id>/fs", topmost first; may be empty (scratch) */
  const char *upper;        /* absolute upper dir (NULL: root read-only over the lowers) */
  const char *work;         /* absolute overlay work dir, on the same filesystem as upper */
  const char *merged;       /* absolute mount point */
  bool readonly_root;
  struct strv argv;
  struct strv env;          /* "K=V" */
  const char *cwd;          /* absolute; created if missing */
  const char *user;         /* "", "name", "uid", "name:group", "uid:gid" */
  const char *hostname;
  /* HOSTNAME stays out of the environment (a build's RUN: BuildKit sets the
   * sandbox's hostname only; docker run also exports it). */
  bool no_hostname_env;
  /* /etc/hosts lines after localhost's (a container's address and names, from
   * net/net.h); NULL: "127.0.1.1 HOSTNAME". */
  const char *hosts_extra;
  /* More /etc/hosts lines after those (kiln build --add-host); NULL: none. */
  const char *hosts_more;
  /* /etc/resolv.conf's text; NULL: slirp4netns's resolver or the host's file. */
  const char *resolv_conf;
  enum sandbox_net network;
  struct sandbox_mount *mounts;
  size_t n_mounts;
  int stdin_fd;             /* -1: /dev/null */
  int stdout_fd;
  int stderr_fd;
  /* If set, stdout and stderr go to a pipe whose lines are passed here as they
   * come (no thread: forking from a threaded process is not safe under every
   * allocator). */
  void (*on_output) (void *ud, const char *line, size_t len);
  void *output_ud;
  /* stdin (when stdin_fd is set), stdout and stderr reach the command through
   * pipes kiln copies (worker/relay.h), never as the caller's own descriptors
   * (kiln run without a terminal, as docker). */
  bool pipe_stdio;
  /* With pipe_stdio: every chunk of the command's stdout (stream 1) and stderr (2)
   * is also handed here as it comes (a container's log); stdout_fd and stderr_fd
   * then get the output only when set (>= 0). */
  void (*on_stdio) (void *ud, int stream, const char *buf, size_t len);
  void *stdio_ud;
  /* Called once the command has started (its exec succeeded) with the host pid of
   * the sandbox's first process (kiln's init, with `init`): a container's monitor
   * records it. Not called when the sandbox fails before the command runs. */
  void (*on_start) (void *ud, pid_t pid);
  void *start_ud;
  /* SANDBOX_NET_DEFAULT: join this network namespace (see sandbox_net_start)
   * instead of making one per run; -1 for a private one. */
  int netns_fd;
  bool tty;                 /* stdin/stdout are a terminal: make it the controlling tty */
  /* The command gets a new pty of the container's own devpts (worker/pty.h) as
   * its controlling terminal and stdio; once it runs, its master is handed to
   * on_pty, which relays it until the command's end (then the sandbox reaps). */
  bool pty;
  unsigned short pty_rows, pty_cols; /* its size from the start (0: none yet) */
  void (*on_pty) (void *ud, int master);
  void *pty_ud;
  /* Signals kiln receives (INT, TERM, HUP, QUIT, USR1, USR2) are passed on to
   * the command, as `docker run` does. */
  bool forward_signals;
  /* Instead, such a signal kills the command: a build step is cancelled, not
   * asked to stop (as PID 1 it would ignore INT and TERM it has no handler for). */
  bool cancel_on_signal;
  /* PID 1 is a small init that starts the command, passes signals on and reaps
   * (kiln run: stopping kiln stops the container, whatever its command handles);
   * without it the command is PID 1 (build steps, as under BuildKit). */
  bool init;
  /* An OCI runtime (runc, crun, a path) to run the command with, through a
   * generated bundle with the same profile; NULL for kiln's own sandbox. */
  const char *runtime;
  /* Every capability, no seccomp filter, no masked paths, every device, /sys
   * writable: docker's --privileged, BuildKit's RUN --security=insecure. */
  bool privileged;
  /* The bounding set (1 << CAP_X) when `caps_given` (run --cap-add/--cap-drop);
   * else docker's default (sandbox_default_caps). */
  bool caps_given;
  uint64_t caps;
  /* A seccomp profile (run --security-opt seccomp=FILE), NULL for docker's
   * default; or none at all (seccomp=unconfined). */
  const struct seccomp_profile *seccomp_profile;
  bool seccomp_unconfined;
  /* no_new_privs (docker's --security-opt no-new-privileges); off by default, as
   * in docker, so setuid programs work. */
  bool no_new_privs;
  /* docker's --shm-size (0: its 64 MiB) and --ulimit (set before the exec). */
  uint64_t shm_size;
  struct sandbox_rlimit rlimits[SANDBOX_MAX_RLIMITS];
  size_t n_rlimits;
  /* cgroup.procs files (NULL-ended) the sandbox's first process joins before
   * anything else: a container's own cgroup (worker/cgroup.h), so that the
   * command and all it starts are born under its limits. NULL: kiln's. */
  const char *const *cgroup_procs;
  /* run --sysctl ("key=value", NULL-ended; written under /proc/sys in the
   * sandbox's own namespaces), --device, --group-add (names or gids,
   * NULL-ended). */
  const char *const *sysctls;
  const struct sandbox_device *devices;
  size_t n_devices;
  const char *const *group_add;
  /* With `runtime`: the container's limits for the bundle's linux.resources
   * (the runtime makes its own cgroup; kiln's would hold the runtime too). */
  const struct cgroup_limits *runtime_limits;
};

struct seccomp_profile;

/* docker's default bounding set, 1 << CAP_X. */
uint64_t sandbox_default_caps (void);

/* Starts, in the background, what the first sandbox of this process would
 * otherwise wait for (joining the device cgroup). Optional. */
void sandbox_warm_up (void);

/* How many signals the sandboxes of this process passed on to their command
 * (forward_signals): a caller tells a user's ^C from the command's own end. */
unsigned long sandbox_signals_forwarded (void);

/* Runs the spec to completion. *exit_code: the command's status (128+signal if
 * killed). Returns -1 only when the sandbox itself could not be set up. */
int sandbox_run (const struct sandbox_spec *s, int *exit_code, struct kiln_err *err);

/* A command in a running sandbox whose first process is `target` (kiln exec, a
 * health probe).  It joins target's cgroups (worker/join.h) and namespaces
 * (mount, PID, IPC, UTS, network, cgroup: those that differ from kiln's), and
 * gets what sandbox_run gives a command of the same spec: argv, env (PATH,
 * HOSTNAME and HOME defaults), user (resolved in the target's root), cwd (not
 * made), the bounding set and capabilities, the seccomp filter (chosen for the
 * container's bounding set: `container_privileged` none), no_new_privs, no
 * descriptor but stdio.  Lowers, mounts, network, init are not used.  stdio as
 * sandbox_run's (pipe_stdio, on_stdio, stdin_fd); on_start gets the command's
 * host pid.  It is its own process group; kiln passes signals on to it.
 * Returns -1 when it could not start (err: why; "exec X: No such file..." as
 * sandbox_run says it), else 0 and *exit_code. */
struct sandbox_join
{
  pid_t target;
  uint64_t target_start;     /* its start time (util/proc.h): a pid reused meanwhile is not joined */
  bool container_privileged; /* the container's own --privileged (s->privileged: this command's) */
  bool detach;               /* return once it runs, stdio on /dev/null; it outlives kiln */
  int timeout_ms;            /* > 0: its process group is killed after this long */
  bool timed_out;            /* out: it was */
};
int sandbox_join_run (const struct sandbox_spec *s, struct sandbox_join *j, int *exit_code, struct kiln_err *err);

/* Paths that exist only as mount points for the sandbox and must not end up in a
 * layer when the step created them (/proc, /sys, /dev, /etc/hosts, ...). Called
 * on the upper dir after the run with the list sandbox_run filled. */
void sandbox_spec_clear (struct sandbox_spec *s);
/* What one mount owns, freed (a secret's content wiped); the mount zeroed. */
void sandbox_mount_clear (struct sandbox_mount *m);

/* A list of paths (docker's masked and read-only ones) as a JSON array: an OCI
 * bundle's and `kiln inspect`'s. */
struct json_t;
struct json_t *sandbox_paths_json (const char *const *paths, size_t n);

/* True if slirp4netns can be used for SANDBOX_NET_DEFAULT. */
bool sandbox_have_slirp (void);

/* A network namespace with outbound access that several runs share (a build's
 * RUN steps): starting slirp4netns once instead of once per step. */
struct sandbox_netns
{
  pid_t holder; /* a process that keeps the namespace alive */
  pid_t slirp;
  int fd;       /* the namespace, for setns() */
};

int sandbox_net_start (struct sandbox_netns *n, struct kiln_err *err);
void sandbox_net_stop (struct sandbox_netns *n);
