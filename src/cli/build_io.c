/* cli/build_io.c — standard input as a context, and --metadata-file. */
#include "cli/build_io.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "store/layer.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/outfile.h"

#define DOCKERFILE_MAX (64u << 20)

/* docker's DetectArchiveReader: a compression's magic, or a tar header. */
static bool
looks_like_archive (const unsigned char *b, size_t n)
{
  static const struct
  {
    const char *magic;
    size_t len;
  } magics[] = {
    {"\x1f\x8b\x08", 3},             /* gzip */
    {"BZh", 3},                      /* bzip2 */
    {"\xfd" "7zXZ\x00", 6},          /* xz */
    {"\x28\xb5\x2f\xfd", 4},         /* zstd */
  };
  for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
    if (n >= magics[i].len && memcmp (b, magics[i].magic, magics[i].len) == 0)
      return true;
  return n >= 262 && memcmp (b + 257, "ustar", 5) == 0;
}

static ssize_t
read_full (int fd, unsigned char *b, size_t want)
{
  size_t got = 0;
  while (got < want)
    {
      ssize_t n = read (fd, b + got, want - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      got += (size_t) n;
    }
  return (ssize_t) got;
}

/* The tar goes to a file first (layer_apply_tar reads a descriptor; the header
 * is already read), then into the context directory. */
static int
extract_context (struct kiln_store *st, const unsigned char *head, size_t n, char **ctx_dir, struct kiln_err *err)
{
  _cleanup_free_ char *tmp = store_tmp_dir (st, "context", err);
  if (tmp == NULL)
    return -1;
  int dfd = openat (store_root_fd (st), tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int tar = dfd < 0 ? -1 : openat (dfd, "context.tar", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int ret = -1;
  if (tar < 0 || mkdirat (dfd, "context", 0755) < 0)
    {
      kiln_err_set (err, errno, "the context from standard input: %s", strerror (errno));
      goto out;
    }
  unsigned char chunk[1 << 16];
  ssize_t r = (ssize_t) n;
  memcpy (chunk, head, n);
  do
    {
      /* A short write (a full disk) is retried, or named with its own errno. */
      if (r > 0 && write_all (tar, chunk, (size_t) r, "the context from standard input", err) < 0)
        goto out;
    }
  while ((r = read_full (0, chunk, sizeof chunk)) > 0);
  if (r < 0 || lseek (tar, 0, SEEK_SET) < 0)
    {
      kiln_err_set (err, errno, "reading the context from standard input: %s", strerror (errno));
      goto out;
    }
  int root = openat (dfd, "context", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ret = root < 0 ? kiln_err_set (err, errno, "the context: %s", strerror (errno))
                 : layer_apply_tar (root, tar, NULL, NULL, NULL, err);
  if (root >= 0)
    close (root);
  if (ret < 0)
    kiln_err_wrap (err, "the context from standard input");
out:
  if (tar >= 0)
    {
      close (tar);
      unlinkat (dfd, "context.tar", 0);
    }
  if (dfd >= 0)
    close (dfd);
  if (ret < 0)
    {
      struct kiln_err e = {0};
      store_remove_tree (store_root_fd (st), tmp, &e);
      kiln_err_clear (&e);
      return -1;
    }
  struct buf p = BUF_INIT;
  buf_printf (&p, "%s/%s/context", store_root (st), tmp);
  *ctx_dir = buf_steal (&p);
  return 0;
}

int
build_stdin_read (struct kiln_store *st, char **dockerfile, char **ctx_dir, struct kiln_err *err)
{
  *dockerfile = *ctx_dir = NULL;
  unsigned char head[512];
  ssize_t n = read_full (0, head, sizeof head);
  if (n < 0)
    return kiln_err_set (err, errno, "reading standard input: %s", strerror (errno));
  if (looks_like_archive (head, (size_t) n))
    return extract_context (st, head, (size_t) n, ctx_dir, err);
  struct buf b = BUF_INIT;
  buf_append (&b, head, (size_t) n);
  char chunk[65536];
  ssize_t r;
  while ((r = read_full (0, (unsigned char *) chunk, sizeof chunk)) > 0)
    {
      if (b.len + (size_t) r > DOCKERFILE_MAX)
        {
          buf_free (&b);
          return kiln_err_set (err, EFBIG, "the Dockerfile on standard input is larger than 64 MiB");
        }
      buf_append (&b, chunk, (size_t) r);
    }
  if (r < 0)
    {
      buf_free (&b);
      return kiln_err_set (err, errno, "reading standard input: %s", strerror (errno));
    }
  *dockerfile = buf_steal (&b);
  return 0;
}

void
build_stdin_done (struct kiln_store *st, char *ctx_dir)
{
  if (ctx_dir == NULL)
    return;
  /* ctx_dir is ROOT/tmp/context-…/context: remove the tmp/ entry. */
  size_t rl = strlen (store_root (st));
  char *slash = strrchr (ctx_dir, '/');
  if (strncmp (ctx_dir, store_root (st), rl) == 0 && ctx_dir[rl] == '/' && slash)
    {
      *slash = '\0';
      struct kiln_err e = {0};
      store_remove_tree (store_root_fd (st), ctx_dir + rl + 1, &e);
      kiln_err_clear (&e);
    }
  free (ctx_dir);
}

int
build_metadata_write (struct kiln_store *st, const char *path, const struct digest *id, const struct strv *tags,
                      const json_t *explained, struct kiln_err *err)
{
  struct image_info ii;
  if (image_load (st, id, &ii, err) < 0)
    return kiln_err_wrap (err, "--metadata-file");
  /* The manifest's size is its blob's (a pulled base keeps its own bytes). */
  size_t mlen = 0;
  free (json_canonical (ii.manifest_json, &mlen)); /* its length, when the blob is not there */
  _cleanup_buf_ struct buf blob = BUF_INIT;
  buf_printf (&blob, "blobs/sha256/%s", digest_hex (&ii.manifest));
  struct stat sb;
  if (fstatat (store_root_fd (st), buf_str (&blob), &sb, 0) == 0 && S_ISREG (sb.st_mode))
    mlen = (size_t) sb.st_size;
  const char *mt = json_string_value (json_object_get (ii.manifest_json, "mediaType"));
  _cleanup_json_ json_t *md = json_pack (
      "{s:s, s:s, s:{s:s, s:s, s:I}}", "containerimage.config.digest", id->str, "containerimage.digest",
      ii.manifest.str, "containerimage.descriptor", "mediaType", mt ? mt : MT_OCI_MANIFEST, "digest", ii.manifest.str,
      "size", (json_int_t) mlen);
  image_info_clear (&ii);
  if (tags->n)
    {
      struct buf names = BUF_INIT;
      for (size_t i = 0; i < tags->n; i++)
        buf_printf (&names, "%s%s", i ? "," : "", tags->v[i]);
      json_object_set_new (md, "image.name", json_string (buf_str (&names)));
      buf_free (&names);
    }
  if (explained)
    json_object_set_new (md, "kiln.cache.misses", json_deep_copy (explained));
  _cleanup_free_ char *text = json_dumps (md, JSON_INDENT (2) | JSON_SORT_KEYS);
  struct buf out = BUF_INIT;
  buf_printf (&out, "%s\n", text);
  int r = outfile_put (path, out.data, out.len, err);
  buf_free (&out);
  return r < 0 ? kiln_err_wrap (err, "--metadata-file %s", path) : 0;
}
