/* worker/rootfs.h — the sandbox's filesystem, built inside its mount namespace
 * before the command starts, and paths resolved inside a root (worker-internal:
 * sandbox.c and fileop.c call it).
 *
 * Every path taken from a Dockerfile, an image or a stage — mount targets, bind
 * sources inside the build context or a stage — is resolved inside its own root
 * (openat2 RESOLVE_IN_ROOT) and mounted from the resulting descriptor, never from
 * a joined string: a symlink or `..` cannot lead outside.  These run in the
 * sandbox's first process; a failure writes its reason to the status pipe and
 * exits 125. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "worker/sandbox.h"

/* docker's masked and read-only paths (also handed to an OCI runtime). */
extern const char *const rootfs_masked_paths[];
extern const size_t rootfs_n_masked_paths;
extern const char *const rootfs_readonly_paths[];
extern const size_t rootfs_n_readonly_paths;

void sandbox_die (int status_fd, const char *fmt, ...) __attribute__ ((noreturn, format (printf, 2, 3)));

int rootfs_open_in_root (int root_fd, const char *path, int flags, mode_t mode);
/* mkdir -p inside the root; an O_PATH descriptor of the last directory.  Each
 * prefix is resolved from the root; a link to a missing directory gets it made
 * (docker's WORKDIR, COPY destinations and mount targets do the same). */
int rootfs_mkdir_in_root (int root_fd, const char *path, mode_t mode);

/* The same, new directories getting exactly `mode` and, if `chown`, the owner
 * (COPY --chown gives implicitly made parents both). */
struct rootfs_owner
{
  bool chown;
  uid_t uid;
  gid_t gid;
};
int rootfs_mkdirs_in_root (int root_fd, const char *path, mode_t mode, const struct rootfs_owner *own);
/* Makes sure `path` exists in the root as a directory or a file to mount over;
 * writes "/proc/self/fd/N" of it into out and returns N. */
int rootfs_mount_target (int root_fd, const char *path, bool dir, char *out, size_t outlen);
/* Binds what `src_fd` is onto what `target_fd` is (descriptors, O_PATH will
 * do), read-only from the start if asked, with its submounts if `recursive`. */
int rootfs_bind (int src_fd, int target_fd, bool readonly, bool recursive);

/* /proc (docker's masked and read-only paths unless privileged), /dev (docker's
 * nodes and links, pts, shm, mqueue) and /sys (read-only unless privileged). */
void rootfs_kernel_mounts (const struct sandbox_spec *s, int root_fd, int status_fd);

/* The spec's mounts (binds, tmpfs, overlays of stages), safely resolved.
 * `scratch_dir` is a directory of kiln's where mount points and the tmpfs for
 * throwaway uppers are made (inside this mount namespace only). */
void rootfs_user_mounts (const struct sandbox_spec *s, int root_fd, const char *scratch_dir, int status_fd);
