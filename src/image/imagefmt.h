/* image/imagefmt.h — `kiln images` rows as docker's imageContext shows them
 * (cli/command/formatter/image.go), for util/formatter to print.
 *
 * An image comes in as docker's image.Summary (ID, RepoTags, RepoDigests, Created, Size,
 * SharedSize, Containers; -1 for "not computed") and goes out as one row object a
 * repository:tag, whose keys are the fields a --format can name: Repository, Tag, Digest,
 * ID, CreatedSince, CreatedAt, Size, VirtualSize, SharedSize, UniqueSize, Containers. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct imagefmt_opts
{
  bool trunc;  /* short ids (not --no-trunc) */
  bool digest; /* a row a digest: imagefmt_need_digest() */
  int64_t now; /* for CreatedSince */
};

/* docker's NewImageFormat: "" and "table" give the default table (DIGEST with --digests,
 * {{.ID}} with -q), "raw" the raw listing; a table format without {{.Digest}} gains the
 * column with --digests.  Caller frees. */
char *imagefmt_format (const char *source, bool quiet, bool digest);

/* docker's needDigest: --digests, or a format that names {{.Digest}}. */
bool imagefmt_need_digest (const char *format, bool digests);

/* Appends the rows of one image to the array `rows`: one per repository and tag (and per
 * digest with --digests), a digest-only row for a repository without tags, or one
 * "<none>" row for a dangling image. */
void imagefmt_rows (const json_t *summary, const struct imagefmt_opts *o, json_t *rows);

/* One row: the image with the given repository, tag and digest. */
json_t *imagefmt_context (const json_t *summary, const char *repo, const char *tag, const char *digest,
                          const struct imagefmt_opts *o);

/* docker's reference filter (`images REPO[:TAG]`, --filter reference=P): P matches a
 * reference as Go's path.Match does, against its familiar form ("busybox:latest") or its
 * familiar name ("busybox"). */
bool imagefmt_ref_matches (const char *pattern, const char *ref);

/* Drops the RepoTags and RepoDigests of `summary` that no pattern matches; false when none
 * is left (docker then lists no row for the image, dangling ones neither). */
struct strv;
bool imagefmt_keep_matching (json_t *summary, const struct strv *patterns);

/* The column titles, by field name (the header map of a table). */
json_t *imagefmt_header (void);

/* The type docker names in "can't evaluate field X in type ..." for an image row. */
#define IMAGEFMT_TYPE "*formatter.imageContext"
