/* Unit tests: what an archive's metadata says, read into member names — docker's
 * manifest.json, an OCI index.json, manifests and indexes — and an image's layers
 * from its manifest and config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "image/archive.h"
#include "image/image.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static void
docker_manifest_json (void **state)
{
  (void) state;
  const char *s = "[{\"Config\":\"blobs/sha256/" H1 "\",\"Layers\":[\"blobs/sha256/" H2 "\",7],"
                  "\"RepoTags\":[\"app:1\",\"localhost:5000/x\"]},"
                  "{\"Layers\":{},\"RepoTags\":null}]";
  struct archive_image *v;
  size_t n;
  struct kiln_err err = {0};
  assert_int_equal (archive_parse_docker_manifest (s, strlen (s), &v, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_string_equal (v[0].config, "blobs/sha256/" H1);
  assert_int_equal (v[0].layers.n, 2);
  assert_string_equal (v[0].layers.v[1], ""); /* not a name: matches no member */
  assert_int_equal (v[0].tags.n, 2);
  assert_string_equal (v[0].tags.v[0], "docker.io/library/app:1");
  assert_string_equal (v[0].tags.v[1], "localhost:5000/x:latest");
  assert_string_equal (v[1].config, "");
  assert_int_equal (v[1].layers.n, 0);
  archive_images_free (v, n);
  assert_int_equal (archive_parse_docker_manifest ("{}", 2, &v, &n, &err), -1);
  kiln_err_clear (&err);
  /* A name that is no valid tag refuses the whole archive, whichever image has it. */
  const char *bad[] = {"[{},{\"RepoTags\":[\"x@sha256:" H1 "\"]}]", "[{\"RepoTags\":[\"Bad Name\"]}]",
                       "[{\"RepoTags\":\"app:1\"}]", "[{\"RepoTags\":[1]}]"};
  const char *why[] = {"manifest.json: RepoTags of image 2: invalid tag", "manifest.json: RepoTags of image 1: ",
                       "manifest.json: RepoTags of image 1 is not a list", "entry 1 is not a string"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_int_equal (archive_parse_docker_manifest (bad[i], strlen (bad[i]), &v, &n, &err), -1);
      assert_null (v);
      assert_non_null (strstr (err.msg, why[i]));
      kiln_err_clear (&err);
    }
}

static void
index_json (void **state)
{
  (void) state;
  const char *s = "{\"manifests\":[{\"digest\":\"sha256:" H1 "\",\"annotations\":"
                  "{\"io.containerd.image.name\":\"docker.io/library/app:2\",\"org.opencontainers.image.ref.name\":\"2\"}},"
                  "{\"digest\":\"sha256:" H2 "\",\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}},"
                  "{\"digest\":5}]}";
  struct archive_image *v;
  size_t n;
  struct kiln_err err = {0};
  assert_int_equal (archive_parse_index (s, strlen (s), &v, &n, &err), 0);
  assert_int_equal (n, 3);
  assert_string_equal (v[0].manifest, "blobs/sha256/" H1);
  assert_string_equal (v[0].tags.v[0], "docker.io/library/app:2");
  assert_int_equal (v[1].tags.n, 0); /* a bare ref.name is no image name */
  assert_string_equal (v[2].manifest, "blobs/sha256/");
  archive_images_free (v, n);
  /* Not an index (the loader says so), or an index naming an image badly (refused). */
  assert_int_equal (archive_parse_index ("[]", 2, &v, &n, &err), -1);
  assert_int_equal (err.code, KILN_EPARSE);
  kiln_err_clear (&err);
  const char *evil = "{\"manifests\":[{\"annotations\":{\"io.containerd.image.name\":\"../evil:1\"}}]}";
  assert_int_equal (archive_parse_index (evil, strlen (evil), &v, &n, &err), -1);
  assert_non_null (strstr (err.msg, "index.json: the name of manifest 1: invalid reference \"../evil:1\""));
  kiln_err_clear (&err);
}

static void
oci_manifests (void **state)
{
  (void) state;
  struct archive_image im;
  struct kiln_err err = {0};
  const char *m = "{\"config\":{\"digest\":\"sha256:" H1 "\"},\"layers\":[{\"digest\":\"sha256:" H2 "\"}]}";
  assert_int_equal (archive_parse_oci_manifest (m, strlen (m), &im, &err), 0);
  assert_string_equal (im.config, "blobs/sha256/" H1);
  assert_string_equal (im.layers.v[0], "blobs/sha256/" H2);
  archive_image_clear (&im);
  const char *idx = "{\"manifests\":[{\"digest\":\"sha256:" H1 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x\"}},"
                    "{\"digest\":\"sha256:" H2 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                    "{\"digest\":\"sha256:" H2 "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";
  assert_int_equal (archive_parse_oci_manifest (idx, strlen (idx), &im, &err), 1);
#if defined(__x86_64__) || defined(__aarch64__)
  assert_string_equal (im.manifest, "blobs/sha256/" H2);
#endif
  archive_image_clear (&im);
  assert_int_equal (archive_parse_oci_manifest ("{\"layers\":1}", 12, &im, &err), -1);
  assert_non_null (strstr (err.msg, "no layers list"));
  kiln_err_clear (&err);
  archive_image_clear (&im);
}

static void
layers_of_manifest_and_config (void **state)
{
  (void) state;
  json_t *m = json_pack ("{s:[{s:s, s:i}, {s:s, s:s}]}", "layers", "digest", "sha256:" H1, "size", 10, "digest",
                         "sha256:" H2, "mediaType", "application/vnd.oci.image.layer.v1.tar+zstd");
  json_t *c = json_pack ("{s:{s:[s, s]}}", "rootfs", "diff_ids", "sha256:" H2, "sha256:" H1);
  struct image_layer *ls;
  size_t n;
  struct kiln_err err = {0};
  assert_int_equal (image_layers_parse (m, c, &ls, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_string_equal (ls[0].media_type, MT_OCI_LAYER);
  assert_int_equal (ls[0].blob_size, 10);
  assert_string_equal (ls[1].diff_id.str, "sha256:" H1);
  free (ls);
  json_array_remove (json_object_get (json_object_get (c, "rootfs"), "diff_ids"), 1);
  assert_int_equal (image_layers_parse (m, c, &ls, &n, &err), -1);
  assert_null (ls);
  kiln_err_clear (&err);
  assert_int_equal (image_layers_parse (NULL, NULL, &ls, &n, &err), -1);
  kiln_err_clear (&err);
  json_decref (m);
  json_decref (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (docker_manifest_json),
    cmocka_unit_test (index_json),
    cmocka_unit_test (oci_manifests),
    cmocka_unit_test (layers_of_manifest_and_config),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
