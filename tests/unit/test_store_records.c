/* Unit tests: the store's record functions (store/images.h, layer_blobs.h,
 * cache_records.h, file_digests.h) on a fresh store, as the rest of kiln sees them:
 * plain structs in and out, no SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/cache_records.h"
#include "store/file_digests.h"
#include "store/images.h"
#include "store/layer_blobs.h"
#include "store/store.h"
#include "util/cleanup.h"

static char root[] = "/tmp/kiln-store-records-XXXXXX";

static int
open_store (void **state)
{
  snprintf (root, sizeof root, "/tmp/kiln-store-records-XXXXXX");
  assert_non_null (mkdtemp (root));
  struct kiln_err err = {0};
  struct kiln_store *st = store_open (root, &err);
  assert_non_null (st);
  *state = st;
  return 0;
}

static int
close_store (void **state)
{
  store_close (*state);
  char cmd[96];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", root);
  assert_int_equal (system (cmd), 0);
  return 0;
}

static struct digest
dg (const char *text)
{
  struct digest d;
  digest_bytes (text, strlen (text), &d);
  return d;
}

static void
root_accessors_name_the_opened_directory (void **state)
{
  struct kiln_store *st = *state;
  assert_string_equal (store_root (st), root);
  assert_true (store_root_fd (st) >= 0);
  assert_int_equal (faccessat (store_root_fd (st), "kiln.db", F_OK, 0), 0);
}

static void
images_are_found_by_every_key (void **state)
{
  struct kiln_store *st = *state;
  struct kiln_err err = {0};
  struct digest id = dg ("config"), man = dg ("manifest"), other = dg ("other config");
  struct layer_blob lb = {.digest = dg ("blob"), .diff_id = dg ("layer"), .media_type = "application/x-test",
                          .size = 42};
  _cleanup_strv_ struct strv tags = STRV_INIT;
  strv_push (&tags, "docker.io/library/x:1");
  assert_int_equal (images_add (st, &id, &man, 1700000000, &lb, 1, &tags, &err), 0);
  assert_int_equal (images_add (st, &other, &man, 1700000001, NULL, 0, NULL, &err), 0);

  struct digest got;
  assert_int_equal (images_find (st, IMAGE_BY_TAG, "docker.io/library/x:1", &got, &err), 1);
  assert_string_equal (got.str, id.str);
  assert_int_equal (images_find (st, IMAGE_BY_TAG, "docker.io/library/x:2", &got, &err), 0);
  /* Two images share the manifest: ambiguous. */
  assert_int_equal (images_find (st, IMAGE_BY_MANIFEST, man.str, &got, &err), 2);
  char prefix[13];
  memcpy (prefix, id.str + 7, 12);
  prefix[12] = '\0';
  assert_int_equal (images_find (st, IMAGE_BY_ID_PREFIX, prefix, &got, &err), 1);
  assert_string_equal (got.str, id.str);

  struct digest m;
  int64_t created = 0;
  assert_int_equal (images_get (st, &id, &m, &created, &err), 1);
  assert_string_equal (m.str, man.str);
  assert_int_equal (created, 1700000000);
  struct digest nothing = dg ("nothing");
  assert_int_equal (images_get (st, &nothing, &m, &created, &err), 0);

  _cleanup_strv_ struct strv ids = STRV_INIT;
  assert_int_equal (images_ids (st, &ids, &err), 0);
  assert_int_equal (ids.n, 2);
  assert_string_equal (ids.v[0], other.str); /* newest first */

  struct image_row *rows;
  size_t n;
  assert_int_equal (images_rows (st, &rows, &n, &err), 0);
  assert_int_equal (n, 2);
  image_rows_free (rows, n);

  assert_true (images_need_blob (st, &man));
  assert_true (images_need_blob (st, &lb.digest));
  assert_false (images_need_blob (st, &nothing));

  assert_int_equal (images_delete (st, &id, &err), 0);
  assert_int_equal (images_find (st, IMAGE_BY_TAG, "docker.io/library/x:1", &got, &err), 0);
  assert_int_equal (images_get (st, &id, &m, &created, &err), 0);
}

static void
tags_and_repo_digests_move_as_docker_moves_them (void **state)
{
  struct kiln_store *st = *state;
  struct kiln_err err = {0};
  struct digest a = dg ("a"), b = dg ("b"), man = dg ("m");
  assert_int_equal (images_add (st, &a, &man, 1, NULL, 0, NULL, &err), 0);
  assert_int_equal (images_add (st, &b, &man, 2, NULL, 0, NULL, &err), 0);
  assert_int_equal (images_tag (st, &a, "docker.io/library/t:1", &err), 0);
  assert_int_equal (images_tag (st, &b, "docker.io/library/t:1", &err), 0); /* moves */
  _cleanup_strv_ struct strv ta = STRV_INIT, tb = STRV_INIT;
  assert_int_equal (images_tags (st, &a, &ta, &err), 0);
  assert_int_equal (images_tags (st, &b, &tb, &err), 0);
  assert_int_equal (ta.n, 0);
  assert_int_equal (tb.n, 1);
  assert_int_equal (images_untag (st, "docker.io/library/t:1", &err), 1);
  assert_int_equal (images_untag (st, "docker.io/library/t:1", &err), 0);

  assert_int_equal (images_set_repo_digest (st, &a, "docker.io/library/r@", "docker.io/library/r@sha256:1", &err), 0);
  assert_int_equal (images_set_repo_digest (st, &a, "docker.io/library/r@", "docker.io/library/r@sha256:2", &err), 0);
  assert_int_equal (images_set_repo_digest (st, &a, "docker.io/library/s@", "docker.io/library/s@sha256:3", &err), 0);
  _cleanup_strv_ struct strv rd = STRV_INIT;
  assert_int_equal (images_repo_digests (st, &a, &rd, &err), 0);
  assert_int_equal (rd.n, 2); /* one a repository, the newest */
  assert_string_equal (rd.v[0], "docker.io/library/r@sha256:2");
  assert_string_equal (rd.v[1], "docker.io/library/s@sha256:3");
  struct digest got;
  assert_int_equal (images_find (st, IMAGE_BY_REPO_DIGEST, "docker.io/library/r@sha256:2", &got, &err), 1);
  assert_string_equal (got.str, a.str);
}

static void
layer_blobs_are_kept_by_layer (void **state)
{
  struct kiln_store *st = *state;
  struct kiln_err err = {0};
  struct digest layer = dg ("layer"), other = dg ("other layer");
  struct layer_blob gz = {.digest = dg ("gz"), .diff_id = layer, .media_type = "application/gzip", .size = 10};
  struct layer_blob zs = {.digest = dg ("zst"), .diff_id = layer, .media_type = "application/zstd", .size = 9};
  struct layer_blob ot = {.digest = dg ("o"), .diff_id = other, .media_type = "application/gzip", .size = 1};
  assert_int_equal (layer_blobs_add (st, &gz, &err), 0);
  assert_int_equal (layer_blobs_add (st, &zs, &err), 0);
  assert_int_equal (layer_blobs_add (st, &gz, &err), 0); /* known: kept */
  assert_int_equal (layer_blobs_add (st, &ot, &err), 0);
  struct layer_blob *v;
  size_t n;
  assert_int_equal (layer_blobs_find (st, &layer, &v, &n, &err), 0);
  assert_int_equal (n, 2);
  for (size_t i = 0; i < n; i++)
    {
      assert_string_equal (v[i].diff_id.str, layer.str);
      bool is_gz = strcmp (v[i].digest.str, gz.digest.str) == 0;
      assert_string_equal (v[i].media_type, is_gz ? "application/gzip" : "application/zstd");
      assert_int_equal (v[i].size, is_gz ? 10 : 9);
    }
  free (v);
  assert_int_equal (layer_blobs_find (st, NULL, &v, &n, &err), 0);
  assert_int_equal (n, 3);
  free (v);

  struct layer_rec *recs;
  assert_int_equal (layer_recs_list (st, &recs, &n, &err), 0);
  assert_int_equal (n, 0); /* no snapshot was made */
  layer_recs_free (recs, n);
  assert_int_equal (layer_recs_forget (st, layer.str, &err), 0);
  assert_int_equal (layer_blobs_find (st, NULL, &v, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_string_equal (v[0].diff_id.str, other.str);
  free (v);
}

static void
cache_records_put_replaces_add_keeps (void **state)
{
  struct kiln_store *st = *state;
  struct kiln_err err = {0};
  char *result = NULL;
  int64_t created = 0;
  assert_int_equal (cache_records_get (st, "k", &result, &created, &err), 0);
  assert_null (result);
  assert_int_equal (cache_records_put (st, "k", "first", 100, &err), 0);
  assert_int_equal (cache_records_put (st, "k", "second", 200, &err), 0);
  assert_int_equal (cache_records_add (st, "k", "third", 300, &err), 0);
  assert_int_equal (cache_records_add (st, "j", "imported", 400, &err), 0);
  assert_int_equal (cache_records_get (st, "k", &result, &created, &err), 1);
  assert_string_equal (result, "second");
  assert_int_equal (created, 200);
  free (result);
  _cleanup_strv_ struct strv all = STRV_INIT;
  assert_int_equal (cache_records_results (st, &all, &err), 0);
  assert_int_equal (all.n, 2);
  assert_int_equal (cache_records_clear (st, &err), 0);
  assert_int_equal (cache_records_get (st, "j", &result, &created, &err), 0);
}

static void
file_digests_remember_by_binary_key (void **state)
{
  struct kiln_store *st = *state;
  struct kiln_err err = {0};
  struct file_digests *memo = file_digests_new (st);
  const unsigned char key[] = {0, 1, 2, 0, 255};
  struct digest d = dg ("content"), got;
  assert_int_equal (file_digests_get (memo, key, sizeof key, &got, &err), 0);
  assert_int_equal (store_begin (st, &err), 0);
  assert_int_equal (file_digests_put (memo, key, sizeof key, &d, &err), 0);
  assert_int_equal (store_commit (st, &err), 0);
  assert_int_equal (file_digests_get (memo, key, sizeof key, &got, &err), 1);
  assert_string_equal (got.str, d.str);
  assert_int_equal (file_digests_get (memo, key, sizeof key - 1, &got, &err), 0); /* a prefix is another key */
  file_digests_free (memo);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (root_accessors_name_the_opened_directory, open_store, close_store),
    cmocka_unit_test_setup_teardown (images_are_found_by_every_key, open_store, close_store),
    cmocka_unit_test_setup_teardown (tags_and_repo_digests_move_as_docker_moves_them, open_store, close_store),
    cmocka_unit_test_setup_teardown (layer_blobs_are_kept_by_layer, open_store, close_store),
    cmocka_unit_test_setup_teardown (cache_records_put_replaces_add_keeps, open_store, close_store),
    cmocka_unit_test_setup_teardown (file_digests_remember_by_binary_key, open_store, close_store),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
