/* container/mounts.h — a container's mounts from `-v`, `--mount` and `--tmpfs`,
 * parsed with docker's rules and messages (docker/cli's opts/mount.go, moby's
 * volume/mounts/linux_parser.go), and the mount list a container keeps.
 *
 * The flags are outside input: every parser here is bounded, never crashes, and
 * fills `err` with docker's message: KILN_EUSAGE for what docker's client refuses
 * (a --mount that does not parse), KILN_EINVAL for what its daemon refuses (a bad
 * volume specification, mount config, volume name or tmpfs option: `run` exits 125).  Nothing here touches the
 * store or the file system: naming a volume that does not exist yet is the
 * caller's business (store/volumes.h creates it on first use).
 *
 * What a container keeps (config.json's "MountPoints", container/config.c) is
 * one array of objects in docker's `Mounts` shape plus what kiln needs to mount
 * them again at every start:
 *   {Type: "bind"|"volume"|"tmpfs", Name (volume), Source, Destination, Driver,
 *    Mode, RW, Propagation, CopyData (volume: fill an empty volume from the image),
 *    Anonymous (volume), TmpfsOptions (tmpfs: the mount(2) data)} */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

enum mount_type
{
  MOUNT_BIND,
  MOUNT_VOLUME,
  MOUNT_TMPFS,
};

struct mount_spec
{
  enum mount_type type;
  char *source;          /* bind: an absolute host path; volume: its name, NULL for an anonymous one */
  char *target;          /* absolute, cleaned ("/a/b") */
  bool readonly;
  bool nocopy;           /* volume: do not fill it from the image (nocopy, volume-nocopy) */
  char *mode;            /* -v's mode as written ("", "ro", "rw,nocopy"): inspect's Mode */
  char *propagation;     /* bind: "rprivate" unless asked */
  uint64_t tmpfs_size;   /* bytes, 0: the kernel's default */
  int tmpfs_mode;        /* -1: 01777 (docker's) */
  char *tmpfs_opts;      /* --tmpfs's options as written, NULL if none */
  bool from_mount_flag;  /* --mount (inspect shows Mode "z" for its volumes) */
  char *subpath;         /* volume-subpath: a relative path inside the volume, NULL: all of it */
  json_t *volume_labels; /* volume-label=K=V…: the volume's labels if this makes it, or NULL */
};

void mount_spec_clear (struct mount_spec *m);

/* docker's local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool volume_name_valid (const char *name);
/* docker's message for a name that is not one (no "create NAME: " prefix). */
int volume_name_error (const char *name, struct kiln_err *err);

/* -v [SRC:]DST[:MODE]: SRC absolute is a bind, else a volume name (none: an anonymous
 * volume); MODE a comma list of ro, rw, z, Z, nocopy and one propagation. */
int mount_parse_volume_flag (const char *spec, struct mount_spec *out, struct kiln_err *err);
/* --mount type=bind|volume|tmpfs,source=,target=,readonly[=BOOL],volume-nocopy[=BOOL],
 * volume-subpath=,volume-label=K=V,volume-driver=local, bind-propagation=,
 * tmpfs-size=,tmpfs-mode= (and their aliases); errors as docker's
 * "invalid argument \"SPEC\" for \"--mount\" flag: …" and the daemon's "invalid mount
 * config for type …". */
int mount_parse_mount_flag (const char *spec, struct mount_spec *out, struct kiln_err *err);
/* --tmpfs /path[:opts] */
int mount_parse_tmpfs_flag (const char *spec, struct mount_spec *out, struct kiln_err *err);

/* tmpfs options ("ro,size=64m,mode=1770,noexec,uid=1") into mount(2) flags (MS_*) and
 * the data string (size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=); docker's
 * defaults noexec, nosuid, nodev first, as its daemon applies them. */
int mount_tmpfs_options (const char *opts, unsigned long *flags, struct buf *data, struct kiln_err *err);

/* docker's sizes (units.RAMInBytes): "64m", "1.5g", "100k", "512", binary multiples. */
int mount_parse_ram_size (const char *s, uint64_t *out);

/* A cleaned absolute path ("/a//b/../c/" → "/a/c"); NULL if `p` is not absolute. */
char *mount_clean_path (const char *p);

/* ---------- a container's mount points (container/mountpoints.c) ---------- */

struct kiln_store;
struct sandbox_spec;

/* Checks `-v`, `--mount` and `--tmpfs` together (a destination twice: docker's
 * "Duplicate mount point: /x") and sets HostConfig's Binds (the -v strings with a
 * source), Mounts (docker's Mount objects) and Tmpfs ({path: options}) in `host`;
 * the targets of anonymous `-v /path` volumes go into `config_volumes` ({path: {}});
 * `points` gets the mount points (config.json's "MountPoints", volumes not yet
 * resolved: see mounts_prepare). */
int mounts_config (const struct strv *volumes, const struct strv *mounts, const struct strv *tmpfs, json_t *host,
                   json_t *config_volumes, json_t *points, struct kiln_err *err);

/* At create: completes config.json's "MountPoints": each of Config.Volumes (the
 * image's VOLUMEs and -v /path) not mounted otherwise gets an anonymous volume,
 * named volumes are made on first use, a --mount bind source must exist, and the
 * list is sorted parents first.  The volumes the container uses go into `used`
 * (for containers_add), those this call made into `made` (to remove if the
 * container is not recorded after all). */
int mounts_prepare (struct kiln_store *st, json_t *config, struct strv *used, struct strv *made, struct kiln_err *err);

/* Removes the volumes `names` (mounts_prepare's `made`), ignoring failures. */
void mounts_forget_volumes (struct kiln_store *st, const struct strv *names);

/* At every start: the sandbox's mounts for config.json's MountPoints (or, for a
 * container made before them, its Binds). */
int mounts_into_spec (const json_t *config, const char *root, const char *id, struct sandbox_spec *sb,
                      struct kiln_err *err);

/* docker's inspect "Mounts" of a container. */
json_t *mounts_inspect_json (const json_t *config);

/* Removes container `id` (containers_remove) and, with `volumes` (rm -v, --rm), the
 * anonymous volumes it used that no other container uses. */
int mounts_remove_container (struct kiln_store *st, const char *id, bool volumes, struct kiln_err *err);
